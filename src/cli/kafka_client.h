#pragma once
// Small RAII helpers over librdkafka for the client subcommands, which work against sluice or
// any Kafka cluster (--brokers).

#include <librdkafka/rdkafka.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sluice::cli {

struct client_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

// Builds a client of `type` with bootstrap.servers = brokers and the extra `key=value`
// properties; throws client_error naming a bad property.
rk_ptr make_client(rd_kafka_type_t type, const std::string& brokers,
                   const std::vector<std::pair<std::string, std::string>>& props,
                   void (*dr_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr);

// Splits "key=value" (for -X options).
std::pair<std::string, std::string> split_property(const std::string& kv);

// Partition count of `topic`, or throws client_error (unknown topic, broker unreachable).
int partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// A queue for one admin request's result event.
struct admin_queue {
  admin_queue(const admin_queue&) = delete;
  admin_queue& operator=(const admin_queue&) = delete;
  rd_kafka_queue_t* q;
  explicit admin_queue(rd_kafka_t* rk) : q(rd_kafka_queue_new(rk)) {}
  ~admin_queue() { rd_kafka_queue_destroy(q); }
  // Waits for the admin result event of `type`; throws on timeout.
  rd_kafka_event_t* wait(rd_kafka_event_type_t type, int timeout_ms) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms);
    if (!ev) throw client_error("timed out waiting for the broker");
    if (rd_kafka_event_type(ev) != type) {
      std::string msg = rd_kafka_event_error_string(ev) ? rd_kafka_event_error_string(ev) : "";
      rd_kafka_event_destroy(ev);
      throw client_error("unexpected admin event: " + msg);
    }
    if (rd_kafka_event_error(ev)) {
      std::string msg = rd_kafka_event_error_string(ev);
      rd_kafka_event_destroy(ev);
      throw client_error(msg);
    }
    return ev;
  }
};

}  // namespace sluice::cli
