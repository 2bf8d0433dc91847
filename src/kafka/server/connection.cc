#include "kafka/server/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "kafka/protocol/reader.h"
#include "kafka/server/frame.h"

namespace sluice::kafka {

namespace asio = boost::asio;
using asio::use_awaitable;

connection::connection(asio::ip::tcp::socket socket, broker& b)
    : socket_(std::move(socket)),
      b_(b),
      writer_wake_(socket_.get_executor()),
      reader_wake_(socket_.get_executor()) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  host_ = ec ? "unknown" : ep.address().to_string();
  peer_ = host_ + ":" + std::to_string(ec ? 0 : ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.native_non_blocking(true, ec);  // sendfile must not block the event loop
}

void connection::close() {
  if (closing_) return;
  closing_ = true;
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  writer_wake_.cancel();
  reader_wake_.cancel();
}

void connection::close_from_any_thread() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
  co_await read_loop();
}

asio::awaitable<void> connection::read_loop() {
  auto self = shared_from_this();
  try {
    for (;;) {
      uint8_t size_buf[4];
      co_await asio::async_read(socket_, asio::buffer(size_buf), use_awaitable);
      auto size = static_cast<int32_t>(load_be32(size_buf));
      if (size < 8 || size > b_.config.max_request_bytes) {
        spdlog::warn("kafka: {}: closing connection: request frame of {} bytes (limit {})", peer_,
                     size, b_.config.max_request_bytes);
        break;
      }
      bytes frame(static_cast<size_t>(size));
      co_await asio::async_read(socket_, asio::buffer(frame), use_awaitable);
      while (!closing_ &&
             queue_.size() >= static_cast<size_t>(b_.config.max_inflight_per_connection)) {
        reader_wake_.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ec;
        co_await reader_wake_.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      if (closing_) break;
      auto slot = std::make_shared<pending>();
      queue_.push_back(slot);
      // Started in arrival order on this loop: appends happen in request order even when an
      // earlier request is still waiting for its sync.
      asio::co_spawn(
          socket_.get_executor(),
          [self, slot, f = std::move(frame)]() mutable {
            return self->handle(std::move(slot), std::move(f));
          },
          asio::detached);
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::eof && e.code() != asio::error::operation_aborted &&
        e.code() != asio::error::connection_reset)
      spdlog::debug("kafka: {}: {}", peer_, e.what());
  }
  close();
}

asio::awaitable<void> connection::handle(std::shared_ptr<pending> slot, bytes frame) {
  try {
    slot->response = co_await process_frame(b_, std::move(frame), socket_.get_executor(), host_);
  } catch (const decode_error& e) {
    spdlog::warn("kafka: {}: closing connection: {}", peer_, e.what());
    close();
  } catch (const std::exception& e) {
    spdlog::error("kafka: {}: closing connection after an internal error: {}", peer_, e.what());
    close();
  }
  slot->done = true;
  writer_wake_.cancel();
}

asio::awaitable<void> connection::send_file(const log::read_result& r) {
  auto off = static_cast<off_t>(r.pos);
  size_t left = r.len;
  int out = socket_.native_handle();
  while (left > 0) {
    ssize_t n = ::sendfile(out, r.file_descriptor(), &off, left);
    if (n > 0) {
      left -= static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, use_awaitable);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      // A file shorter than the range read under the partition lock cannot happen unless
      // the disk lost data; the client would get a corrupt frame, so drop the connection.
      throw boost::system::system_error(n < 0 ? errno : EIO, boost::system::system_category(),
                                        "sendfile");
    }
  }
}

asio::awaitable<void> connection::write_spliced(const kafka::response& r) {
  int fd = socket_.native_handle();
  int on = 1, off = 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);  // one stream of full packets
  size_t pos = 0;
  for (const auto& s : r.slices) {
    co_await asio::async_write(socket_, asio::buffer(r.head.data() + pos, s.at - pos),
                               use_awaitable);
    co_await send_file(s.data);
    pos = s.at;
  }
  co_await asio::async_write(socket_, asio::buffer(r.head.data() + pos, r.head.size() - pos),
                             use_awaitable);
  ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
}

asio::awaitable<void> connection::write_loop() {
  auto self = shared_from_this();
  try {
    for (;;) {
      while (!closing_ && (queue_.empty() || !queue_.front()->done)) {
        writer_wake_.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ec;
        co_await writer_wake_.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      if (closing_) break;
      // Consecutive plain responses go out in one gathered write; a response carrying
      // record data is written on its own, its file ranges with sendfile.
      std::vector<std::shared_ptr<pending>> batch;
      std::vector<asio::const_buffer> bufs;
      while (!queue_.empty() && queue_.front()->done && batch.size() < 64) {
        auto& s = queue_.front();
        if (s->response && !s->response->slices.empty()) {
          if (!bufs.empty()) break;
          batch.push_back(std::move(s));
          queue_.pop_front();
          break;
        }
        if (s->response) bufs.push_back(asio::buffer(s->response->head));
        batch.push_back(std::move(s));
        queue_.pop_front();
      }
      reader_wake_.cancel();
      if (!bufs.empty()) {
        co_await asio::async_write(socket_, bufs, use_awaitable);
      } else if (!batch.empty() && batch.back()->response &&
                 !batch.back()->response->slices.empty()) {
        co_await write_spliced(*batch.back()->response);
      }
    }
  } catch (const boost::system::system_error& e) {
    spdlog::debug("kafka: {}: write: {}", peer_, e.what());
  }
  close();
}

}  // namespace sluice::kafka
