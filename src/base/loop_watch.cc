#include "base/loop_watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sluice {

namespace {

using clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
      .count();
}

}  // namespace

// One watched loop. The watchdog posts a ping to the loop and waits for it to run: a ping
// that waits longer than the threshold means the loop's thread is held (or has more queued
// than it can run). Pings hold the state, so a ping still queued when the loop is destroyed
// only drops its reference.
struct loop_watch::entry::state {
  std::string name;
  boost::asio::io_context* loop = nullptr;
  std::atomic<bool> active{true};
  std::atomic<bool> pending{false};
  std::atomic<int64_t> posted_ns{0};
  std::atomic<int64_t> answered_lag_ns{0};
  std::atomic<const char*> doing{nullptr};
  // The watchdog's own bookkeeping (its thread only, snapshot() under impl::mu).
  bool stalled = false;
  uint64_t stalls = 0;
  double longest_seconds = 0;
};

namespace {

// The state of the loop the calling thread runs, set by that loop's first ping.
thread_local std::shared_ptr<loop_watch::entry::state> t_current;

}  // namespace

struct loop_watch::impl {
  options opts;
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::vector<std::shared_ptr<entry::state>> loops;
  std::thread thread;

  void ping(const std::shared_ptr<entry::state>& s) {
    s->posted_ns.store(now_ns(), std::memory_order_relaxed);
    s->pending.store(true, std::memory_order_release);
    boost::asio::post(*s->loop, [s] {
      if (t_current != s) t_current = s;
      s->answered_lag_ns.store(now_ns() - s->posted_ns.load(std::memory_order_relaxed),
                               std::memory_order_relaxed);
      s->pending.store(false, std::memory_order_release);
    });
  }

  // One look at every loop; under mu.
  void look() {
    const int64_t threshold_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(opts.threshold).count();
    std::erase_if(loops, [](const auto& s) { return !s->active.load(); });
    for (auto& s : loops) {
      if (s->pending.load(std::memory_order_acquire)) {
        int64_t waited = now_ns() - s->posted_ns.load(std::memory_order_relaxed);
        if (!s->stalled && waited > threshold_ns) {
          s->stalled = true;
          ++s->stalls;
          const char* what = s->doing.load(std::memory_order_relaxed);
          spdlog::warn("{}: event loop blocked for over {} ms (the last request it started: {})",
                       s->name, waited / 1'000'000, what ? what : "none");
        }
        continue;
      }
      if (s->stalled) {
        double lag = static_cast<double>(s->answered_lag_ns.load(std::memory_order_relaxed)) / 1e9;
        s->stalled = false;
        s->longest_seconds = std::max(s->longest_seconds, lag);
        spdlog::warn("{}: event loop running again after {:.0f} ms", s->name, lag * 1000);
      }
      ping(s);
    }
  }

  void run() {
    std::unique_lock lk(mu);
    while (!stopping) {
      cv.wait_for(lk, opts.tick, [this] { return stopping; });
      if (!stopping) look();
    }
  }
};

loop_watch::loop_watch(options o) : impl_(std::make_shared<impl>()) {
  // Looked at often enough to see a stall of the threshold's length.
  o.tick = std::clamp(o.threshold / 4, std::chrono::milliseconds(5), o.tick);
  impl_->opts = o;
  impl_->thread = std::thread([i = impl_.get()] { i->run(); });
}

loop_watch::~loop_watch() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

std::unique_ptr<loop_watch::entry> loop_watch::watch(std::string name,
                                                     boost::asio::io_context& loop) {
  auto s = std::make_shared<entry::state>();
  s->name = std::move(name);
  s->loop = &loop;
  std::lock_guard lk(impl_->mu);
  impl_->loops.push_back(s);
  return std::unique_ptr<entry>(new entry(std::move(s)));
}

loop_watch::entry::~entry() {
  s_->active.store(false);
}

void loop_watch::doing(const char* what) {
  if (t_current) t_current->doing.store(what, std::memory_order_relaxed);
}

std::vector<loop_watch::loop_stats> loop_watch::snapshot() const {
  std::lock_guard lk(impl_->mu);
  std::vector<loop_stats> out;
  for (const auto& s : impl_->loops)
    out.push_back({s->name, s->stalls, s->longest_seconds, s->stalled});
  return out;
}

}  // namespace sluice
