// topic_io over this process's log (src/log/), through its public headers only, and its
// transaction coordinator for exactly-once sinks.

#include <atomic>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/all_done.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "base/wait_callback.h"
#include "group/transaction_coordinator.h"
#include "log/log.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "log/segment_format.h"
#include "stream/io.h"

namespace sluice::stream {

namespace {

class log_source final : public topic_source {
 public:
  log_source(std::shared_ptr<log::topic> t, std::shared_ptr<wakeup> wake)
      : topic_(std::move(t)), wake_(std::move(wake)), armed_(std::make_shared<armed>()) {}

  int32_t partitions() const override { return topic_->partition_count(); }

  result<int64_t> for_each(int32_t p, int64_t from, size_t max_bytes, bytes& scratch,
                           const record_fn& fn) override {
    scratch.clear();
    if (auto r = read(p, from, max_bytes, scratch); !r) return r.error();
    if (scratch.empty()) return from;
    return for_each_record(scratch, from, fn);
  }

  int64_t start_offset(int32_t p) const override {
    auto part = topic_->get(p);
    return part ? part->log_start()() : 0;
  }
  int64_t end_offset(int32_t p) const override {
    auto part = topic_->get(p);
    return part ? part->last_stable_offset()() : 0;
  }

 private:
  // Appends to `out` whole record batches of partition `p` from the one that holds `from`.
  result<void> read(int32_t p, int64_t from, size_t max_bytes, bytes& out) {
    auto part = topic_->get(p);
    if (!part) return make_error(errc::unknown_partition, "no partition " + std::to_string(p));
    // Ask to be woken by the next append before reading, so that none is missed.
    arm(*part, static_cast<size_t>(p));
    auto r = part->read(model::offset(from), max_bytes, log::isolation::read_committed);
    if (!r) return r.error();
    if (r->len == 0) return {};
    size_t at = out.size();
    out.resize(at + r->len);
    if (auto c = r->copy_to(out.data() + at); !c) {
      out.resize(at);
      return c.error();
    }
    hide_aborted(*part, from, r->last_stable.value(), std::span(out).subspan(at));
    return {};
  }

  // Batches of aborted transactions are handed on marked as control batches: readers skip
  // their records and still move past their offsets.
  static void hide_aborted(const log::partition& part, int64_t from, int64_t stable,
                           std::span<uint8_t> chunk) {
    std::vector<log::aborted_transaction> aborted;
    bool looked = false;
    size_t pos = 0;
    while (chunk.size() - pos >= log::format::k_batch_header_size) {
      auto h = log::parse_batch_header(chunk.data() + pos);
      if (h.batch_length <= 0 || chunk.size() - pos < h.size_bytes()) break;
      if (h.transactional() && !h.control()) {
        if (!looked) {
          aborted = part.aborted_transactions(model::offset(from), model::offset(stable));
          looked = true;
        }
        if (log::in_aborted_transaction(h, aborted)) {
          uint8_t* attrs = chunk.data() + pos + log::format::k_attributes_at;
          store_be16(attrs, static_cast<uint16_t>(load_be16(attrs) | log::format::k_control_bit));
        }
      }
      pos += h.size_bytes();
    }
  }

  // Which partitions have a wake-up registered; shared with the partitions' append
  // callbacks, which may run after the source is gone.
  struct armed {
    std::deque<std::atomic<bool>> partitions;
  };

  // At most one registered wake-up per partition: the partition keeps every registration
  // until its next append, so re-registering on each poll of an idle partition would grow
  // without bound.
  void arm(log::partition& part, size_t p) {
    while (armed_->partitions.size() <= p)
      armed_->partitions.emplace_back(false);
    if (armed_->partitions[p].exchange(true)) return;
    std::weak_ptr<armed> a = armed_;
    std::weak_ptr<wakeup> w = wake_;
    part.on_next_append(armed_, [a, w, p] {
      if (auto k = a.lock()) k->partitions[p] = false;
      if (auto k = w.lock()) k->signal();
    });
  }

  std::shared_ptr<log::topic> topic_;
  std::shared_ptr<wakeup> wake_;
  std::shared_ptr<armed> armed_;
};

class log_sink final : public topic_sink {
 public:
  log_sink(std::shared_ptr<log::topic> t, group::transaction_coordinator* txns,
           sink_options options)
      : topic_(std::move(t)), txns_(txns), options_(std::move(options)) {}

  // A sink dropped with a transaction open aborts it (its query stopped without a final
  // checkpoint), so that readers of the topic are not held back until the timeout.
  ~log_sink() override {
    if (!exactly_once() || txn_partitions_.empty() || !producer_) return;
    auto e = wait_callback<errc>([&](auto done) {
      txns_->end_transaction(options_.transactional_id, *producer_, false, std::move(done));
    });
    if (e != errc::ok)
      spdlog::warn("aborting the open transaction of {}: {}", options_.transactional_id,
                   to_string(e));
  }

  result<void> add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                   int64_t timestamp, std::span<const header> headers) override {
    auto n = static_cast<size_t>(topic_->partition_count());
    if (n == 0) return make_error(errc::unknown_topic, "topic " + topic_->name() + " is gone");
    if (builders_.size() < n) {
      builders_.resize(n);
      sizes_.resize(n, 0);
    }
    size_t p = key ? crc32c(key->data(), key->size()) % n : next_++ % n;
    headers_.clear();
    for (const auto& [k, v] : headers)
      headers_.emplace_back(k, as_bytes(v));
    std::optional<bytes_view> k, v;
    if (key) k = as_bytes(*key);
    if (value) v = as_bytes(*value);
    builders_[p].add(k, v, timestamp, headers_);
    sizes_[p] += (key ? key->size() : 0) + (value ? value->size() : 0) + 16;
    if (sizes_[p] >= k_batch_bytes) {
      if (auto r = join_transaction({p}); !r) return r;
      return spill(p);
    }
    return {};
  }

  result<void> flush() override {
    std::vector<size_t> pending;
    for (size_t p = 0; p < builders_.size(); ++p)
      if (!builders_[p].empty()) pending.push_back(p);
    if (auto r = join_transaction(pending); !r) return r;
    for (size_t p : pending)
      if (auto r = spill(p); !r) return r;
    return {};
  }

  result<std::string> prepare() override {
    if (auto r = flush(); !r) return r.error();
    if (!exactly_once() || written_.empty()) return std::string();
    // Everything of the transaction on disk before the checkpoint says to commit it.
    auto outcome = wait_callback<result<void>>([&](auto done) {
      auto join = all_done::start(std::move(done));
      for (const auto& [p, last] : written_) {
        auto part = topic_->get(static_cast<int32_t>(p));
        if (!part) {
          join->fail(make_error(errc::unknown_topic, "topic " + topic_->name() + " is gone"));
          continue;
        }
        part->when_durable(model::offset(last), join->part());
      }
      join->seal();
    });
    if (!outcome) return outcome.error();
    return encode(*producer_);
  }

  result<void> commit() override {
    if (!exactly_once() || txn_partitions_.empty()) return {};
    auto e = wait_callback<errc>([&](auto done) {
      txns_->end_transaction(options_.transactional_id, *producer_, true, std::move(done));
    });
    if (e != errc::ok)
      return make_error(e, "committing the transaction of " + options_.transactional_id + ": " +
                               std::string(to_string(e)));
    txn_partitions_.clear();
    written_.clear();
    producer_.reset();  // the next transaction starts with a new epoch
    return {};
  }

  result<void> recover(std::string_view prepared) override {
    if (!exactly_once()) return {};
    if (auto p = decode(prepared)) {
      // The checkpoint was written but the commit may not have been: finish it. (A later
      // transaction has a later epoch, so it cannot be mistaken for this one.)
      auto d = txns_->describe(options_.transactional_id);
      if (d.error == errc::ok && d.state == "Ongoing" && d.producer.producer_id == p->producer_id &&
          d.producer.epoch == p->epoch) {
        auto e = wait_callback<errc>([&](auto done) {
          txns_->end_transaction(options_.transactional_id, *p, true, std::move(done));
        });
        if (e != errc::ok)
          return make_error(e, "committing the checkpointed transaction of " +
                                   options_.transactional_id + ": " + std::string(to_string(e)));
      }
    }
    // A new epoch aborts whatever else the sink left open.
    return begin();
  }

 private:
  bool exactly_once() const { return options_.mode == delivery::exactly_once; }

  // Gets a producer id and a new epoch for the next transaction (aborting an open one).
  result<void> begin() {
    for (int attempt = 0;; ++attempt) {
      auto r = wait_callback<group::init_producer_result>([&](auto done) {
        txns_->init_producer(options_.transactional_id, txns_->max_timeout_ms(), {},
                             std::move(done));
      });
      if (r.error == errc::ok) {
        producer_ = r.producer;
        return {};
      }
      // concurrent_transactions: the previous transaction is still being completed.
      if (r.error != errc::concurrent_transactions || attempt >= 200)
        return make_error(r.error, "starting a transaction for " + options_.transactional_id +
                                       ": " + std::string(to_string(r.error)));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Adds the partitions to the open transaction (starting it), durably, before writing there.
  result<void> join_transaction(const std::vector<size_t>& partitions) {
    if (!exactly_once()) return {};
    std::vector<group::topic_partition> fresh;
    for (size_t p : partitions)
      if (!txn_partitions_.contains(p)) fresh.push_back({topic_->name(), static_cast<int32_t>(p)});
    if (fresh.empty()) return {};
    if (!producer_)
      if (auto r = begin(); !r) return r;
    auto e = wait_callback<errc>([&](auto done) {
      txns_->add_partitions(options_.transactional_id, *producer_, fresh, std::move(done));
    });
    if (e != errc::ok)
      return make_error(e, "adding partitions to the transaction of " + options_.transactional_id +
                               ": " + std::string(to_string(e)));
    for (const auto& tp : fresh)
      txn_partitions_.insert(static_cast<size_t>(tp.partition));
    return {};
  }

  result<void> spill(size_t p) {
    if (builders_[p].empty()) return {};
    if (exactly_once())
      builders_[p].set_producer(producer_->producer_id, producer_->epoch, -1, true);
    auto b = builders_[p].build();
    builders_[p] = log::batch_builder();
    sizes_[p] = 0;
    auto part = topic_->get(static_cast<int32_t>(p));
    if (!part) return make_error(errc::unknown_topic, "topic " + topic_->name() + " is gone");
    auto r = part->append(b, now_ms());
    // Below the free-space limit the query waits (its sources stop reading) for up to 30 s
    // for space to come back, then fails with the reason.
    for (int tries = 0; !r && r.code() == errc::no_space && tries < 300; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = part->append(b, now_ms());
    }
    if (!r) return r.error();
    if (exactly_once()) written_[p] = r->last_offset.value();
    return {};
  }

  // The prepared transaction in a checkpoint: "<producer id>/<epoch>".
  static std::string encode(const group::producer_identity& p) {
    return std::to_string(p.producer_id) + "/" + std::to_string(p.epoch);
  }
  static std::optional<group::producer_identity> decode(std::string_view s) {
    auto slash = s.find('/');
    if (s.empty() || slash == std::string_view::npos) return std::nullopt;
    group::producer_identity p;
    auto a = std::from_chars(s.data(), s.data() + slash, p.producer_id);
    auto b = std::from_chars(s.data() + slash + 1, s.data() + s.size(), p.epoch);
    if (a.ec != std::errc() || b.ec != std::errc()) return std::nullopt;
    return p;
  }

  static constexpr size_t k_batch_bytes = 256 * 1024;
  std::shared_ptr<log::topic> topic_;
  group::transaction_coordinator* txns_;
  sink_options options_;
  std::vector<log::batch_builder> builders_;
  std::vector<size_t> sizes_;
  std::vector<std::pair<std::string_view, bytes_view>> headers_;
  size_t next_ = 0;
  // exactly_once: the producer of the open (or next) transaction, its partitions, and the
  // last offset written to each.
  std::optional<group::producer_identity> producer_;
  std::set<size_t> txn_partitions_;
  std::map<size_t, int64_t> written_;
};

class log_io final : public topic_io {
 public:
  log_io(log::log& l, group::transaction_coordinator* txns) : log_(l), txns_(txns) {}

  bool transactions() const override { return txns_ != nullptr; }

  bool topic_exists(std::string_view t) const override { return log_.find_topic(t) != nullptr; }

  result<std::unique_ptr<topic_source>> open_source(std::string_view name,
                                                    std::shared_ptr<wakeup> wake) override {
    auto t = log_.find_topic(name);
    if (!t) return make_error(errc::unknown_topic, "no topic '" + std::string(name) + "'");
    return std::unique_ptr<topic_source>(
        std::make_unique<log_source>(std::move(t), std::move(wake)));
  }

  result<std::unique_ptr<topic_sink>> open_sink(std::string_view name,
                                                const sink_options& options) override {
    if (options.mode == delivery::exactly_once && (!txns_ || options.transactional_id.empty()))
      return make_error(errc::invalid_config, "exactly-once delivery needs transactions");
    auto t = log_.find_topic(name);
    if (!t) {
      auto c = log_.create_topic(name, log_.options().default_partitions, {});
      if (!c && c.code() != errc::topic_exists) return c.error();
      t = log_.find_topic(name);
      if (!t) return make_error(errc::unknown_topic, "no topic '" + std::string(name) + "'");
    }
    return std::unique_ptr<topic_sink>(std::make_unique<log_sink>(std::move(t), txns_, options));
  }

 private:
  log::log& log_;
  group::transaction_coordinator* txns_;
};

}  // namespace

std::unique_ptr<topic_io> make_log_io(log::log& l, group::transaction_coordinator* txns) {
  return std::make_unique<log_io>(l, txns);
}

result<void> topic_sink::write(const std::vector<output_record>& records) {
  std::vector<header> hs;
  for (const auto& rec : records) {
    hs.clear();
    for (const auto& [k, v] : rec.headers)
      hs.emplace_back(k, v);
    std::optional<std::string_view> k, v;
    if (rec.key) k = *rec.key;
    if (rec.value) v = *rec.value;
    if (auto r = add(k, v, rec.timestamp, hs); !r) return r;
  }
  return flush();
}

result<int64_t> for_each_record(
    bytes_view chunk, int64_t from,
    const std::function<void(int64_t, int64_t, std::optional<std::string_view>,
                             std::optional<std::string_view>)>& fn) {
  auto sv = [](const std::optional<bytes_view>& b) -> std::optional<std::string_view> {
    if (!b) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(b->data()), b->size());
  };
  return log::for_each_record_from(chunk, from, [&](const log::record_view& rv) {
    fn(rv.offset, rv.timestamp, sv(rv.key), sv(rv.value));
  });
}

}  // namespace sluice::stream
