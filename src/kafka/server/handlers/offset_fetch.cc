#include <map>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_offset_fetch(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  std::string group_id = in.string();
  std::optional<std::vector<group::topic_partition>> which;
  int32_t nt = in.array_len();
  if (nt >= 0) {
    which.emplace();
    for (int32_t i = 0; i < nt; ++i) {
      std::string topic = in.string();
      int32_t np = in.array_len(4);
      for (int32_t j = 0; j < np; ++j)
        which->push_back({topic, in.i32()});
      in.tagged_fields();
    }
  }
  const bool require_stable = v >= 7 && in.boolean();
  in.tagged_fields();
  ctx.expect_end();

  error_code top = error_code::none;
  std::vector<std::pair<group::topic_partition, group::committed_offset>> found;
  if (!ctx.b.groups) {
    top = error_code::coordinator_not_available;
  } else {
    found = ctx.b.groups->fetch(group_id, which);
  }
  std::map<std::string, std::vector<std::pair<int32_t, group::committed_offset>>> by_topic;
  std::vector<std::string> topic_order;
  for (auto& [tp, o] : found) {
    if (!by_topic.contains(tp.topic)) topic_order.push_back(tp.topic);
    by_topic[tp.topic].emplace_back(tp.partition, o);
  }
  auto& out = ctx.out;
  if (v >= 3) out.i32(0);  // throttle_time_ms
  out.array_len(topic_order.size());
  for (const auto& t : topic_order) {
    out.string(t);
    out.array_len(by_topic[t].size());
    for (const auto& [p, o] : by_topic[t]) {
      // An offset an open transaction may still replace is not given to a consumer that
      // asked for stable offsets (read_committed); it retries.
      const bool unstable = require_stable && ctx.b.groups->unstable(group_id, {t, p});
      out.i32(p);
      out.i64(unstable ? -1 : o.offset);
      if (v >= 5) out.i32(o.leader_epoch);
      out.nullable_string(o.metadata);
      out.i16(code(unstable ? error_code::unstable_offset_commit : error_code::none));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  if (v >= 2) out.i16(code(top));
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
