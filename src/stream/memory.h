#pragma once
// Estimates of the memory that operator state and views hold, for the per-query and per-view
// limits and metrics. An estimate, not an accounting: heap bytes of values and rows plus a
// fixed overhead per hash or tree node; big containers are sampled (their size times the mean
// of their first entries), so a query can ask for them often.

#include <cstddef>
#include <memory>

#include "stream/aggregate.h"
#include "stream/value.h"

namespace sluice::stream {

// What a node of a std::map / std::unordered_map costs beyond its value (pointers, hash,
// allocator rounding).
inline constexpr size_t k_node_bytes = 48;

size_t approx_bytes(const value& v);
size_t approx_bytes(const row& r);
size_t approx_bytes(const agg_state& s);

template <class T>
size_t approx_bytes(const std::vector<T>& items) {
  size_t n = sizeof(items);
  for (const auto& x : items)
    n += approx_bytes(x);
  return n + (items.capacity() - items.size()) * sizeof(T);
}

// `c.size()` entries of about the mean bytes of its first 16 (`bytes(entry)`), plus node
// overhead.
template <class Container, class F>
size_t sampled_bytes(const Container& c, F bytes) {
  if (c.empty()) return 0;
  size_t seen = 0, total = 0;
  for (const auto& e : c) {
    total += bytes(e);
    if (++seen == 16) break;
  }
  return c.size() * (total / seen + k_node_bytes);
}

}  // namespace sluice::stream
