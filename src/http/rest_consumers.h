#pragma once
// Consumer instances over HTTP, in the style of Confluent's REST Proxy v2 (which Redpanda's
// HTTP proxy also follows):
//
//   POST   /consumers/{g}                         {"name":..,"format":"json|binary|avro|
//                                                  protobuf|jsonschema",
//                                                  "auto.offset.reset":"earliest|latest",
//                                                  "auto.commit.enable":"true|false"}
//                                                  -> {"instance_id":..,"base_uri":..}
//   DELETE /consumers/{g}/instances/{i}           leaves the group
//   POST   .../subscription  {"topics":[..]} or {"topic_pattern":"regex"};  GET; DELETE
//   POST   .../assignments   {"partitions":[{"topic","partition"}]} (manual);  GET
//   GET    .../records?timeout=ms&max_bytes=n     [{"topic","key","value","partition","offset"}]
//   POST   .../offsets       {"offsets":[{"topic","partition","offset"}]}: commits offset + 1
//                            (the offsets given are those of the last records processed, as
//                            in the REST Proxy); an empty body commits everything returned
//   GET    .../offsets       {"partitions":[..]} -> the group's committed offsets (those that
//                            have one)
//   POST   .../positions     {"offsets":[..]} seek;  .../positions/beginning|end {"partitions"}
//
// Each instance is a real member of the Kafka consumer group: a librdkafka consumer connected
// to this server's own Kafka listener, so that it shares partitions with (and rebalances
// against) Kafka clients of the same group, and its commits are ordinary OffsetCommits.
// A records request is a long poll served from the event loop (librdkafka signals new
// messages on a pipe), so waiting consumers cost no thread. Instances unused for
// `idle_timeout` are closed (consumer.instance.timeout.ms of the REST Proxy, 5 minutes).
//
// Formats avro, protobuf, jsonschema: values and keys are Confluent-framed with schemas in the
// registry, answered as JSON (Avro's JSON encoding, Protobuf's JSON mapping, the JSON itself);
// a record that is not one is answered as binary is (base64).
//
// Errors: 40403 (404) no such instance, 40902 (409) the name is taken, 42204 (422) a bad
// setting, 40601 (406) an Accept header for another format, 42201/40001 bad bodies.

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "http/rest_proxy.h"
#include "http/routes.h"

namespace sluice::group {
class coordinator;
}

namespace sluice::schema {
class registry;
}

namespace sluice::http {

// Who calls. With authorization on, an instance is used only by the principal that created it,
// an explicit subscription or assignment needs READ on every topic (403 40301 otherwise), and
// records of topics it may not read (a pattern subscription) are skipped; READ on the group is
// checked by the route (http/routes.h).
struct rest_caller {
  std::string principal;
  std::function<bool(std::string_view topic)> may_read;  // null: authorization is off
};

struct rest_consumer_limits {
  std::string bootstrap;  // this server's Kafka listener
  // librdkafka properties to reach it (security.protocol, sasl.* when it authenticates).
  std::map<std::string, std::string> client_properties;
  std::chrono::milliseconds idle_timeout{300'000};
  size_t max_instances = 1000;
  std::shared_ptr<const schema::registry> schemas;  // for format avro (may be null)
};

class rest_consumers {
 public:
  // `io`: the HTTP event loop; `workers`: where blocking client calls (commits) run.
  // `groups`: committed offsets are read from the coordinator directly.
  rest_consumers(boost::asio::io_context& io, boost::asio::any_io_executor workers,
                 const group::coordinator& groups, rest_consumer_limits limits);
  ~rest_consumers();  // close_all()
  rest_consumers(const rest_consumers&) = delete;
  rest_consumers& operator=(const rest_consumers&) = delete;

  // Answers a /consumers request; nullopt when the path is not one of these.
  // The endpoints above; each needs READ on the group (http/routes.h).
  void add_routes(router& r);
  size_t size() const { return instances_.size(); }
  // Closes every instance (members leave their groups). Event loop only.
  void close_all();

  struct instance;

 private:
  static rest_caller caller_of(const call& c);
  boost::asio::awaitable<reply> create_instance(const call& c);
  boost::asio::awaitable<reply> at_instance(const call& c, std::string_view what);
  boost::asio::awaitable<reply> on_instance(
      const boost::beast::http::request<boost::beast::http::string_body>& req,
      std::shared_ptr<instance> in, std::string_view rest, const rest_caller& caller);
  boost::asio::awaitable<reply> create(
      const boost::beast::http::request<boost::beast::http::string_body>& req,
      const std::string& group, const rest_caller& caller);
  boost::asio::awaitable<reply> records(
      const boost::beast::http::request<boost::beast::http::string_body>& req,
      std::shared_ptr<instance> in, const rest_caller& caller);
  void expire();

  boost::asio::io_context& io_;
  boost::asio::any_io_executor workers_;
  const group::coordinator& groups_;
  rest_consumer_limits limits_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<instance>> instances_;
  boost::asio::steady_timer reaper_;
  uint64_t next_id_ = 0;
};

}  // namespace sluice::http
