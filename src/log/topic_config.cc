#include "log/topic_config.h"

#include <charconv>

namespace sluice::log {

namespace {

result<int64_t> parse_int(std::string_view key, std::string_view v, int64_t min, int64_t max) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty())
    return make_error(errc::invalid_config, "invalid value '" + std::string(v) + "' for " +
                                                std::string(key) + ": not an integer");
  if (out < min || out > max)
    return make_error(errc::invalid_config, "invalid value " + std::to_string(out) + " for " +
                                                std::string(key) + ": must be between " +
                                                std::to_string(min) + " and " +
                                                std::to_string(max));
  return out;
}

constexpr const char* k_keys[] = {
    "cleanup.policy",    "delete.retention.ms",    "index.interval.bytes",
    "max.message.bytes", "message.timestamp.type", "min.compaction.lag.ms",
    "retention.bytes",   "retention.ms",           "segment.bytes",
    "segment.ms",
};

}  // namespace

bool topic_config::is_known_key(std::string_view key) {
  for (const char* k : k_keys)
    if (key == k) return true;
  return false;
}

result<void> topic_config::set(std::string_view key, std::string_view value) {
  constexpr int64_t k_max = INT64_MAX;
  if (key == "retention.ms") {
    auto v = parse_int(key, value, -1, k_max);
    if (!v) return v.error();
    retention_ms = *v;
  } else if (key == "retention.bytes") {
    auto v = parse_int(key, value, -1, k_max);
    if (!v) return v.error();
    retention_bytes = *v;
  } else if (key == "segment.bytes") {
    // Positions in the index are 32-bit; Kafka caps segment.bytes at 2^31-1 too.
    auto v = parse_int(key, value, 14, INT32_MAX);
    if (!v) return v.error();
    segment_bytes = *v;
  } else if (key == "segment.ms") {
    auto v = parse_int(key, value, 1, k_max);
    if (!v) return v.error();
    segment_ms = *v;
  } else if (key == "max.message.bytes") {
    auto v = parse_int(key, value, 0, INT32_MAX);
    if (!v) return v.error();
    max_message_bytes = static_cast<int32_t>(*v);
  } else if (key == "index.interval.bytes") {
    auto v = parse_int(key, value, 0, INT32_MAX);
    if (!v) return v.error();
    index_interval_bytes = static_cast<int32_t>(*v);
  } else if (key == "message.timestamp.type") {
    if (value == "CreateTime") {
      message_timestamp_type = timestamp_type::create_time;
    } else if (value == "LogAppendTime") {
      message_timestamp_type = timestamp_type::log_append_time;
    } else {
      return make_error(errc::invalid_config, "invalid value '" + std::string(value) +
                                                  "' for message.timestamp.type: expected "
                                                  "CreateTime or LogAppendTime");
    }
  } else if (key == "cleanup.policy") {
    if (value != "delete" && value != "compact" && value != "compact,delete" &&
        value != "delete,compact")
      return make_error(errc::invalid_config,
                        "invalid value '" + std::string(value) +
                            "' for cleanup.policy: expected delete, compact or compact,delete");
    cleanup_policy = std::string(value);
  } else if (key == "delete.retention.ms") {
    auto v = parse_int(key, value, 0, k_max);
    if (!v) return v.error();
    delete_retention_ms = *v;
  } else if (key == "min.compaction.lag.ms") {
    auto v = parse_int(key, value, 0, k_max);
    if (!v) return v.error();
    min_compaction_lag_ms = *v;
  } else {
    return make_error(errc::invalid_config, "unknown topic config '" + std::string(key) + "'");
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> topic_config::entries() const {
  return {
      {"cleanup.policy", cleanup_policy},
      {"delete.retention.ms", std::to_string(delete_retention_ms)},
      {"index.interval.bytes", std::to_string(index_interval_bytes)},
      {"max.message.bytes", std::to_string(max_message_bytes)},
      {"message.timestamp.type",
       message_timestamp_type == timestamp_type::create_time ? "CreateTime" : "LogAppendTime"},
      {"min.compaction.lag.ms", std::to_string(min_compaction_lag_ms)},
      {"retention.bytes", std::to_string(retention_bytes)},
      {"retention.ms", std::to_string(retention_ms)},
      {"segment.bytes", std::to_string(segment_bytes)},
      {"segment.ms", std::to_string(segment_ms)},
  };
}

result<topic_config> topic_config::with_overrides(
    const topic_config& base, const std::map<std::string, std::string>& overrides) {
  topic_config c = base;
  for (const auto& [k, v] : overrides)
    if (auto r = c.set(k, v); !r) return r.error();
  return c;
}

}  // namespace sluice::log
