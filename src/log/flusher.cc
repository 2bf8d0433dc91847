#include "log/flusher.h"

#include "log/partition.h"

namespace sluice::log {

flusher::flusher(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

flusher::~flusher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void flusher::schedule(std::shared_ptr<partition> p) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
}

void flusher::run() {
  for (;;) {
    std::shared_ptr<partition> p;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    p->flush();
  }
}

}  // namespace sluice::log
