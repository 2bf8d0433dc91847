#pragma once
// Encoding of Kafka's primitive types into a response buffer (the counterpart of reader.h).

#include <bit>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "kafka/protocol/reader.h"

namespace sluice::kafka {

class writer {
 public:
  explicit writer(bytes& out, bool flexible = false) : out_(out), flexible_(flexible) {}

  void set_flexible(bool f) { flexible_ = f; }
  bool flexible() const { return flexible_; }
  size_t size() const { return out_.size(); }

  void i8(int8_t v) { out_.push_back(static_cast<uint8_t>(v)); }
  void i16(int16_t v) { store_be16(grow(2), static_cast<uint16_t>(v)); }
  void i32(int32_t v) { store_be32(grow(4), static_cast<uint32_t>(v)); }
  void i64(int64_t v) { store_be64(grow(8), static_cast<uint64_t>(v)); }
  void f64(double v) { store_be64(grow(8), std::bit_cast<uint64_t>(v)); }
  void boolean(bool v) { i8(v ? 1 : 0); }
  void uvarint(uint32_t v);
  void write_uuid(const uuid& u) { out_.insert(out_.end(), u.begin(), u.end()); }

  void string(std::string_view s);
  void nullable_string(std::optional<std::string_view> s);
  // A nullable string that is null when `s` is empty (error messages, optional names).
  void string_or_null(std::string_view s) {
    nullable_string(s.empty() ? std::nullopt : std::optional<std::string_view>(s));
  }
  void array_len(size_t n);
  void null_array();
  // Length prefix of a bytes field whose `n` bytes the caller appends next.
  void bytes_len(size_t n);
  void null_bytes();
  // A bytes field: its length prefix and content.
  void bytes_field(bytes_view b) {
    bytes_len(b.size());
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void tagged_fields() {
    if (flexible_) uvarint(0);
  }

  // Appends n uninitialized bytes and returns a pointer to them.
  uint8_t* grow(size_t n) {
    out_.resize(out_.size() + n);
    return out_.data() + out_.size() - n;
  }
  void patch_i32(size_t at, int32_t v) { store_be32(out_.data() + at, static_cast<uint32_t>(v)); }

 private:
  bytes& out_;
  bool flexible_;
};

}  // namespace sluice::kafka
