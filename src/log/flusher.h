#pragma once
// Group commit: a small pool of threads that fdatasync partitions on request. While one sync
// runs, new appends pile up behind it and share the next one, so the number of syncs follows
// the disk's speed, not the number of producers.
//
// Thread safety: schedule() may be called from any thread.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::log {

class partition;

class flusher {
 public:
  explicit flusher(int threads);
  ~flusher();  // finishes queued syncs, then joins
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  // REQUIRES: the partition is not already scheduled (the partition tracks that).
  void schedule(std::shared_ptr<partition> p);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<partition>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sluice::log
