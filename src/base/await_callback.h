#pragma once
// "Callback to awaitable": turns an operation that reports through a callback (possibly on
// another thread: the log's flusher, a coordinator's timer) into an awaitable that resumes
// on the awaiting coroutine's executor.
//
//   auto e = co_await await_callback<errc>([&](auto done) { coordinator.end(id, done); });

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

namespace sluice {

// `start` receives the completion function (taking a T) and starts the operation; the
// completion may be called on any thread, once.
template <class T, class Start>
boost::asio::awaitable<T> await_callback(Start start) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  struct state {
    explicit state(asio::any_io_executor e) : timer(e, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<T> value;
  };
  auto st = std::make_shared<state>(ex);
  start([st](T v) {
    asio::post(st->timer.get_executor(), [st, v = std::move(v)]() mutable {
      st->value = std::move(v);
      st->timer.cancel();
    });
  });
  while (!st->value)
    co_await st->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::move(*st->value);
}

}  // namespace sluice
