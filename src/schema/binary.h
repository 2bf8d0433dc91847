#pragma once
// The byte-level pieces Avro's and Protobuf's binary encodings share: base-128 varints (at
// most 10 bytes, 64 bits), zig-zag signed integers, and a bounded reader that reports what
// went wrong instead of reading past the end. Also the identifier rule both formats' names
// follow.

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::schema {

// How deeply a schema or a value may nest: decoders recurse, and hostile input must not
// exhaust the stack.
constexpr int k_max_depth = 64;

inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t u) {
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

inline void append_varint(std::string& out, uint64_t u) {
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}
inline void append_zigzag(std::string& out, int64_t v) {
  append_varint(out, zigzag_encode(v));
}
// A double's 8 bytes, little-endian (as both formats write them).
inline void append_double(std::string& out, double d) {
  uint64_t u;
  static_assert(sizeof u == sizeof d);
  __builtin_memcpy(&u, &d, 8);
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>(u >> (8 * i)));
}

// Reads from [p, end); on failure sets *err and returns false. Not thread-safe.
struct byte_reader {
  const uint8_t* p;
  const uint8_t* end;
  std::string* err;

  byte_reader(std::string_view data, std::string* e)
      : p(reinterpret_cast<const uint8_t*>(data.data())), end(p + data.size()), err(e) {}

  bool fail(std::string what) {
    *err = std::move(what);
    return false;
  }
  bool at_end() const { return p == end; }
  size_t left() const { return static_cast<size_t>(end - p); }

  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) return fail("truncated");
      uint8_t b = *p++;
      if (shift == 63 && b > 1) return fail("a varint longer than 64 bits");
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return fail("a varint longer than 64 bits");
  }
  bool zigzag(int64_t& v) {
    uint64_t u = 0;
    if (!varint(u)) return false;
    v = zigzag_decode(u);
    return true;
  }
  bool take(size_t n, std::string_view& out) {
    if (left() < n) return fail("truncated");
    out = std::string_view(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }
  // Little-endian fixed-width integers (float and double bits included).
  bool fixed(size_t n, uint64_t& v) {
    std::string_view b;
    if (!take(n, b)) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
    return true;
  }
};

// Avro's reader: longs zig-zag, lengths and block counts as longs, a bound on the items of
// one value's arrays and maps together (items of a zero-size type take no bytes at all).
struct avro_reader : byte_reader {
  static constexpr int64_t k_max_items = 1 << 22;
  int64_t items = 0;

  avro_reader(std::string_view data, std::string* e) : byte_reader(data, e) {}

  bool read_long(int64_t& v) { return zigzag(v); }
  bool read_int(int64_t& v) {
    if (!read_long(v)) return false;
    if (v < INT32_MIN || v > INT32_MAX) return fail("an int out of range");
    return true;
  }
  bool read_bytes(std::string_view& out) {
    int64_t n = 0;
    if (!read_long(n)) return false;
    if (n < 0) return fail("a negative length");
    return take(static_cast<size_t>(n), out);
  }
  // The next block's item count of an array or map: 0 at its end.
  bool block(int64_t& count) {
    if (!read_long(count)) return false;
    if (count < 0) {
      if (count == INT64_MIN) return fail("a bad block count");
      count = -count;
      int64_t size = 0;
      if (!read_long(size)) return false;
    }
    items += count;
    if (items > k_max_items) return fail("too many array or map items");
    return true;
  }
};

// `s` made a valid Avro or Protobuf name: letters, digits and '_', not starting with a digit.
inline std::string identifier(std::string_view s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out.insert(0, "_");
  return out;
}

}  // namespace sluice::schema
