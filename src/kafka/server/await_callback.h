#pragma once
// Turns a callback-style operation (the group coordinator's join, sync, commit) into an
// awaitable on the connection's loop. The callback may run on any thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <optional>

#include "kafka/server/wakeup.h"

namespace sluice::kafka {

// `start` receives the completion function (taking a T) and starts the operation.
template <class T, class Start>
boost::asio::awaitable<T> await_callback(boost::asio::any_io_executor ex, Start start) {
  struct state {
    std::optional<T> value;
    std::shared_ptr<wakeup> wake;
  };
  auto st = std::make_shared<state>();
  st->wake = std::make_shared<wakeup>(ex);
  start([st, ex](T v) {
    boost::asio::post(ex, [st, v = std::move(v)]() mutable {
      st->value = std::move(v);
      st->wake->notify_here();
    });
  });
  while (!st->value)
    co_await st->wake->wait_until(std::chrono::steady_clock::time_point::max());
  co_return std::move(*st->value);
}

}  // namespace sluice::kafka
