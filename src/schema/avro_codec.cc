#include "schema/avro_codec.h"

#include <cmath>
#include <cstring>

#include "base/json_writer.h"
#include "base/strings.h"

#include <simdjson.h>
#include "schema/binary.h"
#include "stream/expression.h"

namespace sluice::schema {

using avro::node;
using avro::type;
using stream::data_type;
using stream::type_id;
using stream::value;

namespace {

struct reader : avro_reader {
  reader(std::string_view data, std::string* e) : avro_reader(data, e) {}
  bool read_fixed(size_t n, std::string_view& out) { return take(n, out); }
};

double pow10(int n) {
  double r = 1;
  while (n-- > 0)
    r *= 10;
  return r;
}

// A decimal's big-endian two's-complement unscaled value, scaled.
double decimal_of(std::string_view b, int scale) {
  if (b.empty()) return 0;
  double v = static_cast<int8_t>(b[0]);
  for (size_t i = 1; i < b.size(); ++i)
    v = v * 256 + static_cast<uint8_t>(b[i]);
  return v / pow10(scale);
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool skip(const node& w, reader& r, int depth);

// Decodes one value written as `w` into `out`, as SQL sees it.
bool read_value(const node& w, reader& r, value& out, int depth) {
  if (depth > k_max_depth) return r.fail("nested too deeply");
  switch (w.type) {
    case type::null:
      out = value::null();
      return true;
    case type::boolean:
      if (r.p == r.end) return r.fail("truncated");
      if (*r.p > 1) return r.fail("a boolean that is neither 0 nor 1");
      out = value::boolean(*r.p++ == 1);
      return true;
    case type::int32: {
      int64_t v = 0;
      if (!r.read_int(v)) return false;
      out = w.logical_type == "date" ? value::timestamp(v * 86'400'000) : value::integer(v);
      return true;
    }
    case type::int64: {
      int64_t v = 0;
      if (!r.read_long(v)) return false;
      const auto& lt = w.logical_type;
      if (lt == "timestamp-millis" || lt == "local-timestamp-millis")
        out = value::timestamp(v);
      else if (lt == "timestamp-micros" || lt == "local-timestamp-micros")
        out = value::timestamp(floor_div(v, 1000));
      else if (lt == "timestamp-nanos" || lt == "local-timestamp-nanos")
        out = value::timestamp(floor_div(v, 1'000'000));
      else
        out = value::integer(v);
      return true;
    }
    case type::float32: {
      std::string_view b;
      if (!r.read_fixed(4, b)) return false;
      float f;
      std::memcpy(&f, b.data(), 4);
      out = value::real(f);
      return true;
    }
    case type::float64: {
      std::string_view b;
      if (!r.read_fixed(8, b)) return false;
      double d;
      std::memcpy(&d, b.data(), 8);
      out = value::real(d);
      return true;
    }
    case type::bytes:
    case type::string: {
      std::string_view b;
      if (!r.read_bytes(b)) return false;
      out = w.logical_type == "decimal" ? value::real(decimal_of(b, w.scale)) : value::string(b);
      return true;
    }
    case type::fixed: {
      std::string_view b;
      if (!r.read_fixed(static_cast<size_t>(w.size), b)) return false;
      out = w.logical_type == "decimal" ? value::real(decimal_of(b, w.scale)) : value::string(b);
      return true;
    }
    case type::enumeration: {
      int64_t i = 0;
      if (!r.read_int(i)) return false;
      if (i < 0 || static_cast<size_t>(i) >= w.symbols.size())
        return r.fail("enum index " + std::to_string(i) + " out of range");
      out = value::string(w.symbols[static_cast<size_t>(i)]);
      return true;
    }
    case type::union_type: {
      int64_t i = 0;
      if (!r.read_int(i)) return false;
      if (i < 0 || static_cast<size_t>(i) >= w.branches.size())
        return r.fail("union branch " + std::to_string(i) + " out of range");
      return read_value(*w.branches[static_cast<size_t>(i)], r, out, depth + 1);
    }
    case type::record: {
      auto n = std::make_shared<stream::nested>();
      n->names.reserve(w.fields.size());
      n->items.resize(w.fields.size());
      for (size_t i = 0; i < w.fields.size(); ++i) {
        n->names.push_back(w.fields[i].name);
        if (!read_value(*w.fields[i].schema, r, n->items[i], depth + 1)) return false;
      }
      out = value::make_nested(std::move(n));
      return true;
    }
    case type::array:
    case type::map: {
      auto n = std::make_shared<stream::nested>();
      n->is_array = w.type == type::array;
      int64_t count = 0;
      while (true) {
        if (!r.block(count)) return false;
        if (count == 0) break;
        for (int64_t i = 0; i < count; ++i) {
          if (!n->is_array) {
            std::string_view k;
            if (!r.read_bytes(k)) return false;
            n->names.emplace_back(k);
          }
          n->items.emplace_back();
          if (!read_value(*w.items, r, n->items.back(), depth + 1)) return false;
        }
      }
      out = value::make_nested(std::move(n));
      return true;
    }
  }
  return r.fail("unknown type");
}

bool skip(const node& w, reader& r, int depth) {
  if (depth > k_max_depth) return r.fail("nested too deeply");
  std::string_view b;
  int64_t v = 0;
  switch (w.type) {
    case type::null:
      return true;
    case type::boolean:
      return r.read_fixed(1, b);
    case type::int32:
    case type::int64:
    case type::enumeration:
      return r.read_long(v);
    case type::float32:
      return r.read_fixed(4, b);
    case type::float64:
      return r.read_fixed(8, b);
    case type::bytes:
    case type::string:
      return r.read_bytes(b);
    case type::fixed:
      return r.read_fixed(static_cast<size_t>(w.size), b);
    case type::union_type:
      if (!r.read_int(v)) return false;
      if (v < 0 || static_cast<size_t>(v) >= w.branches.size())
        return r.fail("union branch " + std::to_string(v) + " out of range");
      return skip(*w.branches[static_cast<size_t>(v)], r, depth + 1);
    case type::record:
      for (const auto& f : w.fields)
        if (!skip(*f.schema, r, depth + 1)) return false;
      return true;
    case type::array:
    case type::map: {
      int64_t count = 0;
      while (true) {
        if (!r.block(count)) return false;
        if (count == 0) return true;
        for (int64_t i = 0; i < count; ++i) {
          if (w.type == type::map && !r.read_bytes(b)) return false;
          if (!skip(*w.items, r, depth + 1)) return false;
        }
      }
    }
  }
  return r.fail("unknown type");
}

// The SQL type of an Avro type.
stream::type_ptr sql_type(const node& n, int depth) {
  if (depth > k_max_depth) return data_type::of(type_id::varchar);
  switch (n.type) {
    case type::null:
      return data_type::of(type_id::varchar);
    case type::boolean:
      return data_type::of(type_id::boolean);
    case type::int32:
      return data_type::of(n.logical_type == "date" ? type_id::timestamp : type_id::int32);
    case type::int64:
      return data_type::of(n.logical_type.find("timestamp") != std::string::npos
                               ? type_id::timestamp
                               : type_id::int64);
    case type::float32:
    case type::float64:
      return data_type::of(type_id::float64);
    case type::bytes:
    case type::fixed:
      return data_type::of(n.logical_type == "decimal" ? type_id::decimal : type_id::varchar);
    case type::string:
    case type::enumeration:
      return data_type::of(type_id::varchar);
    case type::union_type: {
      // [null, T] is a nullable T; other unions are read as text.
      const node* only = nullptr;
      for (const node* b : n.branches) {
        if (b->type == type::null) continue;
        if (only) return data_type::of(type_id::varchar);
        only = b;
      }
      return only ? sql_type(*only, depth + 1) : data_type::of(type_id::varchar);
    }
    case type::record: {
      auto t = std::make_shared<data_type>();
      t->id = type_id::row;
      for (const auto& f : n.fields)
        t->fields.push_back({f.name, sql_type(*f.schema, depth + 1)});
      return t;
    }
    case type::array:
    case type::map: {
      auto t = std::make_shared<data_type>();
      t->id = n.type == type::array ? type_id::array : type_id::map;
      t->element = sql_type(*n.items, depth + 1);
      return t;
    }
  }
  return data_type::of(type_id::varchar);
}

}  // namespace

std::optional<std::vector<stream::field_type>> columns_of(const node& root, std::string& err) {
  if (root.type != type::record) {
    err = "the schema is " + std::string(avro::name_of(root.type)) +
          ", not a record: its fields are a stream's columns";
    return std::nullopt;
  }
  std::vector<stream::field_type> out;
  for (const auto& f : root.fields)
    out.push_back({f.name, sql_type(*f.schema, 1)});
  return out;
}

// The value of a field's default (JSON) as SQL sees it; NULL for what has no simple value
// (records, arrays, maps, bytes).
value default_value(const node& t, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json.data(), json.size()).get(e)) return value::null();
  const node* n = &t;
  if (n->type == type::union_type) n = n->branches.empty() ? n : n->branches[0];
  switch (n->type) {
    case type::boolean: {
      bool b = false;
      return e.get(b) ? value::null() : value::boolean(b);
    }
    case type::int32:
    case type::int64: {
      int64_t i = 0;
      if (e.get(i)) return value::null();
      if (n->logical_type.find("timestamp") != std::string::npos)
        return value::timestamp(n->logical_type.find("micros") != std::string::npos ? i / 1000 : i);
      return value::integer(i);
    }
    case type::float32:
    case type::float64: {
      double d = 0;
      return e.get(d) ? value::null() : value::real(d);
    }
    case type::string:
    case type::enumeration: {
      std::string_view sv;
      return e.get(sv) ? value::null() : value::string(sv);
    }
    default:
      return value::null();
  }
}

struct avro_row_decoder::impl {
  struct step {
    const node* writer;
    int column;  // -1: skipped
  };
  std::vector<step> steps;
  std::vector<stream::type_ptr> types;  // per column
  size_t columns = 0;
  std::vector<std::pair<size_t, value>> defaults;  // columns the writer lacks, with a default
};

avro_row_decoder::avro_row_decoder(const node& writer,
                                   const std::vector<stream::field_type>& columns,
                                   const std::vector<bool>& needed, const node* reader)
    : impl_(std::make_unique<impl>()) {
  impl_->columns = columns.size();
  for (const auto& c : columns)
    impl_->types.push_back(c.type);
  for (const auto& f : writer.fields) {
    int col = -1;
    for (size_t i = 0; i < columns.size() && col < 0; ++i)
      if (columns[i].name == f.name) col = static_cast<int>(i);
    for (size_t i = 0; i < columns.size() && col < 0; ++i)
      if (iequals(columns[i].name, f.name)) col = static_cast<int>(i);
    if (col >= 0 && !needed.empty() && !needed[static_cast<size_t>(col)]) col = -1;
    impl_->steps.push_back({f.schema, col});
  }
  if (reader && reader->type == type::record)
    for (size_t c = 0; c < columns.size(); ++c) {
      if (!needed.empty() && !needed[c]) continue;
      bool written = false;
      for (const auto& s : impl_->steps)
        written |= s.column == static_cast<int>(c);
      int rf = reader->field_index(columns[c].name);
      if (written || rf < 0) continue;
      const auto& f = reader->fields[static_cast<size_t>(rf)];
      if (!f.default_json) continue;
      value v = default_value(*f.schema, *f.default_json);
      std::string err;
      if (!v.is_null() && stream::coerce(v, *columns[c].type, err))
        impl_->defaults.emplace_back(c, std::move(v));
    }
}

avro_row_decoder::~avro_row_decoder() = default;

bool avro_row_decoder::decode(std::string_view data, stream::row& out, std::string& err) {
  out.assign(impl_->columns, value::null());
  for (const auto& [c, v] : impl_->defaults)
    out[c] = v;
  reader r(data, &err);
  for (const auto& s : impl_->steps) {
    if (s.column < 0) {
      if (!skip(*s.writer, r, 1)) return false;
      continue;
    }
    auto& v = out[static_cast<size_t>(s.column)];
    if (!read_value(*s.writer, r, v, 1)) return false;
    if (!stream::coerce(v, *impl_->types[static_cast<size_t>(s.column)], err)) return false;
  }
  if (r.p != r.end) {
    err = std::to_string(r.end - r.p) + " bytes after the record";
    return false;
  }
  return true;
}

// --- encoding ---

namespace {

void write_type(json_writer& w, const data_type& t, const std::string& name, int& records) {
  switch (t.id) {
    case type_id::boolean:
      w.value("boolean");
      return;
    case type_id::int32:
      w.value("int");
      return;
    case type_id::int64:
      w.value("long");
      return;
    case type_id::float64:
    case type_id::decimal:
      w.value("double");
      return;
    case type_id::timestamp:
      w.begin_object().key("type").value("long").key("logicalType").value("timestamp-millis");
      w.end_object();
      return;
    case type_id::row: {
      w.begin_object().key("type").value("record").key("name").value(name + "_" +
                                                                     std::to_string(++records));
      w.key("fields").begin_array();
      for (const auto& f : t.fields) {
        w.begin_object()
            .key("name")
            .value(identifier(f.name))
            .key("type")
            .begin_array()
            .value("null");
        write_type(w, *f.type, name, records);
        w.end_array().key("default").null().end_object();
      }
      w.end_array().end_object();
      return;
    }
    case type_id::array:
    case type_id::map:
      w.begin_object().key("type").value(t.id == type_id::array ? "array" : "map");
      w.key(t.id == type_id::array ? "items" : "values").begin_array().value("null");
      if (t.element)
        write_type(w, *t.element, name, records);
      else
        w.value("string");
      w.end_array().end_object();
      return;
    default:
      w.value("string");
  }
}

void put_string(std::string& out, std::string_view s) {
  append_zigzag(out, static_cast<int64_t>(s.size()));
  out.append(s);
}

// A union of null and `t`: branch 0 for NULL, else branch 1 and the value.
void put_nullable(std::string& out, const data_type& t, const value& v) {
  if (v.is_null()) {
    out.push_back(0);
    return;
  }
  out.push_back(2);  // zig-zag 1
  value c = v;
  std::string err;
  switch (t.id) {
    case type_id::boolean:
    case type_id::int32:
    case type_id::int64:
    case type_id::float64:
    case type_id::decimal:
    case type_id::timestamp:
      if (!stream::coerce(c, t, err)) throw std::runtime_error(err);
      break;
    default:
      break;
  }
  switch (t.id) {
    case type_id::boolean:
      out.push_back(c.b ? 1 : 0);
      return;
    case type_id::int32:
    case type_id::int64:
    case type_id::timestamp:
      append_zigzag(out, c.i);
      return;
    case type_id::float64:
    case type_id::decimal: {
      append_double(out, c.as_double());
      return;
    }
    case type_id::row: {
      const stream::nested* n = c.nest();
      for (size_t i = 0; i < t.fields.size(); ++i) {
        const value* f = nullptr;
        if (n)
          f = i < n->items.size() && n->names.size() == n->items.size() &&
                      n->names[i] == t.fields[i].name
                  ? &n->items[i]
                  : n->find(t.fields[i].name);
        put_nullable(out, *t.fields[i].type, f ? *f : value::null());
      }
      return;
    }
    case type_id::array:
    case type_id::map: {
      const stream::nested* n = c.nest();
      if (!n || n->items.empty()) {
        out.push_back(0);
        return;
      }
      append_zigzag(out, static_cast<int64_t>(n->items.size()));
      static const auto k_text = data_type::of(type_id::varchar);
      const auto& et = t.element ? *t.element : *k_text;
      for (size_t i = 0; i < n->items.size(); ++i) {
        if (t.id == type_id::map) put_string(out, i < n->names.size() ? n->names[i] : "");
        put_nullable(out, et, n->items[i]);
      }
      out.push_back(0);
      return;
    }
    default:
      if (c.k == value::kind::string)
        put_string(out, c.str());
      else
        put_string(out, stream::to_display(c));
  }
}

}  // namespace

std::string avro_schema_for(const std::vector<stream::field_type>& columns, std::string_view name) {
  std::string record;
  std::string_view rest = name;
  while (!rest.empty()) {
    auto dot = rest.find('.');
    if (!record.empty()) record += '.';
    record += identifier(rest.substr(0, dot));
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  if (record.empty()) record = "row";
  json_writer w;
  int records = 0;
  w.begin_object()
      .key("type")
      .value("record")
      .key("name")
      .value(record)
      .key("fields")
      .begin_array();
  std::string nested = record.substr(record.rfind('.') + 1);
  for (const auto& c : columns) {
    w.begin_object().key("name").value(identifier(c.name)).key("type").begin_array().value("null");
    write_type(w, *c.type, nested, records);
    w.end_array().key("default").null().end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

void avro_encode_row(std::string& out, const std::vector<stream::field_type>& columns,
                     const stream::row& r) {
  for (size_t i = 0; i < columns.size(); ++i)
    put_nullable(out, *columns[i].type, i < r.size() ? r[i] : value::null());
}

}  // namespace sluice::schema
