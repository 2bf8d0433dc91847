#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_heartbeat(request_context& ctx) {
  auto& in = ctx.in;
  std::string group_id = in.string();
  int32_t generation = in.i32();
  group::member_identity who;
  who.member_id = in.string();
  if (ctx.version >= 3) who.instance_id = in.nullable_string();
  in.tagged_fields();
  ctx.expect_end();
  error_code e =
      !ctx.b.groups ? error_code::coordinator_not_available
      : !ctx.allowed(security::acl_operation::read, security::resource_type::group, group_id)
          ? error_code::group_authorization_failed
          : to_kafka(ctx.b.groups->heartbeat(group_id, generation, who));
  if (ctx.version >= 1) ctx.out.i32(0);  // throttle_time_ms
  ctx.out.i16(code(e));
  ctx.out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
