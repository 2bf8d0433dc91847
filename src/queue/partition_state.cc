#include "queue/partition_state.h"

#include <algorithm>

#include "queue/journal.h"
#include "stream/state_codec.h"

namespace sluice::queue {

namespace {

// Offsets in [from, to) become known (delivered or held back) without a lease: make them ready.
template <class Set>
void fill(Set& ready, int64_t from, int64_t to) {
  for (int64_t o = from; o < to; ++o)
    ready.insert(o);
}

}  // namespace

std::vector<int64_t> partition_state::candidates(size_t n, int64_t now, int64_t end) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    int64_t o = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    delay_of_.erase(o);
    ready_.insert(o);
  }
  std::vector<int64_t> out;
  for (auto it = ready_.begin(); it != ready_.end() && out.size() < n; ++it)
    out.push_back(*it);
  for (int64_t o = cursor_; o < end && out.size() < n; ++o)
    out.push_back(o);
  return out;
}

lease partition_state::take(int64_t offset, int64_t deadline, const std::string& consumer) {
  if (offset >= cursor_) {
    fill(ready_, cursor_, offset);  // skipped candidates stay deliverable
    cursor_ = offset + 1;
  }
  ready_.erase(offset);
  undelay(offset);
  if (auto old = leases_.find(offset); old != leases_.end()) drop_lease(old);
  lease l{offset, next_lease_++, ++attempts_[offset], deadline, consumer};
  leases_[offset] = l;
  deadlines_.emplace(deadline, offset);
  return l;
}

partition_state::outcome partition_state::ack(int64_t offset, uint64_t lease_id) {
  auto it = leases_.find(offset);
  if (it == leases_.end() || it->second.id != lease_id) return outcome::stale;
  settle(offset);
  return outcome::ok;
}

partition_state::outcome partition_state::release(int64_t offset, uint64_t lease_id,
                                                  int64_t available_at) {
  auto it = leases_.find(offset);
  if (it == leases_.end() || it->second.id != lease_id) return outcome::stale;
  drop_lease(it);
  delayed_.emplace(available_at, offset);
  delay_of_[offset] = available_at;
  return outcome::ok;
}

const lease* partition_state::leased(int64_t offset, uint64_t lease_id) const {
  auto it = leases_.find(offset);
  return it == leases_.end() || it->second.id != lease_id ? nullptr : &it->second;
}

partition_state::outcome partition_state::extend(int64_t offset, uint64_t lease_id,
                                                 int64_t deadline) {
  auto it = leases_.find(offset);
  if (it == leases_.end() || it->second.id != lease_id) return outcome::stale;
  deadlines_.erase({it->second.deadline, offset});
  it->second.deadline = deadline;
  deadlines_.emplace(deadline, offset);
  return outcome::ok;
}

std::vector<lease> partition_state::expired(int64_t now) const {
  std::vector<lease> out;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it)
    out.push_back(leases_.at(it->second));
  return out;
}

void partition_state::undelay(int64_t offset) {
  auto d = delay_of_.find(offset);
  if (d == delay_of_.end()) return;
  auto range = delayed_.equal_range(d->second);
  for (auto it = range.first; it != range.second; ++it)
    if (it->second == offset) {
      delayed_.erase(it);
      break;
    }
  delay_of_.erase(d);
}

void partition_state::drop_lease(std::map<int64_t, lease>::iterator it) {
  deadlines_.erase({it->second.deadline, it->first});
  leases_.erase(it);
}

void partition_state::settle(int64_t offset) {
  settle(offset, offset + 1);
}

void partition_state::settle(int64_t begin, int64_t end) {
  begin = std::max(begin, floor_);
  if (begin >= end) return;
  if (end > cursor_) {
    fill(ready_, cursor_, begin);
    cursor_ = end;
  }
  if (end - begin <= 64) {  // an ack: look each offset up
    for (int64_t o = begin; o < end; ++o) {
      if (auto l = leases_.find(o); l != leases_.end()) drop_lease(l);
      ready_.erase(o);
      attempts_.erase(o);
      undelay(o);
    }
  } else {  // retention removed a range, maybe millions of offsets: visit what is held instead
    auto in = [&](int64_t o) { return o >= begin && o < end; };
    for (auto it = leases_.lower_bound(begin); it != leases_.end() && it->first < end;)
      drop_lease(it++);
    ready_.erase(ready_.lower_bound(begin), ready_.lower_bound(end));
    std::erase_if(attempts_, [&](const auto& kv) { return in(kv.first); });
    std::vector<int64_t> delayed;
    for (const auto& [o, at] : delay_of_)
      if (in(o)) delayed.push_back(o);
    for (int64_t o : delayed)
      undelay(o);
  }
  settled_.add(begin, end);
  advance_floor();
}

void partition_state::delivered(int64_t offset, uint32_t attempts) {
  if (is_settled(offset)) return;
  if (offset >= cursor_) {
    fill(ready_, cursor_, offset);
    cursor_ = offset + 1;
    if (!delay_of_.count(offset)) ready_.insert(offset);
  }
  attempts_[offset] = std::max(attempts_[offset], attempts);
}

void partition_state::delay(int64_t offset, int64_t available_at) {
  if (is_settled(offset) || leases_.count(offset)) return;
  if (offset >= cursor_) {
    fill(ready_, cursor_, offset);
    cursor_ = offset + 1;
  }
  ready_.erase(offset);
  undelay(offset);
  delayed_.emplace(available_at, offset);
  delay_of_[offset] = available_at;
}

void partition_state::replay(const event& e, int64_t end) {
  switch (e.k) {
    case event::kind::settle:
      settle(e.a, std::min(e.b, end));
      break;
    case event::kind::delivered:
      if (e.a < end) delivered(e.a, static_cast<uint32_t>(e.b));
      break;
    case event::kind::delay:
      if (e.a < end) delay(e.a, e.b);
      break;
  }
}

void partition_state::drop_leases() {
  for (const auto& [o, l] : leases_)
    ready_.insert(o);
  leases_.clear();
  deadlines_.clear();
}

uint32_t partition_state::attempts(int64_t offset) const {
  auto it = attempts_.find(offset);
  return it == attempts_.end() ? 0 : it->second;
}

int64_t partition_state::ready(int64_t now, int64_t end) const {
  int64_t n = static_cast<int64_t>(ready_.size()) + std::max<int64_t>(0, end - cursor_);
  for (auto it = delayed_.begin(); it != delayed_.end() && it->first <= now; ++it)
    ++n;
  return n;
}

size_t partition_state::delayed(int64_t now) const {
  size_t n = 0;
  for (auto it = delayed_.upper_bound(now); it != delayed_.end(); ++it)
    ++n;
  return n;
}

std::optional<int64_t> partition_state::next_due() const {
  std::optional<int64_t> out;
  if (!delayed_.empty()) out = delayed_.begin()->first;
  if (!deadlines_.empty() && (!out || deadlines_.begin()->first < *out))
    out = deadlines_.begin()->first;
  return out;
}

void partition_state::truncate_below(int64_t start) {
  if (start <= floor_) return;
  settle(floor_, start);
}

void partition_state::advance_floor() {
  for (;;) {
    int64_t next = settled_.take_from(floor_);
    if (next == floor_) break;
    floor_ = next;
  }
}

void partition_state::snapshot(stream::state_writer& w) const {
  w.put_varint(floor_);
  w.put_varint(cursor_);
  w.put_varint(static_cast<int64_t>(settled_.range_count()));
  for (const auto& [b, e] : settled_.ranges()) {
    w.put_varint(b);
    w.put_varint(e - b);
  }
  w.put_varint(static_cast<int64_t>(attempts_.size()));
  for (const auto& [o, n] : attempts_) {
    w.put_varint(o);
    w.put_varint(n);
  }
  w.put_varint(static_cast<int64_t>(delay_of_.size()));
  for (const auto& [o, at] : delay_of_) {
    w.put_varint(o);
    w.put_varint(at);
  }
}

void partition_state::restore(stream::state_reader& r) {
  *this = partition_state();
  floor_ = r.varint();
  cursor_ = r.varint();
  for (int64_t n = r.varint(); n > 0; --n) {
    int64_t b = r.varint(), len = r.varint();
    if (len < 0 || b > INT64_MAX - len)
      throw stream::corrupt_state("a settled range out of bounds");
    settled_.add(b, b + len);
  }
  for (int64_t n = r.varint(); n > 0; --n) {
    int64_t o = r.varint();
    attempts_[o] = static_cast<uint32_t>(r.varint());
  }
  for (int64_t n = r.varint(); n > 0; --n) {
    int64_t o = r.varint();
    int64_t at = r.varint();
    delayed_.emplace(at, o);
    delay_of_[o] = at;
  }
  // Everything delivered but neither settled nor held back is ready again: the gaps between
  // the settled ranges (not every offset: millions may lie between the floor and the cursor).
  int64_t o = floor_;
  auto ready_until = [&](int64_t until) {
    for (; o < std::min(until, cursor_); ++o)
      if (!delay_of_.count(o)) ready_.insert(o);
  };
  for (const auto& [b, e] : settled_.ranges()) {
    ready_until(b);
    o = std::max(o, e);
  }
  ready_until(cursor_);
}

}  // namespace sluice::queue
