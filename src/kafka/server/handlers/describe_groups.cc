#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_describe_groups(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  std::vector<std::string> ids;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i)
    ids.push_back(in.string());
  if (v >= 3) in.boolean();  // include_authorized_operations
  in.tagged_fields();
  ctx.expect_end();

  auto& out = ctx.out;
  if (v >= 1) out.i32(0);  // throttle_time_ms
  out.array_len(ids.size());
  for (const auto& id : ids) {
    group::group_description d;
    if (!ctx.allowed(security::acl_operation::describe, security::resource_type::group, id)) {
      d.group_id = id;
      d.error = errc::group_authorization_failed;
    } else if (ctx.b.groups) {
      d = ctx.b.groups->describe(id);
    } else {
      d.group_id = id;
      d.error = errc::coordinator_not_available;
    }
    out.i16(code(to_kafka(d.error)));
    out.string(id);
    out.string(d.state);
    out.string(d.protocol_type);
    out.string(d.protocol);
    out.array_len(d.members.size());
    for (const auto& m : d.members) {
      out.string(m.member_id);
      if (v >= 4) out.nullable_string(m.instance_id);
      out.string(m.client_id);
      out.string(m.client_host);
      out.bytes_field(m.metadata);
      out.bytes_field(m.assignment);
      out.tagged_fields();
    }
    if (v >= 3) out.i32(INT32_MIN);  // authorized_operations: not requested
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
