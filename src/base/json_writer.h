#pragma once
// JSON text written in one pass, with commas and string escaping handled: the one writer for
// every JSON answer and file sluice produces.
//
//   json_writer w;
//   w.begin_object().key("user").value("alice").key("mechanisms").begin_array();
//   for (auto& m : ms) w.value(m);
//   w.end_array().end_object();
//   std::string text = std::move(w).str();
//
// Not thread-safe. Nesting is the caller's to balance (checked by assert in debug builds).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Appends `s` as a JSON string literal (quotes included): ", \ and control characters escaped;
// other bytes, UTF-8 included, copied as they are.
void append_json_string(std::string& out, std::string_view s);

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  // Inside an object: the next member's name.
  json_writer& key(std::string_view k);
  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  json_writer& value(bool b);
  json_writer& value(int64_t n);
  json_writer& value(int32_t n) { return value(static_cast<int64_t>(n)); }
  json_writer& value(uint64_t n);
  json_writer& value(double d);  // NaN and infinities as null
  json_writer& null();
  // Text that is already JSON (a nested document), written as the next value.
  json_writer& raw(std::string_view json);
  // The next value, appended as JSON text by `write(std::string&)`: for encoders that write
  // into a string (rows, payloads), without a copy through a temporary.
  template <class F>
  json_writer& raw_with(F&& write) {
    separate();
    write(out_);
    return *this;
  }

  const std::string& str() const& { return out_; }
  std::string str() && { return std::move(out_); }

 private:
  void separate();

  std::string out_;
  // Per open container: whether a value was written in it yet.
  std::vector<bool> has_value_;
  bool after_key_ = false;
};

}  // namespace sluice
