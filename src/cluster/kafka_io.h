#pragma once
// Topics of an external Kafka-protocol cluster (Apache Kafka, Redpanda, another sluice),
// reached through librdkafka: the second stream::topic_io, for cluster mode.
//
// Sources are read_committed consumers with manual assignment (no group: the query decides
// which partitions it reads and where from). Sinks are idempotent producers; exactly_once
// sinks share one transactional producer per transactional id with the checkpoints of the same
// id (open_checkpoints), so that a query's output, and the checkpoint that says how far it
// got, are committed in one Kafka transaction: a node that dies between two checkpoints
// leaves an open transaction that the next owner of the id aborts (init_transactions fences
// it), and that owner resumes from the checkpoint committed with the output before.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "stream/checkpoint_store.h"
#include "stream/io.h"

namespace sluice::cluster {

struct kafka_options {
  std::string bootstrap;  // HOST:PORT[,...]
  // librdkafka properties for every client (security.protocol, sasl.*, ssl.*, ...).
  std::map<std::string, std::string> properties;
  std::string client_id = "sluice";
  // Partitions of a topic a sink creates (-1: the broker's default).
  int32_t default_partitions = -1;
  // The compacted topic that holds checkpoints (created when missing).
  std::string checkpoint_topic = "_sluice_checkpoints";
  // How long a transaction may stay open before the cluster aborts it.
  int32_t transaction_timeout_ms = 60'000;
};

class kafka_io : public stream::topic_io {
 public:
  // Connects (metadata answered within `timeout`). Errors: io_error naming the cluster.
  static result<std::unique_ptr<kafka_io>> open(kafka_options options);

  // The checkpoints of `task` in the checkpoint topic. With a transactional id, write() commits
  // the transaction of the sinks opened with the same id (see the top of this file); without,
  // it is a plain durable write.
  virtual result<std::unique_ptr<stream::checkpoint_store>> open_checkpoints(
      const std::string& task, const std::string& transactional_id) = 0;
  // Creates a topic. Errors: topic_exists, invalid_config, io_error.
  virtual result<void> create_topic(const std::string& name, int32_t partitions,
                                    const std::map<std::string, std::string>& configs) = 0;
  // The partitions of `topic`. Errors: unknown_topic, io_error.
  virtual result<int32_t> partition_count(const std::string& topic) const = 0;
  virtual const kafka_options& options() const = 0;
};

}  // namespace sluice::cluster
