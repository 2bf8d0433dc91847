// Consumer-group benchmark with librdkafka high-level consumers:
//   group_bench rebalance --brokers B --topic T --members 10   (T has 100 partitions with data)
//     time from starting N members until every member consumes, then the time for one more
//     member to join (a full rebalance of a stable group) until all N+1 consume again.
//   group_bench throughput --brokers B --topic T --members 3 --records N
//     records/s read by a group of M members from the start of T.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string mode;
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "bench";
  std::string group = "group-bench";
  int members = 10;
  int64_t records = 1'000'000;
  std::string session_ms = "10000";
  std::string heartbeat_ms = "500";
};

class member {
 public:
  member(const options& o, const std::string& group) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(err);
    };
    set("bootstrap.servers", o.brokers);
    set("group.id", group);
    set("auto.offset.reset", "earliest");
    set("enable.auto.commit", "false");
    set("session.timeout.ms", o.session_ms);
    set("heartbeat.interval.ms", o.heartbeat_ms);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    rd_kafka_poll_set_consumer(rk_);
    auto* t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk_, t);
    rd_kafka_topic_partition_list_destroy(t);
    thread_ = std::thread([this] { loop(); });
  }
  ~member() {
    stop_ = true;
    thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  // Records consumed since the last reset_mark().
  int64_t since_mark() const { return count_ - mark_; }
  void reset_mark() { mark_ = count_.load(); }
  int64_t count() const { return count_; }
  size_t assigned() {
    rd_kafka_topic_partition_list_t* a = nullptr;
    rd_kafka_assignment(rk_, &a);
    size_t n = a ? static_cast<size_t>(a->cnt) : 0;
    if (a) rd_kafka_topic_partition_list_destroy(a);
    return n;
  }

 private:
  void loop() {
    rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk_);
    std::vector<rd_kafka_message_t*> msgs(5000);
    while (!stop_) {
      ssize_t n = rd_kafka_consume_batch_queue(q, 50, msgs.data(), msgs.size());
      for (ssize_t i = 0; i < n; ++i) {
        if (!msgs[static_cast<size_t>(i)]->err) ++count_;
        rd_kafka_message_destroy(msgs[static_cast<size_t>(i)]);
      }
    }
    rd_kafka_queue_destroy(q);
  }

  rd_kafka_t* rk_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> mark_{0};
};

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

int rebalance(const options& o) {
  std::vector<std::unique_ptr<member>> ms;
  auto t0 = clock_type::now();
  for (int i = 0; i < o.members; ++i)
    ms.push_back(std::make_unique<member>(o, o.group));
  auto all_consuming = [&] {
    for (auto& m : ms)
      if (m->since_mark() == 0) return false;
    return true;
  };
  while (!all_consuming() && seconds_since(t0) < 60)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double join = seconds_since(t0);
  size_t total = 0;
  for (auto& m : ms)
    total += m->assigned();
  std::printf("rebalance members=%d partitions=%zu  join to all consuming: %.0f ms\n", o.members,
              total, join * 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  for (auto& m : ms)
    m->reset_mark();
  auto t1 = clock_type::now();
  ms.push_back(std::make_unique<member>(o, o.group));
  // A member consumes again only after the new generation's assignment reached it.
  while (!all_consuming() && seconds_since(t1) < 60)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::printf(
      "rebalance of a stable group when member %d joins, to all consuming: %.0f ms "
      "(session.timeout.ms=%s, heartbeat.interval.ms=%s)\n",
      o.members + 1, seconds_since(t1) * 1000, o.session_ms.c_str(), o.heartbeat_ms.c_str());
  return 0;
}

int throughput(const options& o) {
  std::vector<std::unique_ptr<member>> ms;
  std::string group = o.group + "-" + std::to_string(o.members) + "-" +
                      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  for (int i = 0; i < o.members; ++i)
    ms.push_back(std::make_unique<member>(o, group));
  auto total = [&] {
    int64_t n = 0;
    for (auto& m : ms)
      n += m->count();
    return n;
  };
  while (total() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto t0 = clock_type::now();
  int64_t first = total();
  while (total() < o.records && seconds_since(t0) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  double secs = seconds_since(t0);
  std::printf("group throughput members=%d records=%lld  %.0f records/s\n", o.members,
              static_cast<long long>(total()), static_cast<double>(total() - first) / secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: group_bench rebalance|throughput [--brokers B] [--topic T] "
                 "[--members N] [--records N] [--session-ms MS] [--heartbeat-ms MS]\n");
    return 2;
  }
  options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--brokers")
      o.brokers = v;
    else if (k == "--topic")
      o.topic = v;
    else if (k == "--members")
      o.members = std::stoi(v);
    else if (k == "--records")
      o.records = std::stoll(v);
    else if (k == "--session-ms")
      o.session_ms = v;
    else if (k == "--heartbeat-ms")
      o.heartbeat_ms = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    if (o.mode == "rebalance") return rebalance(o);
    if (o.mode == "throughput") return throughput(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "group_bench: %s\n", e.what());
    return 1;
  }
  return 2;
}
