#pragma once
// Live push of a view's changes to HTTP subscribers: Server-Sent Events
// (GET /v1/views/{name}/events) and WebSocket (GET /v1/views/{name}/ws).
//
// A subscriber first gets the view's rows (a snapshot with its sequence number), then every
// change, each with its sequence number. One that reconnects with the last sequence number it
// saw (SSE's Last-Event-ID header, or ?since=N) gets exactly the changes after it while the
// view's change feed still holds them, and a fresh snapshot otherwise.
//
// Fan-out: one feed per view with subscribers. The query's thread only flags that the view
// changed; the feed (on the HTTP event loop) reads the new changes once, encodes them once
// into frames (SSE and WebSocket text), and appends them to a ring shared by the view's
// subscribers, bounded by bytes. Each subscriber sends from the ring at its own pace, keeping
// only its position; one whose position has left the ring fell too far behind and is
// disconnected with a reason (SSE: an `error` event; WebSocket: close code 1008). The others
// are unaffected, and memory does not grow with a slow subscriber.
//
// Threads: everything here runs on the HTTP server's single event loop.

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <map>
#include <memory>
#include <string>

namespace sluice::view {
class view;
}

namespace sluice::http {

struct push_limits {
  // Bytes of recent changes kept per view for its subscribers: how far one may fall behind
  // before it is disconnected. Default: 1 MiB.
  size_t max_queued_bytes = 1 << 20;
  // Changes read from a view per fan-out round (one frame). Default: 1024.
  size_t max_batch = 1024;
};

class view_push {
 public:
  view_push(boost::asio::io_context& io, push_limits limits);
  ~view_push();

  // Takes over the connection of a GET /v1/views/{name}/events or /ws request.
  // `since`: the resume point (none: a snapshot first).
  void serve_sse(boost::beast::tcp_stream stream, unsigned version, std::shared_ptr<view::view> v,
                 std::optional<uint64_t> since);
  void serve_websocket(boost::beast::tcp_stream stream,
                       boost::beast::http::request<boost::beast::http::string_body> req,
                       std::shared_ptr<view::view> v, std::optional<uint64_t> since);

  size_t subscribers() const;
  // Closes every subscriber (server stop).
  void close_all();

 private:
  class feed;
  std::shared_ptr<feed> feed_for(const std::shared_ptr<view::view>& v);

  boost::asio::io_context& io_;
  push_limits limits_;
  std::map<view::view*, std::shared_ptr<feed>> feeds_;
};

}  // namespace sluice::http
