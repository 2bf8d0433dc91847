#pragma once
// A continuous query's changes (SELECT ... EMIT CHANGES) pushed to one client:
//   POST /v1/sql                 NDJSON: a {"columns":[..]} line, then a line per change
//                                {"change":"insert|upsert|delete","row":{..}}
//   ... with Accept: text/event-stream, or GET /v1/sql/events?sql=..   Server-Sent Events
//   GET /v1/sql/ws?sql=..        WebSocket
// Over SSE and WebSocket the messages are {"type":"columns","columns":[..]}, then
// {"type":"changes","changes":[{"change":..,"row":{..}},..]} (SSE events of those names).
//
// The query runs on its own thread and appends its changes to this client's buffer; a client
// that lets the buffer grow past its bound is told so and disconnected (the query stops with
// it).
//
// Threads: sink() is called on the query's thread; serve() on any thread; the rest on the
// push loop given to create().

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "http/push_channel.h"
#include "stream/operator.h"

namespace sluice::sql {
class push_query;
}

namespace sluice::http {

class query_push : public std::enable_shared_from_this<query_push> {
 public:
  // `loop`: where the client will be served. `max_buffer_bytes`: the bound on what waits.
  static std::shared_ptr<query_push> create(push_channel::transport t,
                                            boost::asio::io_context& loop, size_t max_buffer_bytes);
  // What to give sql::engine::subscribe.
  std::function<void(const stream::element_batch&)> sink();

  // Takes over the connection once the query is subscribed; `stopper` runs the query's
  // destruction (it joins the query's thread) off the push loop.
  void serve(push_stream stream, push_channel::request req, std::unique_ptr<sql::push_query> q,
             std::function<void(std::unique_ptr<sql::push_query>)> stopper);

  query_push(push_channel::transport t, boost::asio::io_context& loop, size_t max_buffer_bytes);

 private:
  boost::asio::awaitable<void> run(push_stream stream, push_channel::request req);

  const push_channel::transport transport_;
  boost::asio::io_context& loop_;
  const size_t limit_;
  std::unique_ptr<push_channel> ch_;
  std::unique_ptr<sql::push_query> query_;
  std::function<void(std::unique_ptr<sql::push_query>)> stopper_;

  std::mutex mu_;  // what the query thread shares with the loop
  std::vector<std::string> columns_;
  std::string pending_;  // changes not yet sent, joined (',' or '\n')
  bool overflow_ = false;
  bool gone_ = false;
};

}  // namespace sluice::http
