#include "kafka/server/handlers/handlers.h"
#include "kafka/server/sasl_login.h"

namespace sluice::kafka {

// SaslAuthenticate v0-2: one SASL token each way.
boost::asio::awaitable<void> handle_sasl_authenticate(request_context& ctx) {
  auto token = ctx.in.nullable_bytes().value_or(bytes_view());
  ctx.in.tagged_fields();
  ctx.expect_end();
  std::string_view text(reinterpret_cast<const char*>(token.data()), token.size());
  sasl_login_result r;
  if (ctx.session.framing != session::sasl_framing::kafka)
    r = {error_code::illegal_sasl_state, "SaslAuthenticate without SaslHandshake v1", {}, true};
  else
    r = co_await sasl_login_step(ctx.b, ctx.session, text, ctx.executor);
  ctx.out.i16(code(r.error));
  ctx.out.string_or_null(r.message);
  ctx.out.bytes_field(bytes_view(reinterpret_cast<const uint8_t*>(r.reply.data()), r.reply.size()));
  if (ctx.version >= 1) ctx.out.i64(0);  // session_lifetime_ms: sessions do not expire
  ctx.out.tagged_fields();
  ctx.close_after = r.close;
}

}  // namespace sluice::kafka
