#pragma once
// The byte stream of one HTTP connection: a plain TCP socket or TLS over one (https://
// listeners). The HTTP session reads requests from it and writes answers; a push endpoint
// (SSE, WebSocket, NDJSON) then takes it over. It models Asio's AsyncReadStream and
// AsyncWriteStream, so Beast's HTTP reader and writer work on it.
//
// Loops: a plain connection can move to another event loop (its descriptor is re-wrapped); a
// TLS one cannot (OpenSSL's state and Asio's TLS engine are bound to the loop it was accepted
// on), so TLS connections are accepted straight onto the push loop that will serve them.
//
// Threads: the loop of its executor, one coroutine reading and one writing at a time.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>

namespace sluice::http {

class push_stream {
 public:
  using tcp = boost::asio::ip::tcp;
  using tls_stream = boost::asio::ssl::stream<tcp::socket>;
  using executor_type = tcp::socket::executor_type;

  explicit push_stream(tcp::socket socket) : socket_(std::move(socket)) {}
  // A TLS connection over `socket`, before its handshake. The stream keeps `tls` alive (a
  // SIGHUP may replace the server's current context while connections still use this one).
  push_stream(tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls);
  push_stream(push_stream&&) noexcept = default;
  push_stream& operator=(push_stream&&) noexcept = default;

  bool is_tls() const { return tls_ != nullptr; }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  const tcp::socket& socket() const { return tls_ ? tls_->next_layer() : socket_; }
  executor_type get_executor() { return socket().get_executor(); }

  // The same connection served from `loop`. REQUIRES: a TLS stream is already on `loop`.
  push_stream moved_to(boost::asio::io_context& loop) &&;

  // Whether the connection's caller may still have what it asked for (its READ on the view or
  // topic it follows): set by the server when security is on, carried by moved_to(), asked by
  // the push channel serving it (http/push_channel.h). Null: no check.
  void set_access(std::function<bool()> still_allowed) { access_ = std::move(still_allowed); }
  const std::function<bool()>& access() const { return access_; }

  // The TLS handshake (server side), closed if it takes longer than `limit`. True when done;
  // a plain stream has none.
  boost::asio::awaitable<bool> handshake(std::chrono::steady_clock::duration limit);
  // The subject of the client's verified certificate (mutual TLS), or "".
  std::string peer_subject();

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

  // All of `buffers`, in one gather write on a plain socket (shared buffers go out without a
  // copy); under TLS joined first, so that a message is one TLS record rather than one per
  // buffer.
  boost::asio::awaitable<std::tuple<boost::system::error_code, size_t>> write_all(
      std::span<const boost::asio::const_buffer> buffers);

  // A clean end of our side: TCP's FIN, or TLS's close_notify (given at most `limit`).
  boost::asio::awaitable<void> shutdown_send(std::chrono::steady_clock::duration limit);
  void close();

  // Closes the connection unless end() is called within `limit`; end() says whether it was
  // closed. For an operation that must not wait forever (reading the next request).
  class deadline {
   public:
    struct flags {
      bool ended = false;
      bool expired = false;
    };
    deadline(std::shared_ptr<boost::asio::steady_timer> t, std::shared_ptr<flags> f)
        : timer_(std::move(t)), state_(std::move(f)) {}
    ~deadline() { end(); }
    bool end();

   private:
    std::shared_ptr<boost::asio::steady_timer> timer_;
    std::shared_ptr<flags> state_;
  };
  deadline close_after(std::chrono::steady_clock::duration limit);

 private:
  tcp::socket socket_;  // the connection, unless moved into tls_
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<tls_stream> tls_;  // TLS connections
  std::string joined_;               // write_all's TLS buffer
  std::function<bool()> access_;
};

}  // namespace sluice::http
