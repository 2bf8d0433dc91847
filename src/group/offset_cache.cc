#include "group/offset_cache.h"

#include <spdlog/spdlog.h>

#include <future>

#include "base/clock.h"
#include "group/offset_store.h"
#include "log/internal_topic.h"
#include "log/log.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "log/replay.h"

namespace sluice::group {

result<std::unique_ptr<offset_cache>> offset_cache::open(log::log& log) {
  auto p = log::open_internal_topic(log, k_topic);
  if (!p) return p.error();
  std::unique_ptr<offset_cache> c(new offset_cache(std::move(*p)));
  if (auto r = c->replay(); !r) return r.error();
  return c;
}

void offset_cache::apply(const std::string& group, const topic_partition& tp,
                         std::optional<committed_offset> o) {
  if (o) {
    offsets_[group][tp] = std::move(*o);
    return;
  }
  auto g = offsets_.find(group);
  if (g == offsets_.end()) return;
  g->second.erase(tp);
  if (g->second.empty()) offsets_.erase(g);
}

result<void> offset_cache::replay() {
  std::lock_guard lk(mu_);
  size_t records = 0;
  auto batches =
      log::replay_partition(*partition_, [&](const log::batch_header& h, bytes_view batch) {
        if (h.control()) {
          auto staged = staged_.extract(h.producer_id);
          if (!staged.empty() && log::control_marker(batch) == log::control_type::commit)
            for (auto& [key, o] : staged.mapped())
              apply(key.first, key.second, o.offset >= 0 ? std::optional(o) : std::nullopt);
          return;
        }
        auto res = log::for_each_record(batch, [&](const log::record_view& rv) {
          if (!rv.key) return;
          auto k = offset_store::decode_key(*rv.key);
          if (!k) return;
          std::optional<committed_offset> v;
          if (rv.value) {
            v = offset_store::decode_value(*rv.value);
            if (!v) return;
          }
          ++records;
          if (h.transactional()) {
            staged_[h.producer_id][*k] = v ? *v : committed_offset{};  // offset -1: a tombstone
          } else {
            apply(k->first, k->second, v);
          }
        });
        if (!res) spdlog::warn("{}: skipping a batch: {}", k_topic, res.error().message);
      });
  if (!batches) return batches.error();
  spdlog::info("groups: loaded {} offset records for {} groups ({} open transactions)", records,
               offsets_.size(), staged_.size());
  return {};
}

void offset_cache::write_durably(bytes batch, std::function<void(result<void>)> done) {
  auto r = partition_->append(batch, now_ms());
  if (!r) {
    done(r.error());
    return;
  }
  partition_->when_durable(r->last_offset, std::move(done));
}

namespace {
bytes offsets_batch(const std::string& group, const offset_list& offsets, int64_t now,
                    log::batch_builder& b) {
  for (const auto& [tp, o] : offsets) {
    auto k = offset_store::encode_key(group, tp);
    auto v = offset_store::encode_value(o);
    b.add(bytes_view(k), bytes_view(v), now);
  }
  return b.build();
}
}  // namespace

void offset_cache::commit(const std::string& group, offset_list offsets,
                          std::function<void(result<void>)> done) {
  log::batch_builder b;
  auto batch = offsets_batch(group, offsets, now_ms(), b);
  write_durably(std::move(batch), [this, group, offsets = std::move(offsets),
                                   done = std::move(done)](result<void> ok) mutable {
    if (ok) {
      std::lock_guard lk(mu_);
      for (auto& [tp, o] : offsets)
        apply(group, tp, o);
    }
    done(std::move(ok));
  });
}

void offset_cache::commit_in_transaction(int64_t producer_id, int16_t epoch,
                                         const std::string& group, offset_list offsets,
                                         std::function<void(result<void>)> done) {
  log::batch_builder b;
  b.set_producer(producer_id, epoch, -1, true);
  auto batch = offsets_batch(group, offsets, now_ms(), b);
  result<log::append_result> r = make_error(errc::io_error);
  {
    // Staged in log order, so that a marker always finds what was written before it.
    std::lock_guard lk(mu_);
    r = partition_->append(batch, now_ms());
    if (r)
      for (auto& [tp, o] : offsets)
        staged_[producer_id][{group, tp}] = o;
  }
  if (!r) {
    done(r.error());
    return;
  }
  partition_->when_durable(r->last_offset, std::move(done));
}

void offset_cache::end_transaction(int64_t producer_id, int16_t epoch, log::control_type type,
                                   int32_t coordinator_epoch,
                                   std::function<void(result<void>)> done) {
  std::map<staged_key, committed_offset> staged;
  result<log::append_result> r = make_error(errc::io_error);
  {
    std::lock_guard lk(mu_);
    r = partition_->append_marker(producer_id, epoch, type, coordinator_epoch, now_ms());
    if (r) {
      auto node = staged_.extract(producer_id);
      if (!node.empty() && type == log::control_type::commit) staged = std::move(node.mapped());
    }
  }
  if (!r) {
    done(r.error());
    return;
  }
  partition_->when_durable(r->last_offset, [this, staged = std::move(staged),
                                            done = std::move(done)](result<void> ok) mutable {
    if (ok && !staged.empty()) {
      std::lock_guard lk(mu_);
      for (auto& [key, o] : staged)
        apply(key.first, key.second, o);
    }
    done(std::move(ok));
  });
}

result<bool> offset_cache::erase(const std::string& group,
                                 const std::optional<std::vector<topic_partition>>& which) {
  log::batch_builder b;
  bool had = false;
  {
    std::lock_guard lk(mu_);
    auto g = offsets_.find(group);
    if (g == offsets_.end()) return false;
    had = true;
    int64_t now = now_ms();
    std::vector<topic_partition> doomed;
    if (which) {
      for (const auto& tp : *which)
        if (g->second.contains(tp)) doomed.push_back(tp);
    } else {
      for (const auto& [tp, o] : g->second)
        doomed.push_back(tp);
    }
    for (const auto& tp : doomed) {
      auto k = offset_store::encode_key(group, tp);
      b.add(bytes_view(k), std::nullopt, now);
      apply(group, tp, std::nullopt);
    }
  }
  if (b.empty()) return had;
  std::promise<result<void>> p;
  auto f = p.get_future();
  write_durably(b.build(), [&p](result<void> r) { p.set_value(std::move(r)); });
  if (auto r = f.get(); !r) return r.error();
  return had;
}

offset_list offset_cache::get(const std::string& group,
                              const std::optional<std::vector<topic_partition>>& which) const {
  std::lock_guard lk(mu_);
  offset_list out;
  auto g = offsets_.find(group);
  if (!which) {
    if (g != offsets_.end())
      for (const auto& [tp, o] : g->second)
        out.emplace_back(tp, o);
    return out;
  }
  for (const auto& tp : *which) {
    committed_offset o;
    if (g != offsets_.end()) {
      auto it = g->second.find(tp);
      if (it != g->second.end()) o = it->second;
    }
    out.emplace_back(tp, o);
  }
  return out;
}

bool offset_cache::pending(const std::string& group, const topic_partition& tp) const {
  std::lock_guard lk(mu_);
  for (const auto& [pid, staged] : staged_)
    if (staged.contains({group, tp})) return true;
  return false;
}

bool offset_cache::has_group(const std::string& group) const {
  std::lock_guard lk(mu_);
  return offsets_.contains(group);
}

std::vector<std::string> offset_cache::groups() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [g, o] : offsets_)
    out.push_back(g);
  return out;
}

}  // namespace sluice::group
