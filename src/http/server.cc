#include "http/server.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "base/run_on.h"
#include "http/assets.h"
#include "http/error_body.h"
#include "http/queue_api.h"
#include "http/rest_consumers.h"
#include "http/rest_proxy.h"
#include "http/topic_tail.h"
#include "http/url.h"
#include "http/view_push.h"
#include "log/log.h"
#include "metrics/exposition.h"
#include "sql/engine.h"
#include "sql/error.h"
#include "view/view.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

response make_response(const request& req, bhttp::status status, std::string body) {
  response res{status, req.version()};
  res.set(bhttp::field::server, "sluice");
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response error_response(const request& req, bhttp::status status, const std::string& message) {
  return make_response(req, status, error_body(static_cast<int>(status), message));
}

// A dashboard file; 304 when the browser's copy (If-None-Match) is current.
response static_response(const request& req, const asset& a) {
  bool fresh = req[bhttp::field::if_none_match] == a.etag;
  response res{fresh ? bhttp::status::not_modified : bhttp::status::ok, req.version()};
  res.set(bhttp::field::server, "sluice");
  res.set(bhttp::field::content_type, a.content_type);
  res.set(bhttp::field::etag, a.etag);
  res.set(bhttp::field::cache_control, "no-cache");  // revalidate: a new binary may differ
  res.keep_alive(req.keep_alive());
  if (!fresh && req.method() == bhttp::verb::get) res.body() = std::string(a.body);
  res.prepare_payload();
  if (req.method() == bhttp::verb::head) res.content_length(a.body.size());
  return res;
}

// The SQL text of a POST /v1/sql body: raw text, or JSON {"sql": "..."}.
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

}  // namespace

struct server::impl {
  server_config config;
  sql::engine& engine;
  asio::io_context io{1};
  asio::thread_pool workers;
  tcp::acceptor acceptor{io};
  std::thread thread;
  uint16_t bound_port = 0;
  view_push live_views{io, push_limits{config.max_subscriber_bytes}};
  // Requests by route and status class, for /metrics (only the event loop writes them).
  std::map<std::pair<std::string, int>, std::atomic<uint64_t>> requests;
  std::mutex requests_mu;
  std::atomic<size_t> subscribers{0};
  std::atomic<size_t> consumer_count{0};

  static std::string route_of(std::string_view path) {
    if (path.starts_with("/v1/views/"))
      return path.ends_with("/events") ? "/v1/views/{name}/events"
             : path.ends_with("/ws")   ? "/v1/views/{name}/ws"
                                       : "/v1/views/{name}";
    if (path == "/v1/sql" || path == "/health" || path == "/ready" || path == "/metrics" ||
        path == "/topics")
      return std::string(path);
    if (path.starts_with("/topics/")) return "/topics/{topic}";
    if (path == "/v1/queues") return "/v1/queues";
    if (path.starts_with("/v1/queues/")) {
      auto action = path.substr(path.rfind('/') + 1);
      for (const char* a : {"messages", "receive", "ack", "nack", "reject", "extend", "dlq-replay"})
        if (action == a) return "/v1/queues/{q}/" + std::string(a);
      return "/v1/queues/{q}";
    }
    if (path.starts_with("/consumers/"))
      return path.ends_with("/records") ? "/consumers/{group}/instances/{i}/records"
                                        : "/consumers/{group}/...";
    if (path.starts_with("/v1/topics/")) return "/v1/topics/{topic}/ws";
    if (find_asset(path)) return "dashboard";
    return "other";
  }
  void count(std::string_view target, int status) {
    std::string_view path = target.substr(0, target.find('?'));
    std::lock_guard lk(requests_mu);
    requests[{route_of(path), status}]++;
  }

  std::unique_ptr<rest_proxy> rest;
  std::unique_ptr<rest_consumers> consumers;
  std::unique_ptr<queue_api> queues;
  log::log* log = nullptr;

  impl(server_config c, sql::engine& e)
      : config(std::move(c)),
        engine(e),
        workers(static_cast<size_t>(std::max(1, config.worker_threads))) {}

  // Runs `fn` on the worker pool and comes back to the calling coroutine's loop.
  template <class F>
  awaitable<std::invoke_result_t<F>> on_worker(F fn) {
    return run_on(workers.get_executor(), std::move(fn));
  }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      // Small pushed frames must not wait for Nagle's algorithm.
      boost::system::error_code ignore;
      socket.set_option(tcp::no_delay(true), ignore);
      asio::co_spawn(io, session(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  awaitable<void> session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(config.max_body_bytes);
      parser.header_limit(16 * 1024);
      stream.expires_after(std::chrono::seconds(60));
      auto [ec, n] =
          co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
      if (ec) {
        if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
          request r;
          r.version(11);
          auto res = error_response(r, bhttp::status::payload_too_large,
                                    ec == bhttp::error::body_limit ? "request body too large"
                                                                   : "request headers too large");
          res.keep_alive(false);
          co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
        }
        break;
      }
      stream.expires_never();
      request req = parser.release();
      if (co_await live(stream, req)) co_return;  // the connection now belongs to a subscriber
      bool streamed = false;
      response res = co_await route(stream, req, streamed);
      count(req.target(), streamed ? 200 : res.result_int());
      if (streamed) break;  // the push answer ended the connection
      bool keep = res.keep_alive();
      auto [wec, wn] = co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
      if (wec || !keep) break;
    }
    beast::error_code ignore;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignore);
  }

  // GET /v1/views/{name}/events (SSE) and /v1/views/{name}/ws (WebSocket). True when the
  // connection was handed to a subscriber (or answered and closed).
  awaitable<bool> live(beast::tcp_stream& stream, request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("/v1/topics/") && path.ends_with("/ws")) {
      auto name = percent_decode(path.substr(11, path.size() - 11 - 3));
      auto topic = log ? log->find_topic(name) : nullptr;
      std::string problem;
      bhttp::status status = bhttp::status::ok;
      if (!topic) {
        status = bhttp::status::not_found;
        problem = "no topic '" + name + "'";
      } else if (!beast::websocket::is_upgrade(req)) {
        status = bhttp::status::upgrade_required;
        problem = "a WebSocket upgrade request is needed";
      }
      count(req.target(), problem.empty() ? 101 : static_cast<int>(status));
      if (!problem.empty()) {
        auto res = error_response(req, status, problem);
        res.keep_alive(false);
        co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
        co_return true;
      }
      bool beginning = query_param(target, "from") == "beginning";
      serve_topic_tail(std::move(stream), std::move(req), topic, beginning);
      co_return true;
    }
    bool sse = path.ends_with("/events"), ws = path.ends_with("/ws");
    if (!path.starts_with("/v1/views/") || (!sse && !ws)) co_return false;
    auto name = percent_decode(path.substr(10, path.size() - 10 - (sse ? 7 : 3)));
    std::optional<uint64_t> since;
    std::string since_text;
    if (auto q = query_param(target, "since"))
      since_text = *q;
    else if (sse)
      since_text = std::string(req["Last-Event-ID"]);
    std::string problem;
    if (!since_text.empty()) {
      uint64_t n = 0;
      auto r = std::from_chars(since_text.data(), since_text.data() + since_text.size(), n);
      if (r.ec != std::errc() || r.ptr != since_text.data() + since_text.size())
        problem = "since must be a sequence number, got '" + since_text + "'";
      else
        since = n;
    }
    auto v = engine.find_view(name);
    bhttp::status status = bhttp::status::ok;
    if (req.method() != bhttp::verb::get) {
      status = bhttp::status::method_not_allowed;
      problem = "use GET";
    } else if (!v) {
      status = bhttp::status::not_found;
      problem = "no view '" + name + "'";
    } else if (ws && !beast::websocket::is_upgrade(req)) {
      status = bhttp::status::upgrade_required;
      problem = "a WebSocket upgrade request is needed";
    } else if (!problem.empty()) {
      status = bhttp::status::bad_request;
    }
    count(req.target(),
          static_cast<int>(problem.empty() ? (ws ? 101 : 200) : static_cast<unsigned>(status)));
    if (!problem.empty()) {
      auto res = error_response(req, status, problem);
      res.keep_alive(false);
      co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
      co_return true;
    }
    if (sse)
      live_views.serve_sse(std::move(stream), req.version(), v, since);
    else
      live_views.serve_websocket(std::move(stream), std::move(req), v, since);
    co_return true;
  }

  awaitable<response> route(beast::tcp_stream& stream, const request& req, bool& streamed) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    try {
      if (path == "/health" || path == "/ready") {
        if (req.method() != bhttp::verb::get)
          co_return error_response(req, bhttp::status::method_not_allowed, "use GET");
        // Ready: the catalog is loaded and its queries started (the server listens only then).
        co_return make_response(
            req, bhttp::status::ok,
            "{\"status\":\"ok\",\"subscribers\":" + std::to_string(live_views.subscribers()) + "}");
      }
      if (queues) {
        if (auto a = co_await queues->handle(req))
          co_return make_response(req, static_cast<bhttp::status>(a->status), std::move(a->body));
      }
      if (consumers) {
        if (auto a = co_await consumers->handle(req)) {
          auto res = make_response(req, static_cast<bhttp::status>(a->status), std::move(a->body));
          res.set(bhttp::field::content_type, "application/vnd.kafka.v2+json");
          co_return res;
        }
      }
      if (rest) {
        if (auto a = co_await rest->handle(req)) {
          auto res = make_response(req, static_cast<bhttp::status>(a->status), std::move(a->body));
          res.set(bhttp::field::content_type, "application/vnd.kafka.v2+json");
          co_return res;
        }
      }
      if (path == "/metrics") {
        if (req.method() != bhttp::verb::get)
          co_return error_response(req, bhttp::status::method_not_allowed, "use GET");
        subscribers = live_views.subscribers();
        consumer_count = consumers ? consumers->size() : 0;
        auto text = co_await on_worker([&] {
          metrics::exposition out;
          if (config.metrics) config.metrics(out);
          write_own_metrics(out);
          return out.text();
        });
        auto res = make_response(req, bhttp::status::ok, std::move(text));
        res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        co_return res;
      }
      if (path == "/v1/sql") {
        if (req.method() != bhttp::verb::post)
          co_return error_response(req, bhttp::status::method_not_allowed,
                                   "use POST with SQL in the body");
        std::string text, err;
        if (!sql_text(req, text, err))
          co_return error_response(req, bhttp::status::bad_request, err);
        if (is_lone_push_query(text)) {
          streamed = true;
          co_await push(stream, req, text);
          co_return response{};
        }
        auto body = co_await on_worker([&] { return sql::to_json(engine.execute(text)); });
        co_return make_response(req, bhttp::status::ok, std::move(body));
      }
      if (path.starts_with("/v1/views/")) {
        if (req.method() != bhttp::verb::get)
          co_return error_response(req, bhttp::status::method_not_allowed, "use GET");
        auto name = percent_decode(path.substr(10));
        auto v = engine.find_view(name);
        if (!v) co_return error_response(req, bhttp::status::not_found, "no view '" + name + "'");
        uint64_t seq = 0;
        std::vector<stream::row> rows;
        if (auto key = query_param(target, "key")) {
          seq = v->sequence();
          if (auto r = v->lookup(*key)) rows.push_back(std::move(*r));
        } else {
          rows = v->rows(&seq);
        }
        std::string out = "{\"view\":";
        stream::append_json_string(out, v->name());
        out += ",\"sequence\":" + std::to_string(seq) + ",\"columns\":[";
        for (size_t i = 0; i < v->columns().size(); ++i) {
          if (i) out += ',';
          stream::append_json_string(out, v->columns()[i]);
        }
        out += "],\"rows\":[";
        for (size_t i = 0; i < rows.size(); ++i) {
          if (i) out += ',';
          stream::append_json_row(out, v->columns(), rows[i]);
        }
        out += "]}";
        co_return make_response(req, bhttp::status::ok, std::move(out));
      }
      if (const asset* a = find_asset(path)) {
        if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
          co_return error_response(req, bhttp::status::method_not_allowed, "use GET");
        co_return static_response(req, *a);
      }
      co_return error_response(req, bhttp::status::not_found,
                               "no such endpoint: " + std::string(path));
    } catch (const sql::sql_error& e) {
      co_return error_response(req, bhttp::status::bad_request, e.what());
    } catch (const sql::catalog_error& e) {
      co_return error_response(req, bhttp::status::bad_request, e.what());
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: {}", std::string(req.method_string()), std::string(target),
                    e.what());
      co_return error_response(req, bhttp::status::internal_server_error, e.what());
    }
  }

  void write_own_metrics(metrics::exposition& out) {
    out.family("sluice_http_requests_total", "counter", "HTTP requests by route and status");
    {
      std::lock_guard lk(requests_mu);
      for (const auto& [k, n] : requests)
        out.sample("sluice_http_requests_total",
                   {{"route", k.first}, {"status", std::to_string(k.second)}},
                   static_cast<double>(n.load()));
    }
    out.family("sluice_http_view_subscribers", "gauge",
               "Live-view subscribers (Server-Sent Events and WebSocket)");
    out.sample("sluice_http_view_subscribers", {}, static_cast<double>(subscribers.load()));
    out.family("sluice_http_consumer_instances", "gauge",
               "REST Proxy consumer instances (POST /consumers/{group})");
    out.sample("sluice_http_consumer_instances", {}, static_cast<double>(consumer_count.load()));
  }

  // SELECT ... EMIT CHANGES: newline-delimited JSON until the client closes or falls behind.
  awaitable<void> push(beast::tcp_stream& stream, const request& req, const std::string& text) {
    struct shared {
      std::mutex mu;
      std::string pending;
      bool overflow = false;
      bool closed = false;
    };
    auto st = std::make_shared<shared>();
    auto ex = co_await asio::this_coro::executor;
    auto wake = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    std::vector<std::string> columns;
    std::unique_ptr<sql::push_query> q;
    size_t limit = config.max_push_buffer_bytes;
    std::string failure;
    try {
      q = co_await on_worker([&] {
        return engine.subscribe(text, [st, wake, limit, &columns](const stream::element_batch& b) {
          std::lock_guard lk(st->mu);
          if (st->closed || st->overflow) return;
          for (const auto& e : b) {
            st->pending += e.op == stream::change_op::insert   ? "{\"change\":\"insert\",\"row\":"
                           : e.op == stream::change_op::upsert ? "{\"change\":\"upsert\",\"row\":"
                                                               : "{\"change\":\"delete\",\"row\":";
            stream::append_json_row(st->pending, columns, e.r);
            st->pending += "}\n";
          }
          if (st->pending.size() > limit) st->overflow = true;
          asio::post(wake->get_executor(), [wake] { wake->cancel(); });
        });
      });
    } catch (const sql::sql_error& e) {
      failure = e.what();
    } catch (const sql::catalog_error& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      auto res = error_response(req, bhttp::status::bad_request, failure);
      res.keep_alive(false);
      co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
      co_return;
    }
    {
      std::lock_guard lk(st->mu);
      columns = q->columns();
    }
    bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
    head.set(bhttp::field::server, "sluice");
    head.set(bhttp::field::content_type, "application/x-ndjson");
    head.chunked(true);
    head.keep_alive(false);
    bhttp::response_serializer<bhttp::empty_body> sr{head};
    auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, asio::as_tuple(use_awaitable));
    if (hec) co_return;
    std::string first = "{\"columns\":[";
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) first += ',';
      stream::append_json_string(first, columns[i]);
    }
    first += "]}\n";
    // Notice the client going away while we wait for rows.
    asio::co_spawn(
        ex,
        [&stream, st, wake]() -> awaitable<void> {
          char b[256];
          for (;;) {
            auto [ec, n] = co_await stream.socket().async_read_some(asio::buffer(b),
                                                                    asio::as_tuple(use_awaitable));
            if (ec) break;
          }
          {
            std::lock_guard lk(st->mu);
            st->closed = true;
          }
          wake->cancel();
        },
        asio::detached);
    std::string out = std::move(first);
    for (;;) {
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(out)),
                                                  asio::as_tuple(use_awaitable));
        if (ec) break;
        out.clear();
      }
      bool overflow, closed;
      {
        std::lock_guard lk(st->mu);
        out.swap(st->pending);
        overflow = st->overflow;
        closed = st->closed;
      }
      if (closed) break;
      if (overflow) {
        out = "{\"error_code\":503,\"message\":\"the client fell more than " +
              std::to_string(limit) + " bytes behind; disconnected\"}\n";
        co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(out)),
                                   asio::as_tuple(use_awaitable));
        break;
      }
      if (out.empty()) {
        wake->expires_at(asio::steady_timer::time_point::max());
        co_await wake->async_wait(asio::as_tuple(use_awaitable));
      }
    }
    {
      std::lock_guard lk(st->mu);
      st->closed = true;
    }
    co_await asio::async_write(stream, bhttp::make_chunk_last(), asio::as_tuple(use_awaitable));
    beast::error_code ignore;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    stream.socket().close(ignore);
    co_await on_worker([&] {
      q.reset();  // stops the query (joins its thread)
      return 0;
    });
  }
};

server::server(server_config config, sql::engine& engine, log::log* log,
               const group::coordinator* groups, queue::manager* queues)
    : impl_(std::make_unique<impl>(std::move(config), engine)) {
  impl_->log = log;
  if (log) impl_->rest = std::make_unique<rest_proxy>(*log);
  if (queues && log)
    impl_->queues = std::make_unique<queue_api>(*queues, *log, impl_->workers.get_executor());
  if (groups && !impl_->config.kafka_bootstrap.empty())
    impl_->consumers = std::make_unique<rest_consumers>(
        impl_->io, impl_->workers.get_executor(), *groups,
        rest_consumer_limits{impl_->config.kafka_bootstrap,
                             std::chrono::milliseconds(impl_->config.consumer_idle_timeout_ms)});
}

server::~server() {
  stop();
}

result<void> server::start() {
  auto& m = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(m.config.host, ec);
  if (ec) return make_error(errc::io_error, "bad HTTP address '" + m.config.host + "'");
  tcp::endpoint ep(addr, m.config.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::io_error, "cannot listen for HTTP on " + m.config.host + ":" +
                                          std::to_string(m.config.port) + ": " + ec.message());
  m.bound_port = m.acceptor.local_endpoint().port();
  asio::co_spawn(m.io, m.accept_loop(), asio::detached);
  m.thread = std::thread([&m] { m.io.run(); });
  return {};
}

uint16_t server::port() const {
  return impl_->bound_port;
}

void server::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.io, [&m] {
    boost::system::error_code ec;
    m.acceptor.close(ec);
    m.live_views.close_all();
  });
  m.io.stop();
  m.thread.join();
  // Consumer instances leave their groups while the Kafka listener still runs (their clients
  // are freed on the workers).
  if (m.consumers) m.consumers->close_all();
  m.workers.join();
}

}  // namespace sluice::http
