#pragma once
// "Run on a worker and come back": runs a blocking function on another executor (a worker
// pool) and resumes the coroutine on its own executor with the result. An exception thrown by
// the function is rethrown in the coroutine.
//
//   auto r = co_await run_on(workers, [&] { return queues.replay_dead_letters(name, max); });

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>

namespace sluice {

template <class Executor, class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_on(Executor worker, F fn) {
  namespace asio = boost::asio;
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker, asio::use_awaitable);
  std::exception_ptr failure;
  std::optional<std::invoke_result_t<F>> out;
  try {
    out.emplace(fn());
  } catch (...) {
    failure = std::current_exception();
  }
  co_await asio::post(home, asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*out);
}

}  // namespace sluice
