#pragma once
// Topics over HTTP in the style of Confluent's REST Proxy v2 (which Redpanda's HTTP proxy also
// follows), so that its users can switch:
//
//   GET  /topics            ["orders", ...]
//   GET  /topics/{t}        {"name":..,"configs":{..},"partitions":[{"partition":0,"leader":1,..}]}
//   POST /topics/{t}        {"records":[{"key":..,"value":..,"partition":..}]} with JSON keys and
//                           values (application/vnd.kafka.json.v2+json or application/json);
//                           answered with {"offsets":[{"partition":p,"offset":o,..}]} once the
//                           records are on disk (the log's acks=all promise).
//                           With application/vnd.kafka.avro.v2+json (Avro's JSON encoding),
//                           .protobuf.v2+json (Protobuf's JSON mapping, the first message) or
//                           .jsonschema.v2+json (validated), with "value_schema" (registered
//                           under <topic>-value) or "value_schema_id" (and key_schema[_id],
//                           <topic>-key): stored Confluent-framed; the answer names the ids.
//
// Errors follow the REST Proxy: {"error_code":40401,"message":"Topic not found"} with HTTP
// 404, 42201 (422) for a bad record, 40801 (408) when the disk sync fails.

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <memory>
#include <string>

#include "http/routes.h"

namespace sluice::log {
class log;
}
namespace sluice::schema {
class registry;
}

namespace sluice::http {

// The REST Proxy's content type, of every answer of its routes.
inline constexpr std::string_view k_v2_json = "application/vnd.kafka.v2+json";

class rest_proxy {
 public:
  // `schemas` (may be null) serves the Avro format.
  explicit rest_proxy(log::log& l, std::shared_ptr<schema::registry> schemas = nullptr)
      : log_(l), schemas_(std::move(schemas)) {}

  // Answers a /topics request; nullopt when the path is not one of these.
  // GET /topics (cluster DESCRIBE), GET /topics/{t} (DESCRIBE), POST /topics/{t} (WRITE).
  void add_routes(router& r);

 private:
  boost::asio::awaitable<reply> list(const call& c);
  boost::asio::awaitable<reply> describe(const call& c);
  boost::asio::awaitable<reply> produce(const call& c);

  log::log& log_;
  std::shared_ptr<schema::registry> schemas_;
  uint64_t next_ = 0;  // round-robin partition of unkeyed records (event loop only)
};

// Kafka's default partitioner for keyed records (murmur2 of the key bytes, as the Java client
// and the REST Proxy place them), so that records land where Kafka clients would put them.
int32_t kafka_partition_for_key(std::string_view key, int32_t partitions);

}  // namespace sluice::http
