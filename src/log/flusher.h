#pragma once
// Group commit: threads that make appended data durable. Appends that arrive while a sync runs
// pile up behind it and share the next one, so the number of syncs follows the disk's speed,
// not the number of producers.
//
// Two strategies:
//   files       (default) each waiting partition's files are synced with fdatasync, by the
//               flusher's threads in parallel (the file system merges concurrent journal
//               commits). Only the data that acks=all producers wait for is flushed, so their
//               latency does not depend on what other topics (acks=1, bulk loads) have
//               written.
//   filesystem  a round of at least k_syncfs_threshold partitions syncs the whole data file
//               system with one syncfs(2): cheaper when many partitions wait at once (on ext4,
//               16 files cost 2 ms with fdatasync and 0.2 ms with syncfs), but it also flushes
//               every other dirty page of the file system, so one tenant's bulk load sets
//               everyone's acks=all latency.
//
// Thread safety: schedule() may be called from any thread.

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/file.h"
#include "metrics/histogram.h"

namespace sluice::log {

class partition;

class flusher {
 public:
  enum class strategy { files, filesystem };
  // `data_dir` is any folder on the file system that holds the partitions (for syncfs).
  flusher(int threads, const std::filesystem::path& data_dir, strategy s = strategy::files);
  ~flusher();  // finishes queued rounds, then joins
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  // REQUIRES: the partition is not already scheduled (the partition tracks that).
  void schedule(std::shared_ptr<partition> p);

  // How long each sync (a partition's fdatasync calls, or a syncfs) took.
  const metrics::histogram& sync_latency() const { return sync_latency_; }

  // With strategy::filesystem, rounds with at least this many partitions use syncfs.
  static constexpr size_t k_syncfs_threshold = 3;

  // While a batch lives, schedule() calls from its thread are held and handed over together
  // when it ends, so that the partitions of one produce request share one round.
  // REQUIRES: created and destroyed on the same thread, with no suspension in between.
  class batch {
   public:
    explicit batch(flusher* f);
    ~batch();
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;

   private:
    friend class flusher;
    flusher* f_;
    batch* outer_;
    std::vector<std::shared_ptr<partition>> held_;
  };

 private:
  void run();
  void push(std::vector<std::shared_ptr<partition>> ps);

  const strategy strategy_;
  metrics::histogram sync_latency_;
  unique_fd fs_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<partition>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sluice::log
