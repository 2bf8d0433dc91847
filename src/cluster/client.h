#pragma once
// librdkafka clients of the external cluster: handles that free themselves, errors as
// sluice errors, and one way to configure a client (the cluster's properties, then the
// client's own; librdkafka's log lines go to sluice's log).

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cluster/kafka_io.h"

namespace sluice::cluster {

inline constexpr int k_timeout_ms = 10'000;

struct kafka_deleter {
  void operator()(rd_kafka_t* rk) const {
    if (rk) rd_kafka_destroy(rk);
  }
};
using kafka_handle = std::unique_ptr<rd_kafka_t, kafka_deleter>;

struct message_deleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;

// Error codes: unknown_topic, topic_exists, offset_out_of_range, batch_too_large, else
// io_error; the message is `what: librdkafka's words`.
error_info kafka_error(std::string_view what, rd_kafka_resp_err_t err);
// Takes `e` (destroys it).
error_info kafka_error(std::string_view what, rd_kafka_error_t* e);

// A consumer that reads `partitions` of `topic` from their beginning by assignment (no group
// membership; offsets never committed), reporting each partition's end (PARTITION_EOF);
// `extra` adds properties (isolation.level, fetch.wait.max.ms). Errors: invalid_config,
// io_error.
result<kafka_handle> open_reader(const kafka_options& o, const std::string& topic,
                                 const std::vector<int32_t>& partitions,
                                 const std::map<std::string, std::string>& extra = {});

// Frees a consumer that reads by assignment (no group): without the consumer close, which
// waits for the cluster, so that stopping never hangs on a cluster that is gone.
inline void destroy_reader(kafka_handle h) {
  if (h) rd_kafka_destroy_flags(h.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

// A client: bootstrap and client id, `extra`, then `o.properties` (except where they would
// change what `extra` sets for the client's guarantees; tuning such as linger.ms,
// compression.type or fetch.wait.max.ms they may change); `configure` may set callbacks on
// the configuration before the client is made. Errors: invalid_config.
result<kafka_handle> make_client(const kafka_options& o, rd_kafka_type_t type,
                                 const std::map<std::string, std::string>& extra,
                                 void (*configure)(rd_kafka_conf_t*, void*) = nullptr,
                                 void* opaque = nullptr);

}  // namespace sluice::cluster
