#pragma once
// Work queues over HTTP (queue/queue.h has the semantics):
//
//   POST   /v1/queues                  {"name":..,"partitions":1,"visibility_timeout_ms":..,
//                                       "max_deliveries":..,"backoff_base_ms":..,
//                                       "backoff_factor":..,"backoff_max_ms":..,
//                                       "backoff_jitter":..,"dead_letter_topic":..} -> 201
//   GET    /v1/queues                  {"queues":[{settings and stats}, ..]}
//   GET    /v1/queues/{q}              settings and stats (ready, in_flight, delayed,
//                                       dead_lettered, oldest_age_ms, acked, nacked, ...)
//   DELETE /v1/queues/{q}              forgets the delivery state (the topics stay)
//   POST   /v1/queues/{q}/messages     {"messages":[{"value":..,"key":..,"headers":{..},
//                                       "delay_ms":n}]} -> {"offsets":[{"partition","offset"}]}
//                                       once on disk. Keys and values are stored as JSON text.
//   POST   /v1/queues/{q}/receive      {"max_messages":10,"wait_ms":0,"visibility_timeout_ms":..,
//                                       "consumer":".."} -> {"messages":[{"receipt","partition",
//                                       "offset","attempt","timestamp","key","value","headers"}]};
//                                       waits up to wait_ms (at most 30000) for a message
//   POST   /v1/queues/{q}/ack          {"receipts":[..]} -> {"results":["ok"|"stale"|
//                                       "bad_receipt",..]} once durable
//   POST   /v1/queues/{q}/nack         {"receipts":[..],"delay_ms":n (optional)}
//   POST   /v1/queues/{q}/reject       {"receipts":[..],"reason":".."}: to the dead-letter topic
//   POST   /v1/queues/{q}/extend       {"receipts":[..],"visibility_timeout_ms":n}
//   POST   /v1/queues/{q}/dlq-replay   {"max":n} -> {"replayed":n}
//
// Errors are {"error_code":..,"message":..}: 400 bad body or settings, 404 no such queue, 409
// the queue exists, 500 a disk error.

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <memory>
#include <optional>

#include "http/routes.h"

namespace simdjson::dom {
class parser;
class element;
}  // namespace simdjson::dom
namespace sluice::queue {
class manager;
class queue;
}  // namespace sluice::queue
namespace sluice::log {
class log;
}

namespace sluice::http {

class queue_api {
 public:
  // `workers` runs what may block (dead-letter replay).
  queue_api(queue::manager& queues, log::log& log, boost::asio::any_io_executor workers)
      : queues_(queues), log_(log), workers_(std::move(workers)) {}

  // The routes above, with the permissions they need: a queue is read and written as its
  // topic; creating one is the cluster's.
  void add_routes(router& r);

 private:
  using answer = boost::asio::awaitable<reply>;
  answer list(const call& c);
  answer create(const call& c);
  answer describe(const call& c);
  answer drop(const call& c);
  answer send(const call& c);
  answer receive(const call& c);
  answer dlq_replay(const call& c);
  // ack, nack, reject, extend: {"receipts":[..]}, answered {"results":[..]}.
  answer settle(const call& c, std::string_view action);
  std::optional<reply> journaled(const call& c, std::shared_ptr<queue::queue>& q,
                                 simdjson::dom::parser& parser, simdjson::dom::element& doc);

  queue::manager& queues_;
  log::log& log_;
  boost::asio::any_io_executor workers_;
  uint64_t next_ = 0;  // round-robin partition of unkeyed messages (event loop only)
};

}  // namespace sluice::http
