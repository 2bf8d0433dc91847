#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_delete_groups(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<std::string> ids;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i)
    ids.push_back(in.string());
  in.tagged_fields();
  ctx.expect_end();
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(ids.size());
  for (const auto& id : ids) {
    out.string(id);
    out.i16(code(!ctx.b.groups ? error_code::coordinator_not_available
                 : !ctx.allowed(security::acl_operation::remove, security::resource_type::group, id)
                     ? error_code::group_authorization_failed
                     : to_kafka(ctx.b.groups->delete_group(id))));
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
