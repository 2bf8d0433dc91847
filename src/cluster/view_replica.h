#pragma once
// A view of a sluice cluster as this process serves it: the view's tasks (on whichever
// processes) write its changes to a changelog topic, upserts keyed by the view's key and
// tombstones for deletes, committed with their checkpoints; every process reads that topic
// (read_committed) from the beginning into its own view::view, so GET, SSE and WebSocket
// answer alike on every process, and a process that starts restores the view from the topic.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "cluster/kafka_io.h"
#include "stream/value.h"

namespace sluice::view {
class view;
}

namespace sluice::cluster {

struct view_replica_stats {
  std::string view;
  std::string topic;
  int64_t rows_applied = 0;
  bool restored = false;   // read to the end of the topic once
  int64_t restore_ms = 0;  // how long that took
};

class view_replica {
 public:
  // Starts reading `topic` (which exists) into `v`. Errors: io_error.
  static result<std::unique_ptr<view_replica>> start(kafka_io& io, std::string topic,
                                                     std::shared_ptr<view::view> v,
                                                     std::vector<stream::field_type> columns,
                                                     std::vector<std::string> key_names);
  ~view_replica();  // stops
  view_replica_stats stats() const;

 private:
  view_replica() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::cluster
