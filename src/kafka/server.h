#pragma once
// The Kafka wire-protocol server: accepts connections on --kafka-addr and answers every
// supported API from the log. The public entry point of src/kafka/.
//
// Threads: `io_threads` event loops (Boost.Asio), one per core by default; each connection
// lives on one loop for its whole life. Handlers never block on disk sync: acks=all waits on
// the log's group commit, long-poll fetches wait on new-data notifications.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace sluice {
class loop_watch;
}
namespace sluice::log {
class log;
}
namespace sluice::group {
class coordinator;
class transaction_coordinator;
}  // namespace sluice::group
namespace sluice::metrics {
class exposition;
}
namespace sluice::security {
class user_store;
class tls_context;
class login_limiter;
class authorizer;
class quota_manager;
}  // namespace sluice::security

namespace sluice::kafka {

// Kafka's security.protocol of a listener.
enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };
std::string_view to_string(security_protocol p);
inline bool uses_tls(security_protocol p) {
  return p == security_protocol::ssl || p == security_protocol::sasl_ssl;
}
inline bool uses_sasl(security_protocol p) {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}

struct listener {
  security_protocol protocol = security_protocol::plaintext;
  // Address to listen on. Default: 127.0.0.1:9092.
  std::string host = "127.0.0.1";
  uint16_t port = 9092;
  // Address given in Metadata to clients that came in through this listener. Default: the
  // listen address (this machine's name when listening on 0.0.0.0).
  std::string advertised_host;
  uint16_t advertised_port = 0;
};

// Kafka's `listeners` syntax: "PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093" (a listener
// name is its security protocol). `advertised`, in the same syntax, gives the address to
// advertise per protocol. errc::invalid_argument with the reason for a bad list.
result<std::vector<listener>> parse_listeners(std::string_view listeners,
                                              std::string_view advertised = {});

// What secured listeners need; any may be null when no listener needs it.
struct server_security {
  std::shared_ptr<security::user_store> users;      // SASL_* listeners
  std::shared_ptr<security::tls_context> tls;       // SSL and SASL_SSL listeners
  std::shared_ptr<security::login_limiter> logins;  // failed SASL logins (default: one of its own)
  // Decides every request by the ACLs; null: everything is allowed (no authentication).
  std::shared_ptr<security::authorizer> authorizer;
  // Client quotas (byte rates, request time, connection rate); null: none.
  std::shared_ptr<security::quota_manager> quotas;
};

struct server_config {
  // Where clients connect. Default: one PLAINTEXT listener on 127.0.0.1:9092.
  std::vector<listener> listeners = {listener{}};
  server_security security;
  // This broker's node id in Metadata. Default: 1.
  int32_t node_id = 1;
  // auto.create.topics.enable: create unknown topics on Metadata requests. Default: true.
  bool auto_create_topics = true;
  // Event-loop threads; 0 means one per core. Default: 0.
  int io_threads = 0;
  // socket.request.max.bytes: a larger frame closes the connection. Default: 100 MiB.
  int32_t max_request_bytes = 100 << 20;
  // max.connections.per.ip: open connections allowed from one address; 0: no limit. Default: 0.
  int max_connections_per_ip = 0;
  // Requests read ahead of their responses per connection. Default: 64.
  int max_inflight_per_connection = 64;
  // Cluster id reported in Metadata. Default: "sluice".
  std::string cluster_id = "sluice";
  // Reports stalls of the event loops (named kafka-0, kafka-1, ...). Default: none.
  std::shared_ptr<loop_watch> stalls;
};

// The coordinators the Kafka APIs route to; a null one answers its APIs with
// COORDINATOR_NOT_AVAILABLE (tests, fuzzing).
struct coordinators {
  group::coordinator* groups = nullptr;
  group::transaction_coordinator* transactions = nullptr;
};

class server {
 public:
  server(server_config config, log::log& log, coordinators c = {});
  ~server();  // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts the event loops. errc::io_error if the address cannot be bound.
  result<void> start();
  // The bound port of listener `i` (useful with port 0).
  uint16_t port(size_t i = 0) const;
  // Stops accepting, closes every connection, and joins the event loops.
  void stop();
  // Requests, failures and latency per API, and open connections (Prometheus families).
  void write_metrics(metrics::exposition& out) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Runs one request frame (the bytes after the 4-byte size prefix) through the same decoding
// and handlers as a connection, on a private event loop bounded by `budget_ms`, and returns
// the response frame (empty if none, e.g. acks=0, or not finished within the budget). Throws
// decode_error for a malformed request, as a connection would close. For fuzzing and
// protocol tests. REQUIRES: `log` outlives later calls on this thread when a request may
// still be waiting at the end of its budget.
bytes handle_frame_for_test(const server_config& config, log::log& log, bytes frame,
                            int budget_ms = 50, coordinators c = {});

}  // namespace sluice::kafka
