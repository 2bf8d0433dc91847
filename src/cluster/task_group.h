#pragma once
// One continuous query shared by the processes of a cluster: a Kafka consumer group per query
// (static membership and the cooperative-sticky assignor, so that a restart within the session
// timeout moves nothing and a rebalance moves only what it must). Each partition of the
// query's first source that this process is assigned is one task, a stream::query reading
// that partition of every source (the sources are co-partitioned), with its checkpoints in the
// cluster under the task's transactional id.
//
// The group's consumer never fetches (its partitions are paused): it is only how the tasks
// are assigned. A task whose partition is revoked writes a last checkpoint (commits) before
// another process is given it; a task lost (session expired) is stopped without, and the
// next owner fences its transaction. A task that fails (its transaction aborted) is started
// again from its last checkpoint, after a pause that doubles up to a minute.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/kafka_io.h"
#include "sql/distribution.h"
#include "stream/query.h"

namespace sluice::cluster {

struct task_group_options {
  std::string cluster;   // the cluster's name
  std::string node;      // this process, unique in the cluster (static membership)
  std::string name;      // the query
  std::string instance;  // the query's instance (group and task ids)
  std::vector<std::string> topics;
  sql::task_factory make;
  std::chrono::milliseconds session_timeout{10'000};
};

// What a task group says of its tasks, for the dashboard and /v1/cluster.
struct task_info {
  std::string query;
  int32_t partition = 0;
  std::string state;
  int64_t start_ms = 0;    // how long opening it and restoring its checkpoint took
  int64_t state_rows = 0;  // rows of operator state it holds
};

class task_group final : public stream::running_query {
 public:
  task_group(kafka_io& io, task_group_options options);
  ~task_group() override;  // stop(false)

  result<void> start() override;
  void stop(bool checkpoint = true) override;
  stream::query_stats stats() const override;
  bool wait_caught_up(std::chrono::milliseconds timeout) const override;
  std::string explain() const override;
  std::vector<task_info> tasks() const;

 private:
  struct task {
    std::shared_ptr<stream::query> q;  // null: it could not be started (retried)
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::milliseconds backoff{1'000};
    int64_t start_ms = 0;
  };
  void run();
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  void assigned(rd_kafka_topic_partition_list_t* parts);
  void revoked(rd_kafka_topic_partition_list_t* parts, bool lost);
  // Makes and starts the task of partition `p` (mu_ not held); null when it failed.
  // `start_ms`: how long opening and restoring it took.
  std::unique_ptr<stream::query> make_task(int32_t p, int64_t& start_ms);
  void restart_failed();
  // Makes and starts the task of `p` in its slot (a null task when it cannot start: tried
  // again after its pause, which doubles each time up to a minute).
  void install(int32_t p);

  kafka_io& io_;
  task_group_options o_;
  rd_kafka_t* rk_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool checkpoint_on_stop_ = true;
  mutable std::mutex mu_;
  std::map<int32_t, task> tasks_;
  std::string error_;  // why the group cannot run (shown in stats)
};

}  // namespace sluice::cluster
