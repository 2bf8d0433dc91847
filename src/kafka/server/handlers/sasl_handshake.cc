#include "kafka/server/handlers/handlers.h"
#include "security/sasl.h"
#include "security/users.h"

namespace sluice::kafka {

// SaslHandshake v0-1: picks the mechanism. After v0 the client sends bare tokens; after v1,
// SaslAuthenticate requests.
boost::asio::awaitable<void> handle_sasl_handshake(request_context& ctx) {
  std::string mechanism = ctx.in.string();
  ctx.expect_end();
  auto& s = ctx.session;
  error_code e = error_code::none;
  if (!uses_sasl(ctx.where().protocol) || s.authenticated ||
      s.framing != session::sasl_framing::none || !ctx.b.config.security.users) {
    e = error_code::illegal_sasl_state;
  } else if (auto a = security::make_sasl_authenticator(mechanism, *ctx.b.config.security.users)) {
    s.sasl = std::move(a);
    s.framing = ctx.version == 0 ? session::sasl_framing::raw : session::sasl_framing::kafka;
  } else {
    e = error_code::unsupported_sasl_mechanism;
  }
  ctx.out.i16(code(e));
  auto mechanisms = security::sasl_mechanisms();
  ctx.out.array_len(mechanisms.size());
  for (auto m : mechanisms)
    ctx.out.string(m);
  co_return;
}

}  // namespace sluice::kafka
