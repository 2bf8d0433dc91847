// topic_io over this process's log (src/log/), through its public headers only.

#include <atomic>
#include <deque>
#include <mutex>

#include "base/clock.h"
#include "base/crc32c.h"
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

  result<void> read(int32_t p, int64_t from, size_t max_bytes, bytes& out) override {
    auto part = topic_->get(p);
    if (!part) return make_error(errc::unknown_partition, "no partition " + std::to_string(p));
    // Ask to be woken by the next append before reading, so that none is missed.
    arm(*part, static_cast<size_t>(p));
    auto r = part->read(model::offset(from), max_bytes);
    if (!r) return r.error();
    if (r->len == 0) return {};
    size_t at = out.size();
    out.resize(at + r->len);
    if (auto c = r->copy_to(out.data() + at); !c) {
      out.resize(at);
      return c.error();
    }
    return {};
  }

  int64_t start_offset(int32_t p) const override {
    auto part = topic_->get(p);
    return part ? part->log_start()() : 0;
  }
  int64_t end_offset(int32_t p) const override {
    auto part = topic_->get(p);
    return part ? part->high_watermark()() : 0;
  }

 private:
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
  explicit log_sink(std::shared_ptr<log::topic> t) : topic_(std::move(t)) {}

  result<void> add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                   int64_t timestamp, std::span<const header> headers) override {
    auto n = static_cast<size_t>(topic_->partition_count());
    if (n == 0) return make_error(errc::unknown_topic, "topic " + topic_->name() + " is gone");
    if (builders_.size() < n) {
      builders_.resize(n);
      sizes_.resize(n, 0);
    }
    size_t p = key ? crc32c(key->data(), key->size()) % n : next_++ % n;
    auto view = [](std::string_view s) {
      return bytes_view(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    headers_.clear();
    for (const auto& [k, v] : headers)
      headers_.emplace_back(k, view(v));
    std::optional<bytes_view> k, v;
    if (key) k = view(*key);
    if (value) v = view(*value);
    builders_[p].add(k, v, timestamp, headers_);
    sizes_[p] += (key ? key->size() : 0) + (value ? value->size() : 0) + 16;
    if (sizes_[p] >= k_batch_bytes) return spill(p);
    return {};
  }

  result<void> flush() override {
    for (size_t p = 0; p < builders_.size(); ++p)
      if (auto r = spill(p); !r) return r;
    return {};
  }

 private:
  result<void> spill(size_t p) {
    if (builders_[p].empty()) return {};
    auto b = builders_[p].build();
    builders_[p] = log::batch_builder();
    sizes_[p] = 0;
    auto part = topic_->get(static_cast<int32_t>(p));
    if (!part) return make_error(errc::unknown_topic, "topic " + topic_->name() + " is gone");
    auto r = part->append(b, now_ms());
    if (!r) return r.error();
    return {};
  }

  static constexpr size_t k_batch_bytes = 256 * 1024;
  std::shared_ptr<log::topic> topic_;
  std::vector<log::batch_builder> builders_;
  std::vector<size_t> sizes_;
  std::vector<std::pair<std::string_view, bytes_view>> headers_;
  size_t next_ = 0;
};

class log_io final : public topic_io {
 public:
  explicit log_io(log::log& l) : log_(l) {}

  bool topic_exists(std::string_view t) const override { return log_.find_topic(t) != nullptr; }

  result<std::unique_ptr<topic_source>> open_source(std::string_view name,
                                                    std::shared_ptr<wakeup> wake) override {
    auto t = log_.find_topic(name);
    if (!t) return make_error(errc::unknown_topic, "no topic '" + std::string(name) + "'");
    return std::unique_ptr<topic_source>(
        std::make_unique<log_source>(std::move(t), std::move(wake)));
  }

  result<std::unique_ptr<topic_sink>> open_sink(std::string_view name) override {
    auto t = log_.find_topic(name);
    if (!t) {
      auto c = log_.create_topic(name, log_.options().default_partitions, {});
      if (!c && c.code() != errc::topic_exists) return c.error();
      t = log_.find_topic(name);
      if (!t) return make_error(errc::unknown_topic, "no topic '" + std::string(name) + "'");
    }
    return std::unique_ptr<topic_sink>(std::make_unique<log_sink>(std::move(t)));
  }

 private:
  log::log& log_;
};

}  // namespace

std::unique_ptr<topic_io> make_log_io(log::log& l) {
  return std::make_unique<log_io>(l);
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
