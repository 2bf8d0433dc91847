#include "log/records.h"

#include "base/crc32c.h"
#include "log/compression.h"
#include "log/record_batch.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace {

void put_varint(bytes& out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}

class cursor {
 public:
  cursor(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  bool varint(int64_t& out) {
    uint64_t z = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return false;
      uint8_t b = *p_++;
      z |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        out = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
        return true;
      }
    }
    return false;
  }
  bool bytes_field(std::optional<bytes_view>& out) {
    int64_t len;
    if (!varint(len)) return false;
    if (len < 0) {
      out.reset();
      return true;
    }
    if (len > end_ - p_) return false;
    out = bytes_view(p_, static_cast<size_t>(len));
    p_ += len;
    return true;
  }
  bool skip(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }
  const uint8_t* pos() const { return p_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace

result<void> for_each_record(bytes_view batch, const std::function<void(const record_view&)>& fn) {
  if (batch.size() < format::k_batch_header_size)
    return make_error(errc::corrupt_batch, "batch shorter than its header");
  auto h = parse_batch_header(batch.data());
  if (h.size_bytes() > batch.size()) return make_error(errc::corrupt_batch, "truncated batch");
  if (h.batch_length < 0 || h.size_bytes() < format::k_batch_header_size)
    return make_error(errc::corrupt_batch, "batch length shorter than its header");
  bytes inflated;  // the records of a compressed batch, alive while `fn` looks at them
  const uint8_t* begin = batch.data() + format::k_batch_header_size;
  const uint8_t* end = batch.data() + h.size_bytes();
  if (h.compression() != codec::none) {
    auto d = decompress(h.compression(), bytes_view(begin, static_cast<size_t>(end - begin)));
    if (!d) return d.error();
    inflated = std::move(*d);
    begin = inflated.data();
    end = inflated.data() + inflated.size();
  }
  cursor c(begin, end);
  auto bad = [] { return make_error(errc::corrupt_batch, "malformed record"); };
  for (int32_t i = 0; i < h.record_count; ++i) {
    int64_t len, ts_delta, off_delta, headers;
    const uint8_t* record_start = c.pos();
    if (!c.varint(len) || len < 0 || static_cast<size_t>(len) > c.left()) return bad();
    const uint8_t* record_end = c.pos() + len;
    if (!c.skip(1) || !c.varint(ts_delta) || !c.varint(off_delta)) return bad();
    // Deltas come from the client: wrap rather than overflow on nonsense.
    auto plus = [](int64_t a, int64_t b) {
      return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    };
    record_view r;
    r.offset = plus(h.base_offset, off_delta);
    r.timestamp = h.log_append_time() ? h.max_timestamp : plus(h.base_timestamp, ts_delta);
    if (!c.bytes_field(r.key) || !c.bytes_field(r.value) || !c.varint(headers)) return bad();
    if (c.pos() > record_end) return bad();
    r.header_count = headers;
    r.headers = bytes_view(c.pos(), static_cast<size_t>(record_end - c.pos()));
    if (!c.skip(static_cast<size_t>(record_end - c.pos()))) return bad();
    r.raw = bytes_view(record_start, static_cast<size_t>(record_end - record_start));
    fn(r);
  }
  return {};
}

result<int64_t> for_each_record_from(bytes_view chunk, int64_t from,
                                     const std::function<void(const record_view&)>& fn) {
  int64_t next = from;
  size_t pos = 0;
  while (chunk.size() - pos >= format::k_batch_header_size) {
    auto h = parse_batch_header(chunk.data() + pos);
    if (h.batch_length <= 0) return make_error(errc::corrupt_batch, "bad batch length");
    if (chunk.size() - pos < h.size_bytes()) break;  // cut short by the byte limit
    auto batch = chunk.subspan(pos, h.size_bytes());
    pos += h.size_bytes();
    if (h.last_offset() < from) continue;
    if (!h.control()) {
      auto r = for_each_record(batch, [&](const record_view& rv) {
        if (rv.offset >= from) fn(rv);
      });
      if (!r) return r.error();
    }
    next = std::max(next, h.last_offset() + 1);
  }
  return next;
}

result<void> for_each_header(
    const record_view& r,
    const std::function<void(std::string_view, std::optional<bytes_view>)>& fn) {
  cursor c(r.headers.data(), r.headers.data() + r.headers.size());
  for (int64_t i = 0; i < r.header_count; ++i) {
    int64_t klen = 0;
    if (!c.varint(klen) || klen < 0 || static_cast<size_t>(klen) > c.left())
      return make_error(errc::corrupt_batch, "malformed record header");
    std::string_view key(reinterpret_cast<const char*>(c.pos()), static_cast<size_t>(klen));
    c.skip(static_cast<size_t>(klen));
    std::optional<bytes_view> value;
    if (!c.bytes_field(value)) return make_error(errc::corrupt_batch, "malformed record header");
    fn(key, value);
  }
  return {};
}

void batch_builder::add(std::optional<bytes_view> key, std::optional<bytes_view> value,
                        int64_t timestamp,
                        std::span<const std::pair<std::string_view, bytes_view>> headers) {
  if (count_ == 0) first_ts_ = max_ts_ = timestamp;
  max_ts_ = std::max(max_ts_, timestamp);
  bytes& r = scratch_;
  r.clear();
  r.push_back(0);  // attributes
  put_varint(r, timestamp - first_ts_);
  put_varint(r, count_);
  auto put_bytes = [&](std::optional<bytes_view> b) {
    if (!b) {
      put_varint(r, -1);
      return;
    }
    put_varint(r, static_cast<int64_t>(b->size()));
    r.insert(r.end(), b->begin(), b->end());
  };
  put_bytes(key);
  put_bytes(value);
  put_varint(r, static_cast<int64_t>(headers.size()));
  for (const auto& [k, v] : headers) {
    put_varint(r, static_cast<int64_t>(k.size()));
    r.insert(r.end(), k.begin(), k.end());
    put_bytes(v);
  }
  put_varint(records_, static_cast<int64_t>(r.size()));
  records_.insert(records_.end(), r.begin(), r.end());
  ++count_;
}

bytes batch_builder::build() const {
  using namespace format;
  bytes b(k_batch_header_size + records_.size());
  std::copy(records_.begin(), records_.end(), b.begin() + k_batch_header_size);
  store_be64(&b[k_base_offset_at], 0);
  store_be32(&b[k_batch_length_at], static_cast<uint32_t>(b.size() - k_batch_length_prefix));
  store_be32(&b[k_leader_epoch_at], 0);
  b[k_magic_at] = 2;
  store_be16(&b[k_attributes_at], attributes_);
  store_be32(&b[k_last_offset_delta_at], static_cast<uint32_t>(count_ - 1));
  store_be64(&b[k_base_timestamp_at], static_cast<uint64_t>(first_ts_));
  store_be64(&b[k_max_timestamp_at], static_cast<uint64_t>(max_ts_));
  store_be64(&b[k_producer_id_at], static_cast<uint64_t>(producer_id_));
  store_be16(&b[k_producer_epoch_at], static_cast<uint16_t>(producer_epoch_));
  store_be32(&b[k_base_sequence_at], static_cast<uint32_t>(base_sequence_));
  store_be32(&b[k_record_count_at], static_cast<uint32_t>(count_));
  store_be32(&b[k_crc_offset],
             crc32c(b.data() + k_crc_covered_from, b.size() - k_crc_covered_from));
  return b;
}

void batch_builder::set_producer(int64_t id, int16_t epoch, int32_t base_sequence,
                                 bool transactional) {
  producer_id_ = id;
  producer_epoch_ = epoch;
  base_sequence_ = base_sequence;
  attributes_ = transactional ? (attributes_ | format::k_transactional_bit)
                              : (attributes_ & ~format::k_transactional_bit);
}

bytes build_control_batch(int64_t producer_id, int16_t epoch, control_type type,
                          int32_t coordinator_epoch, int64_t timestamp) {
  uint8_t key[4], value[6];
  store_be16(key, 0);
  store_be16(key + 2, static_cast<uint16_t>(type));
  store_be16(value, 0);
  store_be32(value + 2, static_cast<uint32_t>(coordinator_epoch));
  batch_builder b;
  b.set_producer(producer_id, epoch, -1, true);
  b.attributes_ |= format::k_control_bit;
  b.add(bytes_view(key, sizeof key), bytes_view(value, sizeof value), timestamp);
  return b.build();
}

std::optional<control_type> control_marker(bytes_view batch) {
  std::optional<control_type> out;
  auto r = for_each_record(batch, [&](const record_view& rv) {
    if (out || !rv.key || rv.key->size() < 4) return;
    auto type = static_cast<int16_t>(load_be16(rv.key->data() + 2));
    if (type == 0) out = control_type::abort;
    if (type == 1) out = control_type::commit;
  });
  if (!r) return std::nullopt;
  return out;
}

}  // namespace sluice::log
