#pragma once
// Cluster mode: this process as one node of a sluice cluster on an external Kafka-protocol
// cluster (docs/scale-out.md). It implements the SQL engine's distribution: the catalog log
// (catalog_log.h), queries split into tasks over consumer groups (task_group.h) and views
// every node materializes from their changelog topics (view_replica.h). Topics are reached
// through kafka_io, which the engine uses as its topic_io.
//
// Internal topics, for cluster NAME:
//   _sluice-NAME-catalog        the statements (one partition, kept forever)
//   _sluice-NAME-checkpoints    task checkpoints (compacted; key <query>@<position>/<partition>)
//   _sluice-NAME-view-<view>    a view's changes (compacted when the view has a key)
// Consumer groups: _sluice-NAME-<query>@<position>, one per query.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "cluster/kafka_io.h"
#include "cluster/task_group.h"
#include "cluster/view_replica.h"
#include "sql/distribution.h"

namespace sluice::cluster {

class catalog_log;

struct cluster_options {
  kafka_options kafka;          // bootstrap and librdkafka properties
  std::string name = "sluice";  // the cluster: nodes with the same name share everything
  std::string node;             // this node, unique in the cluster and stable across restarts
  std::chrono::milliseconds session_timeout{10'000};
};

// What /v1/cluster and the dashboard show of this node.
struct node_status {
  std::string cluster, node, bootstrap;
  std::vector<task_info> tasks;
  std::vector<view_replica_stats> views;
};

class runtime final : public sql::distribution {
 public:
  // Connects, creates the internal topics when missing. Errors: io_error (the cluster cannot
  // be reached), invalid_config.
  static result<std::shared_ptr<runtime>> open(cluster_options options);
  ~runtime() override;

  std::shared_ptr<kafka_io> io() const { return io_; }
  node_status status() const;
  // status() as JSON:
  // {"mode":"cluster","cluster","node","bootstrap","tasks":[{"query","partition","state",
  // "start_ms","state_rows"}],
  // "views":[{"view","topic","rows_applied","restored","restore_ms"}]}
  std::string status_json() const;

  result<int64_t> append(const std::string& statement) override;
  result<void> follow(std::function<void(int64_t, const std::string&)> apply) override;
  std::unique_ptr<stream::running_query> distribute(const std::string& name,
                                                    const std::string& instance,
                                                    std::vector<std::string> topics,
                                                    sql::task_factory make) override;
  int32_t partitions(const std::string& topic) const override;
  std::string view_topic(const std::string& view) const override;
  void materialize(std::shared_ptr<view::view> v, std::vector<stream::field_type> columns,
                   std::vector<std::string> key_names) override;
  void forget_view(const std::string& name) override;
  void stop() override;

 private:
  explicit runtime(cluster_options o);
  class tracked_group;

  cluster_options o_;
  std::shared_ptr<kafka_io> io_;
  std::unique_ptr<catalog_log> catalog_;
  mutable std::mutex mu_;
  std::vector<task_group*> groups_;                             // alive (each removes itself)
  std::map<std::string, std::unique_ptr<view_replica>> views_;  // by lower-case name
};

}  // namespace sluice::cluster
