#pragma once
// SQL data types and the values that flow through a dataflow.
//
// A value is one of: NULL, BOOLEAN, an integer (INT and BIGINT, held as int64), a double
// (DOUBLE and DECIMAL), a string (VARCHAR), a TIMESTAMP (epoch milliseconds, UTC), or a
// nested value (ROW, ARRAY, MAP) shared immutably between the rows that carry it.
// DECIMAL is held as a double: exact decimal arithmetic is not offered yet (docs/sql.md).

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::stream {

enum class type_id : uint8_t {
  null,  // the type of the NULL literal only
  boolean,
  int32,
  int64,
  float64,
  decimal,
  varchar,
  timestamp,
  row,
  array,
  map,
};

struct data_type;
using type_ptr = std::shared_ptr<const data_type>;

struct field_type {
  std::string name;
  type_ptr type;
};

struct data_type {
  type_id id = type_id::null;
  std::vector<field_type> fields;  // ROW
  type_ptr element;                // ARRAY element, MAP value (keys are VARCHAR)

  static type_ptr of(type_id id);
  std::string to_string() const;
  bool numeric() const {
    return id == type_id::int32 || id == type_id::int64 || id == type_id::float64 ||
           id == type_id::decimal;
  }
  bool integral() const { return id == type_id::int32 || id == type_id::int64; }
};

struct nested;

// 16 bytes, so that rows are cheap to copy, hash and keep. A string of up to 14 bytes is held
// inline; a longer one lives in an immutable heap block shared (reference-counted, atomically)
// by the copies of the value, as is a nested value. Copying a value never copies text.
class value {
 public:
  enum class kind : uint8_t { null, boolean, integer, real, string, timestamp, nested };

  kind k = kind::null;  // read-only outside this class: the factories below set it

 private:
  struct heap_string;
  struct nested_box;
  static constexpr uint8_t k_on_heap = 0xff;
  static constexpr size_t k_inline_max = 14;
  static constexpr size_t k_inline_offset = 2;
  // A string's inline length, or k_on_heap. Zero for every other kind.
  uint8_t small_ = 0;
  char inline_head_[6] = {};  // an inline string's first bytes; the rest overlay the union

 public:
  union {
    bool b;
    int64_t i;  // integer, timestamp (epoch ms)
    double d;
    heap_string* heap_;  // private: a string longer than k_inline_max
    nested_box* box_;    // private: kind::nested
  };

  value() : i(0) {}
  value(const value& o) noexcept : value(o, raw_copy{}) { retain(); }
  value(value&& o) noexcept : value(o, raw_copy{}) { o.forget(); }
  // `o` may be held only through this value (an item of its nested value): it is taken
  // before this value lets go of what it holds.
  value& operator=(const value& o) noexcept { return *this = value(o); }
  value& operator=(value&& o) noexcept {
    value taken(std::move(o));
    release();
    raw_assign(taken);
    taken.forget();
    return *this;
  }
  ~value() { release(); }

  static value null() { return value(); }
  static value boolean(bool v) {
    value x;
    x.k = kind::boolean;
    x.b = v;
    return x;
  }
  static value integer(int64_t v) {
    value x;
    x.k = kind::integer;
    x.i = v;
    return x;
  }
  static value real(double v) {
    value x;
    x.k = kind::real;
    x.d = v;
    return x;
  }
  static value string(std::string_view v);
  static value timestamp(int64_t ms) {
    value x;
    x.k = kind::timestamp;
    x.i = ms;
    return x;
  }
  static value make_nested(std::shared_ptr<const nested> v);

  bool is_null() const { return k == kind::null; }
  // Numeric view of an integer, real or timestamp. REQUIRES: one of those kinds.
  double as_double() const { return k == kind::real ? d : static_cast<double>(i); }
  // The text of a string; empty for every other kind.
  std::string_view str() const {
    if (small_ != k_on_heap) return {reinterpret_cast<const char*>(this) + k_inline_offset, small_};
    return heap_text();
  }
  // The ROW, ARRAY or MAP of a nested value; null for every other kind.
  const nested* nest() const;
  // Heap bytes this value holds beyond itself (shared blocks counted whole).
  size_t heap_bytes() const;

 private:
  struct raw_copy {};
  value(const value& o, raw_copy) noexcept { raw_assign(o); }
  void raw_assign(const value& o) noexcept {
    std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), sizeof(value));
  }
  void forget() noexcept {  // what it held is now another value's
    k = kind::null;
    small_ = 0;
  }
  bool shares() const { return k == kind::nested || (k == kind::string && small_ == k_on_heap); }
  void retain() const noexcept {
    if (shares()) retain_shared();
  }
  void release() noexcept {
    if (shares()) release_shared();
  }
  void retain_shared() const noexcept;
  void release_shared() noexcept;
  std::string_view heap_text() const;
};
static_assert(sizeof(value) == 16);

// A long string: this header, then the text.
struct value::heap_string {
  std::atomic<uint32_t> refs;
  uint32_t size;
};

inline std::string_view value::heap_text() const {
  return {reinterpret_cast<const char*>(heap_ + 1), heap_->size};
}

// ROW and MAP carry names; ARRAY leaves them empty.
struct nested {
  bool is_array = false;
  std::vector<std::string> names;
  std::vector<value> items;

  const value* find(std::string_view name) const;
};

using row = std::vector<value>;

// Total order used by GROUP BY keys, DISTINCT, MIN/MAX and ORDER BY: NULL first, then numbers
// (integers and reals compared by value), booleans, strings, timestamps, nested.
int compare(const value& a, const value& b);
bool equal(const value& a, const value& b);
size_t hash_value(const value& v);

struct row_hash {
  size_t operator()(const row& r) const;
};
struct row_equal {
  bool operator()(const row& a, const row& b) const;
};

// Appends the JSON form of `v` to `out` (timestamps as ISO-8601 strings in UTC with
// milliseconds, e.g. "2026-11-25T19:41:00.000Z").
void append_json(std::string& out, const value& v);
// {"name":value,...}
void append_json_row(std::string& out, const std::vector<std::string>& names, const row& r);

// append_json_row with the names escaped once: for writers that encode many rows.
class json_row_encoder {
 public:
  explicit json_row_encoder(const std::vector<std::string>& names);
  void append(std::string& out, const row& r) const;

 private:
  std::vector<std::string> prefixes_;  // {"name":  ,"name":  ...
};

// The SQL text form used by CAST(x AS VARCHAR) and error messages.
std::string to_display(const value& v);

// ISO-8601 date-time ("2026-11-25T19:41:00Z", "2026-11-25 19:41:00.123", "+01:00" offsets,
// a date alone) to epoch milliseconds; false if it is not one.
bool parse_timestamp(std::string_view s, int64_t& ms);
std::string format_timestamp(int64_t ms);

// A timestamp's calendar fields in UTC (proleptic Gregorian).
struct civil_time {
  int64_t year = 1970;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0;
};
civil_time to_civil(int64_t ms);
void append_timestamp(std::string& out, int64_t ms);

}  // namespace sluice::stream
