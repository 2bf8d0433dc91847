#pragma once
// SQL, views and the live push endpoints over HTTP:
//
//   POST /v1/sql                    statements (the body's text, or {"sql":".."}) ->
//                                   {"results":[..]}; a lone SELECT ... EMIT CHANGES is
//                                   streamed instead (NDJSON, or SSE when the client accepts
//                                   text/event-stream)
//   GET  /v1/sql/events|ws?sql=..   an EMIT CHANGES query over SSE or WebSocket
//   GET  /v1/views/{v}[?key=K]      {"view","sequence","columns","rows"}
//   GET  /v1/views/{v}/events|ws    the view's rows, then its changes (?since=, ?mode=every|
//                                   latest, ?encoding=object|compact; docs/http.md)
//   GET  /v1/topics/{t}/events|ws   a topic's records as they arrive (?from=beginning)
//
// Statements need what they touch (sql/access.h), a view READ on it, a topic READ on it. A
// push request that cannot be served is answered with its error and the connection closed.

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "http/push_channel.h"
#include "http/routes.h"

namespace sluice::sql {
class engine;
}
namespace sluice::log {
class log;
}
namespace sluice::schema {
class registry;
}

namespace sluice::http {

class event_loops;
class view_push;

class sql_api {
 public:
  struct context {
    sql::engine& engine;
    log::log* log = nullptr;  // null: no topic tails (a cluster node)
    event_loops& push_loops;
    view_push& views;
    boost::asio::any_io_executor workers;  // statements and push queries start and end there
    size_t max_push_buffer_bytes = 8 << 20;
    std::shared_ptr<schema::registry> schemas;
  };
  explicit sql_api(context c) : c_(std::move(c)) {}

  void add_routes(router& r);

 private:
  using answer = boost::asio::awaitable<reply>;
  answer statements(const call& c);
  answer view_rows(const call& c);
  answer push_view(const call& c);
  answer push_topic(const call& c);
  answer push_query(const call& c);
  answer start_push_query(const call& c, push_channel::transport t, const std::string& sql);

  context c_;
};

// The SQL text of a POST /v1/sql body: raw text, or JSON {"sql": "..."}; false with `err`.
bool sql_text(const request& req, std::string& text, std::string& err);

}  // namespace sluice::http
