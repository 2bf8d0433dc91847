#include "kafka/protocol/reader.h"

namespace sluice::kafka {

const uint8_t* reader::take(size_t n) {
  if (n > remaining())
    throw decode_error("request ends early: needed " + std::to_string(n) + " bytes at " +
                       std::to_string(pos_) + ", have " + std::to_string(remaining()));
  const uint8_t* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

int8_t reader::i8() {
  return static_cast<int8_t>(*take(1));
}
int16_t reader::i16() {
  return static_cast<int16_t>(load_be16(take(2)));
}
int32_t reader::i32() {
  return static_cast<int32_t>(load_be32(take(4)));
}
int64_t reader::i64() {
  return static_cast<int64_t>(load_be64(take(8)));
}

uint32_t reader::uvarint() {
  uint32_t v = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    uint8_t b = *take(1);
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw decode_error("unsigned varint longer than 5 bytes");
}

uuid reader::read_uuid() {
  uuid u;
  const uint8_t* p = take(16);
  std::copy(p, p + 16, u.begin());
  return u;
}

std::optional<std::string> reader::nullable_string() {
  int64_t len;
  if (flexible_) {
    len = static_cast<int64_t>(uvarint()) - 1;
  } else {
    len = i16();
  }
  if (len < 0) return std::nullopt;
  const uint8_t* p = take(static_cast<size_t>(len));
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
}

std::string reader::string() {
  auto s = nullable_string();
  if (!s) throw decode_error("null where a string is required");
  return std::move(*s);
}

std::string reader::legacy_nullable_string_or_empty() {
  int16_t len = i16();
  if (len < 0) return {};
  const uint8_t* p = take(static_cast<size_t>(len));
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
}

int32_t reader::array_len(size_t min_element_size) {
  int64_t n;
  if (flexible_) {
    n = static_cast<int64_t>(uvarint()) - 1;
  } else {
    n = i32();
  }
  if (n < 0) return -1;
  if (static_cast<uint64_t>(n) * std::max<size_t>(min_element_size, 1) > remaining())
    throw decode_error("array of " + std::to_string(n) + " elements cannot fit in the " +
                       std::to_string(remaining()) + " bytes left");
  return static_cast<int32_t>(n);
}

std::optional<bytes_view> reader::nullable_bytes() {
  int64_t len;
  if (flexible_) {
    len = static_cast<int64_t>(uvarint()) - 1;
  } else {
    len = i32();
  }
  if (len < 0) return std::nullopt;
  const uint8_t* p = take(static_cast<size_t>(len));
  return bytes_view(p, static_cast<size_t>(len));
}

void reader::tagged_fields() {
  if (!flexible_) return;
  uint32_t n = uvarint();
  for (uint32_t i = 0; i < n; ++i) {
    uvarint();  // tag
    uint32_t size = uvarint();
    take(size);
  }
}

}  // namespace sluice::kafka
