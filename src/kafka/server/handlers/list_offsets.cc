#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {
constexpr int64_t k_latest = -1;
constexpr int64_t k_earliest = -2;
constexpr int64_t k_max_timestamp = -3;  // KIP-734, ListOffsets v7
}  // namespace

boost::asio::awaitable<void> handle_list_offsets(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  const int16_t v = ctx.version;
  in.i32();                                       // replica_id
  const bool committed = v >= 2 && in.i8() == 1;  // isolation_level read_committed

  struct answer {
    int32_t index;
    error_code err = error_code::none;
    int64_t timestamp = -1;
    int64_t offset = -1;
  };
  std::vector<std::pair<std::string, std::vector<answer>>> topics;
  int32_t n_topics = in.array_len();
  for (int32_t i = 0; i < n_topics; ++i) {
    auto name = in.string();
    bool allowed =
        ctx.allowed(security::acl_operation::describe, security::resource_type::topic, name);
    auto topic = allowed ? ctx.b.log.find_topic(name) : nullptr;
    std::vector<answer> parts;
    int32_t n = in.array_len();
    for (int32_t j = 0; j < n; ++j) {
      answer a;
      a.index = in.i32();
      if (v >= 4) in.i32();  // current_leader_epoch
      int64_t ts = in.i64();
      if (v == 0) in.i32();  // max_num_offsets
      in.tagged_fields();
      auto p = topic ? topic->get(a.index) : nullptr;
      if (!allowed) {
        a.err = error_code::topic_authorization_failed;
      } else if (!p) {
        a.err = error_code::unknown_topic_or_partition;
      } else if (ts == k_latest) {
        a.offset = committed ? p->last_stable_offset().value() : p->high_watermark().value();
      } else if (ts == k_earliest) {
        a.offset = p->log_start().value();
      } else if (ts == k_max_timestamp && v >= 7) {
        auto m = p->max_timestamp_record();
        if (!m) {
          a.err = to_kafka(m.code());
        } else if (*m) {
          a.offset = (*m)->first;
          a.timestamp = (*m)->second;
        }
      } else if (ts < 0) {
        a.err = error_code::unsupported_version;  // newer specs (-4, -5)
      } else {
        auto o = p->offset_for_time(ts);
        if (!o) {
          a.err = to_kafka(o.code());
        } else if (*o != p->high_watermark()) {
          a.offset = o->value();
          a.timestamp = ts;
        }
      }
      parts.push_back(a);
    }
    in.tagged_fields();
    topics.emplace_back(std::move(name), std::move(parts));
  }
  in.tagged_fields();
  ctx.expect_end();

  if (v >= 2) out.i32(0);  // throttle_time_ms
  out.array_len(topics.size());
  for (const auto& [name, parts] : topics) {
    out.string(name);
    out.array_len(parts.size());
    for (const auto& a : parts) {
      out.i32(a.index);
      out.i16(code(a.err));
      if (v == 0) {
        if (a.err == error_code::none && a.offset >= 0) {
          out.array_len(1);
          out.i64(a.offset);
        } else {
          out.array_len(0);
        }
      } else {
        out.i64(a.timestamp);
        out.i64(a.offset);
        if (v >= 4) out.i32(0);  // leader_epoch
      }
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
