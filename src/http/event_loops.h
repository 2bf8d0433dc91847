#pragma once
// A fixed set of event loops, one thread each, that connections are spread over: the HTTP
// server's long-lived push connections (live views, topic tails, EMIT CHANGES) run on these so
// that their fan-out uses every core, not only the loop that accepts and routes requests.
//
// Threads: next() and size() from any thread; stop() once, from a thread that is not one of
// the loops. Handlers still queued at stop() are destroyed with the loops.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace sluice::http {

class event_loops {
 public:
  // `n` loops (at least one), each running on its own thread from construction.
  explicit event_loops(size_t n);
  ~event_loops();  // stop()
  event_loops(const event_loops&) = delete;
  event_loops& operator=(const event_loops&) = delete;

  size_t size() const { return loops_.size(); }
  boost::asio::io_context& at(size_t i) { return loops_[i]->io; }
  // The loop for a new connection (round robin) and its index.
  size_t next_index() { return next_.fetch_add(1, std::memory_order_relaxed) % loops_.size(); }

  void stop();

 private:
  struct loop {
    boost::asio::io_context io{1};
    std::thread thread;
  };
  std::vector<std::unique_ptr<loop>> loops_;
  std::atomic<size_t> next_{0};
};

}  // namespace sluice::http
