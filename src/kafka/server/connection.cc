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
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/file.h"
#include "kafka/protocol/reader.h"
#include "kafka/server/frame.h"
#include "security/tls.h"

namespace sluice::kafka {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {
constexpr auto k_tls_handshake_timeout = std::chrono::seconds(10);
// A bare SASL token (after SaslHandshake v0) is small; a larger frame is not one.
constexpr int32_t k_max_raw_token_bytes = 64 << 10;
}  // namespace

connection::connection(asio::ip::tcp::socket socket, broker& b, const listener& where,
                       std::shared_ptr<asio::ssl::context> tls)
    : socket_(std::move(socket)),
      tls_context_(std::move(tls)),
      b_(b),
      writer_wake_(socket_.get_executor()),
      reader_wake_(socket_.get_executor()) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  session_.where = &where;
  session_.client_host = ec ? "unknown" : ep.address().to_string();
  session_.authenticated = !uses_sasl(where.protocol);
  peer_ = session_.client_host + ":" + std::to_string(ec ? 0 : ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.native_non_blocking(true, ec);  // sendfile must not block the event loop
  if (tls_context_)
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket_),
                                                                      *tls_context_);
}

void connection::close() {
  if (closing_) return;
  closing_ = true;
  boost::system::error_code ec;
  tcp().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  tcp().close(ec);
  writer_wake_.cancel();
  reader_wake_.cancel();
}

void connection::close_from_any_thread() {
  asio::post(writer_wake_.get_executor(), [self = shared_from_this()] { self->close(); });
}

template <typename Buffers>
asio::awaitable<void> connection::read_all(const Buffers& b) {
  if (tls_)
    co_await asio::async_read(*tls_, b, use_awaitable);
  else
    co_await asio::async_read(socket_, b, use_awaitable);
}

template <typename Buffers>
asio::awaitable<void> connection::write_all(const Buffers& b) {
  if (tls_)
    co_await asio::async_write(*tls_, b, use_awaitable);
  else
    co_await asio::async_write(socket_, b, use_awaitable);
}

asio::awaitable<bool> connection::tls_handshake() {
  // A client that connects and says nothing must not hold the connection forever.
  asio::steady_timer deadline(writer_wake_.get_executor(), k_tls_handshake_timeout);
  deadline.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) close();
  });
  boost::system::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(use_awaitable, ec));
  deadline.cancel();
  if (ec || closing_) {
    spdlog::debug("kafka: {}: TLS handshake failed: {}", peer_, ec.message());
    co_return false;
  }
  // Mutual TLS: the certificate's subject is the principal until (on SASL_SSL) a login.
  if (auto subject = security::tls_context::peer_subject(tls_->native_handle()); !subject.empty())
    session_.principal = "User:" + subject;
  co_return true;
}

asio::awaitable<void> connection::run() {
  auto self = shared_from_this();
  if (tls_) {
    // (Not `tls_ && !co_await ...`: GCC 12 miscompiles co_await inside && and ||.)
    bool ok = co_await tls_handshake();
    if (!ok) {
      close();
      co_return;
    }
  }
  asio::co_spawn(
      writer_wake_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
  co_await read_loop();
}

asio::awaitable<void> connection::read_loop() {
  auto self = shared_from_this();
  try {
    for (;;) {
      uint8_t size_buf[4];
      co_await read_all(asio::buffer(size_buf));
      auto size = static_cast<int32_t>(load_be32(size_buf));
      bool raw_token = session_.awaiting_raw_token();
      if (raw_token ? size < 0 || size > k_max_raw_token_bytes
                    : size < 8 || size > b_.config.max_request_bytes) {
        spdlog::warn("kafka: {}: closing connection: request frame of {} bytes (limit {})", peer_,
                     size, b_.config.max_request_bytes);
        break;
      }
      bytes frame(static_cast<size_t>(size));
      co_await read_all(asio::buffer(frame));
      while (!closing_ && std::chrono::steady_clock::now() < muted_until_) {
        reader_wake_.expires_at(muted_until_);
        boost::system::error_code ec;
        co_await reader_wake_.async_wait(asio::redirect_error(use_awaitable, ec));
      }
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
          writer_wake_.get_executor(),
          [self, slot, raw_token, f = std::move(frame)]() mutable {
            return self->handle(std::move(slot), std::move(f), raw_token);
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

asio::awaitable<void> connection::handle(std::shared_ptr<pending> slot, bytes frame,
                                         bool raw_token) {
  try {
    if (raw_token)
      slot->response = co_await process_raw_sasl_token(b_, std::move(frame),
                                                       writer_wake_.get_executor(), session_);
    else
      slot->response =
          co_await process_frame(b_, std::move(frame), writer_wake_.get_executor(), session_);
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
  if (tls_) {
    // TLS encrypts in user space: the range is read and written in pieces.
    constexpr size_t k_chunk = 256 << 10;
    bytes buf(std::min(r.len, k_chunk));
    for (size_t done = 0; done < r.len;) {
      size_t n = std::min(r.len - done, k_chunk);
      if (auto ok = pread_full(r.file_descriptor(), buf.data(), n,
                               static_cast<int64_t>(r.pos + done), "segment");
          !ok)
        throw boost::system::system_error(EIO, boost::system::system_category(),
                                          ok.error().message);
      co_await write_all(asio::buffer(buf.data(), n));
      done += n;
    }
    co_return;
  }
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
  int fd = tcp().native_handle();
  int on = 1, off = 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);  // one stream of full packets
  size_t pos = 0;
  for (const auto& s : r.slices) {
    co_await write_all(asio::buffer(r.head.data() + pos, s.at - pos));
    co_await send_file(s.data);
    pos = s.at;
  }
  co_await write_all(asio::buffer(r.head.data() + pos, r.head.size() - pos));
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
      for (const auto& p : batch)
        if (p->response && p->response->mute.count() > 0)
          muted_until_ =
              std::max(muted_until_, std::chrono::steady_clock::now() + p->response->mute);
      reader_wake_.cancel();
      if (!bufs.empty()) {
        co_await write_all(bufs);
      } else if (!batch.empty() && batch.back()->response &&
                 !batch.back()->response->slices.empty()) {
        co_await write_spliced(*batch.back()->response);
      }
      // A failed login ends the connection once its answer is out.
      if (std::any_of(batch.begin(), batch.end(),
                      [](const auto& p) { return p->response && p->response->close_after; }))
        break;
    }
  } catch (const boost::system::system_error& e) {
    spdlog::debug("kafka: {}: write: {}", peer_, e.what());
  }
  close();
}

}  // namespace sluice::kafka
