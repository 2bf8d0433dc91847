#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_leave_group(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  std::string group_id = in.string();
  std::vector<group::member_identity> who;
  if (v <= 2) {
    who.push_back({in.string(), std::nullopt});
  } else {
    int32_t n = in.array_len();
    for (int32_t i = 0; i < n; ++i) {
      group::member_identity w;
      w.member_id = in.string();
      w.instance_id = in.nullable_string();
      if (v >= 5) in.nullable_string();  // reason
      in.tagged_fields();
      who.push_back(std::move(w));
    }
  }
  in.tagged_fields();
  ctx.expect_end();

  errc group_error = errc::ok;
  std::vector<errc> errors;
  if (ctx.b.groups &&
      !ctx.allowed(security::acl_operation::read, security::resource_type::group, group_id)) {
    group_error = errc::group_authorization_failed;
    errors.assign(who.size(), errc::group_authorization_failed);
  } else if (ctx.b.groups) {
    errors = ctx.b.groups->leave(group_id, who, group_error);
  } else {
    group_error = errc::coordinator_not_available;
    errors.assign(who.size(), errc::coordinator_not_available);
  }
  auto& out = ctx.out;
  if (v >= 1) out.i32(0);  // throttle_time_ms
  // v0-2 carry one member: its error is the request's.
  out.i16(code(to_kafka(v <= 2 && !errors.empty() ? errors[0] : group_error)));
  if (v >= 3) {
    out.array_len(who.size());
    for (size_t i = 0; i < who.size(); ++i) {
      out.string(who[i].member_id);
      out.nullable_string(who[i].instance_id);
      out.i16(code(to_kafka(errors[i])));
      out.tagged_fields();
    }
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
