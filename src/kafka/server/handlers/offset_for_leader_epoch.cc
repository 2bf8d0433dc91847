#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// OffsetForLeaderEpoch: a partition of this broker has had one leader epoch, 0, since it was
// created, so the end offset of epoch 0 is the log end; a later epoch is unknown (-1, -1).
// Consumers ask after a leader change to detect truncation; there is none here.
boost::asio::awaitable<void> handle_offset_for_leader_epoch(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  if (v >= 3) in.i32();  // replica_id
  struct ask {
    int32_t partition;
    int32_t epoch;
  };
  std::vector<std::pair<std::string, std::vector<ask>>> topics;
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    auto name = in.string();
    std::vector<ask> parts;
    int32_t np = in.array_len();
    for (int32_t j = 0; j < np; ++j) {
      ask a;
      a.partition = in.i32();
      if (v >= 2) in.i32();  // current_leader_epoch
      a.epoch = in.i32();
      in.tagged_fields();
      parts.push_back(a);
    }
    in.tagged_fields();
    topics.emplace_back(std::move(name), std::move(parts));
  }
  in.tagged_fields();
  ctx.expect_end();

  auto& out = ctx.out;
  if (v >= 2) out.i32(0);  // throttle_time_ms
  out.array_len(topics.size());
  for (const auto& [name, parts] : topics) {
    out.string(name);
    bool allowed =
        ctx.allowed(security::acl_operation::describe, security::resource_type::topic, name);
    auto topic = allowed ? ctx.b.log.find_topic(name) : nullptr;
    out.array_len(parts.size());
    for (const auto& a : parts) {
      auto p = topic ? topic->get(a.partition) : nullptr;
      out.i16(code(!allowed ? error_code::topic_authorization_failed
                   : p      ? error_code::none
                            : error_code::unknown_topic_or_partition));
      out.i32(a.partition);
      const bool known = p && a.epoch == 0;
      if (v >= 1) out.i32(known ? 0 : -1);
      out.i64(known ? p->high_watermark().value() : -1);
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
