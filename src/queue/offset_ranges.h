#pragma once
// A set of offsets kept as disjoint half-open ranges [begin, end): settled messages of a queue
// partition, stored compactly however many were acknowledged.

#include <cstdint>
#include <iterator>
#include <map>

namespace sluice::queue {

class offset_ranges {
 public:
  // Adds [begin, end), merging with neighbours.
  void add(int64_t begin, int64_t end) {
    if (begin >= end) return;
    auto it = ranges_.upper_bound(begin);
    if (it != ranges_.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= begin) {  // overlaps or touches the previous range
        begin = prev->first;
        end = std::max(end, prev->second);
        it = ranges_.erase(prev);
      }
    }
    while (it != ranges_.end() && it->first <= end) {
      end = std::max(end, it->second);
      it = ranges_.erase(it);
    }
    ranges_.emplace(begin, end);
  }
  void add(int64_t offset) { add(offset, offset + 1); }

  bool contains(int64_t offset) const {
    auto it = ranges_.upper_bound(offset);
    return it != ranges_.begin() && std::prev(it)->second > offset;
  }

  // Removes the range that starts at `floor`, if any, and returns its end (else `floor`):
  // how far a floor of settled offsets advances.
  int64_t take_from(int64_t floor) {
    auto it = ranges_.find(floor);
    if (it == ranges_.end()) return floor;
    int64_t end = it->second;
    ranges_.erase(it);
    return end;
  }

  // Drops everything below `floor`.
  void trim(int64_t floor) {
    while (!ranges_.empty() && ranges_.begin()->second <= floor)
      ranges_.erase(ranges_.begin());
    if (!ranges_.empty() && ranges_.begin()->first < floor) {
      int64_t end = ranges_.begin()->second;
      ranges_.erase(ranges_.begin());
      ranges_.emplace(floor, end);
    }
  }

  size_t range_count() const { return ranges_.size(); }
  // Offsets held (the sum of the ranges' lengths).
  int64_t size() const {
    int64_t n = 0;
    for (const auto& [b, e] : ranges_)
      n += e - b;
    return n;
  }
  const std::map<int64_t, int64_t>& ranges() const { return ranges_; }

 private:
  std::map<int64_t, int64_t> ranges_;  // begin -> end
};

}  // namespace sluice::queue
