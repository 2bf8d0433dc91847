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
  appender a(1 + 2 + group.size() + 2 + tp.topic.size() + 4);
  a.u8(1);
  a.str(group);
  a.str(tp.topic);
  a.u32(static_cast<uint32_t>(tp.partition));
  return a.take();
}

bytes encode_value(const committed_offset& o) {
  appender a(1 + 8 + 4 + 2 + o.metadata.size() + 8);
  a.u8(1);
  a.u64(static_cast<uint64_t>(o.offset));
  a.u32(static_cast<uint32_t>(o.leader_epoch));
  a.str(o.metadata);
  a.u64(static_cast<uint64_t>(o.commit_ms));
  return a.take();
}

std::optional<std::pair<std::string, topic_partition>> decode_key(bytes_view k) {
  if (k.empty() || k[0] != 1) return std::nullopt;
  size_t pos = 1;
  std::pair<std::string, topic_partition> out;
  if (!get_str(k, pos, out.first) || !get_str(k, pos, out.second.topic) || pos + 4 != k.size())
    return std::nullopt;
  out.second.partition = static_cast<int32_t>(load_be32(k.data() + pos));
  return out;
}

std::optional<committed_offset> decode_value(bytes_view v) {
  if (v.size() < 13 || v[0] != 1) return std::nullopt;
  committed_offset o;
  o.offset = static_cast<int64_t>(load_be64(v.data() + 1));
  o.leader_epoch = static_cast<int32_t>(load_be32(v.data() + 9));
  size_t pos = 13;
  if (!get_str(v, pos, o.metadata) || pos + 8 != v.size()) return std::nullopt;
  o.commit_ms = static_cast<int64_t>(load_be64(v.data() + pos));
  return o;
}

}  // namespace sluice::group::offset_store
