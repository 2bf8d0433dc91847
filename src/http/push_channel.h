#pragma once
// A connection over which the server pushes messages to one client, in one of three framings:
//
//   Server-Sent Events  `id: N` (when given), `event: NAME`, `data: MESSAGE`, a blank line
//   WebSocket           one text frame per message (RFC 6455). The handshake is Beast's; the
//                       frames are written here, so a message made of buffers shared by many
//                       subscribers goes out in one gather write, without a copy
//   NDJSON              chunked HTTP, one line per message
//
// A message is one JSON text without newlines. Client frames on a WebSocket: a ping is answered
// with a pong, a close is answered and ends the channel, other messages are read and ignored
// (at most 64 KiB each; larger ones, or unmasked ones, end it with close code 1009 / 1002).
// An idle channel sends a keep-alive every 15 s (an SSE comment, a WebSocket ping), which also
// notices peers that went away.
//
// When the stream carries an access check (push_stream::access: security is on), it is asked
// again before a message once a second has passed since the last time, and at each
// keep-alive: once the caller may no longer read what it follows (an ACL was removed), the
// channel ends with the reason "access revoked" (WebSocket close code 1008) and send() answers
// false, as for a client that went away.
//
// Threads: everything on the socket's executor, and from one coroutine at a time: send(),
// wait() and close() never overlap (the reading side runs by itself and only sets flags).

#include <boost/asio.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/push_stream.h"

namespace sluice::http {

class push_channel {
 public:
  enum class transport : uint8_t { sse, websocket, ndjson };
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  push_channel(push_stream stream, transport t);
  ~push_channel();  // closes the connection
  push_channel(const push_channel&) = delete;
  push_channel& operator=(const push_channel&) = delete;

  transport kind() const;
  boost::asio::any_io_executor get_executor() const;

  // Answers `req` (SSE and NDJSON: a 200 head; WebSocket: the upgrade) and starts reading the
  // client's side. False when the client is gone or its upgrade request is not valid.
  boost::asio::awaitable<bool> open(const request& req);

  // One message, the concatenation of `parts`. False once the client is gone.
  boost::asio::awaitable<bool> send(std::string_view event, std::optional<uint64_t> id,
                                    std::span<const boost::asio::const_buffer> parts);
  boost::asio::awaitable<bool> send(std::string_view event, std::optional<uint64_t> id,
                                    std::string_view message);

  // Ends the channel. With a reason (the client closed or the server gives up on it): SSE an
  // `error` event {"error_code":503,"message":reason}, WebSocket a close frame with `ws_code`
  // and the reason (cut to 123 bytes), NDJSON an error line. Then the socket is closed.
  boost::asio::awaitable<void> close(uint16_t ws_code = 1000, std::string_view reason = {});

  // Until wake(), the client's side needs an answer or went away, or `timeout`; sends the
  // keep-alive when the channel has been idle 15 s.
  boost::asio::awaitable<void> wait(std::chrono::steady_clock::duration timeout);
  void wake();

  // The client went away (or closed its WebSocket).
  bool closed() const;
  // Bytes written that the kernel could not send yet (SIOCOUTQNSD: the client's receive window
  // is full): how far behind it is reading. Bytes only waiting for an ACK do not count.
  size_t unsent_bytes() const;
  uint64_t bytes_sent() const;

 private:
  struct state;
  boost::asio::awaitable<bool> flush_control();
  // Asks the stream's access check now; false (the channel closed) once it says no.
  boost::asio::awaitable<bool> still_allowed();
  std::shared_ptr<state> st_;
};

}  // namespace sluice::http
