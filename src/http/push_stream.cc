#include "http/push_stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cassert>

#include "security/tls.h"

namespace sluice::http {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

push_stream::push_stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
    : socket_(socket.get_executor()),
      tls_context_(std::move(tls)),
      tls_(std::make_unique<tls_stream>(std::move(socket), *tls_context_)) {}

push_stream push_stream::moved_to(asio::io_context& loop) && {
  auto& here = asio::query(get_executor(), asio::execution::context);
  if (&here == &loop) return std::move(*this);
  assert(!tls_ && "a TLS connection cannot change loops");
  auto protocol = socket_.local_endpoint().protocol();
  push_stream moved(tcp::socket(loop, protocol, socket_.release()));
  moved.access_ = std::move(access_);
  return moved;
}

awaitable<bool> push_stream::handshake(std::chrono::steady_clock::duration limit) {
  if (!tls_) co_return true;
  // A client that connects and says nothing must not hold the connection forever.
  auto deadline = close_after(limit);
  boost::system::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(use_awaitable, ec));
  co_return !ec && !deadline.end();
}

std::string push_stream::peer_subject() {
  return tls_ ? security::tls_context::peer_subject(tls_->native_handle()) : std::string();
}

awaitable<std::tuple<boost::system::error_code, size_t>> push_stream::write_all(
    std::span<const asio::const_buffer> buffers) {
  if (!tls_ || buffers.size() == 1)
    co_return co_await asio::async_write(*this, buffers, asio::as_tuple(use_awaitable));
  joined_.clear();
  joined_.reserve(asio::buffer_size(buffers));
  for (const auto& b : buffers)
    joined_.append(static_cast<const char*>(b.data()), b.size());
  co_return co_await asio::async_write(*tls_, asio::buffer(joined_), asio::as_tuple(use_awaitable));
}

awaitable<void> push_stream::shutdown_send(std::chrono::steady_clock::duration limit) {
  boost::system::error_code ignore;
  if (!tls_) {
    socket_.shutdown(tcp::socket::shutdown_send, ignore);
    co_return;
  }
  // SSL_shutdown sends close_notify, then waits for the client's: bounded by `limit`.
  auto deadline = close_after(limit);
  co_await tls_->async_shutdown(asio::redirect_error(use_awaitable, ignore));
  deadline.end();
}

push_stream::deadline push_stream::close_after(std::chrono::steady_clock::duration limit) {
  auto timer = std::make_shared<asio::steady_timer>(get_executor(), limit);
  auto state = std::make_shared<deadline::flags>();
  // The handler may run after the operation it bounds has ended (both were queued): it acts
  // only while `state` says the operation is still going on.
  timer->async_wait([state, s = &socket()](boost::system::error_code ec) {
    if (ec || state->ended) return;
    state->expired = true;
    boost::system::error_code ignore;
    s->close(ignore);
  });
  return deadline{std::move(timer), std::move(state)};
}

bool push_stream::deadline::end() {
  state_->ended = true;
  timer_->cancel();
  return state_->expired;
}

void push_stream::close() {
  boost::system::error_code ignore;
  socket().shutdown(tcp::socket::shutdown_both, ignore);
  socket().close(ignore);
}

}  // namespace sluice::http
