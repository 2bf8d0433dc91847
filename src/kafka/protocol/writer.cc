#include "kafka/protocol/writer.h"

namespace sluice::kafka {

void writer::uvarint(uint32_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<uint8_t>(v));
}

void writer::string(std::string_view s) {
  if (flexible_) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
  } else {
    i16(static_cast<int16_t>(s.size()));
  }
  out_.insert(out_.end(), s.begin(), s.end());
}

void writer::nullable_string(std::optional<std::string_view> s) {
  if (s) return string(*s);
  if (flexible_) {
    uvarint(0);
  } else {
    i16(-1);
  }
}

void writer::array_len(size_t n) {
  if (flexible_) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(static_cast<int32_t>(n));
  }
}

void writer::null_array() {
  if (flexible_) {
    uvarint(0);
  } else {
    i32(-1);
  }
}

void writer::bytes_len(size_t n) {
  if (flexible_) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(static_cast<int32_t>(n));
  }
}

void writer::null_bytes() {
  null_array();
}

}  // namespace sluice::kafka
