#pragma once
// The log: named topics of partitions on one machine's disk. The public entry point of
// src/log/; nothing in here knows about Kafka, HTTP or SQL.
//
// Thread safety: all members may be called from any thread.

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/named_type.h"
#include "base/result.h"
#include "log/partition.h"
#include "log/space_guard.h"
#include "log/topic_config.h"

namespace sluice::metrics {
class histogram;
}

namespace sluice::log {

class flusher;
class space_guard;

using topic_id = std::array<uint8_t, 16>;

struct log_options {
  // Folder that holds everything. Default: ./data
  std::filesystem::path data_dir = "data";
  // Config of topics that set nothing else (retention, segment size, ...).
  topic_config defaults;
  // Partitions of a topic created without a count (num.partitions). Default: 1.
  int32_t default_partitions = 1;
  // Largest partition count a topic may have. Default: 100000.
  int32_t max_partitions = 100'000;
  // Threads that run fdatasync for acks=all (group commit). Default: 2.
  int flush_threads = 2;
  // true: acks=all rounds of several partitions sync the whole file system (syncfs) instead of
  // each partition's files (log/flusher.h). Default: false.
  bool sync_filesystem = false;
  // Free space below which writes of user data are refused (log/space_guard.h).
  space_limits space;
  // How often retention is enforced. Default: 30 s.
  std::chrono::milliseconds retention_check_interval{30'000};
};

class topic {
 public:
  const std::string& name() const { return name_; }
  const topic_id& id() const { return id_; }
  int32_t partition_count() const;
  // nullptr when out of range.
  std::shared_ptr<partition> get(int32_t index) const;
  std::vector<std::shared_ptr<partition>> partitions() const;
  topic_config config() const;
  std::map<std::string, std::string> overrides() const;

 private:
  friend class log;
  topic(std::string name, topic_id id, std::filesystem::path dir)
      : name_(std::move(name)), id_(id), dir_(std::move(dir)) {}
  result<void> write_meta() const;

  const std::string name_;
  const topic_id id_;
  const std::filesystem::path dir_;
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<partition>> partitions_;
  std::map<std::string, std::string> overrides_;
  topic_config config_;
};

class log;

// Syncs that partitions ask for (when_durable) on this thread while a sync_batch lives are
// started together when it ends: one group-commit round for one produce request.
// REQUIRES: it ends on the thread that made it, without a coroutine suspension in between.
class sync_batch {
 public:
  explicit sync_batch(log& l);
  ~sync_batch();
  sync_batch(const sync_batch&) = delete;
  sync_batch& operator=(const sync_batch&) = delete;

 private:
  std::unique_ptr<class flusher_batch_holder> b_;
};

class log {
 public:
  // Opens the data folder, recovering every partition. A start after an unclean stop checks
  // the tails of the newest segments; a start after a clean stop reads no segment data.
  static result<std::unique_ptr<log>> open(log_options options);
  ~log();  // close()
  log(const log&) = delete;
  log& operator=(const log&) = delete;

  // Errors: invalid_topic (bad name), topic_exists, invalid_partitions, invalid_config.
  result<std::shared_ptr<topic>> create_topic(std::string_view name, int32_t partitions,
                                              const std::map<std::string, std::string>& configs);
  // Errors: unknown_topic.
  result<void> delete_topic(std::string_view name);
  // Grows the topic to `total` partitions. Errors: unknown_topic, invalid_partitions.
  result<void> create_partitions(std::string_view name, int32_t total);
  // Replaces the topic's config overrides. Errors: unknown_topic, invalid_config.
  result<void> set_topic_config(std::string_view name,
                                const std::map<std::string, std::string>& overrides);

  std::shared_ptr<topic> find_topic(std::string_view name) const;
  std::vector<std::shared_ptr<topic>> topics() const;

  // A producer id never handed out before, also across restarts.
  int64_t allocate_producer_id();

  const log_options& options() const { return options_; }
  // The data folder's free space and the writes refused for the lack of it.
  const space_guard& space() const { return *space_; }
  // How long the syncs of acks=all data take (log/flusher.h).
  const metrics::histogram& sync_latency() const;
  bool started_clean() const { return started_clean_; }

  // Stops background work, writes indexes and snapshots, syncs, and marks a clean stop.
  void close();

  static bool valid_topic_name(std::string_view name);

 private:
  friend class sync_batch;
  explicit log(log_options options);
  result<void> load();
  result<std::shared_ptr<topic>> load_topic(const std::filesystem::path& dir);
  void retention_loop();
  // User topics' partitions check free space before appends; internal ("__") topics' do not.
  void guard(const topic& t, partition& p) const;

  log_options options_;
  bool started_clean_ = false;
  std::unique_ptr<flusher> flusher_;
  std::unique_ptr<space_guard> space_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<topic>, std::less<>> topics_;

  std::mutex pid_mu_;
  int64_t next_pid_ = 0;
  int64_t pid_limit_ = 0;  // ids below it are reserved on disk

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool closed_ = false;
  std::thread retention_thread_;
};

}  // namespace sluice::log
