#pragma once
// Request framing shared by connections and tests: header decoding, version negotiation,
// dispatch to the API's handler, and the response header.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "base/bytes.h"
#include "kafka/server/broker.h"
#include "kafka/server/response.h"

namespace sluice::kafka {

// Handles one request frame (without its size prefix). Returns the response frame with its
// size prefix, or nullopt when the request gets no response (acks=0).
// Throws decode_error for a malformed request or an unsupported API or version (other than
// ApiVersions, which gets UNSUPPORTED_VERSION as Kafka answers it).
boost::asio::awaitable<std::optional<response>> process_frame(broker& b, bytes frame,
                                                              boost::asio::any_io_executor ex,
                                                              std::string client_host);

}  // namespace sluice::kafka
