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

}  // namespace sluice::cli
