#include "kafka/server/sasl_login.h"

#include <spdlog/spdlog.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "security/login_limiter.h"

namespace sluice::kafka {

boost::asio::awaitable<sasl_login_result> sasl_login_step(broker& b, session& s,
                                                          std::string_view token,
                                                          boost::asio::any_io_executor ex) {
  if (!s.sasl || s.authenticated)
    co_return sasl_login_result{
        error_code::illegal_sasl_state,
        s.authenticated ? "already authenticated" : "SaslAuthenticate before SaslHandshake",
        {},
        true};
  auto& limiter = *b.config.security.logins;
  security::sasl_step step;
  if (limiter.blocked(s.client_host)) {
    step.error = "too many failed logins from this address; try again later";
  } else {
    step = s.sasl->step(token);
  }
  switch (step.state) {
    case security::sasl_step::outcome::challenge:
      co_return sasl_login_result{error_code::none, {}, std::move(step.reply), false};
    case security::sasl_step::outcome::success:
      s.authenticated = true;
      s.principal = "User:" + s.sasl->user();
      spdlog::debug("kafka: {} authenticated as {}", s.client_host, s.principal);
      s.sasl.reset();
      co_return sasl_login_result{error_code::none, {}, std::move(step.reply), false};
    case security::sasl_step::outcome::failure:
      break;
  }
  auto delay = limiter.failed(s.client_host);
  spdlog::warn("kafka: failed login from {} as user '{}': {}", s.client_host, s.sasl->user(),
               step.error);
  s.sasl.reset();
  boost::asio::steady_timer t(ex, delay);
  boost::system::error_code ec;
  co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  co_return sasl_login_result{
      error_code::sasl_authentication_failed, "Authentication failed: " + step.error, {}, true};
}

}  // namespace sluice::kafka
