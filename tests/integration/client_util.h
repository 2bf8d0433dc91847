#pragma once
// librdkafka helpers shared by the integration tests: clients, topic creation, producing
// with delivery reports, and reading partitions to their end.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace sluice::test {

using props = std::vector<std::pair<std::string, std::string>>;

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

struct message {
  std::string key;
  std::string value;
  std::string header;  // value of header "h"
};

struct record {
  int32_t partition;
  int64_t offset;
  message m;
  int64_t timestamp;
};

struct delivery_log {
  std::mutex mu;
  std::vector<std::string> errors;
  std::set<int64_t> acked;  // opaque ids of delivered messages
  std::atomic<int64_t> ok{0};
};

inline void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* log = static_cast<delivery_log*>(opaque);
  std::lock_guard lk(log->mu);
  if (m->err) {
    log->errors.push_back(rd_kafka_err2str(m->err));
  } else {
    log->acked.insert(reinterpret_cast<intptr_t>(m->_private));
    ++log->ok;
  }
}

inline rk_ptr make_client(rd_kafka_type_t type, const std::string& brokers, const props& p,
                          delivery_log* dl = nullptr) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(err);
  };
  set("bootstrap.servers", brokers);
  set("log_level", "2");
  if (type == RD_KAFKA_CONSUMER) {
    set("group.id", "sluice-test");
    set("enable.auto.commit", "false");
    set("enable.partition.eof", "true");
  }
  for (auto& [k, v] : p)
    set(k, v);
  if (dl) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, dl);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  if (type == RD_KAFKA_CONSUMER) rd_kafka_poll_set_consumer(rk);
  return rk_ptr(rk);
}

inline void create_topic(const std::string& brokers, const std::string& name, int partitions,
                         const props& configs = {}) {
  auto rk = make_client(RD_KAFKA_PRODUCER, brokers, {});
  char err[256];
  auto* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, -1, err, sizeof err);
  for (auto& [k, v] : configs)
    rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  auto* q = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &nt, 1, nullptr, q);
  rd_kafka_NewTopic_destroy(nt);
  auto* ev = rd_kafka_queue_poll(q, 10000);
  ASSERT_NE(ev, nullptr);
  size_t n = 0;
  auto** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(res[0]);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
}

// Produces every message (to `partition`, or by key when -1) and waits for all reports.
inline void produce(const std::string& brokers, const std::string& topic,
                    const std::vector<message>& msgs, const props& p, delivery_log& dl,
                    int partition = -1) {
  auto rk = make_client(RD_KAFKA_PRODUCER, brokers, p, &dl);
  for (size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "h", 1, m.header.data(), static_cast<ssize_t>(m.header.size()));
    for (;;) {
      auto e = rd_kafka_producev(
          rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(i)), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk.get(), 10);
        continue;
      }
      ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
      break;
    }
    rd_kafka_poll(rk.get(), 0);
  }
  ASSERT_EQ(rd_kafka_flush(rk.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Reads partitions [0, partitions) from `start` until each one reports its end.
inline std::vector<record> consume_all(const std::string& brokers, const std::string& topic,
                                       int partitions, int64_t start = RD_KAFKA_OFFSET_BEGINNING,
                                       const props& p = {}) {
  auto rk = make_client(RD_KAFKA_CONSUMER, brokers, p);
  auto* list = rd_kafka_topic_partition_list_new(partitions);
  for (int i = 0; i < partitions; ++i)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), i)->offset = start;
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<record> out;
  std::vector<bool> at_end(static_cast<size_t>(partitions), false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::count(at_end.begin(), at_end.end(), true) < partitions &&
         std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end[static_cast<size_t>(m->partition)] = true;
    } else if (m->err) {
      ADD_FAILURE() << "consume: " << rd_kafka_message_errstr(m);
    } else {
      at_end[static_cast<size_t>(m->partition)] = false;
      record r{m->partition, m->offset, {}, rd_kafka_message_timestamp(m, nullptr)};
      r.m.key.assign(static_cast<const char*>(m->key), m->key_len);
      r.m.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* h = nullptr;
      const void* hv = nullptr;
      size_t hl = 0;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(h, "h", &hv, &hl) == RD_KAFKA_RESP_ERR_NO_ERROR)
        r.m.header.assign(static_cast<const char*>(hv), hl);
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(std::count(at_end.begin(), at_end.end(), true), partitions) << "timed out";
  rd_kafka_consumer_close(rk.get());
  // Partitions are read concurrently; give callers one stable order.
  std::stable_sort(out.begin(), out.end(), [](const record& a, const record& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  return out;
}

inline std::vector<message> make_messages(size_t n, const std::string& tag,
                                          size_t value_size = 100) {
  std::vector<message> out;
  for (size_t i = 0; i < n; ++i) {
    std::string v = tag + "-" + std::to_string(i) + "-";
    while (v.size() < value_size)
      v += static_cast<char>('a' + (i + v.size()) % 26);
    v[v.size() / 2] = static_cast<char>(i % 256);  // arbitrary bytes survive too
    out.push_back({"key-" + std::to_string(i % 17), v, "hdr-" + std::to_string(i)});
  }
  return out;
}

}  // namespace sluice::test
