#pragma once
// A one-shot-per-wait notification for a coroutine on one event loop, which other threads
// (the log's flusher, an appending connection on another loop) may trigger.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>

namespace sluice::kafka {

class wakeup : public std::enable_shared_from_this<wakeup> {
 public:
  explicit wakeup(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

  // Thread-safe. The notification is kept until the next wait consumes it.
  static void notify(const std::weak_ptr<wakeup>& w) {
    if (auto self = w.lock())
      boost::asio::post(self->timer_.get_executor(), [self] {
        self->fired_ = true;
        self->timer_.cancel();
      });
  }
  // On the owning loop only.
  void notify_here() {
    fired_ = true;
    timer_.cancel();
  }

  // Waits until notified or `deadline`; true when notified.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline) {
    if (!fired_) {
      timer_.expires_at(deadline);
      boost::system::error_code ec;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    bool f = fired_;
    fired_ = false;
    co_return f;
  }

 private:
  boost::asio::steady_timer timer_;
  bool fired_ = false;
};

}  // namespace sluice::kafka
