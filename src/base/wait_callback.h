#pragma once
// The blocking twin of await_callback (base/await_callback.h): calls an operation that reports
// through a callback (possibly on another thread: the log's flusher, a coordinator) and waits
// for its answer. For threads that may block (a query's, a connector's).
//
//   auto durable = wait_callback<result<void>>([&](auto done) { p.when_durable(last, done); });

#include <future>
#include <utility>

namespace sluice {

// `start` receives the completion function (taking a T) and starts the operation; the
// completion may be called on any thread, once, before or after `start` returns.
template <class T, class Start>
T wait_callback(Start start) {
  std::promise<T> p;
  auto f = p.get_future();
  start([&p](T v) { p.set_value(std::move(v)); });
  return f.get();
}

}  // namespace sluice
