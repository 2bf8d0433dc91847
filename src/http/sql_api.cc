#include "http/sql_api.h"

#include <simdjson.h>

#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <charconv>

#include "base/json_writer.h"
#include "base/run_on.h"
#include "http/event_loops.h"
#include "http/query_push.h"
#include "http/topic_tail.h"
#include "http/url.h"
#include "http/view_push.h"
#include "log/log.h"
#include "sql/engine.h"
#include "sql/error.h"
#include "view/view.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using transport = push_channel::transport;

bool sql_text(const request& req, std::string& text, std::string& err) {
  auto type = req[bhttp::field::content_type];
  if (type.starts_with("application/json")) {
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    std::string_view sql;
    if (p.parse(req.body()).get(doc) || doc["sql"].get_string().get(sql)) {
      err = "expected a JSON body {\"sql\": \"...\"}";
      return false;
    }
    text = std::string(sql);
    return true;
  }
  text = req.body();
  return true;
}

namespace {

bool is_lone_push_query(const std::string& text) {
  // Cheap test; the parser has the last word.
  auto upper = text;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto end = upper.find_last_not_of(" \t\r\n;");
  if (end == std::string::npos) return false;
  upper.resize(end + 1);
  return upper.ends_with("EMIT CHANGES") && upper.find(';') == std::string::npos;
}

// A push request that cannot be served: its error, and the connection closes.
reply refused_push(unsigned status, std::string_view problem) {
  auto r = fail(status, problem);
  r.close = true;
  return r;
}

// .../events is Server-Sent Events; .../ws needs a WebSocket upgrade (426 otherwise). GET only
// (the routes take HEAD as GET; a HEAD has no stream to follow).
std::optional<transport> push_transport(const call& c, reply& refusal) {
  if (c.req.method() != bhttp::verb::get) {
    refusal = refused_push(405, "use GET");
    return std::nullopt;
  }
  if (c.path.ends_with("/events")) return transport::sse;
  if (boost::beast::websocket::is_upgrade(c.req)) return transport::websocket;
  refusal = refused_push(426, "a WebSocket upgrade request is needed");
  return std::nullopt;
}

// ?since= (or SSE's Last-Event-ID), ?mode=every|latest, ?encoding=object|compact; a problem
// with them, or "".
std::string subscription_of(const call& c, transport t, subscription& sub) {
  std::string since_text(t == transport::sse ? std::string_view(c.req["Last-Event-ID"])
                                             : std::string_view());
  if (auto q = c.query("since")) since_text = *q;
  if (!since_text.empty()) {
    uint64_t n = 0;
    auto r = std::from_chars(since_text.data(), since_text.data() + since_text.size(), n);
    if (r.ec != std::errc() || r.ptr != since_text.data() + since_text.size())
      return "since must be a sequence number, got '" + since_text + "'";
    sub.since = n;
  }
  if (auto m = c.query("mode")) {
    if (*m == "every")
      sub.mode = delivery::every;
    else if (*m == "latest")
      sub.mode = delivery::latest;
    else
      return "mode must be every or latest, got '" + *m + "'";
  }
  if (auto e = c.query("encoding")) {
    if (*e == "object")
      sub.encoding = change_encoding::object;
    else if (*e == "compact")
      sub.encoding = change_encoding::compact;
    else
      return "encoding must be object or compact, got '" + *e + "'";
  }
  return {};
}

// {"view":..,"sequence":n,"columns":[..],"rows":[{..},..]}.
std::string rows_json(const view::view& v, std::optional<std::string> key) {
  uint64_t seq = 0;
  std::vector<stream::row> rows;
  if (key) {
    seq = v.sequence();
    if (auto r = v.lookup(*key)) rows.push_back(std::move(*r));
  } else {
    rows = v.rows(&seq);
  }
  json_writer w;
  w.begin_object().key("view").value(v.name()).key("sequence").value(seq);
  w.key("columns").begin_array();
  for (const auto& c : v.columns())
    w.value(c);
  w.end_array().key("rows").begin_array();
  for (const auto& r : rows)
    w.raw_with([&](std::string& out) { stream::append_json_row(out, v.columns(), r); });
  w.end_array().end_object();
  return std::move(w).str();
}

}  // namespace

void sql_api::add_routes(router& r) {
  using verb = bhttp::verb;
  using op = security::acl_operation;
  auto add = [&](verb m, std::string pattern, permission p, answer (sql_api::*fn)(const call&)) {
    r.add(m, std::move(pattern), p, this, fn);
  };
  auto view_read = needs::named(op::read, k_view_resource);
  add(verb::post, "/v1/sql", needs::sql, &sql_api::statements);
  add(verb::get, "/v1/sql/events", needs::sql, &sql_api::push_query);
  add(verb::get, "/v1/sql/ws", needs::sql, &sql_api::push_query);
  add(verb::get, "/v1/views/{name}", view_read, &sql_api::view_rows);
  add(verb::get, "/v1/views/{name}/events", view_read, &sql_api::push_view);
  add(verb::get, "/v1/views/{name}/ws", view_read, &sql_api::push_view);
  if (c_.log) {
    add(verb::get, "/v1/topics/{topic}/events", needs::topic(op::read), &sql_api::push_topic);
    add(verb::get, "/v1/topics/{topic}/ws", needs::topic(op::read), &sql_api::push_topic);
  }
}

awaitable<reply> sql_api::statements(const call& c) {
  std::string text, err;
  if (!sql_text(c.req, text, err)) co_return fail(400, err);
  if (is_lone_push_query(text)) {
    auto t = c.req[bhttp::field::accept].find("text/event-stream") != std::string_view::npos
                 ? transport::sse
                 : transport::ndjson;
    co_return co_await start_push_query(c, t, text);
  }
  auto body = co_await run_on(c_.workers, [&] { return sql::to_json(c_.engine.execute(text)); });
  co_return reply{200, std::move(body)};
}

awaitable<reply> sql_api::view_rows(const call& c) {
  const auto& name = c.params[0];
  auto v = c_.engine.find_view(name);
  if (!v) co_return fail(404, "no view '" + name + "'");
  co_return reply{200, rows_json(*v, c.query("key"))};
}

awaitable<reply> sql_api::push_view(const call& c) {
  reply refusal;
  auto t = push_transport(c, refusal);
  if (!t) co_return refusal;
  subscription sub;
  auto problem = subscription_of(c, *t, sub);
  auto v = c_.engine.find_view(c.params[0]);
  if (!v) co_return refused_push(404, "no view '" + c.params[0] + "'");
  if (!problem.empty()) co_return refused_push(400, problem);
  reply r;
  size_t loop = c.from.loop.value_or(c_.push_loops.next_index());
  r.push = [views = &c_.views, t = *t, loop, req = c.req, v, sub](push_stream s) {
    views->serve(t, std::move(s), loop, req, v, sub);
  };
  co_return r;
}

awaitable<reply> sql_api::push_topic(const call& c) {
  reply refusal;
  auto t = push_transport(c, refusal);
  if (!t) co_return refusal;
  auto topic = c_.log->find_topic(c.params[0]);
  if (!topic) co_return refused_push(404, "no topic '" + c.params[0] + "'");
  bool beginning = c.query("from") == "beginning";
  auto& loop = c_.push_loops.at(c.from.loop.value_or(c_.push_loops.next_index()));
  reply r;
  r.push = [&loop, t = *t, req = c.req, topic, beginning, schemas = c_.schemas](push_stream s) {
    serve_topic_tail(t, std::move(s), loop, req, topic, beginning, schemas);
  };
  co_return r;
}

awaitable<reply> sql_api::push_query(const call& c) {
  reply refusal;
  auto t = push_transport(c, refusal);
  if (!t) co_return refusal;
  auto sql = c.query("sql").value_or("");
  if (!is_lone_push_query(sql))
    co_return refused_push(400, "?sql= must be one SELECT ... EMIT CHANGES statement");
  co_return co_await start_push_query(c, *t, sql);
}

// Subscribes an EMIT CHANGES query (on the workers) and hands it the connection; a refused
// statement is a 400.
awaitable<reply> sql_api::start_push_query(const call& c, transport t, const std::string& sql) {
  auto& loop = c_.push_loops.at(c.from.loop.value_or(c_.push_loops.next_index()));
  auto qp = query_push::create(t, loop, c_.max_push_buffer_bytes);
  std::unique_ptr<sql::push_query> q;
  std::string problem;
  try {
    q = co_await run_on(c_.workers, [&] { return c_.engine.subscribe(sql, qp->sink()); });
  } catch (const sql::sql_error& e) {
    problem = e.what();
  } catch (const sql::catalog_error& e) {
    problem = e.what();
  }
  if (!q) co_return refused_push(400, problem);
  // A push query ends on the workers: stopping it joins its thread.
  auto stopper = [ex = c_.workers](std::unique_ptr<sql::push_query> q) {
    asio::post(ex, [q = std::shared_ptr<sql::push_query>(std::move(q))]() mutable { q.reset(); });
  };
  // (std::function needs a copyable target: the query is held by a shared pointer.)
  auto held = std::make_shared<std::unique_ptr<sql::push_query>>(std::move(q));
  reply r;
  r.push = [qp = std::move(qp), req = c.req, held, stopper](push_stream s) {
    qp->serve(std::move(s), req, std::move(*held), stopper);
  };
  co_return r;
}

}  // namespace sluice::http
