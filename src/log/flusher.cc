#include "log/flusher.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

#include "log/partition.h"

namespace sluice::log {

flusher::flusher(int threads, const std::filesystem::path& data_dir, strategy s)
    : strategy_(s), fs_fd_(::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  for (int i = 0; i < std::max(1, threads); ++i)
    threads_.emplace_back([this] { run(); });
}

flusher::~flusher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

namespace {
thread_local flusher::batch* t_batch = nullptr;
}  // namespace

flusher::batch::batch(flusher* f) : f_(f), outer_(t_batch) {
  t_batch = this;
}

flusher::batch::~batch() {
  t_batch = outer_;
  if (!held_.empty()) f_->push(std::move(held_));
}

void flusher::schedule(std::shared_ptr<partition> p) {
  if (t_batch && t_batch->f_ == this) {
    t_batch->held_.push_back(std::move(p));
    return;
  }
  std::vector<std::shared_ptr<partition>> one;
  one.push_back(std::move(p));
  push(std::move(one));
}

void flusher::push(std::vector<std::shared_ptr<partition>> ps) {
  {
    std::lock_guard lk(mu_);
    for (auto& p : ps)
      queue_.push_back(std::move(p));
  }
  cv_.notify_one();
}

void flusher::run() {
  for (;;) {
    std::deque<std::shared_ptr<partition>> round;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (strategy_ == strategy::files) {
        // One partition at a time: the other threads take the next ones meanwhile.
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (!queue_.empty()) cv_.notify_one();
      } else {
        round.swap(queue_);
      }
    }
    if (strategy_ == strategy::files || round.size() < k_syncfs_threshold || !fs_fd_.valid()) {
      for (auto& p : round) {
        auto t = p->begin_flush();
        auto start = std::chrono::steady_clock::now();
        auto r = p->sync_files(t);
        sync_latency_.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        p->end_flush(t, r);
      }
      continue;
    }
    std::vector<partition::flush_ticket> tickets;
    tickets.reserve(round.size());
    for (auto& p : round)
      tickets.push_back(p->begin_flush());
    // Every ticket was taken before the sync started, so the sync covers all of them.
    result<void> r;
    auto start = std::chrono::steady_clock::now();
    if (::syncfs(fs_fd_.get()) != 0) r = io_error("syncfs", "data folder");
    sync_latency_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    for (size_t i = 0; i < round.size(); ++i)
      round[i]->end_flush(tickets[i], r);
  }
}

}  // namespace sluice::log
