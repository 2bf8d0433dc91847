#include "stream/value.h"
#include "base/json_writer.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>
#include <stdexcept>

namespace sluice::stream {

type_ptr data_type::of(type_id id) {
  static const type_ptr cache[] = {
      std::make_shared<data_type>(data_type{type_id::null, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::boolean, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::int32, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::int64, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::float64, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::decimal, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::varchar, {}, nullptr}),
      std::make_shared<data_type>(data_type{type_id::timestamp, {}, nullptr}),
  };
  if (static_cast<size_t>(id) < std::size(cache)) return cache[static_cast<size_t>(id)];
  return std::make_shared<data_type>(data_type{id, {}, nullptr});
}

std::string data_type::to_string() const {
  switch (id) {
    case type_id::null:
      return "NULL";
    case type_id::boolean:
      return "BOOLEAN";
    case type_id::int32:
      return "INT";
    case type_id::int64:
      return "BIGINT";
    case type_id::float64:
      return "DOUBLE";
    case type_id::decimal:
      return "DECIMAL";
    case type_id::varchar:
      return "VARCHAR";
    case type_id::timestamp:
      return "TIMESTAMP";
    case type_id::array:
      return "ARRAY<" + (element ? element->to_string() : "?") + ">";
    case type_id::map:
      return "MAP<VARCHAR, " + (element ? element->to_string() : "?") + ">";
    case type_id::row: {
      std::string s = "ROW<";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) s += ", ";
        s += fields[i].name;
        s += ' ';
        s += fields[i].type->to_string();
      }
      return s + ">";
    }
  }
  return "?";
}

struct value::nested_box {
  std::atomic<uint32_t> refs;
  std::shared_ptr<const nested> n;
};

value value::string(std::string_view v) {
  value x;
  x.k = kind::string;
  if (v.size() <= k_inline_max) {
    x.small_ = static_cast<uint8_t>(v.size());
    if (!v.empty()) std::memcpy(reinterpret_cast<char*>(&x) + k_inline_offset, v.data(), v.size());
    return x;
  }
  if (v.size() > UINT32_MAX) throw std::length_error("a string value of over 4 GiB");
  void* mem = ::operator new(sizeof(heap_string) + v.size());
  auto* h = new (mem) heap_string{{1}, static_cast<uint32_t>(v.size())};
  std::memcpy(static_cast<void*>(h + 1), v.data(), v.size());
  x.small_ = k_on_heap;
  x.heap_ = h;
  return x;
}

value value::make_nested(std::shared_ptr<const nested> v) {
  value x;
  x.box_ = new nested_box{{1}, std::move(v)};
  x.k = kind::nested;
  return x;
}

const nested* value::nest() const {
  return k == kind::nested ? box_->n.get() : nullptr;
}

size_t value::heap_bytes() const {
  if (k == kind::string && small_ == k_on_heap) return sizeof(heap_string) + heap_->size;
  if (k == kind::nested) return sizeof(nested_box) + 16;  // and the shared_ptr's control block
  return 0;
}

void value::retain_shared() const noexcept {
  if (k == kind::nested)
    box_->refs.fetch_add(1, std::memory_order_relaxed);
  else
    heap_->refs.fetch_add(1, std::memory_order_relaxed);
}

void value::release_shared() noexcept {
  if (k == kind::nested) {
    if (box_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete box_;
  } else if (heap_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    heap_->~heap_string();
    ::operator delete(heap_);
  }
}

const value* nested::find(std::string_view name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return &items[i];
  return nullptr;
}

namespace {

int rank(value::kind k) {
  switch (k) {
    case value::kind::null:
      return 0;
    case value::kind::integer:
    case value::kind::real:
      return 1;
    case value::kind::boolean:
      return 2;
    case value::kind::string:
      return 3;
    case value::kind::timestamp:
      return 4;
    case value::kind::nested:
      return 5;
  }
  return 6;
}

template <class T>
int three_way(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

int compare(const value& a, const value& b) {
  int ra = rank(a.k), rb = rank(b.k);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.k) {
    case value::kind::null:
      return 0;
    case value::kind::integer:
    case value::kind::real:
      if (a.k == value::kind::integer && b.k == value::kind::integer) return three_way(a.i, b.i);
      return three_way(a.as_double(), b.as_double());
    case value::kind::boolean:
      return three_way(a.b, b.b);
    case value::kind::string: {
      int c = a.str().compare(b.str());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case value::kind::timestamp:
      return three_way(a.i, b.i);
    case value::kind::nested: {
      const auto& x = *a.nest();
      const auto& y = *b.nest();
      size_t n = std::min(x.items.size(), y.items.size());
      for (size_t i = 0; i < n; ++i) {
        if (i < x.names.size() && i < y.names.size()) {
          int c = x.names[i].compare(y.names[i]);
          if (c) return c < 0 ? -1 : 1;
        }
        if (int c = compare(x.items[i], y.items[i])) return c;
      }
      return three_way(x.items.size(), y.items.size());
    }
  }
  return 0;
}

bool equal(const value& a, const value& b) {
  return compare(a, b) == 0;
}

size_t hash_value(const value& v) {
  switch (v.k) {
    case value::kind::null:
      return 0x9e3779b97f4a7c15ULL;
    case value::kind::boolean:
      return v.b ? 1231 : 1237;
    case value::kind::integer:
      return std::hash<int64_t>()(v.i) * 0x9e3779b97f4a7c15ULL;
    case value::kind::real: {
      // Equal numbers hash equally whether integer or real.
      double d = v.d;
      if (d == std::floor(d) && std::fabs(d) < 9.2e18)
        return std::hash<int64_t>()(static_cast<int64_t>(d)) * 0x9e3779b97f4a7c15ULL;
      return std::hash<double>()(d);
    }
    case value::kind::string:
      return std::hash<std::string_view>()(v.str());
    case value::kind::timestamp:
      return std::hash<int64_t>()(v.i) ^ 0x5555;
    case value::kind::nested: {
      const nested& n = *v.nest();
      size_t h = n.is_array ? 7 : 11;
      for (const auto& x : n.items)
        h = h * 31 + hash_value(x);
      return h;
    }
  }
  return 0;
}

size_t row_hash::operator()(const row& r) const {
  size_t h = 0xcbf29ce484222325ULL;
  for (const auto& v : r)
    h = (h ^ hash_value(v)) * 0x100000001b3ULL;
  return h;
}

bool row_equal::operator()(const row& a, const row& b) const {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!equal(a[i], b[i])) return false;
  return true;
}

namespace {

void append_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
  // Keep a DOUBLE a JSON float for typed readers: 908 -> 908.0
  if (std::string_view(buf, static_cast<size_t>(r.ptr - buf)).find_first_of(".e") ==
      std::string_view::npos)
    out += ".0";
}

void append_integer(std::string& out, int64_t i) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (civil calendar arithmetic
// on 400-year eras).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

civil_time to_civil(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86'400'000 : -((-ms + 86'399'999) / 86'400'000);
  int64_t rem = ms - days * 86'400'000;
  civil_time c;
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<unsigned>(rem / 3'600'000);
  c.minute = static_cast<unsigned>(rem / 60'000 % 60);
  c.second = static_cast<unsigned>(rem / 1000 % 60);
  c.millisecond = static_cast<unsigned>(rem % 1000);
  return c;
}

// YYYY-MM-DDTHH:MM:SS.mmmZ without printf (it was a tenth of a pass-through query's time).
void append_timestamp(std::string& out, int64_t ms) {
  auto c = to_civil(ms);
  int64_t y = c.year;
  unsigned m = c.month, d = c.day;
  if (y < 0 || y > 9999) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, y);
    out.append(buf, r.ptr);
  } else {
    auto yy = static_cast<unsigned>(y);
    char b[4] = {static_cast<char>('0' + yy / 1000), static_cast<char>('0' + yy / 100 % 10),
                 static_cast<char>('0' + yy / 10 % 10), static_cast<char>('0' + yy % 10)};
    out.append(b, 4);
  }
  auto two = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  unsigned h = c.hour, mi = c.minute, se = c.second, milli = c.millisecond;
  char t[20];
  t[0] = '-';
  two(t + 1, m);
  t[3] = '-';
  two(t + 4, d);
  t[6] = 'T';
  two(t + 7, h);
  t[9] = ':';
  two(t + 10, mi);
  t[12] = ':';
  two(t + 13, se);
  t[15] = '.';
  t[16] = static_cast<char>('0' + milli / 100);
  two(t + 17, milli % 100);
  t[19] = 'Z';
  out.append(t, 20);
}

std::string format_timestamp(int64_t ms) {
  std::string s;
  append_timestamp(s, ms);
  return s;
}

bool parse_timestamp(std::string_view s, int64_t& ms) {
  int y, mo, d;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  int64_t t = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86'400'000;
  size_t p = 10;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != ' ' && s[p] != 't') return false;
    int h, mi, se = 0;
    if (!digits(s, p + 1, 2, h) || p + 3 >= s.size() || s[p + 3] != ':' || !digits(s, p + 4, 2, mi))
      return false;
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!digits(s, p + 1, 2, se)) return false;
      p += 3;
    }
    if (h > 23 || mi > 59 || se > 60) return false;
    t += (h * 3600LL + mi * 60LL + se) * 1000;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      int64_t frac = 0;
      int n = 0;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        if (n < 3) frac = frac * 10 + (s[p] - '0');
        ++n;
        ++p;
      }
      if (n == 0) return false;
      for (int i = n; i < 3; ++i)
        frac *= 10;
      t += frac;
    }
    if (p < s.size()) {
      if (s[p] == 'Z' || s[p] == 'z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        int oh, om = 0;
        int sign = s[p] == '-' ? -1 : 1;
        if (!digits(s, p + 1, 2, oh)) return false;
        p += 3;
        if (p < s.size() && s[p] == ':') ++p;
        if (p < s.size()) {
          if (!digits(s, p, 2, om)) return false;
          p += 2;
        }
        t -= sign * (oh * 3600LL + om * 60LL) * 1000;
      }
    }
  }
  if (p != s.size()) return false;
  ms = t;
  return true;
}

void append_json(std::string& out, const value& v) {
  switch (v.k) {
    case value::kind::null:
      out += "null";
      return;
    case value::kind::boolean:
      out += v.b ? "true" : "false";
      return;
    case value::kind::integer:
      append_integer(out, v.i);
      return;
    case value::kind::real:
      append_number(out, v.d);
      return;
    case value::kind::string:
      append_json_string(out, v.str());
      return;
    case value::kind::timestamp:
      out.push_back('"');
      append_timestamp(out, v.i);
      out.push_back('"');
      return;
    case value::kind::nested: {
      const auto& n = *v.nest();
      out.push_back(n.is_array ? '[' : '{');
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i) out.push_back(',');
        if (!n.is_array) {
          append_json_string(out, n.names[i]);
          out.push_back(':');
        }
        append_json(out, n.items[i]);
      }
      out.push_back(n.is_array ? ']' : '}');
      return;
    }
  }
}

void append_json_row(std::string& out, const std::vector<std::string>& names, const row& r) {
  out.push_back('{');
  for (size_t i = 0; i < r.size() && i < names.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, names[i]);
    out.push_back(':');
    append_json(out, r[i]);
  }
  out.push_back('}');
}

json_row_encoder::json_row_encoder(const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    std::string p(i ? "," : "{");
    append_json_string(p, names[i]);
    p.push_back(':');
    prefixes_.push_back(std::move(p));
  }
}

void json_row_encoder::append(std::string& out, const row& r) const {
  size_t n = std::min(r.size(), prefixes_.size());
  if (n == 0) {
    out += "{}";
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    out += prefixes_[i];
    append_json(out, r[i]);
  }
  out.push_back('}');
}

std::string to_display(const value& v) {
  switch (v.k) {
    case value::kind::null:
      return "NULL";
    case value::kind::boolean:
      return v.b ? "TRUE" : "FALSE";
    case value::kind::integer:
      return std::to_string(v.i);
    case value::kind::real: {
      std::string s;
      append_number(s, v.d);
      return s;
    }
    case value::kind::string:
      return std::string(v.str());
    case value::kind::timestamp:
      return format_timestamp(v.i);
    case value::kind::nested: {
      std::string s;
      append_json(s, v);
      return s;
    }
  }
  return {};
}

}  // namespace sluice::stream
