#pragma once
// The HTTP API (Boost.Beast) on --http-addr. The public entry point of src/http/.
//
//   /v1/sql, /v1/views/..   statements, views and live push: SSE and WebSocket of views,
//   /v1/topics/{t}/events   topics and EMIT CHANGES queries (http/sql_api.h)
//   GET  /health, /ready    {"status":"ok","subscribers":n}
//   GET  /metrics           Prometheus text format
//   POST /v1/login, GET /v1/whoami, GET /v1/cluster   sessions, the caller, cluster mode
//   /topics...              topics in Confluent REST Proxy v2 style (http/rest_proxy.h)
//   /consumers...           consumer instances in the same style (http/rest_consumers.h)
//   /v1/queues...           work queues (http/queue_api.h)
//   /subjects, /schemas...  the schema registry (http/schema_registry_api.h)
//   /connectors...          Kafka Connect's REST API (http/connect_api.h)
//   GET  /                  the dashboard (web/, embedded: http/assets.h)
//
// Every endpoint is a route (http/routes.h): declared with its permission by the file that
// serves it, matched once per request, authorized, then handled.
//
// Threads: one event loop (Boost.Asio, C++20 coroutines) accepts and answers requests; push
// connections (SSE, WebSocket, streamed queries) move to the push loops, one per core
// (http/event_loops.h); statements run on a small worker pool so that a slow one never stalls
// other connections. An https:// connection lives on a push loop from its accept (its TLS
// state cannot move; http/push_stream.h), where it is encrypted and decrypted; its requests
// are still answered on the main loop.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/auth.h"

namespace sluice {
class loop_watch;
}
namespace sluice::sql {
class engine;
}
namespace sluice::security {
class tls_context;
}
namespace sluice::log {
class log;
}
namespace sluice::metrics {
class exposition;
}
namespace sluice::group {
class coordinator;
}
namespace sluice::queue {
class manager;
}
namespace sluice::schema {
class registry;
}

namespace sluice::connect {
class worker;
}

namespace sluice::http {

// One address the API is served on: http:// or https://.
struct listener {
  bool tls = false;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};
// "http://HOST:PORT,https://HOST:PORT": errc::invalid_argument naming a bad entry.
result<std::vector<listener>> parse_listeners(std::string_view list);

struct server_config {
  // Addresses to listen on. Default: http://127.0.0.1:8080.
  std::vector<listener> listeners{listener{}};
  // The certificate of https:// listeners, and the CAs of client certificates (mutual TLS:
  // the certificate's subject is the principal of requests without other credentials).
  std::shared_ptr<security::tls_context> tls;
  // Largest request body. Default: 1 MiB.
  size_t max_body_bytes = 1 << 20;
  // Buffered output of one EMIT CHANGES client before it is disconnected. Default: 8 MiB.
  size_t max_push_buffer_bytes = 8 << 20;
  // Threads that run statements. Default: 2.
  int worker_threads = 2;
  // Bytes of a view's recent changes kept on each push loop for its subscribers (SSE,
  // WebSocket); one in `every` mode further behind is served from the view's feed, then
  // disconnected. Default: 1 MiB.
  size_t max_subscriber_bytes = 1 << 20;
  // Event loops (threads) for push connections. Default: 0, one per core.
  int push_threads = 0;
  // This server's Kafka listener (HOST:PORT): REST Proxy consumer instances connect to it.
  std::string kafka_bootstrap;
  // librdkafka properties for that connection (security.protocol, sasl.*).
  std::map<std::string, std::string> kafka_client_properties;
  // Consumer instances unused this long are closed. Default: 5 minutes.
  int64_t consumer_idle_timeout_ms = 300'000;
  // Authentication and authorization (http/auth.h); none by default.
  security_config security;
  // When set, Confluent's Schema Registry API is served at the root
  // (http/schema_registry_api.h).
  std::shared_ptr<schema::registry> schemas;
  // When set, Kafka Connect's REST API is served at the root (http/connect_api.h).
  connect::worker* connectors = nullptr;
  // Writes everyone else's families for GET /metrics (the HTTP server adds its own).
  std::function<void(metrics::exposition&)> metrics;
  // Cluster mode: the JSON of GET /v1/cluster (this node, its tasks and views); without it,
  // {"mode":"embedded"}.
  std::function<std::string()> cluster_status;
  // Reports stalls of the event loops (named http, push-0, push-1, ...). Default: none.
  std::shared_ptr<loop_watch> stalls;
};

class server {
 public:
  // With `log`, /topics serves the REST Proxy API (http/rest_proxy.h); with `groups` and
  // config.kafka_bootstrap, /consumers too (http/rest_consumers.h).
  // With `queues` (and `log`), /v1/queues serves work queues (http/queue_api.h).
  server(server_config config, sql::engine& engine, log::log* log = nullptr,
         const group::coordinator* groups = nullptr, queue::manager* queues = nullptr);
  ~server();  // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds every listener and starts serving. errc::io_error if an address cannot be bound,
  // errc::invalid_argument for an https:// listener without config.tls.
  result<void> start();
  // The bound port of listener `i` (in config order).
  uint16_t port(size_t i = 0) const;
  void stop();
  // HTTP requests by route and status, live-view subscribers.
  void write_metrics(metrics::exposition& out) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::http
