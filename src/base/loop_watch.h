#pragma once
// A watchdog over event loops. Work that holds a loop's thread (a blocking call, a long
// computation) delays every connection of that loop at once: the stall Seastar and Redpanda
// report as a "reactor stall". Every tick the watchdog's thread posts a ping to each watched
// loop; a ping the loop has not run within the threshold makes it warn, naming the last
// request the loop started (doing()), and log the stall's length once the ping runs. A loop
// with more queued work than it can run shows the same lag. Stalls are counted per loop for
// /metrics.
//
// Threads: watch() and snapshot() from any thread; doing() from a loop's own thread (a no-op
// on any other thread). A watched loop must stay alive while its entry is: the entry returned
// by watch() stops watching when destroyed, so whoever stops the loop destroys it first.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

class loop_watch {
 public:
  struct options {
    // A loop that has not run its ping for this long is reported stalled. Default: 1000 ms.
    std::chrono::milliseconds threshold{1000};
    // How often the watchdog looks and pings (at most a quarter of the threshold). Default:
    // 100 ms.
    std::chrono::milliseconds tick{100};
  };
  struct loop_stats {
    std::string name;
    uint64_t stalls = 0;         // stalls seen since start
    double longest_seconds = 0;  // the longest of them
    bool stalled_now = false;
  };
  class entry;

  explicit loop_watch(options o);
  ~loop_watch();
  loop_watch(const loop_watch&) = delete;
  loop_watch& operator=(const loop_watch&) = delete;

  // Watches `loop` (named e.g. "kafka-0") until the returned entry is destroyed.
  [[nodiscard]] std::unique_ptr<entry> watch(std::string name, boost::asio::io_context& loop);

  // Records what the calling loop thread has just started (a string that lives forever,
  // such as a Kafka API's name), for the warning should the loop stall now.
  static void doing(const char* what);

  std::vector<loop_stats> snapshot() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

class loop_watch::entry {
 public:
  struct state;  // private to loop_watch.cc
  ~entry();
  entry(const entry&) = delete;
  entry& operator=(const entry&) = delete;

 private:
  friend class loop_watch;
  explicit entry(std::shared_ptr<state> s) : s_(std::move(s)) {}
  std::shared_ptr<state> s_;
};

}  // namespace sluice
