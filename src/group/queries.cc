// The coordinator's read-only queries: committed offsets, the group list, descriptions, lag.

#include <set>

#include "group/coordinator_impl.h"
#include "log/log.h"

namespace sluice::group {

std::vector<std::pair<topic_partition, committed_offset>> coordinator::fetch(
    const std::string& group_id, const std::optional<std::vector<topic_partition>>& which) const {
  return impl_->offsets->get(group_id, which);
}

bool coordinator::unstable(const std::string& group_id, const topic_partition& tp) const {
  return impl_->offsets->pending(group_id, tp);
}

std::vector<group_overview> coordinator::list() const {
  auto& im = *impl_;
  std::vector<group_overview> out;
  std::set<std::string> seen;
  {
    std::lock_guard lk(im.mu);
    for (const auto& [id, g] : im.groups) {
      out.push_back(g.overview());
      seen.insert(id);
    }
  }
  // Groups known only by their committed offsets are Empty.
  for (auto& id : im.offsets->groups())
    if (!seen.contains(id)) out.push_back({id, "", "Empty"});
  return out;
}

group_description coordinator::describe(const std::string& group_id) const {
  auto& im = *impl_;
  {
    std::lock_guard lk(im.mu);
    auto it = im.groups.find(group_id);
    if (it != im.groups.end()) return it->second.describe();
  }
  group_description d;
  d.group_id = group_id;
  d.state = im.offsets->has_group(group_id) ? "Empty" : "Dead";
  return d;
}

std::vector<partition_lag> coordinator::lag(const std::string& group_id) const {
  auto offsets = fetch(group_id, std::nullopt);
  std::vector<partition_lag> out;
  for (const auto& [tp, o] : offsets) {
    partition_lag l;
    l.tp = tp;
    l.committed = o.offset;
    auto t = impl_->log.find_topic(tp.topic);
    auto p = t ? t->get(tp.partition) : nullptr;
    if (p) {
      l.end = p->high_watermark().value();
      l.stable = p->last_stable_offset().value();
      l.lag = o.offset >= 0 ? std::max<int64_t>(0, l.stable - o.offset) : l.stable;
    }
    out.push_back(l);
  }
  return out;
}

}  // namespace sluice::group
