// `sluice server`: the broker process.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <toml++/toml.h>

#include "cli/commands.h"
#include "group/coordinator.h"
#include "group/transaction_coordinator.h"
#include "http/server.h"
#include "kafka/server.h"
#include "log/log.h"
#include "metrics/collect.h"
#include "queue/manager.h"
#include "sql/engine.h"
#include "stream/io.h"

namespace sluice::cli {

namespace {

struct server_settings {
  std::string data_dir = "./data";
  std::string kafka_addr = "127.0.0.1:9092";
  std::string http_addr = "127.0.0.1:8080";
  std::string advertised_addr;
  std::string log_level = "info";
  int32_t partitions = 1;
  bool auto_create_topics = true;
  int io_threads = 0;
  int flush_threads = 2;
  bool sync_filesystem = false;
  int64_t min_free_bytes = 256LL << 20;
  double min_free_ratio = 0;
  int64_t retention_check_ms = 30'000;
  int64_t sql_checkpoint_interval_ms = 1'000;
  int64_t sql_state_cache_rows = 100'000;
  int64_t sql_max_state_bytes = int64_t{1} << 30;
  int64_t http_max_subscriber_bytes = 1 << 20;
  int64_t http_push_threads = 0;
  int64_t retention_ms = 604'800'000;
  int64_t retention_bytes = -1;
  int64_t segment_bytes = 1LL << 30;
  int64_t segment_ms = 604'800'000;
  int32_t max_message_bytes = 1'048'588;
  std::string timestamp_type = "CreateTime";
  std::string config_file;
  group::coordinator_config groups;
  group::transaction_config transactions;
};

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    int p = std::stoi(s.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

// Values from the config file become the defaults that command-line flags then override.
// Keys are the long flag names without dashes' prefix, e.g. `kafka-addr = "0.0.0.0:9092"`.
void apply_config_file(const std::string& path, server_settings& s) {
  toml::table t = toml::parse_file(path);
  auto str = [&](const char* k, std::string& v) {
    if (auto x = t[k].value<std::string>()) v = *x;
  };
  auto num = [&](const char* k, auto& v) {
    if (auto x = t[k].value<int64_t>()) v = static_cast<std::remove_reference_t<decltype(v)>>(*x);
  };
  str("data-dir", s.data_dir);
  str("kafka-addr", s.kafka_addr);
  str("http-addr", s.http_addr);
  str("advertised-addr", s.advertised_addr);
  str("log-level", s.log_level);
  str("message-timestamp-type", s.timestamp_type);
  num("partitions", s.partitions);
  num("io-threads", s.io_threads);
  num("flush-threads", s.flush_threads);
  num("min-free-bytes", s.min_free_bytes);
  if (auto x = t["min-free-ratio"].value<double>()) s.min_free_ratio = *x;
  num("retention-check-ms", s.retention_check_ms);
  num("sql-checkpoint-interval-ms", s.sql_checkpoint_interval_ms);
  num("sql-state-cache-rows", s.sql_state_cache_rows);
  num("sql-max-state-bytes", s.sql_max_state_bytes);
  num("http-max-subscriber-bytes", s.http_max_subscriber_bytes);
  num("http-push-threads", s.http_push_threads);
  num("retention-ms", s.retention_ms);
  num("retention-bytes", s.retention_bytes);
  num("segment-bytes", s.segment_bytes);
  num("segment-ms", s.segment_ms);
  num("max-message-bytes", s.max_message_bytes);
  num("transaction-max-timeout-ms", s.transactions.max_timeout_ms);
  num("transactional-id-expiration-ms", s.transactions.id_expiration_ms);
  if (auto x = t["auto-create-topics"].value<bool>()) s.auto_create_topics = *x;
  if (auto x = t["sync-filesystem"].value<bool>()) s.sync_filesystem = *x;
  for (auto&& [k, v] : t) {
    static const char* known[] = {"data-dir",
                                  "kafka-addr",
                                  "http-addr",
                                  "advertised-addr",
                                  "log-level",
                                  "transaction-max-timeout-ms",
                                  "transactional-id-expiration-ms",
                                  "partitions",
                                  "io-threads",
                                  "flush-threads",
                                  "retention-check-ms",
                                  "retention-ms",
                                  "retention-bytes",
                                  "segment-bytes",
                                  "segment-ms",
                                  "max-message-bytes",
                                  "auto-create-topics",
                                  "message-timestamp-type",
                                  "sql-checkpoint-interval-ms",
                                  "sql-max-state-bytes",
                                  "sql-state-cache-rows",
                                  "http-max-subscriber-bytes",
                                  "http-push-threads",
                                  "sync-filesystem",
                                  "min-free-bytes",
                                  "min-free-ratio"};
    if (std::find_if(std::begin(known), std::end(known),
                     [&](const char* n) { return k.str() == n; }) == std::end(known))
      throw std::runtime_error("unknown key '" + std::string(k.str()) + "' in " + path);
  }
}

int run_server(server_settings s) {
  spdlog::set_level(spdlog::level::from_str(s.log_level));

  log::log_options lo;
  lo.data_dir = s.data_dir;
  lo.default_partitions = s.partitions;
  lo.flush_threads = s.flush_threads;
  lo.sync_filesystem = s.sync_filesystem;
  lo.space.min_free_bytes = static_cast<uint64_t>(s.min_free_bytes);
  lo.space.min_free_ratio = s.min_free_ratio;
  lo.retention_check_interval = std::chrono::milliseconds(s.retention_check_ms);
  for (auto [k, v] :
       {std::pair<const char*, std::string>{"retention.ms", std::to_string(s.retention_ms)},
        {"retention.bytes", std::to_string(s.retention_bytes)},
        {"segment.bytes", std::to_string(s.segment_bytes)},
        {"segment.ms", std::to_string(s.segment_ms)},
        {"max.message.bytes", std::to_string(s.max_message_bytes)},
        {"message.timestamp.type", s.timestamp_type}}) {
    if (auto r = lo.defaults.set(k, v); !r) {
      spdlog::error("{}", r.error().message);
      return 2;
    }
  }
  kafka::server_config kc;
  kc.auto_create_topics = s.auto_create_topics;
  kc.io_threads = s.io_threads;
  if (!split_host_port(s.kafka_addr, kc.host, kc.port)) {
    spdlog::error("--kafka-addr must be HOST:PORT, got '{}'", s.kafka_addr);
    return 2;
  }
  if (!s.advertised_addr.empty() &&
      !split_host_port(s.advertised_addr, kc.advertised_host, kc.advertised_port)) {
    spdlog::error("--advertised-addr must be HOST:PORT, got '{}'", s.advertised_addr);
    return 2;
  }
  std::string http_host;
  uint16_t http_port = 0;
  if (!split_host_port(s.http_addr, http_host, http_port)) {
    spdlog::error("--http-addr must be HOST:PORT, got '{}'", s.http_addr);
    return 2;
  }

  // Signals are taken by this thread only (sigwait); every other thread inherits the mask.
  // A shell starts background jobs with SIGINT ignored; an ignored signal never reaches
  // sigwait, so take the default disposition back first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every Kafka client and every live-view subscriber is a socket: take the hard limit.
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  auto lg = log::log::open(lo);
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
  kafka::server srv(kc, **lg, {groups->get(), transactions->get()});
  if (auto r = srv.start(); !r) {
    spdlog::error("{}", r.error().message);
    return 1;
  }
  sql::engine_options so;
  so.data_dir = s.data_dir;
  so.checkpoint_interval = std::chrono::milliseconds(s.sql_checkpoint_interval_ms);
  so.state_cache_rows = static_cast<size_t>(s.sql_state_cache_rows);
  so.max_state_bytes = static_cast<size_t>(s.sql_max_state_bytes);
  auto engine = sql::engine::open(so, stream::make_log_io(**lg, transactions->get()));
  if (!engine) {
    spdlog::error("cannot open the SQL catalog: {}", engine.error().message);
    return 1;
  }
  http::server_config hc;
  hc.host = http_host;
  hc.port = http_port;
  hc.max_subscriber_bytes = static_cast<size_t>(s.http_max_subscriber_bytes);
  hc.push_threads = static_cast<int>(s.http_push_threads);
  // REST Proxy consumers are Kafka clients of this server: they reach it where clients are
  // told to (the advertised address, which Metadata answers with anyway).
  {
    std::string h = kc.advertised_host.empty() ? kc.host : kc.advertised_host;
    if (h == "0.0.0.0" || h == "::" || h.empty()) h = "127.0.0.1";
    uint16_t p = kc.advertised_port ? kc.advertised_port : srv.port();
    hc.kafka_bootstrap =
        (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(p);
  }
  auto queues = queue::manager::open(**lg, std::filesystem::path(s.data_dir) / "_queues");
  if (!queues) {
    spdlog::error("cannot open the queues: {}", queues.error().message);
    return 1;
  }
  metrics::sources ms{lg->get(), groups->get(), &srv, engine->get(), queues->get()};
  hc.metrics = [ms](metrics::exposition& out) { metrics::collect(out, ms); };
  http::server web(hc, **engine, lg->get(), groups->get(), queues->get());
  if (auto r = web.start(); !r) {
    spdlog::error("{}", r.error().message);
    return 1;
  }
  spdlog::info("sluice is ready: Kafka API on {}:{}, HTTP API on {}:{}, data in {}", kc.host,
               srv.port(), hc.host, web.port(), s.data_dir);
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  web.stop();
  (*engine)->stop();
  srv.stop();
  (*groups)->stop();
  (*lg)->close();
  return 0;
}

}  // namespace

action add_server_command(CLI::App& app, int argc, char** argv) {
  auto s = std::make_shared<server_settings>();
  // The config file sets defaults before the flags are parsed, so that flags win.
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--config") s->config_file = argv[i + 1];
  std::string config_error;
  if (!s->config_file.empty()) {
    try {
      apply_config_file(s->config_file, *s);
    } catch (const std::exception& e) {
      config_error = e.what();
    }
  }

  auto* cmd = app.add_subcommand("server", "Run the sluice server");
  cmd->add_option("--config", s->config_file,
                  "TOML file with any of these options (keys without the leading dashes)");
  cmd->add_option("--data-dir", s->data_dir, "Folder for all data")->capture_default_str();
  cmd->add_option("--kafka-addr", s->kafka_addr, "Kafka protocol listen address HOST:PORT")
      ->capture_default_str();
  cmd->add_option("--http-addr", s->http_addr, "HTTP API listen address HOST:PORT")
      ->capture_default_str();
  cmd->add_option("--advertised-addr", s->advertised_addr,
                  "HOST:PORT given to clients in Metadata (default: the listen address)");
  cmd->add_option("--partitions", s->partitions, "Partitions of auto-created topics")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--auto-create-topics", s->auto_create_topics,
                  "Create unknown topics on first use (auto.create.topics.enable)")
      ->capture_default_str();
  cmd->add_option("--io-threads", s->io_threads, "Network event loops (0: one per core)")
      ->capture_default_str();
  cmd->add_option("--flush-threads", s->flush_threads, "Threads running fdatasync for acks=all")
      ->capture_default_str();
  cmd->add_option("--min-free-bytes", s->min_free_bytes,
                  "Refuse writes of user data while the data folder has less free space")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
  cmd->add_option("--min-free-ratio", s->min_free_ratio,
                  "... or less than this share of its file system free (0-0.5)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_flag("--sync-filesystem", s->sync_filesystem,
                "acks=all: sync the whole data file system (syncfs) for rounds of several "
                "partitions instead of each partition's files");
  cmd->add_option("--retention-check-ms", s->retention_check_ms, "How often retention is enforced")
      ->capture_default_str();
  cmd->add_option("--retention-ms", s->retention_ms, "Default retention.ms (-1: forever)")
      ->capture_default_str();
  cmd->add_option("--retention-bytes", s->retention_bytes,
                  "Default retention.bytes per partition (-1: no limit)")
      ->capture_default_str();
  cmd->add_option("--segment-bytes", s->segment_bytes, "Default segment.bytes")
      ->capture_default_str();
  cmd->add_option("--segment-ms", s->segment_ms, "Default segment.ms")->capture_default_str();
  cmd->add_option("--max-message-bytes", s->max_message_bytes, "Default max.message.bytes")
      ->capture_default_str();
  cmd->add_option("--message-timestamp-type", s->timestamp_type,
                  "Default message.timestamp.type: CreateTime or LogAppendTime")
      ->capture_default_str();
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
  cmd->add_option("--sql-checkpoint-interval-ms", s->sql_checkpoint_interval_ms,
                  "How often each SQL query checkpoints its state and positions")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}));
  cmd->add_option("--sql-max-state-bytes", s->sql_max_state_bytes,
                  "Estimated bytes of operator state in memory per SQL query beyond which it "
                  "fails (WITH (max_state_bytes = ...) per query)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1} << 20, INT64_MAX));
  cmd->add_option("--sql-state-cache-rows", s->sql_state_cache_rows,
                  "Groups of an unwindowed GROUP BY kept in memory per query (the rest in RocksDB)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  cmd->add_option("--http-max-subscriber-bytes", s->http_max_subscriber_bytes,
                  "Bytes of a view's recent changes kept per push loop for its live subscribers")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 34));
  cmd->add_option("--http-push-threads", s->http_push_threads,
                  "Event loops for SSE/WebSocket/streamed connections (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{256}));
  cmd->add_option("--log-level", s->log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  return [cmd, s, config_error]() -> int {
    if (!cmd->parsed()) return -1;
    if (!config_error.empty()) {
      spdlog::error("config file: {}", config_error);
      return 2;
    }
    return run_server(*s);
  };
}

}  // namespace sluice::cli
