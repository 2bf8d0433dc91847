#pragma once
// Per-topic settings, named and defaulted as Kafka's topic configs so that clients and tools
// (DescribeConfigs, kcat -X topic.*) see familiar keys.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice::log {

enum class timestamp_type { create_time, log_append_time };

struct topic_config {
  // retention.ms: segments whose newest record is older are deleted; -1 keeps forever.
  // Default: 604800000 (7 days).
  int64_t retention_ms = 604'800'000;
  // retention.bytes: per partition, oldest segments are deleted above it; -1: no limit.
  // Default: -1.
  int64_t retention_bytes = -1;
  // segment.bytes: the active segment is rolled before it would exceed this. Default: 1 GiB.
  int64_t segment_bytes = 1LL << 30;
  // segment.ms: the active segment is rolled once it is this old. Default: 604800000 (7 days).
  int64_t segment_ms = 604'800'000;
  // max.message.bytes: largest record batch accepted. Default: 1048588 (Kafka's).
  int32_t max_message_bytes = 1'048'588;
  // index.interval.bytes: bytes of data between offset index entries. Default: 4096.
  int32_t index_interval_bytes = 4096;
  // message.timestamp.type: CreateTime keeps the producer's timestamps, LogAppendTime
  // replaces them with the broker's clock. Default: CreateTime.
  timestamp_type message_timestamp_type = timestamp_type::create_time;
  // cleanup.policy: "delete" (retention), "compact" (keep the latest record per key), or
  // both ("compact,delete"). Default: delete.
  std::string cleanup_policy = "delete";
  // delete.retention.ms: how long a tombstone (null value) survives compaction, so that
  // consumers can see the delete. Default: 86400000 (1 day).
  int64_t delete_retention_ms = 86'400'000;
  // min.compaction.lag.ms: records younger than this are never compacted. Default: 0.
  int64_t min_compaction_lag_ms = 0;

  bool compact() const { return cleanup_policy.find("compact") != std::string::npos; }
  bool delete_old() const { return cleanup_policy.find("delete") != std::string::npos; }

  // Applies one override; errc::invalid_config names the key and the problem.
  result<void> set(std::string_view key, std::string_view value);
  // Every key with its current value, in a stable order.
  std::vector<std::pair<std::string, std::string>> entries() const;
  static bool is_known_key(std::string_view key);

  // Effective config: `base` with `overrides` applied.
  static result<topic_config> with_overrides(const topic_config& base,
                                             const std::map<std::string, std::string>& overrides);
};

}  // namespace sluice::log
