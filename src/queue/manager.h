#pragma once
// The queues of a server: created with their topics, kept in <data>/_queues/<name>/ (settings
// and delivery state), reopened at start, and ticked (lease expiry) by one thread.

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "queue/queue.h"

namespace sluice::queue {

class manager {
 public:
  // Opens every queue found in `dir`.
  static result<std::unique_ptr<manager>> open(log::log& log, std::filesystem::path dir);
  ~manager();  // stops ticking, snapshots every queue
  manager(const manager&) = delete;
  manager& operator=(const manager&) = delete;

  // Creates the queue: its topic (with `partitions`, unless it exists) and dead-letter topic,
  // its folder and settings. Errors: topic_exists (the queue exists), invalid_config,
  // invalid_topic, io_error.
  result<std::shared_ptr<queue>> create(const queue_settings& s, int32_t partitions);
  std::shared_ptr<queue> find(std::string_view name) const;
  std::vector<std::shared_ptr<queue>> list() const;
  // Forgets the queue's delivery state (its topics stay). Errors: unknown_topic.
  result<void> drop(std::string_view name);

  // Copies dead-lettered records of `name` back into its topic (without the sluice.* headers),
  // from where the previous replay stopped; returns how many. Errors: unknown_topic, io_error.
  result<int64_t> replay_dead_letters(std::string_view name, int64_t max);

 private:
  manager(log::log& log, std::filesystem::path dir);
  void run();

  log::log& log_;
  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<queue>, std::less<>> queues_;
  std::atomic<bool> stop_{false};
  std::thread ticker_;
};

}  // namespace sluice::queue
