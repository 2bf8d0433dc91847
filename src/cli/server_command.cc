// `sluice server`: the broker process.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <thread>

#include "base/endpoints.h"
#include "base/loop_watch.h"
#include "cli/commands.h"
#include "cli/server_options.h"
#include "cluster/runtime.h"
#include "connect/worker.h"
#include "group/coordinator.h"
#include "group/transaction_coordinator.h"
#include "http/server.h"
#include "kafka/server.h"
#include "log/log.h"
#include "metrics/collect.h"
#include "queue/manager.h"
#include "schema/registry.h"
#include "schema/wire_format.h"
#include "security/authorizer.h"
#include "security/crypto.h"
#include "security/login_limiter.h"
#include "security/quotas.h"
#include "security/tls.h"
#include "security/tokens.h"
#include "security/users.h"
#include "sql/engine.h"
#include "stream/io.h"

namespace sluice::cli {

namespace {

struct server_settings {
  std::string config_file;
  std::string data_dir = "./data";
  std::string kafka_addr = "127.0.0.1:9092";
  std::string advertised_addr;
  std::string listeners;
  std::string advertised_listeners;
  std::string http_addr = "127.0.0.1:8080";
  std::string http_listeners;
  std::string log_level = "info";
  bool allow_anonymous_remote = false;
  std::string super_users;
  security::tls_options tls;
  log::log_options log;
  kafka::server_config kafka;
  http::server_config http;
  sql::engine_options sql;
  group::coordinator_config groups;
  group::transaction_config transactions;
  // Cluster mode (--kafka-bootstrap): no local log, everything on the external cluster.
  cluster::cluster_options cluster;
  std::vector<std::string> kafka_properties;  // KEY=VALUE for librdkafka
  loop_watch::options stall_watch;
};

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  auto e = parse_host_port(s);
  if (!e || e->host.empty()) return false;
  host = std::move(e->host);
  port = e->port;
  return true;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

// The Kafka listeners: --listeners, or one PLAINTEXT listener on --kafka-addr.
result<std::vector<kafka::listener>> kafka_listeners(const server_settings& s) {
  if (!s.listeners.empty()) return kafka::parse_listeners(s.listeners, s.advertised_listeners);
  kafka::listener l;
  if (!split_host_port(s.kafka_addr, l.host, l.port))
    return make_error(errc::invalid_argument,
                      "--kafka-addr must be HOST:PORT, got '" + s.kafka_addr + "'");
  if (!s.advertised_addr.empty() &&
      !split_host_port(s.advertised_addr, l.advertised_host, l.advertised_port))
    return make_error(errc::invalid_argument,
                      "--advertised-addr must be HOST:PORT, got '" + s.advertised_addr + "'");
  return std::vector<kafka::listener>{l};
}

// The name of sluice's own Kafka client (REST Proxy consumer instances) when authorization
// is on: a super user that exists in memory only.
constexpr std::string_view k_internal_user = "__sluice_internal";

// Whether anyone authenticates (a SASL listener, or TLS with required client certificates
// on Kafka or HTTP): then authorization is on, on Kafka and HTTP alike.
bool authenticates(const server_settings& s) {
  bool certificates = s.tls.clients == security::client_auth::required;
  return std::any_of(s.kafka.listeners.begin(), s.kafka.listeners.end(),
                     [&](const auto& l) {
                       return kafka::uses_sasl(l.protocol) ||
                              (kafka::uses_tls(l.protocol) && certificates);
                     }) ||
         std::any_of(s.http.listeners.begin(), s.http.listeners.end(),
                     [&](const auto& l) { return l.tls && certificates; });
}

// Refuses to expose data to the network without authentication, unless asked to.
result<void> check_exposure(const server_settings& s) {
  if (s.allow_anonymous_remote) return {};
  auto refuse = [](const std::string& what) {
    return make_error(errc::invalid_argument,
                      what +
                          " would let anyone on the network read and write everything: "
                          "use a SASL_SSL or SASL_PLAINTEXT listener (--listeners), or "
                          "allow it with --allow-anonymous-remote");
  };
  for (const auto& l : s.kafka.listeners) {
    bool authenticated =
        kafka::uses_sasl(l.protocol) ||
        (kafka::uses_tls(l.protocol) && s.tls.clients == security::client_auth::required);
    if (!authenticated && !is_loopback(l.host))
      return refuse(std::string(kafka::to_string(l.protocol)) + " listener on " + l.host + ":" +
                    std::to_string(l.port));
  }
  for (const auto& l : s.http.listeners)
    if (!is_loopback(l.host) && !authenticates(s))
      return refuse(std::string("the HTTP API on ") + (l.tls ? "https://" : "http://") + l.host +
                    ":" + std::to_string(l.port));
  return {};
}

// Signals are taken by the calling thread only (sigwait); every thread started after
// inherits the mask. Returns the set to wait on.
sigset_t take_signals() {
  // A shell starts background jobs with SIGINT ignored; an ignored signal never reaches
  // sigwait, so take the default disposition back first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every Kafka client and every live-view subscriber is a socket: take the hard limit.
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  return sigs;
}

// Cluster mode: a node of a sluice cluster on an external Kafka-protocol cluster
// (docs/scale-out.md). SQL, views, live push, metrics and the dashboard; no local log, so
// no Kafka listener of its own (clients use the cluster), no queues or connectors yet.
int run_cluster_node(server_settings& s, const sigset_t& sigs) {
  auto& co = s.cluster;
  for (const auto& kv : s.kafka_properties) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      spdlog::error("--kafka-property must be KEY=VALUE, got '{}'", kv);
      return 2;
    }
    co.kafka.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (co.node.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    co.node = std::string(host) + "-" + std::to_string(s.http.listeners.front().port);
  }
  // Topics a node creates (streams declared on a new topic, view changelogs) get the
  // cluster's default partition count: a cluster's partitions are its operators' decision.
  co.kafka.default_partitions = -1;
  auto rt = cluster::runtime::open(co);
  if (!rt) {
    spdlog::error("cluster mode: {}", rt.error().message);
    return 1;
  }
  s.sql.cluster = *rt;
  auto engine = sql::engine::open(s.sql, (*rt)->io());
  if (!engine) {
    spdlog::error("cannot load the catalog of cluster {}: {}", co.name, engine.error().message);
    return 1;
  }
  http::server_config& hc = s.http;
  hc.metrics = [e = engine->get(), l = hc.stalls](metrics::exposition& out) {
    metrics::sources ms;
    ms.engine = e;
    ms.loops = l.get();
    metrics::collect(out, ms);
  };
  hc.cluster_status = [r = *rt] { return r->status_json(); };
  http::server web(hc, **engine);
  if (auto r = web.start(); !r) {
    spdlog::error("{}", r.error().message);
    return 1;
  }
  spdlog::info("sluice node {} of cluster {} is ready: Kafka cluster {}, HTTP API on port {}",
               co.node, co.name, co.kafka.bootstrap, web.port());
  int sig = 0;
  do {
    sigwait(&sigs, &sig);
  } while (sig == SIGHUP);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  // Tasks hand over their last checkpoint when the cluster answers; when it does not, their
  // next owner resumes from the checkpoint before (nothing is lost): stop waiting after 30 s.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(30));
    spdlog::error("shutdown did not finish within 30 s (is the Kafka cluster reachable?): exiting");
    std::_Exit(1);
  }).detach();
  web.stop();
  (*engine)->stop();
  (*rt)->stop();
  return 0;
}

int run_server(server_settings s) {
  spdlog::set_level(spdlog::level::from_str(s.log_level));
  // Before any thread starts (the loop watchdog below is one): a thread that does not block
  // SIGTERM would take it with the default action and the process would die uncleanly.
  sigset_t sigs = take_signals();

  s.log.data_dir = s.data_dir;
  s.sql.data_dir = s.data_dir;
  auto listeners = kafka_listeners(s);
  if (!listeners) {
    spdlog::error("{}", listeners.error().message);
    return 2;
  }
  s.kafka.listeners = std::move(*listeners);
  if (!s.http_listeners.empty()) {
    auto hl = http::parse_listeners(s.http_listeners);
    if (!hl) {
      spdlog::error("{}", hl.error().message);
      return 2;
    }
    s.http.listeners = std::move(*hl);
  } else if (http::listener l; split_host_port(s.http_addr, l.host, l.port)) {
    s.http.listeners = {l};
  } else {
    spdlog::error("--http-addr must be HOST:PORT, got '{}'", s.http_addr);
    return 2;
  }
  if (auto r = check_exposure(s); !r) {
    spdlog::error("{}", r.error().message);
    return 2;
  }
  auto stalls = std::make_shared<loop_watch>(s.stall_watch);
  s.kafka.stalls = stalls;
  s.http.stalls = stalls;
  auto users =
      security::user_store::open(std::filesystem::path(s.data_dir) / "_security" / "users.json");
  if (!users) {
    spdlog::error("cannot read the users: {}", users.error().message);
    return 1;
  }
  s.kafka.security.users = *users;
  // Authorization is on as soon as anyone authenticates: from then on, nothing is allowed
  // that no ACL allows (super users excepted).
  if (authenticates(s)) {
    auto acls =
        security::acl_store::open(std::filesystem::path(s.data_dir) / "_security" / "acls.json");
    if (!acls) {
      spdlog::error("cannot read the ACLs: {}", acls.error().message);
      return 1;
    }
    std::vector<std::string> supers = {"User:" + std::string(k_internal_user)};
    for (size_t start = 0; start < s.super_users.size();) {
      auto end = s.super_users.find_first_of(";,", start);
      auto one = s.super_users.substr(start, end == std::string::npos ? end : end - start);
      if (!one.empty()) supers.push_back(one);
      start = end == std::string::npos ? s.super_users.size() : end + 1;
    }
    s.kafka.security.authorizer =
        std::make_shared<security::authorizer>(std::move(*acls), std::move(supers));
    spdlog::info("authorization on: {} ACL binding(s), super users: {}",
                 s.kafka.security.authorizer->acls().bindings()->size(),
                 s.super_users.empty() ? "none" : s.super_users);
  }
  bool wants_tls = std::any_of(s.kafka.listeners.begin(), s.kafka.listeners.end(),
                               [](const auto& l) { return kafka::uses_tls(l.protocol); }) ||
                   std::any_of(s.http.listeners.begin(), s.http.listeners.end(),
                               [](const auto& l) { return l.tls; });
  if (wants_tls && (s.tls.cert_file.empty() || s.tls.key_file.empty())) {
    spdlog::error("an SSL, SASL_SSL or https:// listener needs --tls-cert and --tls-key");
    return 2;
  }
  auto tokens =
      security::token_store::open(std::filesystem::path(s.data_dir) / "_security" / "tokens.json");
  if (!tokens) {
    spdlog::error("cannot read the API tokens: {}", tokens.error().message);
    return 1;
  }
  s.kafka.security.logins = std::make_shared<security::login_limiter>();
  auto quotas = security::quota_manager::open(std::filesystem::path(s.data_dir) / "_security" /
                                              "quotas.json");
  if (!quotas) {
    spdlog::error("cannot read the client quotas: {}", quotas.error().message);
    return 1;
  }
  s.kafka.security.quotas = *quotas;
  s.http.security = {*users, *tokens, s.kafka.security.authorizer, s.kafka.security.logins};
  if (!s.tls.cert_file.empty()) {
    auto tls = security::tls_context::load(s.tls);
    if (!tls) {
      spdlog::error("{}", tls.error().message);
      return 2;
    }
    s.kafka.security.tls = *tls;
    s.http.tls = *tls;
  }

  if (!s.cluster.kafka.bootstrap.empty()) return run_cluster_node(s, sigs);

  auto lg = log::log::open(s.log);
  if (!lg) {
    spdlog::error("cannot open the log: {}", lg.error().message);
    return 1;
  }
  auto groups = group::coordinator::open(**lg, s.groups);
  if (!groups) {
    spdlog::error("cannot load consumer group offsets: {}", groups.error().message);
    return 1;
  }
  auto transactions = group::transaction_coordinator::open(**lg, **groups, s.transactions);
  if (!transactions) {
    spdlog::error("cannot load transaction state: {}", transactions.error().message);
    return 1;
  }
  auto schemas = schema::registry::open(**lg);
  if (!schemas) {
    spdlog::error("cannot load the schema registry: {}", schemas.error().message);
    return 1;
  }
  s.http.schemas = *schemas;
  s.sql.schemas = *schemas;
  kafka::server srv(s.kafka, **lg, {groups->get(), transactions->get()});
  if (auto r = srv.start(); !r) {
    spdlog::error("{}", r.error().message);
    return 1;
  }
  auto engine = sql::engine::open(s.sql, stream::make_log_io(**lg, transactions->get()));
  if (!engine) {
    spdlog::error("cannot open the SQL catalog: {}", engine.error().message);
    return 1;
  }
  http::server_config& hc = s.http;
  // REST Proxy consumers are Kafka clients of this server: they reach it where clients are
  // told to (the advertised address, which Metadata answers with anyway).
  // With authorization on, they log in over a SASL listener as sluice's internal super user
  // (a random password, known to this process only); otherwise they use the first listener.
  {
    const kafka::listener* chosen = &s.kafka.listeners.front();
    if (s.kafka.security.authorizer) {
      for (const auto& l : s.kafka.listeners)
        if (kafka::uses_sasl(l.protocol) &&
            (!kafka::uses_sasl(chosen->protocol) ||
             l.protocol == kafka::security_protocol::sasl_plaintext))
          chosen = &l;
      if (kafka::uses_sasl(chosen->protocol)) {
        std::string password = security::hex(security::random_bytes(24));
        s.kafka.security.users->add_ephemeral(k_internal_user, password);
        hc.kafka_client_properties = {
            {"security.protocol", std::string(kafka::to_string(chosen->protocol))},
            {"sasl.mechanism", "SCRAM-SHA-512"},
            {"sasl.username", std::string(k_internal_user)},
            {"sasl.password", password}};
        // Its own certificate, on its own loopback connection.
        if (kafka::uses_tls(chosen->protocol))
          hc.kafka_client_properties["enable.ssl.certificate.verification"] = "false";
      }
    }
    const auto& l = *chosen;
    std::string h = l.advertised_host.empty() ? l.host : l.advertised_host;
    if (h == "0.0.0.0" || h == "::" || h.empty()) h = "127.0.0.1";
    uint16_t p = l.advertised_port ? l.advertised_port
                                   : srv.port(static_cast<size_t>(&l - s.kafka.listeners.data()));
    hc.kafka_bootstrap =
        (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(p);
  }
  auto queues = queue::manager::open(**lg, std::filesystem::path(s.data_dir) / "_queues");
  if (!queues) {
    spdlog::error("cannot open the queues: {}", queues.error().message);
    return 1;
  }
  connect::worker_options co;
  co.worker_id = hc.listeners.front().host + ":" + std::to_string(hc.listeners.front().port);
  co.io = stream::make_log_io(**lg, transactions->get());
  co.find_view = [e = engine->get()](const std::string& name) { return e->find_view(name); };
  co.framed_to_json = [r = *schemas](std::string_view value) {
    std::string err;
    return schema::framed_to_json(*r, value, false, err);
  };
  auto connectors = connect::worker::open(**lg, std::move(co));
  if (!connectors) {
    spdlog::error("cannot load the connectors: {}", connectors.error().message);
    return 1;
  }
  hc.connectors = connectors->get();
  (*engine)->set_connectors(connectors->get());
  metrics::sources ms{lg->get(), groups->get(), &srv, engine->get(), queues->get(), stalls.get()};
  hc.metrics = [ms, w = connectors->get()](metrics::exposition& out) {
    metrics::collect(out, ms);
    w->write_metrics(out);
  };
  http::server web(hc, **engine, lg->get(), groups->get(), queues->get());
  if (auto r = web.start(); !r) {
    spdlog::error("{}", r.error().message);
    return 1;
  }
  (*connectors)->start();
  std::string http_where;
  for (size_t i = 0; i < hc.listeners.size(); ++i)
    http_where += std::string(i ? ", " : "") + (hc.listeners[i].tls ? "https://" : "http://") +
                  hc.listeners[i].host + ":" + std::to_string(web.port(i));
  spdlog::info("sluice is ready: Kafka API on {}:{}, HTTP API on {}, data in {}",
               s.kafka.listeners.front().host, srv.port(), http_where, s.data_dir);
  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: rotated certificates are read again; open connections keep theirs.
    if (s.kafka.security.tls) {
      if (auto r = s.kafka.security.tls->reload(); r)
        spdlog::info("SIGHUP: TLS certificate and key read again from {}", s.tls.cert_file);
      else
        spdlog::error("SIGHUP: {} (the previous certificate stays in use)", r.error().message);
    }
  }
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  web.stop();
  (*connectors)->stop();
  (*engine)->stop();
  srv.stop();
  (*groups)->stop();
  (*lg)->close();
  return 0;
}

// Options that set a topic config default (retention.ms, ...): checked by topic_config itself.
void add_topic_default(CLI::App* cmd, server_settings& s, const std::string& flag,
                       const std::string& key, const std::string& help) {
  std::string current;
  for (const auto& [k, v] : s.log.defaults.entries())
    if (k == key) current = v;
  cmd->add_option_function<std::string>(
         flag,
         [&s, key](const std::string& v) {
           if (auto r = s.log.defaults.set(key, v); !r)
             throw CLI::ValidationError(r.error().message);
         },
         help + " (" + key + ")")
      ->default_str(current);
}

void add_millis(CLI::App* cmd, const std::string& flag, std::chrono::milliseconds& field,
                const std::string& help, int64_t min, int64_t max) {
  cmd->add_option_function<int64_t>(
         flag, [&field](int64_t v) { field = std::chrono::milliseconds(v); }, help)
      ->default_str(std::to_string(field.count()))
      ->check(CLI::Range(min, max));
}

}  // namespace

action add_server_command(CLI::App& app, int /*argc*/, char** /*argv*/) {
  auto s = std::make_shared<server_settings>();
  auto* cmd = app.add_subcommand("server", "Run the sluice server");
  cmd->add_option("--config", s->config_file,
                  "TOML file with any of these options (keys without the leading dashes); "
                  "options given here win");
  cmd->add_option("--data-dir", s->data_dir, "Folder for all data")->capture_default_str();

  // Listeners and security.
  cmd->add_option("--kafka-addr", s->kafka_addr,
                  "Kafka protocol listen address HOST:PORT (one PLAINTEXT listener)")
      ->capture_default_str();
  cmd->add_option("--advertised-addr", s->advertised_addr,
                  "HOST:PORT given to clients in Metadata (default: the listen address)");
  cmd->add_option("--listeners", s->listeners,
                  "Kafka listeners instead of --kafka-addr, e.g. "
                  "PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093 (PLAINTEXT, SSL, "
                  "SASL_PLAINTEXT, SASL_SSL)")
      ->excludes("--kafka-addr")
      ->excludes("--advertised-addr");
  cmd->add_option("--advertised-listeners", s->advertised_listeners,
                  "Addresses given to clients per listener, e.g. SASL_SSL://kafka.example.com:9093")
      ->needs("--listeners");
  cmd->add_option("--http-addr", s->http_addr, "HTTP API listen address HOST:PORT")
      ->capture_default_str();
  cmd->add_option("--http-listeners", s->http_listeners,
                  "HTTP listeners instead of --http-addr, e.g. "
                  "http://127.0.0.1:8080,https://0.0.0.0:8443 (https uses --tls-cert)")
      ->excludes("--http-addr");
  cmd->add_option("--tls-cert", s->tls.cert_file,
                  "PEM certificate chain of SSL, SASL_SSL and https:// listeners (read again on "
                  "SIGHUP)");
  cmd->add_option("--tls-key", s->tls.key_file, "PEM private key of --tls-cert");
  cmd->add_option("--tls-ca", s->tls.ca_file, "PEM CAs that sign client certificates (mTLS)");
  cmd->add_option("--tls-client-auth", s->tls.clients,
                  "Client certificates: none, requested or required (the principal is the "
                  "certificate's subject)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, security::client_auth>{
              {"none", security::client_auth::none},
              {"requested", security::client_auth::requested},
              {"required", security::client_auth::required}},
          CLI::ignore_case))
      ->default_str("none");
  cmd->add_option("--super-users", s->super_users,
                  "Principals allowed everything, e.g. \"User:admin;User:ops\" (authorization is "
                  "on once a listener authenticates)");
  cmd->add_option("--max-connections-per-ip", s->kafka.max_connections_per_ip,
                  "Open Kafka connections allowed from one address (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--allow-anonymous-remote", s->allow_anonymous_remote,
                "Allow listening on a non-loopback address without authentication");

  // The log.
  cmd->add_option("--partitions", s->log.default_partitions, "Partitions of auto-created topics")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--auto-create-topics", s->kafka.auto_create_topics,
                  "Create unknown topics on first use (auto.create.topics.enable)")
      ->capture_default_str();
  cmd->add_option("--io-threads", s->kafka.io_threads, "Network event loops (0: one per core)")
      ->capture_default_str();
  cmd->add_option("--flush-threads", s->log.flush_threads, "Threads running fdatasync for acks=all")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--min-free-bytes", s->log.space.min_free_bytes,
                  "Refuse writes of user data while the data folder has less free space")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 50));
  cmd->add_option("--min-free-ratio", s->log.space.min_free_ratio,
                  "... or less than this share of its file system free (0-0.5)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_flag("--sync-filesystem", s->log.sync_filesystem,
                "acks=all: sync the whole data file system (syncfs) for rounds of several "
                "partitions instead of each partition's files");
  add_millis(cmd, "--loop-stall-warn-ms", s->stall_watch.threshold,
             "Warn when an event loop is held this long (a blocking call, a long computation)", 10,
             3'600'000);
  add_millis(cmd, "--retention-check-ms", s->log.retention_check_interval,
             "How often retention is enforced", 10, int64_t{1} << 40);
  add_topic_default(cmd, *s, "--retention-ms", "retention.ms", "Default retention (-1: forever)");
  add_topic_default(cmd, *s, "--retention-bytes", "retention.bytes",
                    "Default bytes kept per partition (-1: no limit)");
  add_topic_default(cmd, *s, "--segment-bytes", "segment.bytes", "Default segment size");
  add_topic_default(cmd, *s, "--segment-ms", "segment.ms", "Default segment age");
  add_topic_default(cmd, *s, "--max-message-bytes", "max.message.bytes",
                    "Default largest record batch");
  add_topic_default(cmd, *s, "--message-timestamp-type", "message.timestamp.type",
                    "Default timestamp type: CreateTime or LogAppendTime");

  // Groups and transactions.
  cmd->add_option("--group-initial-rebalance-delay-ms", s->groups.initial_rebalance_delay_ms,
                  "How long the first rebalance of an empty group waits for more members")
      ->capture_default_str();
  cmd->add_option("--group-min-session-timeout-ms", s->groups.min_session_timeout_ms,
                  "Smallest session.timeout.ms a consumer may ask for")
      ->capture_default_str();
  cmd->add_option("--group-max-session-timeout-ms", s->groups.max_session_timeout_ms,
                  "Largest session.timeout.ms a consumer may ask for")
      ->capture_default_str();
  cmd->add_option("--transaction-max-timeout-ms", s->transactions.max_timeout_ms,
                  "Largest transaction.timeout.ms a transactional producer may ask for")
      ->capture_default_str()
      ->check(CLI::Range(1, INT32_MAX));
  cmd->add_option("--transactional-id-expiration-ms", s->transactions.id_expiration_ms,
                  "How long an unused transactional id is kept")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, INT64_MAX));

  // Cluster mode.
  cmd->add_option("--kafka-bootstrap", s->cluster.kafka.bootstrap,
                  "Run as a node of a sluice cluster on this Kafka-protocol cluster "
                  "(HOST:PORT[,...]): no local log, topics, SQL state and the catalog live there");
  cmd->add_option("--cluster-name", s->cluster.name,
                  "Nodes with the same cluster name share the catalog, queries and views")
      ->capture_default_str();
  cmd->add_option("--node-id", s->cluster.node,
                  "This node's name in the cluster, stable across restarts (default: "
                  "HOSTNAME-HTTPPORT)");
  cmd->add_option(
      "--kafka-property", s->kafka_properties,
      "librdkafka property KEY=VALUE for every client of the cluster (security.protocol, "
      "sasl.username, ...); repeat for several");
  add_millis(cmd, "--cluster-session-timeout-ms", s->cluster.session_timeout,
             "How long a node may be silent before its tasks move to others", 1'000, 300'000);

  // SQL.
  add_millis(cmd, "--sql-checkpoint-interval-ms", s->sql.checkpoint_interval,
             "How often each SQL query checkpoints its state and positions", 10, 3'600'000);
  cmd->add_option("--sql-max-state-bytes", s->sql.max_state_bytes,
                  "Estimated bytes of operator state in memory per SQL query beyond which it "
                  "fails (WITH (max_state_bytes = ...) per query)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1} << 20, SIZE_MAX));
  cmd->add_option("--sql-read-alignment-ms", s->sql.read_alignment_ms,
                  "While a SQL query catches up, a partition this far ahead in event time of "
                  "the slowest one waits for it (0: read every partition as fast as it comes)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}));
  cmd->add_option("--sql-state-cache-rows", s->sql.state_cache_rows,
                  "Groups of an unwindowed GROUP BY kept in memory per query (the rest in RocksDB)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1'000'000'000}));

  // HTTP.
  cmd->add_option("--http-max-subscriber-bytes", s->http.max_subscriber_bytes,
                  "Bytes of a view's recent changes kept per push loop for its live subscribers")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 34));
  cmd->add_option("--http-push-threads", s->http.push_threads,
                  "Event loops for SSE/WebSocket/streamed connections (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  cmd->add_option("--log-level", s->log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  return [cmd, s]() -> int {
    if (!cmd->parsed()) return -1;
    if (!s->config_file.empty()) {
      try {
        apply_toml_file(*cmd, s->config_file);
      } catch (const std::exception& e) {
        spdlog::error("config file: {}", e.what());
        return 2;
      }
    }
    return run_server(*s);
  };
}

}  // namespace sluice::cli
