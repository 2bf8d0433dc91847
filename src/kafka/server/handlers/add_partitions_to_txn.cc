#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// AddPartitionsToTxn v0-3 (the client form): all or nothing. Partitions that do not exist get
// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as Kafka answers.
boost::asio::awaitable<void> handle_add_partitions_to_txn(request_context& ctx) {
  auto& in = ctx.in;
  auto id = in.string();
  group::producer_identity who;
  who.producer_id = in.i64();
  who.epoch = in.i16();
  std::vector<group::topic_partition> partitions;
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    auto topic = in.string();
    int32_t np = in.array_len(4);
    for (int32_t j = 0; j < np; ++j)
      partitions.push_back({topic, in.i32()});
    in.tagged_fields();
  }
  in.tagged_fields();
  ctx.expect_end();

  std::vector<error_code> errors(partitions.size(), error_code::none);
  bool any_unknown = false;
  bool id_allowed =
      ctx.allowed(security::acl_operation::write, security::resource_type::transactional_id, id);
  for (size_t i = 0; i < partitions.size(); ++i) {
    auto t = ctx.b.log.find_topic(partitions[i].topic);
    if (!id_allowed) {
      errors[i] = error_code::transactional_id_authorization_failed;
      any_unknown = true;
    } else if (!ctx.allowed(security::acl_operation::write, security::resource_type::topic,
                            partitions[i].topic)) {
      errors[i] = error_code::topic_authorization_failed;
      any_unknown = true;
    } else if (!t || !t->get(partitions[i].partition)) {
      errors[i] = error_code::unknown_topic_or_partition;
      any_unknown = true;
    }
  }
  if (any_unknown) {
    for (auto& e : errors)
      if (e == error_code::none) e = error_code::operation_not_attempted;
  } else {
    error_code all = error_code::coordinator_not_available;
    if (auto* txns = ctx.b.transactions) {
      auto e = co_await await_callback<errc>(
          [&](auto done) { txns->add_partitions(id, who, partitions, std::move(done)); });
      all = to_kafka_txn(e, ctx.version >= 2);
    }
    std::fill(errors.begin(), errors.end(), all);
  }

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  // Grouped by topic in request order.
  std::vector<std::pair<std::string, std::vector<size_t>>> topics;
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (topics.empty() || topics.back().first != partitions[i].topic)
      topics.push_back({partitions[i].topic, {}});
    topics.back().second.push_back(i);
  }
  out.array_len(topics.size());
  for (const auto& [topic, idx] : topics) {
    out.string(topic);
    out.array_len(idx.size());
    for (size_t i : idx) {
      out.i32(partitions[i].partition);
      out.i16(code(errors[i]));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
}

}  // namespace sluice::kafka
