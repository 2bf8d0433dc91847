#include <map>

#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// TxnOffsetCommit: offsets written in the producer's transaction, visible to the group once
// it commits (dropped if it aborts).
boost::asio::awaitable<void> handle_txn_offset_commit(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  auto id = in.string();
  auto group_id = in.string();
  group::producer_identity who;
  who.producer_id = in.i64();
  who.epoch = in.i16();
  int32_t generation = -1;
  group::member_identity member;
  if (v >= 3) {
    generation = in.i32();
    member.member_id = in.string();
    member.instance_id = in.nullable_string();
  }
  std::vector<std::pair<group::topic_partition, group::committed_offset>> offsets;
  std::vector<std::pair<std::string, std::vector<int32_t>>> order;  // for the response
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    auto topic = in.string();
    std::vector<int32_t> parts;
    int32_t np = in.array_len();
    for (int32_t j = 0; j < np; ++j) {
      group::committed_offset o;
      int32_t p = in.i32();
      o.offset = in.i64();
      if (v >= 2) o.leader_epoch = in.i32();
      o.metadata = in.nullable_string().value_or("");
      in.tagged_fields();
      offsets.push_back({{topic, p}, std::move(o)});
      parts.push_back(p);
    }
    in.tagged_fields();
    order.emplace_back(std::move(topic), std::move(parts));
  }
  in.tagged_fields();
  ctx.expect_end();

  std::map<group::topic_partition, error_code> errors;
  if (!ctx.b.transactions || !ctx.b.groups) {
    for (const auto& [tp, o] : offsets)
      errors[tp] = error_code::coordinator_not_available;
  } else {
    auto* txns = ctx.b.transactions;
    using outcome = std::pair<errc, group::partition_errors>;
    auto res = co_await await_callback<outcome>([&](auto done) {
      txns->commit_offsets(id, who, group_id, generation, member, std::move(offsets),
                           [done = std::move(done)](errc e, group::partition_errors pe) {
                             done(outcome{e, std::move(pe)});
                           });
    });
    for (const auto& [tp, e] : res.second)
      errors[tp] = to_kafka_txn(e, v >= 3);
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(order.size());
  for (const auto& [topic, parts] : order) {
    out.string(topic);
    out.array_len(parts.size());
    for (int32_t p : parts) {
      out.i32(p);
      auto it = errors.find({topic, p});
      out.i16(code(it == errors.end() ? error_code::none : it->second));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
}

}  // namespace sluice::kafka
