#pragma once
// What every handler may use: the server's configuration and the log.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <type_traits>

#include "base/run_on.h"

#include "group/coordinator.h"
#include "group/transaction_coordinator.h"
#include "kafka/server.h"
#include "kafka/server/api_metrics.h"
#include "log/log.h"

namespace sluice::kafka {

struct broker {
  server_config config;
  log::log& log;
  group::coordinator* groups = nullptr;  // null: group APIs answer COORDINATOR_NOT_AVAILABLE
  group::transaction_coordinator* transactions = nullptr;  // null: so do transaction APIs
  std::shared_ptr<api_metrics> metrics = std::make_shared<api_metrics>();
  // Where work that waits on the disk runs (creating and deleting topics: files, directories
  // and their fsyncs), so that a slow disk does not hold every connection of an event loop.
  // Null (tests, fuzzing): such work runs on the loop.
  std::shared_ptr<boost::asio::thread_pool> disk_work;
};

// Runs `fn` (blocking file-system work) on the broker's disk_work pool and resumes on the
// calling loop with its result.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> off_loop(broker& b, F fn) {
  if (!b.disk_work) co_return fn();
  co_return co_await run_on(b.disk_work->get_executor(), std::move(fn));
}

}  // namespace sluice::kafka
