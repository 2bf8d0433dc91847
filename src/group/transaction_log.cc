#include "group/transaction_log.h"

#include <algorithm>
#include <map>
#include <vector>

namespace sluice::group {

const char* txn_state_name(txn_state s) {
  switch (s) {
    case txn_state::empty:
      return "Empty";
    case txn_state::ongoing:
      return "Ongoing";
    case txn_state::prepare_commit:
      return "PrepareCommit";
    case txn_state::prepare_abort:
      return "PrepareAbort";
    case txn_state::complete_commit:
      return "CompleteCommit";
    case txn_state::complete_abort:
      return "CompleteAbort";
    case txn_state::dead:
      return "Dead";
    case txn_state::prepare_epoch_fence:
      return "PrepareEpochFence";
  }
  return "Unknown";
}

namespace transaction_log {

namespace {

uint8_t* grow(bytes& b, size_t n) {
  b.resize(b.size() + n);
  return b.data() + b.size() - n;
}
void put16(bytes& b, uint16_t v) {
  store_be16(grow(b, 2), v);
}
void put32(bytes& b, uint32_t v) {
  store_be32(grow(b, 4), v);
}
void put64(bytes& b, uint64_t v) {
  store_be64(grow(b, 8), v);
}
void put_str(bytes& b, const std::string& s) {
  put16(b, static_cast<uint16_t>(s.size()));
  std::copy(s.begin(), s.end(), grow(b, s.size()));
}

class cursor {
 public:
  explicit cursor(bytes_view b) : b_(b) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == b_.size(); }
  uint16_t u16() { return need(2) ? load_be16(b_.data() + adv(2)) : 0; }
  uint32_t u32() { return need(4) ? load_be32(b_.data() + adv(4)) : 0; }
  uint64_t u64() { return need(8) ? load_be64(b_.data() + adv(8)) : 0; }
  uint8_t u8() { return need(1) ? b_[adv(1)] : 0; }
  std::string str() {
    size_t n = u16();
    if (!need(n)) return {};
    const auto* p = reinterpret_cast<const char*>(b_.data() + adv(n));
    return std::string(p, n);
  }

 private:
  bool need(size_t n) {
    ok_ = ok_ && b_.size() - pos_ >= n;
    return ok_;
  }
  size_t adv(size_t n) {
    size_t p = pos_;
    pos_ += n;
    return p;
  }
  bytes_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

bytes encode_key(const std::string& transactional_id) {
  bytes b;
  put16(b, 0);
  put_str(b, transactional_id);
  return b;
}

bytes encode_value(const txn_record& r) {
  std::map<std::string, std::vector<int32_t>> topics;
  for (const auto& tp : r.partitions)
    topics[tp.topic].push_back(tp.partition);
  bytes b;
  put16(b, 0);
  put64(b, static_cast<uint64_t>(r.producer_id));
  put16(b, static_cast<uint16_t>(r.epoch));
  put32(b, static_cast<uint32_t>(r.timeout_ms));
  *grow(b, 1) = static_cast<uint8_t>(r.state);
  put32(b, static_cast<uint32_t>(topics.size()));
  for (const auto& [topic, parts] : topics) {
    put_str(b, topic);
    put32(b, static_cast<uint32_t>(parts.size()));
    for (int32_t p : parts)
      put32(b, static_cast<uint32_t>(p));
  }
  put64(b, static_cast<uint64_t>(r.update_ms));
  put64(b, static_cast<uint64_t>(r.start_ms));
  return b;
}

std::optional<std::string> decode_key(bytes_view k) {
  cursor c(k);
  if (c.u16() != 0) return std::nullopt;
  auto id = c.str();
  if (!c.done()) return std::nullopt;
  return id;
}

std::optional<txn_record> decode_value(bytes_view v) {
  cursor c(v);
  if (c.u16() != 0) return std::nullopt;
  txn_record r;
  r.producer_id = static_cast<int64_t>(c.u64());
  r.epoch = static_cast<int16_t>(c.u16());
  r.timeout_ms = static_cast<int32_t>(c.u32());
  uint8_t state = c.u8();
  if (state > static_cast<uint8_t>(txn_state::prepare_epoch_fence)) return std::nullopt;
  r.state = static_cast<txn_state>(state);
  uint32_t topics = c.u32();
  for (uint32_t i = 0; c.ok() && i < topics; ++i) {
    auto topic = c.str();
    uint32_t n = c.u32();
    for (uint32_t j = 0; c.ok() && j < n; ++j)
      r.partitions.insert({topic, static_cast<int32_t>(c.u32())});
  }
  r.update_ms = static_cast<int64_t>(c.u64());
  r.start_ms = static_cast<int64_t>(c.u64());
  if (!c.done()) return std::nullopt;
  return r;
}

}  // namespace transaction_log

}  // namespace sluice::group
