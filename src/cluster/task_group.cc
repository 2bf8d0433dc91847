#include "cluster/task_group.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "cluster/client.h"

namespace sluice::cluster {

task_group::task_group(kafka_io& io, task_group_options options)
    : io_(io), o_(std::move(options)) {}

task_group::~task_group() {
  stop(false);
}

result<void> task_group::start() {
  if (o_.topics.empty()) return make_error(errc::invalid_config, "a query without sources");
  auto rk = make_client(
      io_.options(), RD_KAFKA_CONSUMER,
      {{"group.id", "_sluice-" + o_.cluster + "-" + o_.instance},
       {"group.instance.id", o_.node + "-" + o_.instance},
       {"partition.assignment.strategy", "cooperative-sticky"},
       {"session.timeout.ms", std::to_string(o_.session_timeout.count())},
       {"heartbeat.interval.ms",
        std::to_string(std::max<int64_t>(o_.session_timeout.count() / 5, 100))},
       {"enable.auto.commit", "false"},
       {"enable.auto.offset.store", "false"}},
      [](rd_kafka_conf_t* c, void* self) {
        rd_kafka_conf_set_rebalance_cb(c, &task_group::on_rebalance);
        rd_kafka_conf_set_opaque(c, self);
      },
      this);
  if (!rk) return rk.error();
  rk_ = rk->release();
  auto* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, o_.topics[0].c_str(), RD_KAFKA_PARTITION_UA);
  auto err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) {
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    return kafka_error("joining the group of query " + o_.name, err);
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void task_group::run() {
  while (!stopping_) {
    // Messages never come (the partitions are paused); rebalances are served in here.
    message_ptr m(rd_kafka_consumer_poll(rk_, 100));
    if (m && m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::lock_guard lk(mu_);
      error_ = rd_kafka_message_errstr(m.get());
    }
    restart_failed();
  }
  // Leaving: the revocation stops the tasks (with their last checkpoint unless dropped).
  rd_kafka_consumer_close(rk_);
}

void task_group::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<task_group*>(opaque);
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_error_t* e = cooperative ? rd_kafka_incremental_assign(rk, parts) : nullptr;
    if (!cooperative) rd_kafka_assign(rk, parts);
    if (e) {
      spdlog::error("query {}: assigning: {}", self->o_.name, rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    rd_kafka_pause_partitions(rk, parts);
    self->assigned(parts);
  } else {
    self->revoked(parts, rd_kafka_assignment_lost(rk));
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

std::unique_ptr<stream::query> task_group::make_task(int32_t p, int64_t& start_ms) {
  auto began = std::chrono::steady_clock::now();
  sql::task_spec spec;
  spec.id = o_.instance + "/" + std::to_string(p);
  spec.partitions = {p};
  spec.transactional_id = "_sluice-" + o_.cluster + "-" + o_.instance + "-" + std::to_string(p);
  auto failed = [&](const std::string& why) -> std::unique_ptr<stream::query> {
    std::lock_guard lk(mu_);
    error_ = "task " + spec.id + ": " + why;
    spdlog::error("query {}: {}", o_.name, error_);
    return nullptr;
  };
  auto ck = io_.open_checkpoints(spec.id, spec.transactional_id);
  if (!ck) return failed(ck.error().message);
  spec.checkpoints = std::move(*ck);
  try {
    auto q = o_.make(spec, stopping_);
    if (!q) return nullptr;
    if (auto r = q->start(); !r) return failed(r.error().message);
    start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - began)
                   .count();
    spdlog::info("query {}: task {} started on {} in {} ms", o_.name, spec.id, o_.node, start_ms);
    return q;
  } catch (const std::exception& e) {
    return failed(e.what());
  }
}

void task_group::install(int32_t p) {
  int64_t start_ms = 0;
  auto q = make_task(p, start_ms);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  auto& t = tasks_[p];
  t.q = std::move(q);
  t.start_ms = start_ms;
  if (!t.q)
    t.backoff = std::min<std::chrono::milliseconds>(t.backoff * 2, std::chrono::minutes(1));
  else
    t.backoff = std::chrono::milliseconds(1'000);
  t.retry_at = now + t.backoff;
}

void task_group::assigned(rd_kafka_topic_partition_list_t* parts) {
  for (int i = 0; i < parts->cnt; ++i)
    install(parts->elems[i].partition);
}

void task_group::revoked(rd_kafka_topic_partition_list_t* parts, bool lost) {
  for (int i = 0; i < parts->cnt; ++i) {
    int32_t p = parts->elems[i].partition;
    std::shared_ptr<stream::query> q;
    {
      std::lock_guard lk(mu_);
      auto it = tasks_.find(p);
      if (it == tasks_.end()) continue;
      q = std::move(it->second.q);
      tasks_.erase(it);
    }
    // Committed before the partition is given to another process (cooperative rebalancing
    // waits for this callback).
    if (q) q->stop(!lost && checkpoint_on_stop_);
    spdlog::info("query {}: task {}/{} {} on {}", o_.name, o_.instance, p,
                 lost ? "lost" : "handed over", o_.node);
  }
}

void task_group::restart_failed() {
  auto now = std::chrono::steady_clock::now();
  std::vector<int32_t> due;
  {
    std::lock_guard lk(mu_);
    for (auto& [p, t] : tasks_) {
      bool failed = !t.q || t.q->stats().state == "FAILED";
      if (failed && now >= t.retry_at) due.push_back(p);
    }
  }
  for (int32_t p : due) {
    std::shared_ptr<stream::query> old;
    {
      std::lock_guard lk(mu_);
      old = std::move(tasks_[p].q);
    }
    if (old) {
      spdlog::warn("query {}: task {}/{} failed ({}), starting it again from its last checkpoint",
                   o_.name, o_.instance, p, old->stats().error);
      old->stop(false);
      old.reset();  // its transactional producer too, before the new task takes the id
    }
    install(p);
  }
}

void task_group::stop(bool checkpoint) {
  if (!thread_.joinable()) return;
  checkpoint_on_stop_ = checkpoint;
  stopping_ = true;
  thread_.join();
  // Whatever close() did not revoke (a group that never settled).
  std::map<int32_t, task> left;
  {
    std::lock_guard lk(mu_);
    left.swap(tasks_);
  }
  for (auto& [p, t] : left)
    if (t.q) t.q->stop(checkpoint);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

stream::query_stats task_group::stats() const {
  stream::query_stats s;
  s.name = o_.name;
  s.state = "RUNNING";
  s.watermark = INT64_MAX;
  std::lock_guard lk(mu_);
  s.error = error_;
  if (stopping_) s.state = "STOPPED";
  bool any = false;
  for (const auto& [p, t] : tasks_) {
    if (!t.q) {
      s.state = "FAILED";
      continue;
    }
    auto ts = t.q->stats();
    s.records_in += ts.records_in;
    s.records_out += ts.records_out;
    s.dead_letters += ts.dead_letters;
    s.late_records += ts.late_records;
    s.lag += ts.lag;
    s.state_rows += ts.state_rows;
    s.state_bytes += ts.state_bytes;
    if (ts.watermark != INT64_MIN) {
      s.watermark = std::min(s.watermark, ts.watermark);
      any = true;
    }
    if (ts.state == "FAILED") {
      s.state = "FAILED";
      s.error = "task " + o_.instance + "/" + std::to_string(p) + ": " + ts.error;
    }
    if (!ts.checkpoint_error.empty()) s.checkpoint_error = ts.checkpoint_error;
    if (!s.latency) s.latency = ts.latency;
  }
  if (!any) s.watermark = INT64_MIN;
  return s;
}

bool task_group::wait_caught_up(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::shared_ptr<stream::query>> qs;
  {
    std::lock_guard lk(mu_);
    for (const auto& [p, t] : tasks_)
      if (t.q) qs.push_back(t.q);
  }
  for (const auto& q : qs) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !q->wait_caught_up(left)) return false;
  }
  return true;
}

std::string task_group::explain() const {
  std::lock_guard lk(mu_);
  std::string s = "Split by partition of '" + o_.topics[0] + "' (consumer group _sluice-" +
                  o_.cluster + "-" + o_.instance + "); tasks here:";
  for (const auto& [p, t] : tasks_)
    s += " " + std::to_string(p);
  if (tasks_.empty()) s += " none";
  for (const auto& [p, t] : tasks_)
    if (t.q) return s + "\n" + t.q->explain();
  return s;
}

std::vector<task_info> task_group::tasks() const {
  std::lock_guard lk(mu_);
  std::vector<task_info> out;
  for (const auto& [p, t] : tasks_) {
    auto st = t.q ? t.q->stats() : stream::query_stats{};
    out.push_back({o_.name, p, t.q ? st.state : "FAILED", t.start_ms, st.state_rows});
  }
  return out;
}

}  // namespace sluice::cluster
