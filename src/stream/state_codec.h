#pragma once
// The byte form of operator state in a query checkpoint (docs/formats/checkpoint.md):
// zig-zag varints, length-prefixed strings, and values as a kind byte and a payload.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "stream/value.h"

namespace sluice::stream {

class state_writer {
 public:
  void put_varint(int64_t v);
  void put_double(double d);
  void put_string(std::string_view s);
  void put_value(const value& v);
  void put_row(const row& r);
  const std::string& data() const { return out_; }
  std::string& data() { return out_; }

 private:
  std::string out_;
};

// Throws corrupt_state on truncated or malformed input.
class corrupt_state : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class state_reader {
 public:
  explicit state_reader(std::string_view in) : in_(in) {}
  int64_t varint();
  double real();
  std::string string();
  value get_value();
  row get_row();
  bool at_end() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  int depth_ = 0;  // of nested values being read
};

}  // namespace sluice::stream
