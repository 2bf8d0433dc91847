#include "cluster/kafka_io.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <thread>

#include "base/crc32c.h"
#include "cluster/client.h"

namespace sluice::cluster {

namespace {

// Checkpoints larger than this are written as several records (brokers refuse records beyond
// message.max.bytes, 1 MB by default).
constexpr size_t k_checkpoint_chunk = 512 * 1024;

// --- sources ---------------------------------------------------------------------------

class kafka_source final : public stream::topic_source {
 public:
  static result<std::unique_ptr<kafka_source>> open(const kafka_options& o, std::string topic,
                                                    int32_t partitions,
                                                    std::shared_ptr<stream::wakeup> wake) {
    auto rk = make_client(o, RD_KAFKA_CONSUMER,
                          {{"group.id", "_sluice_reader"},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"},
                           {"isolation.level", "read_committed"},
                           {"enable.partition.eof", "true"},
                           {"auto.offset.reset", "error"},
                           {"fetch.wait.max.ms", "50"},
                           {"queued.max.messages.kbytes", "65536"},
                           {"max.partition.fetch.bytes", "4194304"}});
    if (!rk) return rk.error();
    auto s = std::unique_ptr<kafka_source>(
        new kafka_source(std::move(*rk), std::move(topic), partitions, std::move(wake)));
    return s;
  }

  ~kafka_source() override {
    rd_kafka_queue_cb_event_enable(queue_, nullptr, nullptr);
    rd_kafka_queue_destroy(queue_);
    for (auto& q : buffered_)
      q.clear();
    destroy_reader(std::move(rk_));
  }

  int32_t partitions() const override { return static_cast<int32_t>(next_.size()); }

  // The messages as librdkafka gives them, without making batches of them first.
  result<int64_t> for_each(int32_t p, int64_t from, size_t max_bytes, bytes&,
                           const record_fn& fn) override {
    auto q = take(p, from);
    if (!q) return q.error();
    size_t bytes = 0;
    int64_t next = from;
    auto& buffered = **q;
    rd_kafka_timestamp_type_t tt;
    while (!buffered.empty() && bytes < max_bytes) {
      auto& m = *buffered.front();
      if (m.offset >= from) {
        std::optional<std::string_view> key, value;
        if (m.key) key.emplace(static_cast<const char*>(m.key), m.key_len);
        if (m.payload) value.emplace(static_cast<const char*>(m.payload), m.len);
        fn(m.offset, rd_kafka_message_timestamp(&m, &tt), key, value);
        bytes += m.len + m.key_len + 16;
      }
      next = m.offset + 1;
      buffered.pop_front();
    }
    next_[static_cast<size_t>(p)] = std::max(next_[static_cast<size_t>(p)], next);
    return next;
  }

  int64_t start_offset(int32_t p) const override {
    int64_t lo = 0, hi = 0;
    auto err =
        rd_kafka_query_watermark_offsets(rk_.get(), topic_.c_str(), p, &lo, &hi, k_timeout_ms);
    if (err) spdlog::warn("{} partition {}: {}", topic_, p, rd_kafka_err2str(err));
    return lo;
  }

  // The end as last seen: where the consumer reached the end of the partition (the last
  // stable offset, read_committed), or past the last message fetched.
  int64_t end_offset(int32_t p) const override {
    if (p < 0 || p >= partitions()) return 0;
    return end_[static_cast<size_t>(p)].load(std::memory_order_relaxed);
  }

 private:
  kafka_source(kafka_handle rk, std::string topic, int32_t partitions,
               std::shared_ptr<stream::wakeup> wake)
      : rk_(std::move(rk)),
        topic_(std::move(topic)),
        wake_(std::move(wake)),
        next_(static_cast<size_t>(partitions), -1),
        buffered_(static_cast<size_t>(partitions)),
        out_of_range_(static_cast<size_t>(partitions), false),
        end_(static_cast<size_t>(partitions)) {
    rd_kafka_poll_set_consumer(rk_.get());
    queue_ = rd_kafka_queue_get_consumer(rk_.get());
    rd_kafka_queue_cb_event_enable(queue_, &kafka_source::on_event, wake_.get());
  }

  // The messages buffered for partition `p`, the consumer positioned at `from` first (where
  // the caller is not where the messages are). Errors: unknown_partition, offset_out_of_range.
  result<std::deque<message_ptr>*> take(int32_t p, int64_t from) {
    if (p < 0 || p >= partitions()) return make_error(errc::unknown_partition, "no partition");
    auto& next = next_[static_cast<size_t>(p)];
    if (next != from)
      if (auto r = position(p, from); !r) return r.error();
    drain();
    if (out_of_range_[static_cast<size_t>(p)]) {
      out_of_range_[static_cast<size_t>(p)] = false;
      next = -1;  // assigned again where the caller goes on
      return make_error(errc::offset_out_of_range, topic_ + " offset " + std::to_string(from));
    }
    return &buffered_[static_cast<size_t>(p)];
  }

  static void on_event(rd_kafka_t*, void* opaque) {
    static_cast<stream::wakeup*>(opaque)->signal();
  }

  // Reads partition `p` from `from` on: assigns it the first time, seeks after.
  result<void> position(int32_t p, int64_t from) {
    auto* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), p)->offset = from;
    bool assigned = assigned_.count(p) > 0;
    result<void> r;
    if (!assigned) {
      if (auto* e = rd_kafka_incremental_assign(rk_.get(), list)) r = kafka_error("assign", e);
      assigned_.insert(p);
    } else if (auto* e = rd_kafka_seek_partitions(rk_.get(), list, k_timeout_ms)) {
      r = kafka_error("seek", e);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (!r) return r;
    buffered_[static_cast<size_t>(p)].clear();
    next_[static_cast<size_t>(p)] = from;
    auto& end = end_[static_cast<size_t>(p)];
    if (end.load() < from) end = from;
    return {};
  }

  void drain() {
    rd_kafka_message_t* batch[512];
    for (;;) {
      ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, batch, std::size(batch));
      if (n <= 0) return;
      for (ssize_t i = 0; i < n; ++i) {
        message_ptr m(batch[i]);
        int32_t p = m->partition;
        if (p < 0 || p >= partitions() || !m->rkt ||
            std::string_view(rd_kafka_topic_name(m->rkt)) != topic_) {
          if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            spdlog::warn("reading {}: {}", topic_, rd_kafka_message_errstr(m.get()));
          continue;
        }
        auto& end = end_[static_cast<size_t>(p)];
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          end = m->offset;
        } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                   m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
          out_of_range_[static_cast<size_t>(p)] = true;
        } else if (m->err) {
          spdlog::warn("reading {} partition {}: {}", topic_, p, rd_kafka_message_errstr(m.get()));
        } else {
          if (end.load(std::memory_order_relaxed) < m->offset + 1) end = m->offset + 1;
          buffered_[static_cast<size_t>(p)].push_back(std::move(m));
        }
      }
    }
  }

  kafka_handle rk_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::string topic_;
  std::shared_ptr<stream::wakeup> wake_;
  std::vector<int64_t> next_;  // where the consumer of each partition is (-1: unassigned)
  std::set<int32_t> assigned_;
  std::vector<std::deque<message_ptr>> buffered_;
  std::vector<bool> out_of_range_;
  std::vector<std::atomic<int64_t>> end_;
};

// --- producers -------------------------------------------------------------------------

// One librdkafka producer and the first delivery error since it was last checked.
struct producer {
  kafka_handle rk;
  std::mutex mu;
  std::string error;
  // Transactional producers: whether a transaction is open.
  bool transactional = false;
  bool in_transaction = false;
  int32_t timeout_ms = 60'000;  // transaction.timeout.ms
  std::atomic<uint32_t> queued{0};

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (!m->err) return;
    auto* self = static_cast<producer*>(opaque);
    std::lock_guard lk(self->mu);
    if (self->error.empty())
      self->error = std::string(rd_kafka_topic_name(m->rkt)) + ": " + rd_kafka_err2str(m->err);
  }

  static result<std::shared_ptr<producer>> open(const kafka_options& o,
                                                const std::string& transactional_id) {
    auto p = std::make_shared<producer>();
    std::map<std::string, std::string> extra = {{"enable.idempotence", "true"},
                                                {"linger.ms", "5"},
                                                {"partitioner", "murmur2_random"},
                                                {"compression.type", "lz4"}};
    if (!transactional_id.empty()) {
      extra["transactional.id"] = transactional_id;
      extra["transaction.timeout.ms"] = std::to_string(o.transaction_timeout_ms);
    }
    auto rk = make_client(
        o, RD_KAFKA_PRODUCER, extra,
        [](rd_kafka_conf_t* c, void* self) {
          rd_kafka_conf_set_dr_msg_cb(c, &producer::on_delivery);
          rd_kafka_conf_set_opaque(c, self);
        },
        p.get());
    if (!rk) return rk.error();
    p->rk = std::move(*rk);
    p->timeout_ms = o.transaction_timeout_ms;
    if (!transactional_id.empty()) {
      // Fences an earlier producer of this id (a zombie) and aborts what it left open.
      if (auto* e = rd_kafka_init_transactions(p->rk.get(), k_timeout_ms * 3))
        return kafka_error("init_transactions " + transactional_id, e);
      p->transactional = true;
    }
    return p;
  }

  result<void> begin() {
    if (!transactional || in_transaction) return {};
    if (auto* e = rd_kafka_begin_transaction(rk.get())) return kafka_error("begin_transaction", e);
    in_transaction = true;
    return {};
  }

  // Queues one record (copied). Delivery errors are checked every 1024 records and by
  // flush() and commit().
  result<void> produce(rd_kafka_topic_t* topic, std::optional<std::string_view> key,
                       std::optional<std::string_view> value, int64_t timestamp,
                       std::span<const stream::topic_sink::header> headers,
                       int32_t partition = RD_KAFKA_PARTITION_UA) {
    if (auto r = begin(); !r) return r;
    rd_kafka_headers_t* hs = nullptr;
    if (!headers.empty()) {
      hs = rd_kafka_headers_new(headers.size());
      for (const auto& [k, v] : headers)
        rd_kafka_header_add(hs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                            static_cast<ssize_t>(v.size()));
    }
    const void* kp = key ? key->data() : nullptr;
    size_t klen = key ? key->size() : 0;
    void* vp = value ? const_cast<char*>(value->data()) : nullptr;
    size_t vlen = value ? value->size() : 0;
    for (;;) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(kp, klen),
                            RD_KAFKA_V_VALUE(vp, vlen), RD_KAFKA_V_TIMESTAMP(timestamp),
                            RD_KAFKA_V_HEADERS(hs), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk.get(), 10);
        continue;
      }
      if (err) {
        if (hs) rd_kafka_headers_destroy(hs);
        return kafka_error(std::string("producing to ") + rd_kafka_topic_name(topic), err);
      }
      break;
    }
    if ((queued.fetch_add(1, std::memory_order_relaxed) & 1023) != 1023) return {};
    rd_kafka_poll(rk.get(), 0);
    return take_error();
  }

  result<void> take_error() {
    std::lock_guard lk(mu);
    if (error.empty()) return {};
    return make_error(errc::io_error, std::exchange(error, {}));
  }

  result<void> flush() {
    auto err = rd_kafka_flush(rk.get(), k_timeout_ms * 3);
    if (err) return kafka_error("flush", err);
    return take_error();
  }

  // Commits the open transaction (none open: nothing to do). On failure the transaction is
  // aborted, or the producer is fenced: either way its output is gone, and the caller must
  // start again from its last commit.
  result<void> commit() {
    if (!in_transaction) return {};
    in_transaction = false;
    if (auto r = take_error(); !r) {
      if (auto* e = rd_kafka_abort_transaction(rk.get(), k_timeout_ms)) rd_kafka_error_destroy(e);
      return r;
    }
    // A commit that timed out goes on in the background and may still succeed: its outcome
    // is known only by asking again (librdkafka's retriable error). Giving up on it would
    // restart the query from its previous checkpoint while the commit may yet land, writing
    // that output twice. So retry until it is decided or the transaction itself has expired.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      rd_kafka_error_t* e = rd_kafka_commit_transaction(rk.get(), k_timeout_ms);
      if (!e) return {};
      bool retriable = rd_kafka_error_is_retriable(e);
      bool abortable = rd_kafka_error_txn_requires_abort(e);
      auto r = kafka_error("commit_transaction", e);
      if (retriable && std::chrono::steady_clock::now() < give_up) continue;
      if (abortable)
        if (auto* a = rd_kafka_abort_transaction(rk.get(), k_timeout_ms)) rd_kafka_error_destroy(a);
      return r;
    }
  }
};

class kafka_sink final : public stream::topic_sink {
 public:
  kafka_sink(std::shared_ptr<producer> p, const std::string& topic)
      : p_(std::move(p)), topic_(rd_kafka_topic_new(p_->rk.get(), topic.c_str(), nullptr)) {}
  ~kafka_sink() override {
    if (!p_->transactional) (void)p_->flush();
    rd_kafka_topic_destroy(topic_);
  }

  result<void> add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                   int64_t timestamp, std::span<const header> headers) override {
    return p_->produce(topic_, key, value, timestamp, headers);
  }
  // prepare() is topic_sink's (a flush): the transaction is committed with the checkpoint
  // (kafka_checkpoints::write).
  result<void> flush() override { return p_->flush(); }

 private:
  std::shared_ptr<producer> p_;
  rd_kafka_topic_t* topic_;  // before p_ goes
};

// --- checkpoints -----------------------------------------------------------------------

// Record keys: `task` holds the checkpoint, or, when it is larger than one record may be,
// "\0chunks <n>" and the chunks are under `task#0` .. `task#<n-1>`; all written in one
// transaction (or, without one, chunks before the record that names them), to the partition
// CRC32C(task) names, so that reading one task's checkpoint reads that partition only.
class kafka_checkpoints final : public stream::checkpoint_store {
 public:
  kafka_checkpoints(const kafka_options& o, std::string task, std::shared_ptr<producer> p,
                    int32_t partitions)
      : o_(o),
        task_(std::move(task)),
        p_(std::move(p)),
        topic_(rd_kafka_topic_new(p_->rk.get(), o_.checkpoint_topic.c_str(), nullptr)),
        partition_(static_cast<int32_t>(crc32c(task_.data(), task_.size()) %
                                        static_cast<uint32_t>(std::max(partitions, 1)))) {}
  ~kafka_checkpoints() override { rd_kafka_topic_destroy(topic_); }

  result<std::optional<std::string>> read() override {
    auto rk = open_reader(o_, o_.checkpoint_topic, {partition_},
                          {{"isolation.level", "read_committed"}, {"fetch.wait.max.ms", "10"}});
    if (!rk) return rk.error();
    std::map<std::string, std::optional<std::string>> latest;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(k_timeout_ms * 3);
    std::string prefix = task_ + "#";
    for (bool ended = false; !ended;) {
      if (std::chrono::steady_clock::now() > deadline) {
        destroy_reader(std::move(*rk));
        return make_error(errc::io_error, "reading " + o_.checkpoint_topic + ": timed out");
      }
      message_ptr m(rd_kafka_consumer_poll(rk->get(), 100));
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ended = true;
        continue;
      }
      if (m->err) {
        std::string why = rd_kafka_message_errstr(m.get());
        destroy_reader(std::move(*rk));
        return make_error(errc::io_error, "reading " + o_.checkpoint_topic + ": " + why);
      }
      std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      if (key != task_ && key.substr(0, prefix.size()) != prefix) continue;
      if (m->payload)
        latest[std::string(key)] = std::string(static_cast<const char*>(m->payload), m->len);
      else
        latest[std::string(key)] = std::nullopt;
    }
    destroy_reader(std::move(*rk));
    auto it = latest.find(task_);
    if (it == latest.end() || !it->second) return std::optional<std::string>();
    const std::string& v = *it->second;
    constexpr std::string_view k_chunks("\0chunks ", 8);
    if (v.substr(0, k_chunks.size()) != k_chunks) return std::optional<std::string>(v);
    size_t n = std::stoul(v.substr(k_chunks.size()));
    std::string blob;
    for (size_t i = 0; i < n; ++i) {
      auto c = latest.find(prefix + std::to_string(i));
      if (c == latest.end() || !c->second)
        return make_error(errc::io_error, "checkpoint of " + task_ + ": chunk " +
                                              std::to_string(i) + " is missing");
      blob += *c->second;
    }
    return std::optional<std::string>(std::move(blob));
  }

  result<void> write(std::string_view blob) override {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto put = [&](const std::string& key, std::optional<std::string_view> v) {
      return p_->produce(topic_, key, v, now, {}, partition_);
    };
    result<void> r;
    if (blob.size() <= k_checkpoint_chunk) {
      r = put(task_, blob);
    } else {
      size_t n = (blob.size() + k_checkpoint_chunk - 1) / k_checkpoint_chunk;
      for (size_t i = 0; i < n && r; ++i)
        r = put(task_ + "#" + std::to_string(i),
                blob.substr(i * k_checkpoint_chunk, k_checkpoint_chunk));
      if (r) r = put(task_, std::string("\0chunks ", 8) + std::to_string(n));
    }
    if (!r) {
      if (p_->transactional) fail(r.error().message);
      return r;
    }
    if (!p_->transactional) return p_->flush();
    if (auto c = p_->commit(); !c) fail(c.error().message);
    return {};
  }

  result<void> erase() override {
    if (auto r = p_->produce(topic_, task_, std::nullopt, 0, {}, partition_); !r) return r;
    return p_->transactional ? p_->commit() : p_->flush();
  }

  std::string describe() const override { return "topic " + o_.checkpoint_topic + " key " + task_; }

 private:
  // The transaction is gone with its output: the query must not go on as if it was written.
  [[noreturn]] static void fail(const std::string& why) {
    throw std::runtime_error("the transaction of a checkpoint failed (" + why +
                             "): its output is aborted, the query starts again from the last "
                             "committed checkpoint");
  }

  kafka_options o_;
  std::string task_;
  std::shared_ptr<producer> p_;
  rd_kafka_topic_t* topic_;
  int32_t partition_;
};

// --- the io ----------------------------------------------------------------------------

class kafka_io_impl final : public kafka_io {
 public:
  explicit kafka_io_impl(kafka_options o) : o_(std::move(o)) {}

  result<void> connect() {
    auto admin = make_client(o_, RD_KAFKA_PRODUCER, {});
    if (!admin) return admin.error();
    admin_ = std::move(*admin);
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(admin_.get(), 0, nullptr, &md, k_timeout_ms);
    if (err) return kafka_error("cannot reach the Kafka cluster at " + o_.bootstrap, err);
    rd_kafka_metadata_destroy(md);
    auto plain = producer::open(o_, "");
    if (!plain) return plain.error();
    plain_ = std::move(*plain);
    if (!topic_exists(o_.checkpoint_topic)) {
      auto r =
          create_topic(o_.checkpoint_topic, o_.default_partitions, {{"cleanup.policy", "compact"}});
      if (!r && r.code() != errc::topic_exists) return r;
    }
    return {};
  }

  const kafka_options& options() const override { return o_; }
  bool transactions() const override { return true; }

  bool topic_exists(std::string_view topic) const override {
    return static_cast<bool>(partition_count(std::string(topic)));
  }

  result<int32_t> partition_count(const std::string& topic) const override {
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(admin_.get(), 1, nullptr, &md, k_timeout_ms);
    if (err) return kafka_error("metadata", err);
    int32_t n = -1;
    for (int i = 0; i < md->topic_cnt; ++i)
      if (topic == md->topics[i].topic && !md->topics[i].err) n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    if (n <= 0) return make_error(errc::unknown_topic, "no topic '" + topic + "'");
    return n;
  }

  result<void> create_topic(const std::string& name, int32_t partitions,
                            const std::map<std::string, std::string>& configs) override {
    char err[512];
    auto* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, -1, err, sizeof err);
    if (!nt) return make_error(errc::invalid_config, "topic " + name + ": " + err);
    for (const auto& [k, v] : configs)
      rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    auto* q = rd_kafka_queue_new(admin_.get());
    rd_kafka_CreateTopics(admin_.get(), &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, k_timeout_ms * 3);
    result<void> r;
    if (!ev) {
      r = make_error(errc::io_error, "creating topic " + name + ": timed out");
    } else if (rd_kafka_event_error(ev)) {
      r = kafka_error("creating topic " + name, rd_kafka_event_error(ev));
    } else {
      size_t n = 0;
      const auto* res =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      for (size_t i = 0; i < n; ++i)
        if (auto e = rd_kafka_topic_result_error(res[i]))
          r = make_error(kafka_error("", e).code,
                         "creating topic " + name + ": " +
                             (rd_kafka_topic_result_error_string(res[i])
                                  ? rd_kafka_topic_result_error_string(res[i])
                                  : rd_kafka_err2str(e)));
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    // Metadata reaches every broker a moment later.
    for (int i = 0; r && i < 50 && !topic_exists(name); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return r;
  }

  result<std::unique_ptr<stream::topic_source>> open_source(
      std::string_view topic, std::shared_ptr<stream::wakeup> wake) override {
    auto n = partition_count(std::string(topic));
    if (!n) return n.error();
    auto s = kafka_source::open(o_, std::string(topic), *n, std::move(wake));
    if (!s) return s.error();
    return std::unique_ptr<stream::topic_source>(std::move(*s));
  }

  result<std::unique_ptr<stream::topic_sink>> open_sink(
      std::string_view topic, const stream::sink_options& options) override {
    std::string t(topic);
    if (!topic_exists(t)) {
      auto r = create_topic(t, o_.default_partitions, {});
      if (!r && r.code() != errc::topic_exists) return r.error();
    }
    std::shared_ptr<producer> p = plain_;
    if (options.mode == stream::delivery::exactly_once) {
      if (options.transactional_id.empty())
        return make_error(errc::invalid_config, "exactly-once delivery needs a transactional id");
      auto tp = transactional(options.transactional_id);
      if (!tp) return tp.error();
      p = *tp;
    }
    return std::unique_ptr<stream::topic_sink>(std::make_unique<kafka_sink>(std::move(p), t));
  }

  result<std::unique_ptr<stream::checkpoint_store>> open_checkpoints(
      const std::string& task, const std::string& transactional_id) override {
    std::shared_ptr<producer> p = plain_;
    if (!transactional_id.empty()) {
      auto tp = transactional(transactional_id);
      if (!tp) return tp.error();
      p = *tp;
    }
    auto parts = partition_count(o_.checkpoint_topic);
    if (!parts) return parts.error();
    return std::unique_ptr<stream::checkpoint_store>(
        std::make_unique<kafka_checkpoints>(o_, task, std::move(p), *parts));
  }

 private:
  // The producer of `id`, shared by whoever uses it now (a query's sinks and checkpoints).
  result<std::shared_ptr<producer>> transactional(const std::string& id) {
    std::lock_guard lk(mu_);
    if (auto p = transactional_[id].lock()) return p;
    auto p = producer::open(o_, id);
    if (!p) return p.error();
    transactional_[id] = *p;
    return *p;
  }

  kafka_options o_;
  kafka_handle admin_;
  std::shared_ptr<producer> plain_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<producer>> transactional_;
};

}  // namespace

result<std::unique_ptr<kafka_io>> kafka_io::open(kafka_options options) {
  auto io = std::make_unique<kafka_io_impl>(std::move(options));
  if (auto r = io->connect(); !r) return r.error();
  return std::unique_ptr<kafka_io>(std::move(io));
}

}  // namespace sluice::cluster
