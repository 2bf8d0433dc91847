#include "log/producer_state.h"

#include "base/crc32c.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace {
int32_t next_seq(int32_t s) {
  return s == INT32_MAX ? 0 : s + 1;
}
}  // namespace

result<producer_state::check_result> producer_state::check(const batch_header& h) const {
  auto it = producers_.find(h.producer_id);
  if (it == producers_.end() || it->second.batches.empty()) {
    // A producer we have no state for (new, or its state predates what we keep): accept.
    return check_result{};
  }
  const entry& e = it->second;
  if (h.producer_epoch < e.epoch)
    return make_error(errc::invalid_producer_epoch,
                      "producer epoch " + std::to_string(h.producer_epoch) +
                          " is older than the current epoch " + std::to_string(e.epoch));
  if (h.producer_epoch > e.epoch) {
    if (h.base_sequence != 0)
      return make_error(
          errc::out_of_order_sequence,
          "a new producer epoch must start at sequence 0, got " + std::to_string(h.base_sequence));
    return check_result{};
  }
  for (const auto& b : e.batches) {
    if (b.first_seq == h.base_sequence && b.last_seq == h.last_sequence())
      return check_result{verdict::duplicate, b.base_offset};
  }
  int32_t expected = next_seq(e.batches.back().last_seq);
  if (h.base_sequence != expected)
    return make_error(errc::out_of_order_sequence, "expected sequence " + std::to_string(expected) +
                                                       ", got " + std::to_string(h.base_sequence));
  return check_result{};
}

void producer_state::record(const batch_header& h) {
  if (h.producer_id < 0) return;
  entry& e = producers_[h.producer_id];
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.batches.clear();
  }
  e.batches.push_back({h.base_sequence, h.last_sequence(), h.base_offset});
  while (e.batches.size() > format::k_producer_window)
    e.batches.pop_front();
}

bytes producer_state::serialize() const {
  bytes out(12);
  auto put = [&out](const void* p, size_t n) {
    out.insert(out.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  };
  for (const auto& [pid, e] : producers_) {
    uint8_t buf[11];
    store_be64(buf, static_cast<uint64_t>(pid));
    store_be16(buf + 8, static_cast<uint16_t>(e.epoch));
    buf[10] = static_cast<uint8_t>(e.batches.size());
    put(buf, sizeof buf);
    for (const auto& b : e.batches) {
      uint8_t bb[16];
      store_be32(bb, static_cast<uint32_t>(b.first_seq));
      store_be32(bb + 4, static_cast<uint32_t>(b.last_seq));
      store_be64(bb + 8, static_cast<uint64_t>(b.base_offset));
      put(bb, sizeof bb);
    }
  }
  store_be32(out.data(), format::k_producer_snapshot_magic);
  store_be32(out.data() + 8, static_cast<uint32_t>(producers_.size()));
  store_be32(out.data() + 4, crc32c(out.data() + 8, out.size() - 8));
  return out;
}

result<producer_state> producer_state::deserialize(bytes_view data) {
  auto bad = [] { return make_error(errc::corrupt_batch, "corrupt producer snapshot"); };
  if (data.size() < 12 || load_be32(data.data()) != format::k_producer_snapshot_magic) return bad();
  if (load_be32(data.data() + 4) != crc32c(data.data() + 8, data.size() - 8)) return bad();
  uint32_t n = load_be32(data.data() + 8);
  size_t pos = 12;
  producer_state s;
  for (uint32_t i = 0; i < n; ++i) {
    if (pos + 11 > data.size()) return bad();
    auto pid = static_cast<int64_t>(load_be64(data.data() + pos));
    entry e;
    e.epoch = static_cast<int16_t>(load_be16(data.data() + pos + 8));
    size_t count = data[pos + 10];
    pos += 11;
    if (count > format::k_producer_window || pos + count * 16 > data.size()) return bad();
    for (size_t k = 0; k < count; ++k, pos += 16) {
      e.batches.push_back({static_cast<int32_t>(load_be32(data.data() + pos)),
                           static_cast<int32_t>(load_be32(data.data() + pos + 4)),
                           static_cast<int64_t>(load_be64(data.data() + pos + 8))});
    }
    s.producers_.emplace(pid, std::move(e));
  }
  if (pos != data.size()) return bad();
  return s;
}

}  // namespace sluice::log
