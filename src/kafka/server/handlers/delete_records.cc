#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// DeleteRecords: moves each partition's log start up to the offset given (-1: the high
// watermark); whole segments below it are deleted. Kafka Streams purges its repartition
// topics with it. Answered once the new log start is durable.
boost::asio::awaitable<void> handle_delete_records(request_context& ctx) {
  auto& in = ctx.in;
  struct part {
    int32_t index;
    int64_t offset;
    error_code err = error_code::none;
    int64_t low = -1;
  };
  std::vector<std::pair<std::string, std::vector<part>>> topics;
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    auto name = in.string();
    std::vector<part> parts;
    int32_t np = in.array_len();
    for (int32_t j = 0; j < np; ++j) {
      part p;
      p.index = in.i32();
      p.offset = in.i64();
      in.tagged_fields();
      parts.push_back(p);
    }
    in.tagged_fields();
    topics.emplace_back(std::move(name), std::move(parts));
  }
  in.i32();  // timeout_ms: the deletion is done before answering
  in.tagged_fields();
  ctx.expect_end();

  for (auto& [name, parts] : topics) {
    bool allowed =
        ctx.allowed(security::acl_operation::remove, security::resource_type::topic, name);
    auto topic = allowed ? ctx.b.log.find_topic(name) : nullptr;
    for (auto& p : parts) {
      auto partition = topic ? topic->get(p.index) : nullptr;
      if (!allowed) {
        p.err = error_code::topic_authorization_failed;
        continue;
      }
      if (!partition) {
        p.err = error_code::unknown_topic_or_partition;
        continue;
      }
      auto r = partition->delete_records_before(model::offset(p.offset));
      if (!r) {
        p.err = to_kafka(r.code());
      } else {
        p.low = r->value();
      }
    }
  }

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(topics.size());
  for (const auto& [name, parts] : topics) {
    out.string(name);
    out.array_len(parts.size());
    for (const auto& p : parts) {
      out.i32(p.index);
      out.i64(p.low);
      out.i16(code(p.err));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
