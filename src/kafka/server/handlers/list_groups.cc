#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_list_groups(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<std::string> states;
  if (ctx.version >= 4) {
    int32_t n = in.array_len();
    for (int32_t i = 0; i < n; ++i)
      states.push_back(in.string());
  }
  in.tagged_fields();
  ctx.expect_end();
  std::vector<group::group_overview> groups;
  if (ctx.b.groups) groups = ctx.b.groups->list();
  // Without DESCRIBE on the cluster, only the groups the principal may describe are listed.
  if (!ctx.allowed_on_cluster(security::acl_operation::describe))
    std::erase_if(groups, [&](const auto& g) {
      return !ctx.allowed(security::acl_operation::describe, security::resource_type::group,
                          g.group_id);
    });
  if (!states.empty())
    std::erase_if(groups, [&](const auto& g) {
      return std::find(states.begin(), states.end(), g.state) == states.end();
    });
  auto& out = ctx.out;
  if (ctx.version >= 1) out.i32(0);  // throttle_time_ms
  out.i16(code(ctx.b.groups ? error_code::none : error_code::coordinator_not_available));
  out.array_len(groups.size());
  for (const auto& g : groups) {
    out.string(g.group_id);
    out.string(g.protocol_type);
    if (ctx.version >= 4) out.string(g.state);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
