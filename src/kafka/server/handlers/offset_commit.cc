#include <map>

#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_offset_commit(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  group::commit_request r;
  r.group_id = in.string();
  if (v >= 1) {
    r.generation = in.i32();
    r.who.member_id = in.string();
  }
  if (v >= 7) r.who.instance_id = in.nullable_string();
  if (v >= 2 && v <= 4) in.i64();  // retention_time_ms: offsets are kept until deleted
  std::vector<std::pair<std::string, std::vector<int32_t>>> order;  // for the response
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    std::string topic = in.string();
    std::vector<int32_t> parts;
    int32_t np = in.array_len();
    for (int32_t j = 0; j < np; ++j) {
      group::committed_offset o;
      int32_t p = in.i32();
      o.offset = in.i64();
      if (v >= 6) o.leader_epoch = in.i32();
      if (v == 1) in.i64();  // commit_timestamp
      o.metadata = in.nullable_string().value_or("");
      in.tagged_fields();
      r.offsets.push_back({{topic, p}, std::move(o)});
      parts.push_back(p);
    }
    in.tagged_fields();
    order.emplace_back(std::move(topic), std::move(parts));
  }
  in.tagged_fields();
  ctx.expect_end();

  std::map<group::topic_partition, error_code> errors;
  if (!ctx.b.groups) {
    for (auto& [tp, o] : r.offsets)
      errors[tp] = error_code::coordinator_not_available;
  } else {
    auto* groups = ctx.b.groups;
    using outcome = std::pair<errc, group::partition_errors>;
    auto res = co_await await_callback<outcome>([&](auto done) {
      groups->commit(std::move(r), [done = std::move(done)](errc e, group::partition_errors pe) {
        done(outcome{e, std::move(pe)});
      });
    });
    for (auto& [tp, e] : res.second)
      errors[tp] = e == errc::io_error ? error_code::coordinator_not_available : to_kafka(e);
  }
  auto& out = ctx.out;
  if (v >= 3) out.i32(0);  // throttle_time_ms
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
