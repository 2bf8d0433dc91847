#include "connect/state_topic.h"

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/wait_callback.h"
#include "log/internal_topic.h"
#include "log/log.h"
#include "log/partition.h"
#include "log/records.h"
#include "log/replay.h"

namespace sluice::connect {

namespace {
std::string_view text(bytes_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
}  // namespace

result<std::unique_ptr<state_topic>> state_topic::open(log::log& l, std::string name) {
  std::unique_ptr<state_topic> t(new state_topic(l, std::move(name)));
  if (!l.find_topic(t->name_)) return t;
  auto p = log::open_internal_topic(l, t->name_);
  if (!p) return p.error();
  t->topic_ = std::move(*p);
  auto replayed = log::replay_partition(*t->topic_, [&](const log::batch_header&, bytes_view b) {
    auto r = log::for_each_record(b, [&](const log::record_view& rv) {
      if (!rv.key) return;
      if (rv.value)
        t->map_[std::string(text(*rv.key))] = std::string(text(*rv.value));
      else
        t->map_.erase(std::string(text(*rv.key)));
    });
    if (!r) spdlog::warn("{}: skipping a batch: {}", t->name_, r.error().message);
  });
  if (!replayed) return replayed.error();
  return t;
}

result<void> state_topic::put(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& entries) {
  if (entries.empty()) return {};
  std::unique_lock lk(mu_);
  if (!topic_) {
    auto p = log::open_internal_topic(log_, name_);
    if (!p) return p.error();
    topic_ = std::move(*p);
  }
  log::batch_builder b;
  int64_t now = now_ms();
  for (const auto& [k, v] : entries) {
    std::optional<bytes_view> value;
    if (v) value = as_bytes(*v);
    b.add(as_bytes(k), value, now);
  }
  auto batch = b.build();
  auto appended = topic_->append(batch, now);
  if (!appended) return appended.error();
  // Applied once durable, in append order (puts serialize on mu_).
  auto durable = wait_callback<result<void>>(
      [&](auto done) { topic_->when_durable(appended->last_offset, std::move(done)); });
  if (!durable) return durable;
  for (const auto& [k, v] : entries)
    if (v)
      map_[k] = *v;
    else
      map_.erase(k);
  return {};
}

std::optional<std::string> state_topic::get(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::string> state_topic::all() const {
  std::lock_guard lk(mu_);
  return map_;
}

}  // namespace sluice::connect
