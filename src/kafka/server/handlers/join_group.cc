#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_join_group(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  group::join_request r;
  r.group_id = in.string();
  r.session_timeout_ms = in.i32();
  r.rebalance_timeout_ms = v >= 1 ? in.i32() : r.session_timeout_ms;
  r.who.member_id = in.string();
  if (v >= 5) r.who.instance_id = in.nullable_string();
  r.protocol_type = in.string();
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    group::protocol p;
    p.name = in.string();
    auto md = in.nullable_bytes();
    if (md) p.metadata.assign(md->begin(), md->end());
    in.tagged_fields();
    r.protocols.push_back(std::move(p));
  }
  if (v >= 8) in.nullable_string();  // reason
  in.tagged_fields();
  ctx.expect_end();
  r.client_id = ctx.client_id;
  r.client_host = ctx.client_host();
  r.require_known_member_id = v >= 4;
  r.supports_skip_assignment = v >= 9;

  group::join_result res;
  if (!ctx.b.groups) {
    res.error = errc::coordinator_not_available;
  } else if (!ctx.allowed(security::acl_operation::read, security::resource_type::group,
                          r.group_id)) {
    res.error = errc::group_authorization_failed;
  } else {
    auto* groups = ctx.b.groups;
    res = co_await await_callback<group::join_result>(
        [&](auto done) { groups->join(std::move(r), std::move(done)); });
  }
  auto& out = ctx.out;
  if (v >= 2) out.i32(0);  // throttle_time_ms
  out.i16(code(to_kafka(res.error)));
  out.i32(res.generation);
  if (v >= 7) {
    out.string_or_null(res.protocol_type);
    out.string_or_null(res.protocol_name);
  } else {
    out.string(res.protocol_name);
  }
  out.string(res.leader);
  if (v >= 9) out.boolean(res.skip_assignment);
  out.string(res.member_id);
  out.array_len(res.members.size());
  for (const auto& m : res.members) {
    out.string(m.member_id);
    if (v >= 5) out.nullable_string(m.instance_id);
    out.bytes_field(m.metadata);
    out.tagged_fields();
  }
  out.tagged_fields();
}

}  // namespace sluice::kafka
