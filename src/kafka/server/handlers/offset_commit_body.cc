#include "kafka/server/handlers/offset_commit_body.h"

namespace sluice::kafka {

topic_order read_committed_offsets(reader& in, bool leader_epoch, bool commit_timestamp,
                                   committed_offsets& out) {
  topic_order order;
  int32_t nt = in.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    std::string topic = in.string();
    std::vector<int32_t> parts;
    int32_t np = in.array_len();
    for (int32_t j = 0; j < np; ++j) {
      group::committed_offset o;
      int32_t p = in.i32();
      o.offset = in.i64();
      if (leader_epoch) o.leader_epoch = in.i32();
      if (commit_timestamp) in.i64();
      o.metadata = in.nullable_string().value_or("");
      in.tagged_fields();
      out.push_back({{topic, p}, std::move(o)});
      parts.push_back(p);
    }
    in.tagged_fields();
    order.emplace_back(std::move(topic), std::move(parts));
  }
  return order;
}

void write_partition_errors(writer& out, const topic_order& order,
                            const std::map<group::topic_partition, error_code>& errors) {
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
}

}  // namespace sluice::kafka
