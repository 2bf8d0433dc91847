#include "cluster/view_replica.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <numeric>

#include "cluster/client.h"
#include "stream/json_decoder.h"
#include "view/view.h"

namespace sluice::cluster {

struct view_replica::impl {
  std::string topic;
  std::shared_ptr<view::view> v;
  std::unique_ptr<stream::json_decoder> rows;
  std::unique_ptr<stream::json_decoder> keys;  // null: the key stays its JSON text
  kafka_handle consumer;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> applied{0};
  std::atomic<bool> restored{false};
  std::atomic<int64_t> restore_ms{0};
  int partitions = 0;

  void run() {
    auto began = std::chrono::steady_clock::now();
    // Partitions read to their end once (an end reached again later is not counted twice).
    std::vector<bool> ended(static_cast<size_t>(partitions), false);
    int left = partitions;
    std::string err;
    stream::element_batch batch;
    rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(consumer.get());
    rd_kafka_message_t* msgs[1024];
    while (!stopping) {
      ssize_t n = rd_kafka_consume_batch_queue(q, 100, msgs, std::size(msgs));
      batch.clear();
      for (ssize_t i = 0; i < n; ++i) {
        message_ptr m(msgs[i]);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          auto p = static_cast<size_t>(m->partition);
          if (p < ended.size() && !ended[p]) {
            ended[p] = true;
            --left;
          }
          if (!restored && left == 0) {
            restored = true;
            restore_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - began)
                             .count();
          }
          continue;
        }
        if (m->err) {
          spdlog::warn("view {}: reading {}: {}", v->name(), topic,
                       rd_kafka_message_errstr(m.get()));
          continue;
        }
        stream::element e;
        rd_kafka_timestamp_type_t tt;
        e.ts = rd_kafka_message_timestamp(m.get(), &tt);
        if (m->key) {
          std::string_view k(static_cast<const char*>(m->key), m->key_len);
          if (keys) {
            if (!keys->decode(k, e.key, err)) {
              spdlog::warn("view {}: a key in {} does not decode: {}", v->name(), topic, err);
              continue;
            }
          } else {
            e.key = {stream::value::string(k)};
          }
        }
        if (!m->payload) {
          e.op = stream::change_op::remove;
        } else {
          if (!rows->decode(std::string_view(static_cast<const char*>(m->payload), m->len), e.r,
                            err)) {
            spdlog::warn("view {}: a row in {} does not decode: {}", v->name(), topic, err);
            continue;
          }
          e.op =
              e.key.empty() && !v->keyed() ? stream::change_op::insert : stream::change_op::upsert;
        }
        batch.push_back(std::move(e));
      }
      if (!batch.empty()) {
        v->apply(batch);
        applied.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
      }
    }
    rd_kafka_queue_destroy(q);
  }
};

result<std::unique_ptr<view_replica>> view_replica::start(kafka_io& io, std::string topic,
                                                          std::shared_ptr<view::view> v,
                                                          std::vector<stream::field_type> columns,
                                                          std::vector<std::string> key_names) {
  auto parts = io.partition_count(topic);
  if (!parts) return parts.error();
  std::unique_ptr<view_replica> r(new view_replica());
  r->impl_ = std::make_unique<impl>();
  auto& m = *r->impl_;
  m.topic = std::move(topic);
  m.v = std::move(v);
  m.partitions = *parts;
  // Keys are JSON objects of the key columns; typed as the view's columns of those names.
  std::vector<stream::field_type> key_types;
  for (const auto& k : key_names)
    for (const auto& c : columns)
      if (c.name == k) key_types.push_back(c);
  if (!key_names.empty() && key_types.size() == key_names.size())
    m.keys = std::make_unique<stream::json_decoder>(std::move(key_types));
  m.rows = std::make_unique<stream::json_decoder>(std::move(columns));
  std::vector<int32_t> all(static_cast<size_t>(*parts));
  std::iota(all.begin(), all.end(), 0);
  auto c = open_reader(io.options(), m.topic, all,
                       {{"isolation.level", "read_committed"}, {"fetch.wait.max.ms", "20"}});
  if (!c) return c.error();
  m.consumer = std::move(*c);
  rd_kafka_poll_set_consumer(m.consumer.get());
  m.thread = std::thread([&m] { m.run(); });
  return r;
}

view_replica::~view_replica() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  destroy_reader(std::move(impl_->consumer));
}

view_replica_stats view_replica::stats() const {
  view_replica_stats s;
  s.view = impl_->v->name();
  s.topic = impl_->topic;
  s.rows_applied = impl_->applied;
  s.restored = impl_->restored;
  s.restore_ms = impl_->restore_ms;
  return s;
}

}  // namespace sluice::cluster
