#include "stream/memory.h"

namespace sluice::stream {

namespace {

// Heap bytes of a std::string beyond the object (short strings live inside it).
size_t string_heap(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

}  // namespace

size_t approx_bytes(const value& v) {
  size_t n = sizeof(value) + v.heap_bytes();
  if (const nested* nv = v.nest()) {
    n += sizeof(nested);
    for (const auto& name : nv->names)
      n += sizeof(std::string) + string_heap(name);
    for (const auto& item : nv->items)
      n += approx_bytes(item);
  }
  return n;
}

size_t approx_bytes(const row& r) {
  size_t n = sizeof(row) + (r.capacity() - r.size()) * sizeof(value);
  for (const auto& v : r)
    n += approx_bytes(v);
  return n;
}

size_t approx_bytes(const agg_state& s) {
  size_t n = sizeof(agg_state) + approx_bytes(s.extreme) - sizeof(value);
  // DISTINCT sets and retraction counts grow with their inputs: sampled.
  if (s.seen) n += sampled_bytes(*s.seen, [](const value& v) { return approx_bytes(v); });
  if (s.values)
    n += sampled_bytes(*s.values, [](const auto& e) { return approx_bytes(e.first) + 8; });
  return n;
}

}  // namespace sluice::stream
