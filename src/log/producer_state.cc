#include "log/producer_state.h"

#include <algorithm>

#include "base/crc32c.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace {
int32_t next_seq(int32_t s) {
  return s == INT32_MAX ? 0 : s + 1;
}
}  // namespace

bool in_aborted_transaction(const batch_header& h,
                            const std::vector<aborted_transaction>& aborted) {
  if (!h.transactional() || h.control()) return false;
  for (const auto& a : aborted)
    if (a.producer_id == h.producer_id && h.base_offset >= a.first_offset &&
        h.base_offset < a.last_offset)
      return true;
  return false;
}

result<producer_state::check_result> producer_state::check(const batch_header& h) const {
  auto it = producers_.find(h.producer_id);
  if (it == producers_.end()) return check_result{};  // new, or older than what we keep
  const entry& e = it->second;
  if (h.producer_epoch < e.epoch)
    return make_error(errc::invalid_producer_epoch,
                      "producer epoch " + std::to_string(h.producer_epoch) +
                          " is older than the current epoch " + std::to_string(e.epoch));
  // A marker closes whatever the producer has open; it carries no sequence, nor do the
  // broker's own transactional writes (offsets committed in a transaction).
  if (h.control() || h.base_sequence < 0) return check_result{};
  if (!h.transactional() && e.txn_first_offset >= 0 && h.producer_epoch == e.epoch)
    return make_error(errc::invalid_txn_state,
                      "a non-transactional batch from a producer whose transaction is open");
  if (h.producer_epoch > e.epoch) {
    if (h.base_sequence != 0)
      return make_error(
          errc::out_of_order_sequence,
          "a new producer epoch must start at sequence 0, got " + std::to_string(h.base_sequence));
    return check_result{};
  }
  if (e.batches.empty()) return check_result{};
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

void producer_state::record(const batch_header& h, std::optional<control_type> marker) {
  if (h.producer_id < 0) return;
  entry& e = producers_[h.producer_id];
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.batches.clear();
  }
  if (h.control()) {
    if (e.txn_first_offset >= 0) {
      if (marker == control_type::abort)
        aborted_.push_back({h.producer_id, e.txn_first_offset, h.base_offset});
      open_.erase(e.txn_first_offset);
      e.txn_first_offset = -1;
    }
    return;
  }
  if (h.transactional() && e.txn_first_offset < 0) {
    e.txn_first_offset = h.base_offset;
    open_.emplace(h.base_offset, h.producer_id);
  }
  if (h.base_sequence < 0) return;
  e.batches.push_back({h.base_sequence, h.last_sequence(), h.base_offset});
  while (e.batches.size() > format::k_producer_window)
    e.batches.pop_front();
}

std::optional<int64_t> producer_state::first_unstable_offset() const {
  if (open_.empty()) return std::nullopt;
  return open_.begin()->first;
}

std::vector<aborted_transaction> producer_state::aborted_between(int64_t from, int64_t to) const {
  std::vector<aborted_transaction> out;
  auto it = std::lower_bound(
      aborted_.begin(), aborted_.end(), from,
      [](const aborted_transaction& a, int64_t off) { return a.last_offset < off; });
  for (; it != aborted_.end(); ++it)
    if (it->first_offset < to) out.push_back(*it);
  return out;
}

void producer_state::trim(int64_t log_start) {
  auto it = std::lower_bound(
      aborted_.begin(), aborted_.end(), log_start,
      [](const aborted_transaction& a, int64_t off) { return a.last_offset < off; });
  aborted_.erase(aborted_.begin(), it);
}

std::vector<producer_state::producer_info> producer_state::producers() const {
  std::vector<producer_info> out;
  for (const auto& [pid, e] : producers_)
    out.push_back(
        {pid, e.epoch, e.batches.empty() ? -1 : e.batches.back().last_seq, e.txn_first_offset});
  return out;
}

bytes producer_state::serialize() const {
  bytes out(12);
  auto put = [&out](const void* p, size_t n) {
    out.insert(out.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  };
  for (const auto& [pid, e] : producers_) {
    uint8_t buf[19];
    store_be64(buf, static_cast<uint64_t>(pid));
    store_be16(buf + 8, static_cast<uint16_t>(e.epoch));
    store_be64(buf + 10, static_cast<uint64_t>(e.txn_first_offset));
    buf[18] = static_cast<uint8_t>(e.batches.size());
    put(buf, sizeof buf);
    for (const auto& b : e.batches) {
      uint8_t bb[16];
      store_be32(bb, static_cast<uint32_t>(b.first_seq));
      store_be32(bb + 4, static_cast<uint32_t>(b.last_seq));
      store_be64(bb + 8, static_cast<uint64_t>(b.base_offset));
      put(bb, sizeof bb);
    }
  }
  uint8_t n[4];
  store_be32(n, static_cast<uint32_t>(aborted_.size()));
  put(n, sizeof n);
  for (const auto& a : aborted_) {
    uint8_t buf[24];
    store_be64(buf, static_cast<uint64_t>(a.producer_id));
    store_be64(buf + 8, static_cast<uint64_t>(a.first_offset));
    store_be64(buf + 16, static_cast<uint64_t>(a.last_offset));
    put(buf, sizeof buf);
  }
  store_be32(out.data(), format::k_producer_snapshot_magic_v2);
  store_be32(out.data() + 8, static_cast<uint32_t>(producers_.size()));
  store_be32(out.data() + 4, crc32c(out.data() + 8, out.size() - 8));
  return out;
}

result<producer_state> producer_state::deserialize(bytes_view data) {
  auto bad = [] { return make_error(errc::corrupt_batch, "corrupt producer snapshot"); };
  if (data.size() < 12) return bad();
  const uint32_t magic = load_be32(data.data());
  const bool v2 = magic == format::k_producer_snapshot_magic_v2;
  if (!v2 && magic != format::k_producer_snapshot_magic) return bad();
  if (load_be32(data.data() + 4) != crc32c(data.data() + 8, data.size() - 8)) return bad();
  const size_t fixed = v2 ? 19 : 11;
  uint32_t n = load_be32(data.data() + 8);
  size_t pos = 12;
  producer_state s;
  for (uint32_t i = 0; i < n; ++i) {
    if (pos + fixed > data.size()) return bad();
    auto pid = static_cast<int64_t>(load_be64(data.data() + pos));
    entry e;
    e.epoch = static_cast<int16_t>(load_be16(data.data() + pos + 8));
    if (v2) e.txn_first_offset = static_cast<int64_t>(load_be64(data.data() + pos + 10));
    size_t count = data[pos + fixed - 1];
    pos += fixed;
    if (count > format::k_producer_window || pos + count * 16 > data.size()) return bad();
    for (size_t k = 0; k < count; ++k, pos += 16) {
      e.batches.push_back({static_cast<int32_t>(load_be32(data.data() + pos)),
                           static_cast<int32_t>(load_be32(data.data() + pos + 4)),
                           static_cast<int64_t>(load_be64(data.data() + pos + 8))});
    }
    if (e.txn_first_offset >= 0) s.open_.emplace(e.txn_first_offset, pid);
    s.producers_.emplace(pid, std::move(e));
  }
  if (v2) {
    if (pos + 4 > data.size()) return bad();
    uint32_t aborted = load_be32(data.data() + pos);
    pos += 4;
    if ((data.size() - pos) / 24 < aborted) return bad();
    for (uint32_t i = 0; i < aborted; ++i, pos += 24)
      s.aborted_.push_back({static_cast<int64_t>(load_be64(data.data() + pos)),
                            static_cast<int64_t>(load_be64(data.data() + pos + 8)),
                            static_cast<int64_t>(load_be64(data.data() + pos + 16))});
  }
  if (pos != data.size()) return bad();
  return s;
}

}  // namespace sluice::log
