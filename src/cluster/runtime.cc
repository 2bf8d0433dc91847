#include "cluster/runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/json_writer.h"
#include "base/strings.h"
#include "cluster/catalog_log.h"
#include "view/view.h"

namespace sluice::cluster {

// A task group that the runtime lists while it lives (node_status).
class runtime::tracked_group final : public stream::running_query {
 public:
  tracked_group(runtime& rt, std::unique_ptr<task_group> g) : rt_(rt), g_(std::move(g)) {
    std::lock_guard lk(rt_.mu_);
    rt_.groups_.push_back(g_.get());
  }
  ~tracked_group() override {
    g_->stop(false);
    std::lock_guard lk(rt_.mu_);
    std::erase(rt_.groups_, g_.get());
  }
  result<void> start() override { return g_->start(); }
  void stop(bool checkpoint) override { g_->stop(checkpoint); }
  stream::query_stats stats() const override { return g_->stats(); }
  bool wait_caught_up(std::chrono::milliseconds t) const override { return g_->wait_caught_up(t); }
  std::string explain() const override { return g_->explain(); }

 private:
  runtime& rt_;
  std::unique_ptr<task_group> g_;
};

result<std::shared_ptr<runtime>> runtime::open(cluster_options options) {
  if (options.node.empty()) return make_error(errc::invalid_config, "a node needs a name");
  options.kafka.checkpoint_topic = "_sluice-" + options.name + "-checkpoints";
  options.kafka.client_id = "sluice-" + options.name + "-" + options.node;
  std::shared_ptr<runtime> rt(new runtime(std::move(options)));
  auto io = kafka_io::open(rt->o_.kafka);
  if (!io) return io.error();
  rt->io_ = std::move(*io);
  auto catalog = catalog_log::open(*rt->io_, "_sluice-" + rt->o_.name + "-catalog");
  if (!catalog) return catalog.error();
  rt->catalog_ = std::move(*catalog);
  return rt;
}

runtime::runtime(cluster_options o) : o_(std::move(o)) {}

runtime::~runtime() {
  stop();
}

result<int64_t> runtime::append(const std::string& statement) {
  return catalog_->append(statement);
}

result<void> runtime::follow(std::function<void(int64_t, const std::string&)> apply) {
  return catalog_->follow(std::move(apply));
}

std::unique_ptr<stream::running_query> runtime::distribute(const std::string& name,
                                                           const std::string& instance,
                                                           std::vector<std::string> topics,
                                                           sql::task_factory make) {
  task_group_options go;
  go.cluster = o_.name;
  go.node = o_.node;
  go.name = name;
  go.instance = instance;
  go.topics = std::move(topics);
  go.make = std::move(make);
  go.session_timeout = o_.session_timeout;
  return std::make_unique<tracked_group>(*this, std::make_unique<task_group>(*io_, std::move(go)));
}

int32_t runtime::partitions(const std::string& topic) const {
  auto n = io_->partition_count(topic);
  return n ? *n : 0;
}

std::string runtime::view_topic(const std::string& view) const {
  return "_sluice-" + o_.name + "-view-" + ascii_lower(view);
}

void runtime::materialize(std::shared_ptr<view::view> v, std::vector<stream::field_type> columns,
                          std::vector<std::string> key_names) {
  auto topic = view_topic(v->name());
  if (!io_->topic_exists(topic)) {
    // Compacted by key; a view without key columns (appended rows, or the one row of an
    // aggregate without GROUP BY) writes records without a key, which compaction refuses.
    std::map<std::string, std::string> configs = {{"cleanup.policy", "compact"}};
    if (key_names.empty()) configs = {{"cleanup.policy", "delete"}, {"retention.ms", "-1"}};
    auto r = io_->create_topic(topic, io_->options().default_partitions, configs);
    if (!r && r.code() != errc::topic_exists)
      throw std::runtime_error("cannot create the changelog of view " + v->name() + ": " +
                               r.error().message);
  }
  auto name = ascii_lower(v->name());
  auto replica =
      view_replica::start(*io_, topic, std::move(v), std::move(columns), std::move(key_names));
  if (!replica) throw std::runtime_error(replica.error().message);
  std::lock_guard lk(mu_);
  views_[name] = std::move(*replica);
}

void runtime::forget_view(const std::string& name) {
  std::unique_ptr<view_replica> gone;
  std::lock_guard lk(mu_);
  if (auto it = views_.find(ascii_lower(name)); it != views_.end()) {
    gone = std::move(it->second);
    views_.erase(it);
  }
}

void runtime::stop() {
  if (catalog_) catalog_->stop();
  std::map<std::string, std::unique_ptr<view_replica>> views;
  std::lock_guard lk(mu_);
  views.swap(views_);
}

node_status runtime::status() const {
  node_status s;
  s.cluster = o_.name;
  s.node = o_.node;
  s.bootstrap = o_.kafka.bootstrap;
  std::lock_guard lk(mu_);
  for (const auto* g : groups_)
    for (auto& t : g->tasks())
      s.tasks.push_back(std::move(t));
  for (const auto& [n, v] : views_)
    s.views.push_back(v->stats());
  return s;
}

std::string runtime::status_json() const {
  auto s = status();
  json_writer w;
  w.begin_object().key("mode").value("cluster");
  w.key("cluster").value(s.cluster).key("node").value(s.node);
  w.key("bootstrap").value(s.bootstrap).key("tasks").begin_array();
  for (const auto& t : s.tasks)
    w.begin_object()
        .key("query")
        .value(t.query)
        .key("partition")
        .value(t.partition)
        .key("state")
        .value(t.state)
        .key("start_ms")
        .value(t.start_ms)
        .key("state_rows")
        .value(t.state_rows)
        .end_object();
  w.end_array().key("views").begin_array();
  for (const auto& v : s.views)
    w.begin_object()
        .key("view")
        .value(v.view)
        .key("topic")
        .value(v.topic)
        .key("rows_applied")
        .value(v.rows_applied)
        .key("restored")
        .value(v.restored)
        .key("restore_ms")
        .value(v.restore_ms)
        .end_object();
  w.end_array().end_object();
  return std::move(w).str();
}

}  // namespace sluice::cluster
