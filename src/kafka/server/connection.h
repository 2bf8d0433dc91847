#pragma once
// One client connection. Requests are read and started in order; their responses are written
// in the same order, but a request waiting (acks=all sync, long-poll fetch) does not stop the
// next ones from being read and appended (up to max_inflight_per_connection), so pipelining
// clients keep the disk and the network busy.
//
// On a TLS listener the connection first completes a TLS handshake (within 10 s); fetched
// record data then goes through OpenSSL instead of sendfile. On a SASL listener only
// ApiVersions, SaslHandshake and SaslAuthenticate are served until the login succeeds
// (kafka/server/session.h).
//
// Thread: lives on one event loop; every member runs there.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>

#include "base/bytes.h"
#include "kafka/server/broker.h"
#include "kafka/server/response.h"
#include "kafka/server/session.h"

namespace sluice::kafka {

class connection : public std::enable_shared_from_this<connection> {
 public:
  // `tls`: the TLS context when `where` is an SSL or SASL_SSL listener, else null.
  connection(boost::asio::ip::tcp::socket socket, broker& b, const listener& where,
             std::shared_ptr<boost::asio::ssl::context> tls);
  boost::asio::awaitable<void> run();
  void close();
  // Thread-safe: posts close() to the connection's loop.
  void close_from_any_thread();
  // Keeps `token` (the connection's place in a per-address count) until the connection ends.
  void hold(std::shared_ptr<void> token) { admission_ = std::move(token); }

 private:
  struct pending {
    bool done = false;
    std::optional<kafka::response> response;
  };

  boost::asio::ip::tcp::socket& tcp() { return tls_ ? tls_->next_layer() : socket_; }
  boost::asio::awaitable<bool> tls_handshake();
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> handle(std::shared_ptr<pending> slot, bytes frame, bool raw_token);
  template <typename Buffers>
  boost::asio::awaitable<void> read_all(const Buffers& b);
  template <typename Buffers>
  boost::asio::awaitable<void> write_all(const Buffers& b);
  // Writes a response with file slices: bytes with async writes, file ranges with sendfile
  // (or read and written through TLS).
  boost::asio::awaitable<void> write_spliced(const kafka::response& r);
  boost::asio::awaitable<void> send_file(const log::read_result& r);

  boost::asio::ip::tcp::socket socket_;  // moved into tls_ on a TLS listener
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  broker& b_;
  session session_;
  std::string peer_;
  std::deque<std::shared_ptr<pending>> queue_;
  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer reader_wake_;
  // No request is taken before this (KIP-219 throttling; see response::mute).
  std::chrono::steady_clock::time_point muted_until_{};
  bool closing_ = false;
  std::shared_ptr<void> admission_;
};

}  // namespace sluice::kafka
