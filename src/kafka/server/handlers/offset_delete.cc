#include <map>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_offset_delete(request_context& ctx) {
  auto& in = ctx.in;
  std::string group_id = in.string();
  std::vector<group::topic_partition> which;
  std::vector<std::pair<std::string, std::vector<int32_t>>> order;
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    std::string topic = in.string();
    std::vector<int32_t> parts;
    int32_t np = in.array_len(4);
    for (int32_t j = 0; j < np; ++j) {
      parts.push_back(in.i32());
      which.push_back({topic, parts.back()});
    }
    order.emplace_back(std::move(topic), std::move(parts));
  }
  ctx.expect_end();

  errc group_error = errc::ok;
  std::map<group::topic_partition, errc> errors;
  if (ctx.b.groups &&
      !ctx.allowed(security::acl_operation::remove, security::resource_type::group, group_id)) {
    group_error = errc::group_authorization_failed;
  } else if (ctx.b.groups) {
    std::erase_if(which, [&](const group::topic_partition& tp) {
      if (ctx.allowed(security::acl_operation::read, security::resource_type::topic, tp.topic))
        return false;
      errors[tp] = errc::topic_authorization_failed;
      return true;
    });
    for (auto& [tp, e] : ctx.b.groups->delete_offsets(group_id, which, group_error))
      errors[tp] = e;
  } else {
    group_error = errc::coordinator_not_available;
  }
  auto& out = ctx.out;
  out.i16(code(to_kafka(group_error)));
  out.i32(0);  // throttle_time_ms
  out.array_len(group_error == errc::ok ? order.size() : 0);
  if (group_error == errc::ok) {
    for (const auto& [topic, parts] : order) {
      out.string(topic);
      out.array_len(parts.size());
      for (int32_t p : parts) {
        out.i32(p);
        out.i16(code(to_kafka(errors[{topic, p}])));
      }
    }
  }
  co_return;
}

}  // namespace sluice::kafka
