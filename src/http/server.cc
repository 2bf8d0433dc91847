#include "http/server.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "base/json_writer.h"
#include "base/loop_watch.h"
#include "base/run_on.h"
#include "http/assets.h"
#include "http/auth.h"
#include "http/connect_api.h"
#include "http/error_body.h"
#include "http/event_loops.h"
#include "http/push_stream.h"
#include "http/queue_api.h"
#include "http/rest_consumers.h"
#include "http/rest_proxy.h"
#include "http/routes.h"
#include "http/schema_registry_api.h"
#include "http/sql_api.h"
#include "http/url.h"
#include "http/view_push.h"
#include "log/log.h"
#include "metrics/exposition.h"
#include "queue/manager.h"
#include "security/tls.h"
#include "sql/engine.h"
#include "sql/error.h"

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

constexpr auto k_tls_handshake_timeout = std::chrono::seconds(10);
constexpr auto k_idle_timeout = std::chrono::seconds(60);  // for the next request

// What a request gets: `res` written, or (with `push`) the connection taken over.
struct answer {
  response res;
  handoff push;
};

}  // namespace

struct server::impl {
  server_config config;
  sql::engine& engine;
  http_auth auth;
  asio::io_context io{1};
  asio::thread_pool workers;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // one per listener
  std::vector<uint16_t> bound_ports;
  std::thread thread;
  std::vector<std::unique_ptr<loop_watch::entry>> watched;  // released before the loops stop
  std::atomic<uint64_t> tls_handshake_failures{0};
  // Push connections (live views, topic tails, EMIT CHANGES) run on these.
  event_loops push_loops{config.push_threads > 0
                             ? static_cast<size_t>(config.push_threads)
                             : std::max<size_t>(1, std::thread::hardware_concurrency())};
  view_push live_views{io, push_loops, push_limits{config.max_subscriber_bytes}};
  // Requests by route and status class, for /metrics (only the event loop writes them).
  std::map<std::pair<std::string, int>, std::atomic<uint64_t>> requests;
  std::mutex requests_mu;
  std::atomic<size_t> consumer_count{0};

  // Every route: the server's own and its resources' (http/routes.h).
  router routes;

  // The name a request is counted under: its route's (routes.h), the dashboard, or other.
  static std::string_view metric_name(const std::optional<route_match>& m, std::string_view path) {
    if (m) return m->r->metric_name;
    if (find_asset(path)) return "dashboard";
    return "other";
  }
  void count(std::string_view name, int status) {
    std::lock_guard lk(requests_mu);
    requests[{std::string(name), status}]++;
  }

  std::unique_ptr<sql_api> sql;
  std::unique_ptr<rest_proxy> rest;
  std::unique_ptr<rest_consumers> consumers;
  std::unique_ptr<queue_api> queues;
  std::unique_ptr<schema_registry_api> schemas;
  std::unique_ptr<connect_api> connectors;
  queue::manager* queue_manager = nullptr;
  log::log* log = nullptr;

  impl(server_config c, sql::engine& e)
      : config(std::move(c)),
        engine(e),
        auth(config.security),
        workers(static_cast<size_t>(std::max(1, config.worker_threads))) {}

  // Runs `fn` on the worker pool and comes back to the calling coroutine's loop.
  template <class F>
  awaitable<std::invoke_result_t<F>> on_worker(F fn) {
    return run_on(workers.get_executor(), std::move(fn));
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor, bool tls) {
    for (;;) {
      // A TLS connection is accepted onto the push loop that will serve it, if it becomes a
      // push connection (its TLS state cannot move between loops).
      std::optional<size_t> loop;
      if (tls) loop = push_loops.next_index();
      auto& target = loop ? push_loops.at(*loop) : io;
      auto [ec, socket] = co_await acceptor.async_accept(target, asio::as_tuple(use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      // Small pushed frames must not wait for Nagle's algorithm.
      boost::system::error_code ignore;
      socket.set_option(tcp::no_delay(true), ignore);
      if (!tls) {
        asio::co_spawn(io, session(push_stream(std::move(socket)), loop), asio::detached);
        continue;
      }
      push_stream stream(std::move(socket), config.tls->current());
      asio::co_spawn(target, session(std::move(stream), loop), asio::detached);
    }
  }

  // One connection: requests read and answers written on its own loop (the main loop, or for
  // TLS the push loop it was accepted on), answered on the main loop.
  awaitable<void> session(push_stream stream, std::optional<size_t> loop) {
    peer from;
    from.loop = loop;
    {
      boost::system::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      from.host = ec ? "unknown" : ep.address().to_string();
    }
    if (stream.is_tls()) {
      bool ok = co_await stream.handshake(k_tls_handshake_timeout);
      if (!ok) {
        tls_handshake_failures++;
        stream.close();
        co_return;
      }
      from.cert_subject = stream.peer_subject();
    }
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(config.max_body_bytes);
      parser.header_limit(16 * 1024);
      boost::system::error_code ec;
      {
        auto idle = stream.close_after(k_idle_timeout);
        auto [rec, n] =
            co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
        ec = rec;
        if (idle.end()) break;
      }
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
      request req = parser.release();
      answer a;
      if (loop)
        a = co_await asio::co_spawn(io, handle(req, from), use_awaitable);
      else
        a = co_await handle(req, from);
      if (a.push) {
        // The connection now belongs to a push endpoint, taken over on the main loop.
        if (loop)
          asio::post(io, [push = std::move(a.push), s = std::move(stream)]() mutable {
            push(std::move(s));
          });
        else
          a.push(std::move(stream));
        co_return;
      }
      bool keep = a.res.keep_alive();
      auto [wec, wn] = co_await bhttp::async_write(stream, a.res, asio::as_tuple(use_awaitable));
      if (wec || !keep) break;
    }
    co_await stream.shutdown_send(std::chrono::seconds(1));
  }

  // One request, on the main loop: matched once (authorization and metrics read the route),
  // refused, answered by its route's handler, or taken over by a push endpoint.
  awaitable<answer> handle(request& req, const peer& from) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    std::string allowed;
    auto m = routes.match(req.method(), path, &allowed);
    std::string_view counted_as = metric_name(m, path);
    loop_watch::doing(counted_as.data());  // a route's name or a literal, so terminated
    caller who;
    http_auth::identity id;
    if (auth.enabled()) {
      auto refusal = co_await refused(req, from, m ? &*m : nullptr, id, who);
      if (refusal) {
        count(counted_as, refusal->result_int());
        co_return answer{std::move(*refusal), {}};
      }
    }
    answer a;
    if (!m) {
      if (!allowed.empty())
        a.res = error_response(req, bhttp::status::method_not_allowed, "use " + allowed);
      else if (const asset* file = find_asset(path))
        a.res = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head
                    ? static_response(req, *file)
                    : error_response(req, bhttp::status::method_not_allowed, "use GET");
      else
        a.res =
            error_response(req, bhttp::status::not_found, "no such endpoint: " + std::string(path));
      count(counted_as, a.res.result_int());
      co_return a;
    }
    reply r = co_await run_handler(*m, req, path, from, who);
    if (r.push) {
      count(counted_as, beast::websocket::is_upgrade(req) ? 101 : 200);
      a.push = std::move(r.push);
      // A subscription lasts: its permission is asked again while it runs (an ACL removed
      // ends it; http/push_channel.h).
      if (auth.enabled())
        a.push = [push = std::move(a.push),
                  check =
                      standing_permission(req, from, *m, std::move(id))](push_stream s) mutable {
          s.set_access(std::move(check));
          push(std::move(s));
        };
      co_return a;
    }
    a.res = make_response(req, static_cast<bhttp::status>(r.status), std::move(r.body));
    auto type = m->r->content_type.empty() ? r.content_type : m->r->content_type;
    if (type != "application/json") a.res.set(bhttp::field::content_type, type);
    if (r.close) a.res.keep_alive(false);
    if (req.method() == bhttp::verb::head) {
      auto size = a.res.body().size();
      a.res.body().clear();
      a.res.content_length(size);
    }
    count(counted_as, a.res.result_int());
    co_return a;
  }

  // The route's handler; a refused statement is a 400, anything else thrown a 500.
  awaitable<reply> run_handler(const route_match& m, const request& req, std::string_view path,
                               const peer& from, const caller& who) {
    call c{req, path, m.params, from, who};
    try {
      co_return co_await m.r->handle(c);
    } catch (const sql::sql_error& e) {
      co_return fail(400, e.what());
    } catch (const sql::catalog_error& e) {
      co_return fail(400, e.what());
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: {}", std::string(req.method_string()), std::string(req.target()),
                    e.what());
      co_return fail(500, e.what());
    }
  }

  // The statements a /v1/sql route's permission depends on (the body of a POST, else ?sql=);
  // "" for other routes.
  static std::string statements_of(const request& req, const route_match* m) {
    std::string sql;
    if (!m || m->r->needs.who != permission::scope::sql) return sql;
    std::string err;
    if (req.method() == bhttp::verb::post)
      sql_text(req, sql, err);
    else
      sql = query_param(req.target(), "sql").value_or("");
    return sql;
  }

  // Whether the caller of `req` may still do what the route needs: the same decision as
  // refused() makes, asked again later from any thread. The principal is the one found now (a
  // token that expires later does not end a subscription; a removed ACL does).
  std::function<bool()> standing_permission(const request& req, const peer& from,
                                            const route_match& m, http_auth::identity id) {
    return [this, id = std::move(id), host = from.host, m, sql = statements_of(req, &m)] {
      return auth.authorize(id, host, &m, sql, engine).status == 200;
    };
  }

  // Authentication and authorization of one request (http/auth.h): the refusal (answered after
  // the failed-login delay, if credentials were wrong), or nullopt when it is allowed. `id` and
  // `who`: the caller found.
  awaitable<std::optional<response>> refused(const request& req, const peer& from,
                                             const route_match* m, http_auth::identity& id,
                                             caller& who) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (!m && find_asset(path)) co_return std::nullopt;  // the dashboard's files (login too)
    id = auth.identify(req, from.host, from.cert_subject);
    who.principal = id.principal;
    who.authenticated = id.authenticated;
    who.may = auth.permissions(id, from.host);
    auto v = auth.authorize(id, from.host, m, statements_of(req, m), engine);
    if (v.status == 200) co_return std::nullopt;
    if (id.delay.count() > 0) {
      asio::steady_timer t(io, id.delay);
      co_await t.async_wait(asio::as_tuple(use_awaitable));
    }
    auto res = error_response(req, static_cast<bhttp::status>(v.status), v.message);
    // Browsers show their own password dialog on a Basic challenge; the dashboard (which
    // says so) gets none and shows its login page.
    if (v.status == 401 && req["X-Sluice-Client"] != "dashboard")
      res.set(bhttp::field::www_authenticate, "Basic realm=\"sluice\", charset=\"UTF-8\"");
    co_return res;
  }

  // The server's own routes; the resources add theirs.
  void add_routes() {
    using verb = bhttp::verb;
    using op = security::acl_operation;
    auto add = [this](verb m, std::string pattern, permission p,
                      awaitable<reply> (impl::*fn)(const call&)) {
      routes.add(m, std::move(pattern), p, this, fn);
    };
    add(verb::get, "/health", needs::anyone, &impl::health_check);
    add(verb::get, "/ready", needs::anyone, &impl::health_check);
    add(verb::get, "/metrics", needs::cluster(op::describe), &impl::metrics_text);
    add(verb::post, "/v1/login", needs::anyone, &impl::login);
    add(verb::get, "/v1/whoami", needs::anyone, &impl::whoami);
    add(verb::get, "/v1/cluster", needs::cluster(op::describe), &impl::cluster);
    sql->add_routes(routes);
    if (rest) rest->add_routes(routes);
    if (consumers) consumers->add_routes(routes);
    if (queues) queues->add_routes(routes);
    if (schemas) schemas->add_routes(routes);
    if (connectors) connectors->add_routes(routes);
  }

  // GET /health, GET /ready. Ready: the catalog is loaded and its queries started (the server
  // listens only then). Not ready (503) while a partition's or a queue's files have failed (a
  // restart recovers them) or a query cannot write its checkpoints.
  awaitable<reply> health_check(const call& c) {
    bool failed = false;
    auto body = health(c.path == "/ready", failed);
    co_return reply{failed ? 503u : 200u, std::move(body)};
  }

  awaitable<reply> metrics_text(const call&) {
    consumer_count = consumers ? consumers->size() : 0;
    auto text = co_await on_worker([&] {
      metrics::exposition out;
      if (config.metrics) config.metrics(out);
      write_own_metrics(out);
      return out.text();
    });
    co_return reply{200, std::move(text), "text/plain; version=0.0.4; charset=utf-8"};
  }

  // POST /v1/login {"user":..,"password":..} -> {"token":..,"user":..} (a dashboard session).
  awaitable<reply> login(const call& c) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view user, password;
    if (parser.parse(c.req.body()).get(doc) || doc["user"].get(user) ||
        doc["password"].get(password))
      co_return fail(400, "expected {\"user\": .., \"password\": ..}");
    if (!auth.enabled())
      co_return fail(400, "this server runs without authentication: no login needed");
    std::chrono::milliseconds delay{0};
    auto token = auth.login(std::string(user), std::string(password), c.from.host, delay);
    if (!token) {
      asio::steady_timer t(io, delay);
      co_await t.async_wait(asio::as_tuple(use_awaitable));
      co_return fail(401, "invalid user name or password");
    }
    json_writer w;
    w.begin_object().key("token").value(*token).key("user").value(user).end_object();
    co_return reply{200, std::move(w).str()};
  }

  // GET /v1/whoami -> {"principal":..,"authenticated":..,"security":..}.
  awaitable<reply> whoami(const call& c) {
    auto id = auth.identify(c.req, c.from.host, c.from.cert_subject);
    json_writer w;
    w.begin_object()
        .key("principal")
        .value(id.principal)
        .key("authenticated")
        .value(id.authenticated)
        .key("security")
        .value(auth.enabled())
        .end_object();
    co_return reply{200, std::move(w).str()};
  }

  // GET /v1/cluster: a cluster node's status; a server that is not one says so.
  awaitable<reply> cluster(const call&) {
    if (config.cluster_status) co_return reply{200, config.cluster_status()};
    json_writer w;
    w.begin_object().key("mode").value("embedded").end_object();
    co_return reply{200, std::move(w).str()};
  }

  // The answer of /health and /ready: {"status":"ok"|"failed", for /ready the failed objects
  // ("failed_partitions", "failed_queues", "failing_checkpoints", each entry naming its object
  // and the error), "subscribers":n}. Failed: false when nothing is.
  std::string health(bool with_failures, bool& failed) const {
    struct failure {
      std::string_view field;
      std::string name;
      int32_t partition = -1;
      std::string error;
    };
    std::vector<failure> parts, queues, checkpoints;
    if (with_failures) {
      if (log)
        for (const auto& t : log->topics())
          for (const auto& p : t->partitions())
            if (auto why = p->failure(); !why.empty())
              parts.push_back({"topic", t->name(), p->id()(), std::move(why)});
      if (queue_manager)
        for (const auto& q : queue_manager->list())
          if (auto why = q->failure(); !why.empty())
            queues.push_back({"queue", q->settings().name, -1, std::move(why)});
      for (const auto& st : engine.query_stats())
        if (!st.checkpoint_error.empty())
          checkpoints.push_back({"query", st.name, -1, st.checkpoint_error});
    }
    failed = !parts.empty() || !queues.empty() || !checkpoints.empty();
    json_writer w;
    w.begin_object().key("status").value(failed ? "failed" : "ok");
    if (failed)
      for (auto [key, list] : {std::pair{"failed_partitions", &parts},
                               {"failed_queues", &queues},
                               {"failing_checkpoints", &checkpoints}}) {
        w.key(key).begin_array();
        for (const auto& f : *list) {
          w.begin_object().key(f.field).value(f.name);
          if (f.partition >= 0) w.key("partition").value(f.partition);
          w.key("error").value(f.error).end_object();
        }
        w.end_array();
      }
    w.key("subscribers").value(static_cast<uint64_t>(live_views.subscribers())).end_object();
    return std::move(w).str();
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
    out.family("sluice_http_tls_handshake_failures_total", "counter",
               "HTTPS connections whose TLS handshake failed or timed out");
    out.sample("sluice_http_tls_handshake_failures_total", {},
               static_cast<double>(tls_handshake_failures.load()));
    live_views.write_metrics(out);
    out.family("sluice_http_consumer_instances", "gauge",
               "REST Proxy consumer instances (POST /consumers/{group})");
    out.sample("sluice_http_consumer_instances", {}, static_cast<double>(consumer_count.load()));
  }
};

server::server(server_config config, sql::engine& engine, log::log* log,
               const group::coordinator* groups, queue::manager* queues)
    : impl_(std::make_unique<impl>(std::move(config), engine)) {
  impl_->log = log;
  impl_->sql = std::make_unique<sql_api>(sql_api::context{
      engine, log, impl_->push_loops, impl_->live_views, impl_->workers.get_executor(),
      impl_->config.max_push_buffer_bytes, impl_->config.schemas});
  if (log) impl_->rest = std::make_unique<rest_proxy>(*log, impl_->config.schemas);
  impl_->queue_manager = queues;
  if (queues && log)
    impl_->queues = std::make_unique<queue_api>(*queues, *log, impl_->workers.get_executor());
  if (impl_->config.schemas)
    impl_->schemas = std::make_unique<schema_registry_api>(impl_->config.schemas);
  if (impl_->config.connectors)
    impl_->connectors =
        std::make_unique<connect_api>(*impl_->config.connectors, impl_->workers.get_executor());
  if (groups && !impl_->config.kafka_bootstrap.empty())
    impl_->consumers = std::make_unique<rest_consumers>(
        impl_->io, impl_->workers.get_executor(), *groups,
        rest_consumer_limits{impl_->config.kafka_bootstrap, impl_->config.kafka_client_properties,
                             std::chrono::milliseconds(impl_->config.consumer_idle_timeout_ms),
                             1000, impl_->config.schemas});
  impl_->add_routes();
}

server::~server() {
  stop();
}

result<void> server::start() {
  auto& m = *impl_;
  for (const auto& l : m.config.listeners) {
    std::string where =
        std::string(l.tls ? "https://" : "http://") + l.host + ":" + std::to_string(l.port);
    if (l.tls && !m.config.tls)
      return make_error(errc::invalid_argument,
                        "HTTP listener " + where + " needs a TLS certificate and key");
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(l.host, ec);
    if (ec) return make_error(errc::io_error, "bad HTTP address '" + l.host + "'");
    tcp::endpoint ep(addr, l.port);
    auto acceptor = std::make_unique<tcp::acceptor>(m.io);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(errc::io_error, "cannot listen for HTTP on " + where + ": " + ec.message());
    m.bound_ports.push_back(acceptor->local_endpoint().port());
    m.acceptors.push_back(std::move(acceptor));
  }
  for (size_t i = 0; i < m.acceptors.size(); ++i)
    asio::co_spawn(m.io, m.accept_loop(*m.acceptors[i], m.config.listeners[i].tls), asio::detached);
  m.thread = std::thread([&m] { m.io.run(); });
  if (m.config.stalls) {
    m.watched.push_back(m.config.stalls->watch("http", m.io));
    for (size_t i = 0; i < m.push_loops.size(); ++i)
      m.watched.push_back(m.config.stalls->watch("push-" + std::to_string(i), m.push_loops.at(i)));
  }
  return {};
}

uint16_t server::port(size_t i) const {
  return i < impl_->bound_ports.size() ? impl_->bound_ports[i] : 0;
}

void server::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  m.watched.clear();
  asio::post(m.io, [&m] {
    boost::system::error_code ec;
    for (auto& a : m.acceptors)
      a->close(ec);
    m.live_views.close_all();
  });
  m.io.stop();
  m.thread.join();
  m.push_loops.stop();
  // Consumer instances leave their groups while the Kafka listener still runs (their clients
  // are freed on the workers).
  if (m.consumers) m.consumers->close_all();
  m.workers.join();
}

}  // namespace sluice::http
