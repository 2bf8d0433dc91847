#include "metrics/collect.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/loop_watch.h"
#include "group/coordinator.h"
#include "kafka/server.h"
#include "log/log.h"
#include "metrics/histogram.h"
#include "queue/manager.h"
#include "sql/engine.h"
#include "view/view.h"

namespace sluice::metrics {

namespace {

void log_families(exposition& out, const log::log& l) {
  const auto& space = l.space();
  out.family("sluice_disk_free_bytes", "gauge",
             "Free bytes of the data folder's file system (for unprivileged users)");
  out.sample("sluice_disk_free_bytes", {}, static_cast<double>(space.free_bytes()));
  out.family("sluice_disk_min_free_bytes", "gauge",
             "Free space below which writes of user data are refused");
  out.sample("sluice_disk_min_free_bytes", {}, static_cast<double>(space.limit_bytes()));
  out.family("sluice_log_sync_duration_seconds", "histogram",
             "How long each sync of acks=all data took (a partition's fdatasync calls, or syncfs)");
  out.histogram_sample("sluice_log_sync_duration_seconds", {}, l.sync_latency());
  out.family("sluice_writes_refused_total", "counter",
             "Appends refused because the data folder was below its free-space limit");
  out.sample("sluice_writes_refused_total", {{"reason", "disk_space"}},
             static_cast<double>(space.refused()));
  struct row {
    labels l;
    std::shared_ptr<log::partition> p;
  };
  std::vector<row> rows;
  for (const auto& t : l.topics())
    for (const auto& p : t->partitions())
      rows.push_back({{{"topic", t->name()}, {"partition", std::to_string(p->id()())}}, p});
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out.family(name, type, help);
    for (const auto& r : rows)
      out.sample(name, r.l, static_cast<double>(value(*r.p)));
  };
  family("sluice_partition_records_in_total", "counter", "Records appended since start",
         [](const log::partition& p) { return p.records_in(); });
  family("sluice_partition_bytes_in_total", "counter", "Record batch bytes appended since start",
         [](const log::partition& p) { return p.bytes_in(); });
  family("sluice_partition_bytes_out_total", "counter",
         "Bytes handed to readers (Kafka fetches, SQL queries) since start",
         [](const log::partition& p) { return p.bytes_out(); });
  family("sluice_partition_size_bytes", "gauge", "Bytes of the partition's segments",
         [](const log::partition& p) { return p.size_bytes(); });
  family("sluice_partition_high_watermark", "gauge", "The next offset to be written",
         [](const log::partition& p) { return p.high_watermark()(); });
  family("sluice_partition_log_start_offset", "gauge", "The oldest offset kept",
         [](const log::partition& p) { return p.log_start()(); });
  family("sluice_partition_failed", "gauge",
         "1 once a write or sync of the partition failed (appends refused until a restart)",
         [](const log::partition& p) { return p.failure().empty() ? 0 : 1; });
  family("sluice_partition_last_stable_offset", "gauge",
         "The first offset of the oldest open transaction (the high watermark when none)",
         [](const log::partition& p) { return p.last_stable_offset()(); });
}

void group_families(exposition& out, const group::coordinator& g) {
  out.family("sluice_consumer_group_lag", "gauge",
             "Records between a group's committed offset and the partition's last stable offset");
  std::vector<std::pair<labels, int64_t>> committed;
  for (const auto& o : g.list()) {
    for (const auto& pl : g.lag(o.group_id)) {
      labels l{{"group", o.group_id},
               {"topic", pl.tp.topic},
               {"partition", std::to_string(pl.tp.partition)}};
      out.sample("sluice_consumer_group_lag", l, static_cast<double>(pl.lag));
      committed.emplace_back(std::move(l), pl.committed);
    }
  }
  out.family("sluice_consumer_group_committed_offset", "gauge", "A group's committed offset");
  for (const auto& [l, c] : committed)
    out.sample("sluice_consumer_group_committed_offset", l, static_cast<double>(c));
}

void query_families(exposition& out, const sql::engine& e) {
  auto stats = e.query_stats();
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out.family(name, type, help);
    for (const auto& s : stats) {
      double v = value(s);
      if (!std::isnan(v)) out.sample(name, {{"query", s.name}}, v);
    }
  };
  family("sluice_query_running", "gauge", "1 while the query runs, 0 once it failed or stopped",
         [](const stream::query_stats& s) { return s.state == "RUNNING" ? 1.0 : 0.0; });
  family("sluice_query_records_in_total", "counter", "Source records read",
         [](const stream::query_stats& s) { return static_cast<double>(s.records_in); });
  family("sluice_query_records_out_total", "counter", "Rows written to the query's sink",
         [](const stream::query_stats& s) { return static_cast<double>(s.records_out); });
  family("sluice_query_dead_letters_total", "counter",
         "Records sent to the dead-letter topic (not parsable, runtime errors)",
         [](const stream::query_stats& s) { return static_cast<double>(s.dead_letters); });
  family("sluice_query_late_records_total", "counter", "Records behind the watermark",
         [](const stream::query_stats& s) { return static_cast<double>(s.late_records); });
  family("sluice_query_lag_records", "gauge", "Source records not read yet",
         [](const stream::query_stats& s) { return static_cast<double>(s.lag); });
  family("sluice_query_checkpoint_failing", "gauge",
         "1 while the query's last checkpoint could not be written",
         [](const stream::query_stats& s) { return s.checkpoint_error.empty() ? 0 : 1; });
  family("sluice_query_state_rows", "gauge", "Rows of operator state (groups, windows, view rows)",
         [](const stream::query_stats& s) { return static_cast<double>(s.state_rows); });
  family("sluice_query_state_bytes", "gauge",
         "Estimated bytes of operator state in memory (limit: max_state_bytes)",
         [](const stream::query_stats& s) { return static_cast<double>(s.state_bytes); });
  family("sluice_query_watermark_delay_seconds", "gauge",
         "Wall-clock time minus the query's watermark", [now_ms](const stream::query_stats& s) {
           return s.watermark == INT64_MIN ? std::nan("")
                                           : static_cast<double>(now_ms - s.watermark) / 1000.0;
         });
  out.family("sluice_query_end_to_end_latency_seconds", "histogram",
             "Per batch read: time from the Kafka timestamp of its oldest record until the "
             "query's operators and sink were done with it");
  for (const auto& s : stats)
    if (s.latency)
      out.histogram_sample("sluice_query_end_to_end_latency_seconds", {{"query", s.name}},
                           *s.latency);
  auto views = e.views();
  out.family("sluice_view_rows", "gauge", "Rows a materialized view holds");
  for (const auto& v : views)
    out.sample("sluice_view_rows", {{"view", v->name()}}, static_cast<double>(v->size()));
  out.family("sluice_view_bytes", "gauge",
             "Estimated bytes of a view's rows, feed and remembered deletes (limit: max_bytes)");
  for (const auto& v : views)
    out.sample("sluice_view_bytes", {{"view", v->name()}}, static_cast<double>(v->bytes()));
  out.family("sluice_view_changes_total", "counter", "Changes a materialized view has made");
  for (const auto& v : views)
    out.sample("sluice_view_changes_total", {{"view", v->name()}},
               static_cast<double>(v->changes()));
}

void queue_families(exposition& out, const queue::manager& m) {
  std::vector<std::pair<std::string, queue::queue_stats>> stats;
  for (const auto& q : m.list())
    stats.emplace_back(q->settings().name, q->stats());
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out.family(name, type, help);
    for (const auto& [n, s] : stats)
      out.sample(name, {{"queue", n}}, static_cast<double>(value(s)));
  };
  family("sluice_queue_ready", "gauge", "Messages deliverable now",
         [](const queue::queue_stats& s) { return s.ready; });
  family("sluice_queue_in_flight", "gauge", "Messages leased to a consumer",
         [](const queue::queue_stats& s) { return s.in_flight; });
  family("sluice_queue_delayed", "gauge", "Messages waiting for a retry backoff or their delay",
         [](const queue::queue_stats& s) { return s.delayed; });
  family("sluice_queue_dead_lettered", "gauge", "Records in the queue's dead-letter topic",
         [](const queue::queue_stats& s) { return s.dead_lettered; });
  family("sluice_queue_oldest_age_seconds", "gauge", "Age of the oldest unsettled message",
         [](const queue::queue_stats& s) { return static_cast<double>(s.oldest_age_ms) / 1000.0; });
  family("sluice_queue_acked_total", "counter", "Messages acknowledged since start",
         [](const queue::queue_stats& s) { return s.acked; });
  family("sluice_queue_nacked_total", "counter", "Negative acknowledgements since start",
         [](const queue::queue_stats& s) { return s.nacked; });
  family("sluice_queue_rejected_total", "counter", "Messages rejected since start",
         [](const queue::queue_stats& s) { return s.rejected; });
  family("sluice_queue_expired_total", "counter", "Leases that expired since start",
         [](const queue::queue_stats& s) { return s.expired; });
  family("sluice_queue_redelivered_total", "counter", "Deliveries after the first since start",
         [](const queue::queue_stats& s) { return s.redelivered; });
  family("sluice_queue_failed", "gauge",
         "1 once the queue's journal failed a write or sync (work refused until a restart)",
         [](const queue::queue_stats& s) { return s.failed ? 1 : 0; });
}

void process_families(exposition& out) {
  long page = sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
  out.sample("process_resident_memory_bytes", {}, static_cast<double>(resident * page));
  out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes");
  out.sample("process_virtual_memory_bytes", {}, static_cast<double>(size * page));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time in seconds");
  out.sample("process_cpu_seconds_total", {}, cpu);
  size_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  out.family("process_open_fds", "gauge", "Open file descriptors");
  out.sample("process_open_fds", {}, static_cast<double>(fds));
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  out.family("process_max_fds", "gauge", "Limit of open file descriptors");
  out.sample("process_max_fds", {}, static_cast<double>(rl.rlim_cur));
}

void loop_families(exposition& out, const loop_watch& w) {
  auto loops = w.snapshot();
  out.family("sluice_event_loop_stalls_total", "counter",
             "Times an event loop was held past the stall threshold (--loop-stall-warn-ms)");
  for (const auto& l : loops)
    out.sample("sluice_event_loop_stalls_total", {{"loop", l.name}}, static_cast<double>(l.stalls));
  out.family("sluice_event_loop_longest_stall_seconds", "gauge",
             "The longest stall of each event loop since start");
  for (const auto& l : loops)
    out.sample("sluice_event_loop_longest_stall_seconds", {{"loop", l.name}}, l.longest_seconds);
}

}  // namespace

void collect(exposition& out, const sources& s) {
  if (s.loops) loop_families(out, *s.loops);
  if (s.log) log_families(out, *s.log);
  if (s.groups) group_families(out, *s.groups);
  if (s.kafka) s.kafka->write_metrics(out);
  if (s.engine) query_families(out, *s.engine);
  if (s.queues) queue_families(out, *s.queues);
  process_families(out);
}

}  // namespace sluice::metrics
