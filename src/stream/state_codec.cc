#include "stream/state_codec.h"

#include <cstring>

namespace sluice::stream {

void state_writer::put_varint(int64_t v) {
  auto u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out_.push_back(static_cast<char>(u | 0x80));
    u >>= 7;
  }
  out_.push_back(static_cast<char>(u));
}

void state_writer::put_double(double d) {
  char b[8];
  std::memcpy(b, &d, 8);
  out_.append(b, 8);
}

void state_writer::put_string(std::string_view s) {
  put_varint(static_cast<int64_t>(s.size()));
  out_.append(s);
}

void state_writer::put_value(const value& v) {
  out_.push_back(static_cast<char>(v.k));
  switch (v.k) {
    case value::kind::null:
      break;
    case value::kind::boolean:
      out_.push_back(v.b ? 1 : 0);
      break;
    case value::kind::integer:
    case value::kind::timestamp:
      put_varint(v.i);
      break;
    case value::kind::real:
      put_double(v.d);
      break;
    case value::kind::string:
      put_string(v.str());
      break;
    case value::kind::nested: {
      const nested& n = *v.nest();
      out_.push_back(n.is_array ? 1 : 0);
      put_varint(static_cast<int64_t>(n.items.size()));
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (!n.is_array) put_string(n.names[i]);
        put_value(n.items[i]);
      }
      break;
    }
  }
}

void state_writer::put_row(const row& r) {
  put_varint(static_cast<int64_t>(r.size()));
  for (const auto& v : r)
    put_value(v);
}

int64_t state_reader::varint() {
  uint64_t u = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) throw corrupt_state("truncated state");
    auto b = static_cast<uint8_t>(in_[pos_++]);
    u |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  throw corrupt_state("bad varint in state");
}

double state_reader::real() {
  if (in_.size() - pos_ < 8) throw corrupt_state("truncated state");
  double d;
  std::memcpy(&d, in_.data() + pos_, 8);
  pos_ += 8;
  return d;
}

std::string state_reader::string() {
  auto n = varint();
  if (n < 0 || static_cast<size_t>(n) > in_.size() - pos_) throw corrupt_state("bad string");
  std::string s(in_.substr(pos_, static_cast<size_t>(n)));
  pos_ += static_cast<size_t>(n);
  return s;
}

value state_reader::get_value() {
  if (pos_ >= in_.size()) throw corrupt_state("truncated state");
  auto k = static_cast<value::kind>(in_[pos_++]);
  switch (k) {
    case value::kind::null:
      return {};
    case value::kind::boolean:
      if (pos_ >= in_.size()) throw corrupt_state("truncated state");
      return value::boolean(in_[pos_++] != 0);
    case value::kind::integer:
      return value::integer(varint());
    case value::kind::timestamp:
      return value::timestamp(varint());
    case value::kind::real:
      return value::real(real());
    case value::kind::string:
      return value::string(string());
    case value::kind::nested: {
      if (pos_ >= in_.size()) throw corrupt_state("truncated state");
      // Values nest no deeper than JSON does (simdjson stops at 1024): deeper is corruption,
      // and would otherwise exhaust the stack.
      if (depth_ >= 1024) throw corrupt_state("values nested too deep in state");
      struct deeper {
        int& d;
        explicit deeper(int& x) : d(++x) {}
        ~deeper() { --d; }
      } guard(depth_);
      auto n = std::make_shared<nested>();
      n->is_array = in_[pos_++] != 0;
      auto count = varint();
      if (count < 0 || static_cast<size_t>(count) > in_.size()) throw corrupt_state("bad nested");
      for (int64_t i = 0; i < count; ++i) {
        if (!n->is_array) n->names.push_back(string());
        n->items.push_back(get_value());
      }
      return value::make_nested(std::move(n));
    }
  }
  throw corrupt_state("bad value kind in state");
}

row state_reader::get_row() {
  auto n = varint();
  if (n < 0 || static_cast<size_t>(n) > in_.size() - pos_) throw corrupt_state("bad row");
  row r;
  r.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    r.push_back(get_value());
  return r;
}

}  // namespace sluice::stream
