#pragma once
// Decoding of Kafka's primitive types from a request body. Every read is bounds-checked; a
// request that ends early or carries an impossible length throws decode_error, which the
// connection turns into a log line and a closed connection.
//
// Flexible versions (KIP-482) change strings, arrays and bytes to their compact forms
// (unsigned varint length + 1) and add tagged fields; `flexible` selects that encoding.

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "base/bytes.h"

namespace sluice::kafka {

class decode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using uuid = std::array<uint8_t, 16>;

class reader {
 public:
  explicit reader(bytes_view data, bool flexible = false) : data_(data), flexible_(flexible) {}

  void set_flexible(bool f) { flexible_ = f; }
  bool flexible() const { return flexible_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

  int8_t i8();
  int16_t i16();
  int32_t i32();
  int64_t i64();
  double f64() { return std::bit_cast<double>(static_cast<uint64_t>(i64())); }
  bool boolean() { return i8() != 0; }
  uint32_t uvarint();
  uuid read_uuid();

  std::string string();  // non-null string
  std::optional<std::string> nullable_string();
  std::string legacy_nullable_string_or_empty();  // request header client_id: never compact

  // Element count of an array; -1 for a null array. Checks that `min_element_size` bytes per
  // element could still follow, so a hostile count cannot make us allocate.
  int32_t array_len(size_t min_element_size = 1);
  // Bytes (records): std::nullopt for null. The view points into the request.
  std::optional<bytes_view> nullable_bytes();

  // Skips the tagged-field section (flexible versions only).
  void tagged_fields();

  // Returns a mutable view into the request for the given bytes_view (records are rewritten
  // in place by the log: offsets, LogAppendTime).
  uint8_t* mutable_data(bytes_view v) const { return const_cast<uint8_t*>(v.data()); }

 private:
  const uint8_t* take(size_t n);

  bytes_view data_;
  size_t pos_ = 0;
  bool flexible_;
};

}  // namespace sluice::kafka
