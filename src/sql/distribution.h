#pragma once
// Cluster mode: how the engine shares its catalog and its continuous queries with the other
// sluice processes of one cluster (implemented by cluster/, on an external Kafka cluster).
// Without one, the catalog is a file and each query runs whole in this process.
//
// The catalog is a log of statements that every process applies in the same order, so that a
// statement run on any process takes effect on all (and fails on all alike). A continuous query
// is split by partition into tasks, which the processes share; a view's tasks write its changes
// to a changelog topic that every process materializes, so that every process serves every view.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "stream/checkpoint_store.h"
#include "stream/query.h"
#include "stream/value.h"

namespace sluice::view {
class view;
}

namespace sluice::sql {

// One task of a query split by partition.
struct task_spec {
  std::string id;                   // "<query>/<partition>": unique in the cluster
  std::vector<int32_t> partitions;  // the partitions of its (co-partitioned) sources it reads
  std::string transactional_id;     // of its exactly-once sinks and its checkpoints
  std::unique_ptr<stream::checkpoint_store> checkpoints;
};

// Builds one task of a query; null when `cancelled` became true while it waited for the
// engine (the query is being stopped). Throws like the statement would now.
using task_factory =
    std::function<std::unique_ptr<stream::query>(task_spec&, const std::atomic<bool>& cancelled)>;

class distribution {
 public:
  virtual ~distribution() = default;

  // Appends a statement that changes the catalog; returns its position in the log.
  // Errors: io_error.
  virtual result<int64_t> append(const std::string& statement) = 0;
  // Calls `apply` for every statement of the log in order: for those there now before it
  // returns, for later ones from a thread of its own (until stop()). Errors: io_error.
  virtual result<void> follow(
      std::function<void(int64_t position, const std::string& statement)> apply) = 0;

  // Query `name` over `topics` (co-partitioned: partition p of each is one task): runs the
  // tasks this process is assigned, made by `make`, as long as the result lives. `instance`
  // tells apart queries of the same name created one after the other (their checkpoints).
  virtual std::unique_ptr<stream::running_query> distribute(const std::string& name,
                                                            const std::string& instance,
                                                            std::vector<std::string> topics,
                                                            task_factory make) = 0;

  // The partitions of a topic (0 when it cannot be known).
  virtual int32_t partitions(const std::string& topic) const = 0;

  // The changelog topic of a view (its tasks write it with stream::make_topic_writer).
  virtual std::string view_topic(const std::string& view) const = 0;
  // Keeps `v` equal to its changelog topic (rows by key, tombstones remove) until
  // forget_view(); `columns` decode the rows, `key_names` the keys (none: rows are appended).
  virtual void materialize(std::shared_ptr<view::view> v, std::vector<stream::field_type> columns,
                           std::vector<std::string> key_names) = 0;
  virtual void forget_view(const std::string& name) = 0;

  virtual void stop() = 0;
};

}  // namespace sluice::sql
