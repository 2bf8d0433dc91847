#pragma once
// One connector instance at work: its task on its own thread, restarted with backoff when it
// fails, paused and resumed on request, with its figures. Private to connect/worker.cc.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connect/connector.h"
#include "connect/worker.h"

namespace sluice::stream {
class topic_sink;
}

namespace sluice::connect {

class state_topic;

class runner {
 public:
  runner(std::string name, const kind& k, config c, const worker_options& o, state_topic& offsets);
  ~runner();  // stops

  void start();
  void stop();          // and waits for the thread
  void request_stop();  // without waiting
  bool finished() const { return finished_.load(); }
  void pause();
  void resume();
  void restart();  // stops the task and starts it again (clears FAILED)

  connector_status status() const;

 private:
  void run();  // the thread: start the task, work, restart with backoff
  result<void> run_source();
  result<void> run_sink();
  result<void> sink_topics(sink_task& task);
  result<void> sink_view(sink_task& task);
  // Puts `records` into the sink and flushes, retrying with backoff for errors.retry.timeout;
  // then, with errors.tolerance = all, one record at a time, sending those that still fail to
  // the dead-letter topic. An error when it gives up (the task fails) or is stopped first (then
  // nothing counts as delivered).
  result<void> deliver(sink_task& task, const std::vector<sink_record>& records);
  result<void> dead_letter(const sink_record& r, const std::string& why);
  // Sleeps up to `d`; false when the runner is stopping or restarting meanwhile.
  bool sleep_for(std::chrono::milliseconds d);
  // Waits while paused; false when stopping.
  bool wait_unpaused();
  bool running() const { return !stop_.load() && !restart_.load(); }
  void set_state(std::string s, std::string trace = {});
  void moved(size_t n);

  const std::string name_;
  const kind& kind_;
  const config config_;
  const worker_options& o_;
  state_topic& offsets_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, restart_{false}, paused_{false}, finished_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  connector_status status_;
  std::unique_ptr<stream::topic_sink> dlq_;
  // deliver()'s settings: errors.retry.timeout (-1: forever), errors.retry.delay.max.ms,
  // errors.tolerance = all.
  const std::chrono::milliseconds retry_for_, max_retry_delay_;
  const bool tolerate_;
};

// The key under which `connector`'s position in `partition` (JSON) is stored.
std::string offset_key(const std::string& connector, const std::string& partition);

}  // namespace sluice::connect
