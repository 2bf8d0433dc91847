// Transactional produce benchmark over the Kafka protocol with librdkafka, for sluice or any
// Kafka-compatible broker; bench/transactions.sh drives it.
//
//   txn_bench --brokers B --topic T --records N [--size S] [--per-txn K] [--idempotent]
//             [--linger-ms L] [--producers P]
//
// Sends N records of S bytes spread over the topic's partitions, either as transactions of K
// records (a transactional producer: begin, produce K, commit) or, with --idempotent, as an
// idempotent producer with acks=all and no transactions (the baseline). With P producers
// (threads, transactional ids txn-bench-0..P-1, as Kafka Streams runs a producer per task),
// each sends N/P. Prints records/s over all of them and, for transactions, the latency of each
// commit (the EndTxn round trip, measured after the transaction's records were delivered).

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "txn-bench";
  int64_t records = 1'000'000;
  size_t size = 100;
  int64_t per_txn = 1000;
  bool idempotent = false;
  std::string linger = "5";
  int producers = 1;
};

void check(rd_kafka_error_t* e, const char* what) {
  if (!e) return;
  std::string msg = std::string(what) + ": " + rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  throw std::runtime_error(msg);
}

rd_kafka_t* make_producer(const options& o, int id) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(err);
  };
  set("bootstrap.servers", o.brokers);
  set("linger.ms", o.linger);
  set("batch.size", "1000000");
  set("queue.buffering.max.messages", "2000000");
  set("queue.buffering.max.kbytes", "2097151");
  set("compression.type", "none");
  set("enable.idempotence", "true");
  if (!o.idempotent)
    set("transactional.id", o.producers == 1 ? "txn-bench" : "txn-bench-" + std::to_string(id));
  // A delivery callback makes flush() wake on each delivery (without one it polls in 10 ms
  // slices, which would be measured as transaction latency).
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t*, void*) {});
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  return rk;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct latencies {
  std::mutex mu;
  std::vector<double> commit_ms, flush_ms;
};

// One producer sending `records` of them.
void produce(const options& o, int id, int64_t records, latencies& out) {
  rd_kafka_t* rk = make_producer(o, id);
  if (!o.idempotent) check(rd_kafka_init_transactions(rk, 30'000), "init_transactions");
  std::string payload(o.size, 'x');
  std::vector<double> commit_ms, flush_ms;
  int64_t sent = 0;
  while (sent < records) {
    int64_t n = std::min(o.per_txn, records - sent);
    if (!o.idempotent) check(rd_kafka_begin_transaction(rk), "begin_transaction");
    for (int64_t i = 0; i < n; ++i) {
      for (;;) {
        auto err =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()),
                              RD_KAFKA_V_VALUE(payload.data(), payload.size()), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
          throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
        rd_kafka_poll(rk, 1);
      }
    }
    sent += n;
    if (!o.idempotent) {
      auto f0 = clock_type::now();
      rd_kafka_flush(rk, 60'000);  // the records delivered: what follows is the commit itself
      auto t0 = clock_type::now();
      flush_ms.push_back(std::chrono::duration<double, std::milli>(t0 - f0).count());
      check(rd_kafka_commit_transaction(rk, 60'000), "commit_transaction");
      commit_ms.push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    } else {
      rd_kafka_poll(rk, 0);
    }
  }
  rd_kafka_flush(rk, 60'000);
  rd_kafka_destroy(rk);
  std::lock_guard lk(out.mu);
  out.commit_ms.insert(out.commit_ms.end(), commit_ms.begin(), commit_ms.end());
  out.flush_ms.insert(out.flush_ms.end(), flush_ms.begin(), flush_ms.end());
}

int run(const options& o) {
  latencies l;
  std::vector<std::thread> threads;
  std::string failed;
  std::mutex fail_mu;
  auto start = clock_type::now();
  for (int p = 0; p < o.producers; ++p) {
    int64_t share = o.records / o.producers + (p < o.records % o.producers ? 1 : 0);
    threads.emplace_back([&, p, share] {
      try {
        produce(o, p, share, l);
      } catch (const std::exception& e) {
        std::lock_guard lk(fail_mu);
        failed = e.what();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  if (!failed.empty()) throw std::runtime_error(failed);
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  if (o.idempotent) {
    std::printf("idempotent     records=%lld producers=%d  %.0f records/s\n",
                static_cast<long long>(o.records), o.producers,
                static_cast<double>(o.records) / secs);
  } else {
    std::printf(
        "transactional  records=%lld per_txn=%lld producers=%d  %.0f records/s  commit p50 %.2f "
        "ms  p99 %.2f ms  max %.2f ms (%zu commits); delivery before each commit p50 %.2f ms\n",
        static_cast<long long>(o.records), static_cast<long long>(o.per_txn), o.producers,
        static_cast<double>(o.records) / secs, percentile(l.commit_ms, 0.5),
        percentile(l.commit_ms, 0.99), percentile(l.commit_ms, 1.0), l.commit_ms.size(),
        percentile(l.flush_ms, 0.5));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--brokers")
      o.brokers = next();
    else if (a == "--topic")
      o.topic = next();
    else if (a == "--records")
      o.records = std::stoll(next());
    else if (a == "--size")
      o.size = std::stoul(next());
    else if (a == "--per-txn")
      o.per_txn = std::stoll(next());
    else if (a == "--idempotent")
      o.idempotent = true;
    else if (a == "--linger-ms")
      o.linger = next();
    else if (a == "--producers")
      o.producers = std::max(1, std::stoi(next()));
    else {
      std::fprintf(stderr,
                   "usage: txn_bench [--brokers B] [--topic T] [--records N] [--size S] "
                   "[--per-txn K] [--idempotent] [--linger-ms L] [--producers P]\n");
      return 2;
    }
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "txn_bench: %s\n", e.what());
    return 1;
  }
}
