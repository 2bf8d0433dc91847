#include <map>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_describe_transactions(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<std::string> ids;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i)
    ids.push_back(in.string());
  in.tagged_fields();
  ctx.expect_end();

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(ids.size());
  for (const auto& id : ids) {
    group::transaction_description d;
    d.transactional_id = id;
    d.error = errc::coordinator_not_available;
    if (!ctx.allowed(security::acl_operation::describe, security::resource_type::transactional_id,
                     id))
      d.error = errc::transactional_id_authorization_failed;
    else if (ctx.b.transactions)
      d = ctx.b.transactions->describe(id);
    out.i16(code(to_kafka(d.error)));
    out.string(id);
    out.string(d.state);
    out.i32(d.timeout_ms);
    out.i64(d.start_ms);
    out.i64(d.producer.producer_id);
    out.i32(d.producer.epoch);
    std::map<std::string, std::vector<int32_t>> topics;
    for (const auto& tp : d.partitions)
      topics[tp.topic].push_back(tp.partition);
    out.array_len(topics.size());
    for (const auto& [topic, parts] : topics) {
      out.string(topic);
      out.array_len(parts.size());
      for (int32_t p : parts)
        out.i32(p);
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
