#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_sync_group(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  group::sync_request r;
  r.group_id = in.string();
  r.generation = in.i32();
  r.who.member_id = in.string();
  if (v >= 3) r.who.instance_id = in.nullable_string();
  if (v >= 5) {
    r.protocol_type = in.nullable_string();
    r.protocol_name = in.nullable_string();
  }
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    auto id = in.string();
    auto a = in.nullable_bytes();
    in.tagged_fields();
    r.assignments.emplace_back(std::move(id), a ? bytes(a->begin(), a->end()) : bytes{});
  }
  in.tagged_fields();
  ctx.expect_end();

  group::sync_result res;
  if (!ctx.b.groups) {
    res.error = errc::coordinator_not_available;
  } else if (!ctx.allowed(security::acl_operation::read, security::resource_type::group,
                          r.group_id)) {
    res.error = errc::group_authorization_failed;
  } else {
    auto* groups = ctx.b.groups;
    res = co_await await_callback<group::sync_result>(
        [&](auto done) { groups->sync(std::move(r), std::move(done)); });
  }
  auto& out = ctx.out;
  if (v >= 1) out.i32(0);  // throttle_time_ms
  out.i16(code(to_kafka(res.error)));
  if (v >= 5) {
    out.string_or_null(res.protocol_type);
    out.string_or_null(res.protocol_name);
  }
  out.bytes_field(res.assignment);
  out.tagged_fields();
}

}  // namespace sluice::kafka
