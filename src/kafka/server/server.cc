#include "kafka/server.h"

#include "kafka/server/handlers/handlers.h"
#include "metrics/exposition.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/loop_watch.h"
#include "kafka/server/broker.h"
#include "kafka/server/connection.h"
#include "kafka/server/frame.h"
#include "security/login_limiter.h"
#include "security/quotas.h"
#include "security/tls.h"

namespace sluice::kafka {

namespace asio = boost::asio;
using asio::ip::tcp;

struct server::impl {
  impl(server_config c, log::log& l, coordinators co)
      : b{std::move(c), l, co.groups, co.transactions} {}

  broker b;
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<loop_watch::entry>> watched;  // released before the loops stop
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;    // one per listener
  std::mutex conns_mu;
  std::vector<std::weak_ptr<connection>> conns;
  size_t next_loop = 0;
  bool stopped = false;
  // Open connections by address; shared with the connections' tokens, which may be released
  // after the server is gone (a connection frame destroyed with its loop).
  struct ip_counts {
    std::mutex mu;
    std::unordered_map<std::string, int> open;
  };
  std::shared_ptr<ip_counts> per_ip = std::make_shared<ip_counts>();
  std::atomic<uint64_t> refused_connections{0};

  // A token that counts one open connection from `ip` until released; null when the address
  // is over max.connections.per.ip or its connection_creation_rate (the connection is
  // refused and logged at debug: a flood must not flood the log too).
  std::shared_ptr<void> admit(const std::string& ip) {
    const int limit = b.config.max_connections_per_ip;
    if (auto* q = b.config.security.quotas.get(); q && !q->admit_connection(ip)) {
      refused_connections.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("kafka: connection from {} refused: connection_creation_rate", ip);
      return nullptr;
    }
    std::lock_guard lk(per_ip->mu);
    int& n = per_ip->open[ip];
    if (limit > 0 && n >= limit) {
      refused_connections.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("kafka: connection from {} refused: {} open (max.connections.per.ip)", ip, n);
      return nullptr;
    }
    ++n;
    // Not null, so that it tests true; the deleter only counts down.
    return std::shared_ptr<void>(per_ip.get(), [counts = per_ip, ip](void*) {
      std::lock_guard lk(counts->mu);
      if (--counts->open[ip] <= 0) counts->open.erase(ip);
    });
  }

  asio::awaitable<void> accept_loop(size_t index) {
    auto& acceptor = acceptors[index];
    const listener& where = b.config.listeners[index];
    for (;;) {
      auto& loop = *loops[next_loop++ % loops.size()];
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor->async_accept(
          loop.get_executor(), asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) {
        spdlog::warn("kafka: accept: {}", ec.message());
        continue;
      }
      boost::system::error_code pec;
      auto peer = s.remote_endpoint(pec);
      std::string ip = pec ? "unknown" : peer.address().to_string();
      auto admission = admit(ip);
      if (!admission) {
        s.close(pec);
        continue;
      }
      std::shared_ptr<asio::ssl::context> tls;
      if (uses_tls(where.protocol)) tls = b.config.security.tls->current();
      auto conn = std::make_shared<connection>(std::move(s), b, where, std::move(tls));
      conn->hold(std::move(admission));
      {
        std::lock_guard lk(conns_mu);
        std::erase_if(conns, [](const auto& w) { return w.expired(); });
        conns.push_back(conn);
      }
      asio::co_spawn(
          loop.get_executor(), [conn] { return conn->run(); }, asio::detached);
    }
  }
};

server::server(server_config config, log::log& log, coordinators c)
    : impl_(std::make_unique<impl>(std::move(config), log, c)) {}

server::~server() {
  stop();
}

result<void> server::start() {
  auto& cfg = impl_->b.config;
  auto& sec = cfg.security;
  if (!sec.logins) sec.logins = std::make_shared<security::login_limiter>();
  for (const auto& l : cfg.listeners) {
    if (uses_tls(l.protocol) && !sec.tls)
      return make_error(errc::invalid_argument,
                        std::string(to_string(l.protocol)) + " listener without a TLS certificate");
    if (uses_sasl(l.protocol) && !sec.users)
      return make_error(errc::invalid_argument,
                        std::string(to_string(l.protocol)) + " listener without a user store");
  }
  int n = cfg.io_threads > 0 ? cfg.io_threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_->b.disk_work = std::make_shared<asio::thread_pool>(1);
  for (int i = 0; i < n; ++i) {
    impl_->loops.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->loops.back()));
  }
  for (auto& l : cfg.listeners) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(l.host, ec);
    if (ec) return make_error(errc::io_error, "bad listen address '" + l.host + "'");
    tcp::endpoint ep(addr, l.port);
    auto acc = std::make_unique<tcp::acceptor>(*impl_->loops[0]);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(errc::io_error, "cannot listen on " + l.host + ":" +
                                            std::to_string(l.port) + ": " + ec.message());
    l.port = acc->local_endpoint().port();
    if (l.advertised_host.empty())
      l.advertised_host = addr.is_unspecified() ? asio::ip::host_name() : l.host;
    if (l.advertised_port == 0) l.advertised_port = l.port;
    impl_->acceptors.push_back(std::move(acc));
  }
  for (size_t i = 0; i < impl_->acceptors.size(); ++i)
    asio::co_spawn(
        *impl_->loops[0], [this, i] { return impl_->accept_loop(i); }, asio::detached);
  for (auto& loop : impl_->loops) {
    impl_->threads.emplace_back([l = loop.get()] { l->run(); });
    if (cfg.stalls)
      impl_->watched.push_back(
          cfg.stalls->watch("kafka-" + std::to_string(impl_->watched.size()), *loop));
  }
  for (const auto& l : cfg.listeners)
    spdlog::info("kafka: {} listener on {}:{}, advertised as {}:{}", to_string(l.protocol), l.host,
                 l.port, l.advertised_host, l.advertised_port);
  spdlog::info("kafka: {} event loops", n);
  return {};
}

void server::write_metrics(metrics::exposition& out) const {
  const auto& m = *impl_->b.metrics;
  auto each = [&](auto fn) {
    for (const auto& spec : supported_apis()) {
      auto k = static_cast<size_t>(spec.key);
      if (k < api_metrics::k_keys) fn(spec.name, k);
    }
  };
  out.family("sluice_kafka_requests_total", "counter", "Kafka requests answered, by API");
  each([&](const char* name, size_t k) {
    out.sample("sluice_kafka_requests_total", {{"api", name}},
               static_cast<double>(m.requests[k].load()));
  });
  out.family("sluice_kafka_request_errors_total", "counter",
             "Kafka requests that could not be answered (malformed, unsupported, failed), by API");
  each([&](const char* name, size_t k) {
    out.sample("sluice_kafka_request_errors_total", {{"api", name}},
               static_cast<double>(m.errors[k].load()));
  });
  out.family("sluice_kafka_request_duration_seconds", "histogram",
             "Time from a decoded Kafka request to its answer being ready, by API");
  each([&](const char* name, size_t k) {
    out.histogram_sample("sluice_kafka_request_duration_seconds", {{"api", name}}, m.latency[k]);
  });
  size_t open = 0;
  {
    std::lock_guard lk(impl_->conns_mu);
    for (const auto& c : impl_->conns)
      open += c.expired() ? 0 : 1;
  }
  out.family("sluice_kafka_connections", "gauge", "Open Kafka client connections");
  out.sample("sluice_kafka_connections", {}, static_cast<double>(open));
  out.family("sluice_kafka_connections_refused_total", "counter",
             "Connections refused by max.connections.per.ip or connection_creation_rate");
  out.sample("sluice_kafka_connections_refused_total", {},
             static_cast<double>(impl_->refused_connections.load()));
  if (const auto* logins = impl_->b.config.security.logins.get()) {
    out.family("sluice_auth_failures_total", "counter", "Failed SASL and HTTP logins");
    out.sample("sluice_auth_failures_total", {}, static_cast<double>(logins->failures()));
  }
  if (const auto* q = impl_->b.config.security.quotas.get()) {
    using k = security::quota_manager::kind;
    out.family("sluice_quota_throttled_total", "counter",
               "Kafka requests delayed by a client quota, by quota");
    out.sample("sluice_quota_throttled_total", {{"quota", "producer_byte_rate"}},
               static_cast<double>(q->throttled(k::produce)));
    out.sample("sluice_quota_throttled_total", {{"quota", "consumer_byte_rate"}},
               static_cast<double>(q->throttled(k::fetch)));
    out.sample("sluice_quota_throttled_total", {{"quota", "request_percentage"}},
               static_cast<double>(q->throttled(k::request)));
  }
}

uint16_t server::port(size_t i) const {
  return impl_->b.config.listeners.at(i).port;
}

void server::stop() {
  if (impl_->stopped || impl_->loops.empty()) return;
  impl_->stopped = true;
  impl_->watched.clear();
  asio::post(*impl_->loops[0], [this] {
    boost::system::error_code ec;
    for (auto& a : impl_->acceptors)
      a->close(ec);
  });
  std::vector<std::shared_ptr<connection>> live;
  {
    std::lock_guard lk(impl_->conns_mu);
    for (auto& w : impl_->conns)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live)
    c->close_from_any_thread();
  // Let the closes run before the loops stop; waiting fetches end at their max_wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  impl_->b.disk_work->join();  // a topic being created is finished (its answer may be lost)
  for (auto& g : impl_->guards)
    g.reset();
  for (auto& loop : impl_->loops)
    loop->stop();
  for (auto& t : impl_->threads)
    t.join();
  // The loops themselves live until ~server: the log's flusher may still post completions
  // to them until the log is closed.
}

bytes handle_frame_for_test(const server_config& config, log::log& log, bytes frame, int budget_ms,
                            coordinators c) {
  // The loop is never destroyed: a request still waiting when the budget ends (a long poll, a
  // sync) completes in a later call, and the coordinators a caller keeps in statics hold timers
  // on it that are destroyed after the thread's own objects at exit.
  static thread_local asio::io_context& loop = *new asio::io_context(1);
  auto b = std::make_shared<broker>(broker{config, log, c.groups, c.transactions});
  if (b->config.listeners.empty()) b->config.listeners.emplace_back();
  auto& where = b->config.listeners.front();
  if (where.advertised_host.empty()) where.advertised_host = where.host;
  if (where.advertised_port == 0) where.advertised_port = where.port;
  if (!b->config.security.logins)
    b->config.security.logins = std::make_shared<security::login_limiter>();
  auto s = std::make_shared<session>();
  s->where = &where;
  s->client_host = "fuzz";
  s->authenticated = !uses_sasl(where.protocol);
  struct outcome {
    bool done = false;
    bytes out;
    std::exception_ptr failure;
  };
  auto o = std::make_shared<outcome>();
  asio::co_spawn(
      loop,
      [b, o, s, f = std::move(frame)]() mutable -> asio::awaitable<void> {
        auto r = co_await process_frame(*b, std::move(f), loop.get_executor(), *s);
        if (r) o->out = r->flatten();
      },
      [o](std::exception_ptr e) {
        o->failure = e;
        o->done = true;
      });
  loop.restart();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
  while (!o->done && loop.run_one_until(deadline) > 0) {
  }
  if (o->failure) std::rethrow_exception(o->failure);
  return o->out;
}

}  // namespace sluice::kafka
