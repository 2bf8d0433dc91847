#pragma once
// One step of a SASL login, whichever way its token arrived (SaslAuthenticate, or a bare
// frame after SaslHandshake v0): runs the session's authenticator, and on success makes the
// session authenticated as "User:<name>". A failure is logged (address, user, mechanism and
// reason, never the secret), waits the login limiter's delay before it is answered, and ends
// the connection.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "kafka/protocol/error_code.h"
#include "kafka/server/broker.h"
#include "kafka/server/session.h"

namespace sluice::kafka {

struct sasl_login_result {
  error_code error = error_code::none;
  std::string message;  // for an error: what the client is told
  std::string reply;    // the server's token
  bool close = false;   // the connection ends after the answer
};

boost::asio::awaitable<sasl_login_result> sasl_login_step(broker& b, session& s,
                                                          std::string_view token,
                                                          boost::asio::any_io_executor ex);

}  // namespace sluice::kafka
