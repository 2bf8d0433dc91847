// Producer/consumer benchmark over the Kafka protocol with librdkafka, for sluice or any
// Kafka-compatible broker. Prints one line of figures per run; bench/run.sh drives it.
//
//   log_bench produce --brokers B --topic T --records N --size S [--acks 1|all] [--rate R]
//   log_bench consume --brokers B --topic T --records N
//
// produce: sends N records of S bytes (as fast as possible, or at R records/s) and reports
// records/s, MB/s and the produce latency percentiles (enqueue to delivery report).
// consume: reads N records from the beginning of every partition and reports records/s, MB/s.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
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
  std::string acks = "1";
  int64_t records = 1'000'000;
  size_t size = 100;
  int64_t rate = 0;  // records/s; 0 = as fast as possible
  std::string linger = "5";
  std::vector<std::pair<std::string, std::string>> props;  // -X key=value
};

struct latency_log {
  std::vector<int64_t> sent_ns;  // by message index
  std::vector<int64_t> lat_ns;
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};
  char first_error[256] = {0};
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* log = static_cast<latency_log*>(opaque);
  auto idx = reinterpret_cast<intptr_t>(m->_private);
  if (m->err) {
    if (log->failed++ == 0)
      std::snprintf(log->first_error, sizeof log->first_error, "%s", rd_kafka_err2str(m->err));
    return;
  }
  log->lat_ns[static_cast<size_t>(idx)] = now_ns() - log->sent_ns[static_cast<size_t>(idx)];
  ++log->delivered;
}

rd_kafka_t* make(rd_kafka_type_t type, const options& o, latency_log* log) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(err);
  };
  set("bootstrap.servers", o.brokers);
  if (type == RD_KAFKA_PRODUCER) {
    set("acks", o.acks);
    set("linger.ms", o.linger);
    set("batch.size", "1000000");
    set("batch.num.messages", "100000");
    set("queue.buffering.max.messages", "2000000");
    set("queue.buffering.max.kbytes", "2097151");
    set("compression.type", "none");
    set("enable.idempotence", o.acks == "all" ? "true" : "false");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, log);
  } else {
    set("group.id", "log-bench");
    set("enable.auto.commit", "false");
    set("enable.partition.eof", "true");
  }
  for (const auto& [k, v] : o.props)  // -X: security, isolation, ...
    set(k.c_str(), v);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  return rk;
}

int64_t pct(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

int produce(const options& o) {
  latency_log log;
  log.sent_ns.assign(static_cast<size_t>(o.records), 0);
  log.lat_ns.assign(static_cast<size_t>(o.records), -1);
  rd_kafka_t* rk = make(RD_KAFKA_PRODUCER, o, &log);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  std::string payload(o.size, 'x');
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>('a' + i % 26);
  auto start = clock_type::now();
  for (int64_t i = 0; i < o.records; ++i) {
    if (o.rate > 0) {
      auto due = start + std::chrono::nanoseconds(i * 1'000'000'000 / o.rate);
      while (clock_type::now() < due) {
        rd_kafka_poll(rk, 0);
        std::this_thread::sleep_until(
            std::min(due, clock_type::now() + std::chrono::microseconds(200)));
      }
    }
    log.sent_ns[static_cast<size_t>(i)] = now_ns();
    while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, 0, payload.data(), payload.size(),
                            nullptr, 0, reinterpret_cast<void*>(i)) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        throw std::runtime_error(rd_kafka_err2str(rd_kafka_last_error()));
      rd_kafka_poll(rk, 1);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120'000);
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<int64_t> lat;
  lat.reserve(log.lat_ns.size());
  for (auto l : log.lat_ns)
    if (l >= 0) lat.push_back(l);
  double recs = static_cast<double>(log.delivered) / secs;
  std::printf(
      "produce size=%zu acks=%s rate=%s records=%lld failed=%lld  %.0f records/s  %.1f MB/s  "
      "latency p50=%.2fms p99=%.2fms p999=%.2fms%s%s\n",
      o.size, o.acks.c_str(), o.rate > 0 ? std::to_string(o.rate).c_str() : "max",
      static_cast<long long>(log.delivered.load()), static_cast<long long>(log.failed.load()), recs,
      recs * static_cast<double>(o.size) / 1e6, pct(lat, 0.50) / 1e6, pct(lat, 0.99) / 1e6,
      pct(lat, 0.999) / 1e6, log.failed ? "  first error: " : "", log.first_error);
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
  return log.failed == 0 ? 0 : 1;
}

int consume(const options& o) {
  rd_kafka_t* rk = make(RD_KAFKA_CONSUMER, o, nullptr);
  rd_kafka_poll_set_consumer(rk);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("metadata failed");
  int parts = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  auto* list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; ++p)
    rd_kafka_topic_partition_list_add(list, o.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  int64_t n = 0, bytes = 0;
  auto start = clock_type::now();
  auto deadline = start + std::chrono::seconds(120);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> msgs(10000);
  while (n < o.records && clock_type::now() < deadline) {
    ssize_t got = rd_kafka_consume_batch_queue(q, 100, msgs.data(), msgs.size());
    for (ssize_t i = 0; i < got; ++i) {
      if (!msgs[static_cast<size_t>(i)]->err) {
        ++n;
        bytes += static_cast<int64_t>(msgs[static_cast<size_t>(i)]->len);
      }
      rd_kafka_message_destroy(msgs[static_cast<size_t>(i)]);
    }
  }
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("consume partitions=%d records=%lld  %.0f records/s  %.1f MB/s\n", parts,
              static_cast<long long>(n), static_cast<double>(n) / secs,
              static_cast<double>(bytes) / secs / 1e6);
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return n >= o.records ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: log_bench produce|consume [--brokers B] [--topic T] "
                 "[--records N] [--size S] [--acks 1|all] [--rate R] [--linger MS]\n");
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
    else if (k == "--records")
      o.records = std::stoll(v);
    else if (k == "--size")
      o.size = std::stoul(v);
    else if (k == "--acks")
      o.acks = v;
    else if (k == "--rate")
      o.rate = std::stoll(v);
    else if (k == "--linger")
      o.linger = v;
    else if (k == "-X") {
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "-X takes key=value\n");
        return 2;
      }
      o.props.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    if (o.mode == "produce") return produce(o);
    if (o.mode == "consume") return consume(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "log_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
  return 2;
}
