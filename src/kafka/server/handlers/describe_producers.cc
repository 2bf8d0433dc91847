#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// DescribeProducers: the producers each partition knows (idempotent and transactional), with
// the start of a transaction still open there.
boost::asio::awaitable<void> handle_describe_producers(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<std::pair<std::string, std::vector<int32_t>>> topics;
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    auto name = in.string();
    std::vector<int32_t> parts;
    int32_t np = in.array_len(4);
    for (int32_t j = 0; j < np; ++j)
      parts.push_back(in.i32());
    in.tagged_fields();
    topics.emplace_back(std::move(name), std::move(parts));
  }
  in.tagged_fields();
  ctx.expect_end();

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(topics.size());
  for (const auto& [name, parts] : topics) {
    out.string(name);
    bool allowed = ctx.allowed(security::acl_operation::read, security::resource_type::topic, name);
    auto topic = allowed ? ctx.b.log.find_topic(name) : nullptr;
    out.array_len(parts.size());
    for (int32_t index : parts) {
      out.i32(index);
      auto p = topic ? topic->get(index) : nullptr;
      out.i16(code(!allowed ? error_code::topic_authorization_failed
                   : p      ? error_code::none
                            : error_code::unknown_topic_or_partition));
      out.nullable_string(std::nullopt);  // error_message
      auto producers = p ? p->producers() : std::vector<log::producer_state::producer_info>{};
      out.array_len(producers.size());
      for (const auto& pi : producers) {
        out.i64(pi.producer_id);
        out.i32(pi.epoch);
        out.i32(pi.last_sequence);
        out.i64(-1);  // last_timestamp: not kept
        out.i32(0);   // coordinator_epoch
        out.i64(pi.open_txn_first_offset);
        out.tagged_fields();
      }
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
