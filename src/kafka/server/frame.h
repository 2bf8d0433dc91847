#pragma once
// Request framing shared by connections and tests: header decoding, version negotiation,
// dispatch to the API's handler, and the response header.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "base/bytes.h"
#include "kafka/server/broker.h"
#include "kafka/server/response.h"
#include "kafka/server/session.h"

namespace sluice::kafka {

// Handles one request frame (without its size prefix) from `s`. Returns the response frame
// with its size prefix, or nullopt when the request gets no response (acks=0).
// Throws decode_error for a malformed request, an unsupported API or version (other than
// ApiVersions, which gets UNSUPPORTED_VERSION as Kafka answers it), or a request other than
// ApiVersions and SASL's before the session is authenticated.
boost::asio::awaitable<std::optional<response>> process_frame(broker& b, bytes frame,
                                                              boost::asio::any_io_executor ex,
                                                              session& s);

// Handles one bare SASL token (after SaslHandshake v0): the reply token with its size prefix.
// A failed login is answered with an empty frame marked close_after.
boost::asio::awaitable<response> process_raw_sasl_token(broker& b, bytes token,
                                                        boost::asio::any_io_executor ex,
                                                        session& s);

}  // namespace sluice::kafka
