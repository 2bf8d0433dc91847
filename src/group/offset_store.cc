#include "group/offset_store.h"

namespace sluice::group::offset_store {

namespace {

// Fixed-size writer over a buffer sized up front (one allocation, no reallocation).
class appender {
 public:
  explicit appender(size_t n) : out_(n) {}
  void u8(uint8_t v) { out_[pos_++] = v; }
  void u16(uint16_t v) { store_be16(&out_[pos_], v), pos_ += 2; }
  void u32(uint32_t v) { store_be32(&out_[pos_], v), pos_ += 4; }
  void u64(uint64_t v) { store_be64(&out_[pos_], v), pos_ += 8; }
  void str(const std::string& s) {
    u16(static_cast<uint16_t>(s.size()));
    std::copy(s.begin(), s.end(), out_.begin() + static_cast<long>(pos_));
    pos_ += s.size();
  }
  bytes take() { return std::move(out_); }

 private:
  bytes out_;
  size_t pos_ = 0;
};

bool get_str(bytes_view b, size_t& pos, std::string& out) {
  if (pos + 2 > b.size()) return false;
  size_t n = load_be16(b.data() + pos);
  pos += 2;
  if (pos + n > b.size()) return false;
  out.assign(reinterpret_cast<const char*>(b.data() + pos), n);
  pos += n;
  return true;
}

}  // namespace

bytes encode_key(const std::string& group, const topic_partition& tp) {
  appender a(2 + 2 + group.size() + 2 + tp.topic.size() + 4);
  a.u16(1);
  a.str(group);
  a.str(tp.topic);
  a.u32(static_cast<uint32_t>(tp.partition));
  return a.take();
}

bytes encode_value(const committed_offset& o) {
  appender a(2 + 8 + 4 + 2 + o.metadata.size() + 8);
  a.u16(3);
  a.u64(static_cast<uint64_t>(o.offset));
  a.u32(static_cast<uint32_t>(o.leader_epoch));
  a.str(o.metadata);
  a.u64(static_cast<uint64_t>(o.commit_ms));
  return a.take();
}

std::optional<std::pair<std::string, topic_partition>> decode_key(bytes_view k) {
  // Kafka's versions 0 and 1 (i16 0 or 1), or sluice's first format (u8 1).
  size_t pos = 0;
  if (k.size() >= 2 && k[0] == 0 && (k[1] == 0 || k[1] == 1)) {
    pos = 2;
  } else if (!k.empty() && k[0] == 1) {
    pos = 1;
  } else {
    return std::nullopt;
  }
  std::pair<std::string, topic_partition> out;
  if (!get_str(k, pos, out.first) || !get_str(k, pos, out.second.topic) || pos + 4 != k.size())
    return std::nullopt;
  out.second.partition = static_cast<int32_t>(load_be32(k.data() + pos));
  return out;
}

std::optional<committed_offset> decode_value(bytes_view v) {
  committed_offset o;
  size_t pos = 0;
  if (v.size() >= 2 && v[0] == 0 && v[1] == 3) {
    pos = 2;  // Kafka's version 3
  } else if (!v.empty() && v[0] == 1) {
    pos = 1;  // sluice's first format
  } else {
    return std::nullopt;
  }
  if (v.size() < pos + 12) return std::nullopt;
  o.offset = static_cast<int64_t>(load_be64(v.data() + pos));
  o.leader_epoch = static_cast<int32_t>(load_be32(v.data() + pos + 8));
  pos += 12;
  if (!get_str(v, pos, o.metadata) || pos + 8 != v.size()) return std::nullopt;
  o.commit_ms = static_cast<int64_t>(load_be64(v.data() + pos));
  return o;
}

}  // namespace sluice::group::offset_store
