#include "queue/queue.h"

#include "base/json_writer.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <random>

#include "base/all_done.h"
#include "base/clock.h"
#include "base/json_writer.h"
#include "log/log.h"
#include "log/partition.h"
#include "log/records.h"
#include "queue/journal.h"
#include "queue/partition_state.h"
#include "stream/state_codec.h"
#include "stream/value.h"

namespace sluice::queue {

namespace {

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

constexpr std::string_view k_deliver_after = "sluice.deliver.after";

struct record_copy {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct records_read {
  std::map<int64_t, record_copy> records;
  // Every wanted offset below this was looked for: one missing from `records` has no record
  // (compacted away, or a control record).
  int64_t examined_end = 0;
};

// The records of `part` at `offsets` (ascending), at most about `max_bytes` of keys and values.
result<records_read> read_records(const log::partition& part, const std::vector<int64_t>& offsets,
                                  size_t max_bytes) {
  records_read out;
  size_t i = 0, bytes = 0;
  while (i < offsets.size() && bytes < max_bytes) {
    int64_t want = offsets[i];
    // A read returns at least the batch holding `want`; no more than needed when few bytes are.
    auto rr = part.read(model::offset(want), std::min<size_t>(max_bytes - bytes, 1 << 20));
    if (!rr) return rr.error();
    if (rr->len == 0) break;
    sluice::bytes buf(rr->len);
    if (auto c = rr->copy_to(buf.data()); !c) return c.error();
    auto next = log::for_each_record_from(buf, want, [&](const log::record_view& rv) {
      if (!std::binary_search(offsets.begin() + static_cast<long>(i), offsets.end(), rv.offset))
        return;
      record_copy c;
      c.offset = rv.offset;
      c.timestamp = rv.timestamp;
      if (rv.key) c.key = as_string(*rv.key);
      if (rv.value) c.value = as_string(*rv.value);
      (void)log::for_each_header(rv, [&](std::string_view k, std::optional<bytes_view> v) {
        c.headers.emplace_back(std::string(k),
                               v ? std::optional<std::string>(as_string(*v)) : std::nullopt);
      });
      bytes += (c.value ? c.value->size() : 0) + (c.key ? c.key->size() : 0);
      out.records.emplace(rv.offset, std::move(c));
    });
    if (!next) return next.error();
    if (*next <= want) break;  // nothing whole was readable
    out.examined_end = *next;
    while (i < offsets.size() && offsets[i] < *next)
      ++i;
  }
  return out;
}

}  // namespace

int64_t queue_settings::backoff_ms(uint32_t attempt, double r) const {
  double b = static_cast<double>(backoff_base_ms) *
             std::pow(backoff_factor, static_cast<double>(attempt > 0 ? attempt - 1 : 0));
  b = std::min(b, static_cast<double>(backoff_max_ms));
  b *= 1.0 + backoff_jitter * (2.0 * r - 1.0);
  return std::max<int64_t>(0, static_cast<int64_t>(b));
}

void write_json_members(json_writer& w, const queue_settings& s) {
  w.key("name").value(s.name);
  w.key("visibility_timeout_ms").value(s.visibility_timeout_ms);
  w.key("max_deliveries").value(static_cast<uint64_t>(s.max_deliveries));
  w.key("backoff_base_ms").value(s.backoff_base_ms);
  w.key("backoff_factor").value(s.backoff_factor);
  w.key("backoff_max_ms").value(s.backoff_max_ms);
  w.key("backoff_jitter").value(s.backoff_jitter);
  w.key("dead_letter_topic").value(s.dlq());
}

std::string to_json(const queue_settings& s) {
  json_writer w;
  w.begin_object();
  write_json_members(w, s);
  w.end_object();
  return std::move(w).str();
}

result<queue_settings> settings_from_json(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  simdjson::dom::object obj;
  auto bad = [](const std::string& m) { return make_error(errc::invalid_config, m); };
  if (p.parse(json.data(), json.size()).get(doc) || doc.get_object().get(obj))
    return bad("expected a JSON object of queue settings");
  queue_settings s;
  for (auto [key, v] : obj) {
    auto integer = [&](int64_t& out, int64_t min) -> bool {
      int64_t n = 0;
      if (v.get_int64().get(n) || n < min) return false;
      out = n;
      return true;
    };
    auto real = [&](double& out, double min, double max) -> bool {
      double d = 0;
      if (v.get_double().get(d) || !(d >= min && d <= max)) return false;
      out = d;
      return true;
    };
    std::string_view text;
    int64_t n = 0;
    if (key == "name") {
      if (v.get_string().get(text) || text.empty()) return bad("name must be a non-empty string");
      s.name = std::string(text);
    } else if (key == "visibility_timeout_ms") {
      if (!integer(s.visibility_timeout_ms, 1)) return bad("visibility_timeout_ms must be >= 1");
    } else if (key == "max_deliveries") {
      if (!integer(n, 1) || n > 1'000'000) return bad("max_deliveries must be 1..1000000");
      s.max_deliveries = static_cast<uint32_t>(n);
    } else if (key == "backoff_base_ms") {
      if (!integer(s.backoff_base_ms, 0)) return bad("backoff_base_ms must be >= 0");
    } else if (key == "backoff_factor") {
      if (!real(s.backoff_factor, 1.0, 100.0)) return bad("backoff_factor must be 1..100");
    } else if (key == "backoff_max_ms") {
      if (!integer(s.backoff_max_ms, 0)) return bad("backoff_max_ms must be >= 0");
    } else if (key == "backoff_jitter") {
      if (!real(s.backoff_jitter, 0.0, 1.0)) return bad("backoff_jitter must be 0..1");
    } else if (key == "dead_letter_topic") {
      if (v.get_string().get(text)) return bad("dead_letter_topic must be a string");
      s.dead_letter_topic = std::string(text);
    } else if (key == "partitions") {
      // Used when the queue creates its topic (queue/manager.h); not a delivery setting.
    } else {
      return bad("unknown queue setting '" + std::string(key) + "'");
    }
  }
  if (s.name.empty()) return bad("a queue needs a name");
  return s;
}

queue::queue(log::log& log, queue_settings settings) : log_(log), settings_(std::move(settings)) {}

result<std::shared_ptr<queue>> queue::open(log::log& log, queue_settings settings,
                                           std::filesystem::path dir) {
  std::shared_ptr<queue> q(new queue(log, std::move(settings)));
  q->topic_ = log.find_topic(q->settings_.name);
  q->dlq_ = log.find_topic(q->settings_.dlq());
  if (!q->topic_ || !q->dlq_)
    return make_error(errc::unknown_topic,
                      "queue " + q->settings_.name + ": topic '" +
                          (q->topic_ ? q->settings_.dlq() : q->settings_.name) +
                          "' does not exist");
  auto parts = q->topic_->partitions();
  for (const auto& p : parts)
    q->parts_.push_back(std::make_unique<partition_state>(p->log_start()()));
  auto& states = q->parts_;
  result<std::unique_ptr<journal>> j = make_error(errc::io_error, "not opened");
  try {
    j = journal::open(
        dir,
        [&](std::string_view snap) {
          stream::state_reader r(snap);
          auto n = static_cast<size_t>(r.varint());
          for (size_t i = 0; i < n && i < states.size(); ++i)
            states[i]->restore(r);
          if (n <= states.size() && !r.at_end())
            for (int64_t d = r.varint(); d > 0; --d)
              q->dlq_scan_from_.push_back(r.varint());
        },
        [&](const event& e) {
          if (e.partition < 0 || static_cast<size_t>(e.partition) >= states.size()) return;
          auto i = static_cast<size_t>(e.partition);
          states[i]->replay(e, parts[i]->high_watermark()());
        });
  } catch (const stream::corrupt_state& e) {
    // The snapshot's CRC matched, so this is a bug, not a torn write: refuse to guess.
    return make_error(errc::corrupt_batch,
                      "queue " + q->settings_.name + ": unreadable state snapshot: " + e.what());
  }
  if (!j) return j.error();
  q->journal_ = std::move(*j);
  if (auto r = q->settle_dead_lettered(); !r) return r.error();
  // Records retention removed count as settled.
  for (size_t i = 0; i < parts.size(); ++i)
    q->parts_[i]->truncate_below(parts[i]->log_start()());
  return q;
}

queue::~queue() {
  std::lock_guard lk(mu_);
  checkpoint_locked();
}

void queue::checkpoint_locked() {
  stream::state_writer w;
  w.put_varint(static_cast<int64_t>(parts_.size()));
  for (const auto& p : parts_)
    p->snapshot(w);
  // Then, per dead-letter partition, where a restart looks for dead-letter records whose
  // settle may be missing (an older snapshot ends before this: the restart reads it all).
  auto dparts = dlq_->partitions();
  w.put_varint(static_cast<int64_t>(dparts.size()));
  for (size_t i = 0; i < dparts.size(); ++i) {
    auto in = dlq_in_flight_.find(static_cast<int32_t>(i));
    w.put_varint(in != dlq_in_flight_.end() && !in->second.empty() ? *in->second.begin()
                                                                   : dparts[i]->high_watermark()());
  }
  if (auto r = journal_->checkpoint(w.data()); !r)
    spdlog::error("queue {}: cannot write its snapshot: {}", settings_.name, r.error().message);
}

std::optional<queue::leased_ref> queue::parse_receipt(std::string_view r) {
  leased_ref out{};
  auto d1 = r.find('-');
  auto d2 = d1 == std::string_view::npos ? d1 : r.find('-', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, auto& v) {
    auto res = std::from_chars(s.data(), s.data() + s.size(), v);
    return res.ec == std::errc() && res.ptr == s.data() + s.size();
  };
  if (!num(r.substr(0, d1), out.partition) || !num(r.substr(d1 + 1, d2 - d1 - 1), out.offset) ||
      !num(r.substr(d2 + 1), out.lease) || out.partition < 0)
    return std::nullopt;
  return out;
}

void queue::add_partitions_locked(const std::vector<std::shared_ptr<log::partition>>& parts) {
  // The topic grew (CreatePartitions): its new partitions join the queue.
  for (size_t i = parts_.size(); i < parts.size(); ++i)
    parts_.push_back(std::make_unique<partition_state>(parts[i]->log_start()()));
}

partition_state* queue::resolve(const std::string& receipt, leased_ref& ref) {
  auto r = parse_receipt(receipt);
  if (!r || static_cast<size_t>(r->partition) >= parts_.size()) return nullptr;
  ref = *r;
  return parts_[static_cast<size_t>(r->partition)].get();
}

std::vector<message> queue::receive(size_t max, size_t max_bytes, int64_t visibility_ms,
                                    const std::string& consumer) {
  std::vector<message> out;
  if (visibility_ms <= 0) visibility_ms = settings_.visibility_timeout_ms;
  std::lock_guard lk(mu_);
  int64_t now = now_ms();
  auto parts = topic_->partitions();
  add_partitions_locked(parts);
  size_t bytes = 0;
  for (size_t k = 0; k < parts.size() && out.size() < max && bytes < max_bytes; ++k) {
    size_t p = (rr_ + k) % parts.size();
    if (p >= parts_.size()) continue;
    auto& st = *parts_[p];
    const auto& part = *parts[p];
    auto cands = st.candidates(max - out.size(), now, part.high_watermark()());
    if (cands.empty()) continue;
    std::sort(cands.begin(), cands.end());
    if (cands.front() < part.log_start()()) {
      int64_t start = part.log_start()();
      st.truncate_below(start);
      journal_->append({event::kind::settle, static_cast<int32_t>(p), 0, start});
      std::erase_if(cands, [&](int64_t o) { return o < start; });
      if (cands.empty()) continue;
    }
    auto got = read_records(part, cands, max_bytes - bytes);
    if (!got) {
      spdlog::warn("queue {}: reading partition {}: {}", settings_.name, p, got.error().message);
      continue;
    }
    for (int64_t o : cands)
      if (o < got->examined_end && !got->records.count(o)) {
        // No record at this offset (compaction, a control batch): nothing to deliver.
        st.settle(o);
        journal_->append({event::kind::settle, static_cast<int32_t>(p), o, o + 1});
      }
    for (auto& [offset, rec] : got->records) {
      int64_t after = 0;
      for (const auto& [hk, hv] : rec.headers)
        if (hk == k_deliver_after && hv)
          std::from_chars(hv->data(), hv->data() + hv->size(), after);
      if (after > now) {
        st.delay(offset, after);
        journal_->append({event::kind::delay, static_cast<int32_t>(p), offset, after});
        continue;
      }
      auto l = st.take(offset, now + visibility_ms, consumer);
      journal_->append({event::kind::delivered, static_cast<int32_t>(p), offset, l.attempt});
      if (l.attempt > 1) ++counters_.redelivered;
      bytes += (rec.value ? rec.value->size() : 0) + (rec.key ? rec.key->size() : 0);
      message m;
      m.receipt = std::to_string(p) + "-" + std::to_string(offset) + "-" + std::to_string(l.id);
      m.partition = static_cast<int32_t>(p);
      m.offset = offset;
      m.attempt = l.attempt;
      m.timestamp = rec.timestamp;
      m.key = std::move(rec.key);
      m.value = std::move(rec.value);
      m.headers = std::move(rec.headers);
      out.push_back(std::move(m));
      if (out.size() >= max) break;
    }
  }
  rr_ = (rr_ + 1) % std::max<size_t>(1, parts.size());
  return out;
}

void queue::ack(const std::vector<std::string>& receipts, settle_done done) {
  std::vector<outcome> results;
  {
    std::lock_guard lk(mu_);
    for (const auto& r : receipts) {
      leased_ref ref{};
      partition_state* part = resolve(r, ref);
      if (!part) {
        results.push_back(outcome::bad_receipt);
        continue;
      }
      auto& st = *part;
      if (st.ack(ref.offset, ref.lease) != partition_state::outcome::ok) {
        results.push_back(outcome::stale);
        continue;
      }
      journal_->append({event::kind::settle, ref.partition, ref.offset, ref.offset + 1});
      ++counters_.acked;
      results.push_back(outcome::ok);
    }
  }
  journal_->sync([done = std::move(done), results = std::move(results)](result<void> r) mutable {
    done(std::move(results), std::move(r));
  });
}

std::vector<outcome> queue::nack(const std::vector<std::string>& receipts,
                                 std::optional<int64_t> delay_ms) {
  std::vector<outcome> results;
  std::vector<std::pair<leased_ref, std::string>> dead;
  {
    std::lock_guard lk(mu_);
    int64_t now = now_ms();
    for (const auto& r : receipts) {
      leased_ref ref{};
      partition_state* part = resolve(r, ref);
      if (!part) {
        results.push_back(outcome::bad_receipt);
        continue;
      }
      auto& st = *part;
      const lease* l = st.leased(ref.offset, ref.lease);
      if (!l) {
        results.push_back(outcome::stale);
        continue;
      }
      ++counters_.nacked;
      results.push_back(outcome::ok);
      if (l->attempt >= settings_.max_deliveries) {
        dead.emplace_back(ref, "nacked on delivery " + std::to_string(l->attempt) + " of " +
                                   std::to_string(settings_.max_deliveries));
        continue;
      }
      int64_t at = now + (delay_ms ? *delay_ms : settings_.backoff_ms(l->attempt, unit_random()));
      st.release(ref.offset, ref.lease, at);
      journal_->append({event::kind::delay, ref.partition, ref.offset, at});
    }
  }
  if (!dead.empty()) dead_letter(std::move(dead), [](result<void>) {});
  notify_waiters();
  return results;
}

void queue::reject(const std::vector<std::string>& receipts, const std::string& reason,
                   settle_done done) {
  std::vector<outcome> results;
  std::vector<std::pair<leased_ref, std::string>> dead;
  {
    std::lock_guard lk(mu_);
    for (const auto& r : receipts) {
      leased_ref ref{};
      partition_state* part = resolve(r, ref);
      if (!part) {
        results.push_back(outcome::bad_receipt);
        continue;
      }
      if (!part->leased(ref.offset, ref.lease)) {
        results.push_back(outcome::stale);
        continue;
      }
      ++counters_.rejected;
      results.push_back(outcome::ok);
      dead.emplace_back(ref, "rejected: " + reason);
    }
  }
  dead_letter(std::move(dead),
              [done = std::move(done), results = std::move(results)](result<void> r) mutable {
                done(std::move(results), std::move(r));
              });
}

std::vector<outcome> queue::extend(const std::vector<std::string>& receipts,
                                   int64_t visibility_ms) {
  std::vector<outcome> results;
  std::lock_guard lk(mu_);
  int64_t deadline =
      now_ms() + (visibility_ms > 0 ? visibility_ms : settings_.visibility_timeout_ms);
  for (const auto& r : receipts) {
    leased_ref ref{};
    partition_state* part = resolve(r, ref);
    if (!part) {
      results.push_back(outcome::bad_receipt);
      continue;
    }
    results.push_back(part->extend(ref.offset, ref.lease, deadline) == partition_state::outcome::ok
                          ? outcome::ok
                          : outcome::stale);
  }
  return results;
}

void queue::dead_letter(std::vector<std::pair<leased_ref, std::string>> which,
                        std::function<void(result<void>)> after) {
  if (which.empty()) {
    journal_->sync(std::move(after));
    return;
  }
  struct pending {
    std::vector<leased_ref> refs;
    std::function<void(result<void>)> after;
    std::vector<std::pair<int32_t, int64_t>> in_flight;  // (dead-letter partition, offset)
  };
  auto pend = std::make_shared<pending>();
  pend->after = std::move(after);
  std::map<int32_t, log::batch_builder> batches;  // by dead-letter partition
  {
    std::lock_guard lk(mu_);
    int64_t now = now_ms();
    auto parts = topic_->partitions();
    for (auto& [ref, reason] : which) {
      auto& st = *parts_[static_cast<size_t>(ref.partition)];
      const lease* l = st.leased(ref.offset, ref.lease);
      if (!l) continue;
      uint32_t attempts = l->attempt;
      auto got = read_records(*parts[static_cast<size_t>(ref.partition)], {ref.offset}, 1);
      if (!got || got->records.empty()) {
        spdlog::warn("queue {}: cannot read {}-{} to dead-letter it; it stays in the queue",
                     settings_.name, ref.partition, ref.offset);
        st.release(ref.offset, ref.lease, now + settings_.backoff_ms(attempts, unit_random()));
        continue;
      }
      // Held until settled, so that nobody receives it meanwhile.
      st.extend(ref.offset, ref.lease, INT64_MAX);
      auto& rec = got->records.begin()->second;
      std::vector<std::pair<std::string, std::string>> hs;
      for (const auto& [k, v] : rec.headers)
        if (!k.starts_with("sluice.")) hs.emplace_back(k, v.value_or(""));
      hs.emplace_back("sluice.reason", reason);
      hs.emplace_back("sluice.queue", settings_.name);
      hs.emplace_back("sluice.topic", settings_.name);
      hs.emplace_back("sluice.partition", std::to_string(ref.partition));
      hs.emplace_back("sluice.offset", std::to_string(ref.offset));
      hs.emplace_back("sluice.attempts", std::to_string(attempts));
      hs.emplace_back("sluice.timestamp", std::to_string(rec.timestamp));
      hs.emplace_back("sluice.dead.lettered.at", std::to_string(now));
      std::vector<std::pair<std::string_view, bytes_view>> hv;
      for (const auto& [k, v] : hs)
        hv.emplace_back(k, as_bytes(v));
      int32_t dp = ref.partition % std::max(1, dlq_->partition_count());
      std::optional<bytes_view> key, value;
      if (rec.key) key = as_bytes(*rec.key);
      if (rec.value) value = as_bytes(*rec.value);
      batches[dp].add(key, value, now, hv);
      pend->refs.push_back(ref);
    }
  }
  if (batches.empty()) {
    journal_->sync(std::move(pend->after));
    return;
  }
  // Settle once every dead-letter record is on disk; if writing failed, the messages are
  // released (ready again) instead.
  // The log may answer after the queue is gone (shutdown): then the messages stay unsettled and
  // are delivered again after the restart.
  // The dead-letter record itself is the durable proof: a restart settles what it finds there
  // even if the settle below never reached the journal (settle_dead_lettered), so a message is
  // dead-lettered once.
  auto join = all_done::start([this, alive = weak_from_this(), pend](result<void> r) {
    auto self = alive.lock();
    if (!self) return;
    {
      std::lock_guard lk(mu_);
      for (const auto& [dp, off] : pend->in_flight) {
        auto& set = dlq_in_flight_[dp];
        if (auto it = set.find(off); it != set.end()) set.erase(it);
      }
      for (const auto& ref : pend->refs) {
        auto& st = *parts_[static_cast<size_t>(ref.partition)];
        if (!r) {
          st.release(ref.offset, ref.lease, now_ms());
          continue;
        }
        st.settle(ref.offset);
        journal_->append({event::kind::settle, ref.partition, ref.offset, ref.offset + 1});
      }
    }
    if (!r) {
      pend->after(r);
      return;
    }
    journal_->sync(std::move(pend->after));
  });
  {
    std::lock_guard lk(mu_);  // a checkpoint sees each record either in flight or settled
    for (auto& [dp, b] : batches) {
      auto part = dlq_->get(dp);
      auto batch = b.build();
      auto r =
          part ? part->append(std::span<uint8_t>(batch.data(), batch.size()), now_ms())
               : result<log::append_result>(make_error(errc::unknown_topic, "no dlq partition"));
      if (!r) {
        join->fail(r.error());
        continue;
      }
      dlq_in_flight_[dp].insert(r->base_offset());
      pend->in_flight.emplace_back(dp, r->base_offset());
      part->when_durable(r->last_offset, join->part());
    }
  }
  join->seal();
}

result<void> queue::settle_dead_lettered() {
  size_t settled = 0;
  auto dparts = dlq_->partitions();
  for (size_t d = 0; d < dparts.size(); ++d) {
    const auto& part = *dparts[d];
    int64_t from = part.log_start()();
    if (d < dlq_scan_from_.size()) from = std::max(from, dlq_scan_from_[d]);
    const int64_t end = part.high_watermark()();
    while (from < end) {
      auto r = part.read(model::offset(from), 1 << 20);
      if (!r) return r.error();
      if (r->len == 0) break;
      bytes buf(r->len);
      if (auto c = r->copy_to(buf.data()); !c) return c.error();
      auto next = log::for_each_record_from(buf, from, [&](const log::record_view& rv) {
        std::string_view queue_name, p, o;
        (void)log::for_each_header(rv, [&](std::string_view k, std::optional<bytes_view> v) {
          if (!v) return;
          std::string_view text(reinterpret_cast<const char*>(v->data()), v->size());
          if (k == "sluice.queue") queue_name = text;
          if (k == "sluice.partition") p = text;
          if (k == "sluice.offset") o = text;
        });
        int32_t pi = -1;
        int64_t off = -1;
        if (queue_name != settings_.name ||
            std::from_chars(p.data(), p.data() + p.size(), pi).ec != std::errc() ||
            std::from_chars(o.data(), o.data() + o.size(), off).ec != std::errc() || pi < 0 ||
            static_cast<size_t>(pi) >= parts_.size())
          return;
        parts_[static_cast<size_t>(pi)]->settle(off, off + 1);
        ++settled;
      });
      if (!next) return next.error();
      if (*next == from) break;
      from = *next;
    }
  }
  if (settled > 0)
    spdlog::info("queue {}: {} messages found in the dead-letter topic are settled", settings_.name,
                 settled);
  return {};
}

void queue::tick() {
  std::vector<std::pair<leased_ref, std::string>> dead;
  bool released = false;
  {
    std::lock_guard lk(mu_);
    int64_t now = now_ms();
    add_partitions_locked(topic_->partitions());
    for (size_t p = 0; p < parts_.size(); ++p) {
      for (const auto& l : parts_[p]->expired(now)) {
        ++counters_.expired;
        leased_ref ref{static_cast<int32_t>(p), l.offset, l.id};
        if (l.attempt >= settings_.max_deliveries) {
          dead.emplace_back(ref, "lease expired on delivery " + std::to_string(l.attempt) + " of " +
                                     std::to_string(settings_.max_deliveries));
          continue;
        }
        int64_t at = now + settings_.backoff_ms(l.attempt, unit_random());
        parts_[p]->release(l.offset, l.id, at);
        journal_->append({event::kind::delay, static_cast<int32_t>(p), l.offset, at});
        released = true;
      }
    }
    if (journal_->size() > (8 << 20)) checkpoint_locked();
  }
  if (!dead.empty()) dead_letter(std::move(dead), [](result<void>) {});
  if (released) notify_waiters();
}

std::string queue::failure() const {
  return journal_->failure();
}

queue_stats queue::stats() const {
  std::lock_guard lk(mu_);
  queue_stats s = counters_;
  s.failed = !journal_->failure().empty();
  int64_t now = now_ms();
  auto parts = topic_->partitions();
  int64_t oldest = INT64_MAX;
  for (size_t p = 0; p < parts.size() && p < parts_.size(); ++p) {
    const auto& st = *parts_[p];
    int64_t end = parts[p]->high_watermark()();
    s.ready += st.ready(now, end);
    s.in_flight += static_cast<int64_t>(st.in_flight());
    s.delayed += static_cast<int64_t>(st.delayed(now));
    if (st.floor() < end) {
      auto got = read_records(*parts[p], {st.floor()}, 1);
      if (got && !got->records.empty())
        oldest = std::min(oldest, got->records.begin()->second.timestamp);
    }
  }
  if (oldest != INT64_MAX) s.oldest_age_ms = std::max<int64_t>(0, now - oldest);
  for (const auto& p : dlq_->partitions())
    s.dead_lettered += p->high_watermark()() - p->log_start()();
  return s;
}

std::optional<int64_t> queue::next_due() const {
  std::lock_guard lk(mu_);
  std::optional<int64_t> out;
  for (const auto& p : parts_)
    if (auto d = p->next_due(); d && (!out || *d < *out)) out = d;
  return out;
}

void queue::when_available(std::weak_ptr<void> alive, std::function<void()> fn) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto shared = std::make_shared<std::function<void()>>(std::move(fn));
  auto call = [once, shared] {
    if (!once->exchange(true)) (*shared)();
  };
  for (const auto& p : topic_->partitions())
    p->on_next_append(alive, call);
  std::lock_guard lk(waiters_mu_);
  std::erase_if(waiters_, [](const auto& w) { return w.first.expired(); });
  waiters_.emplace_back(std::move(alive), std::move(call));
}

void queue::notify_waiters() {
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> ws;
  {
    std::lock_guard lk(waiters_mu_);
    ws.swap(waiters_);
  }
  for (auto& [alive, fn] : ws)
    if (!alive.expired()) fn();
}

}  // namespace sluice::queue
