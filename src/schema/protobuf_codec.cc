#include "schema/protobuf_codec.h"

#include <cctype>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "base/strings.h"
#include "schema/binary.h"
#include "stream/expression.h"

namespace sluice::schema {

namespace gp = google::protobuf;
using FD = gp::FieldDescriptor;
using stream::data_type;
using stream::type_id;
using stream::value;

namespace {

bool is_timestamp(const gp::Descriptor* d) {
  return d && d->full_name() == "google.protobuf.Timestamp";
}

stream::type_ptr sql_type(const FD& f, int depth);

stream::type_ptr scalar_type(const FD& f, int depth) {
  switch (f.type()) {
    case FD::TYPE_BOOL:
      return data_type::of(type_id::boolean);
    case FD::TYPE_INT32:
    case FD::TYPE_SINT32:
    case FD::TYPE_SFIXED32:
      return data_type::of(type_id::int32);
    case FD::TYPE_INT64:
    case FD::TYPE_SINT64:
    case FD::TYPE_SFIXED64:
    case FD::TYPE_UINT32:
    case FD::TYPE_FIXED32:
    case FD::TYPE_UINT64:
    case FD::TYPE_FIXED64:
      return data_type::of(type_id::int64);
    case FD::TYPE_FLOAT:
    case FD::TYPE_DOUBLE:
      return data_type::of(type_id::float64);
    case FD::TYPE_MESSAGE:
    case FD::TYPE_GROUP: {
      if (is_timestamp(f.message_type())) return data_type::of(type_id::timestamp);
      auto t = std::make_shared<data_type>();
      t->id = type_id::row;
      if (depth < k_max_depth)
        for (int i = 0; i < f.message_type()->field_count(); ++i)
          t->fields.push_back({f.message_type()->field(i)->name(),
                               sql_type(*f.message_type()->field(i), depth + 1)});
      return t;
    }
    default:  // string, bytes, enum
      return data_type::of(type_id::varchar);
  }
}

stream::type_ptr sql_type(const FD& f, int depth) {
  if (f.is_map()) {
    auto t = std::make_shared<data_type>();
    t->id = type_id::map;
    t->element = scalar_type(*f.message_type()->map_value(), depth + 1);
    return t;
  }
  if (f.is_repeated()) {
    auto t = std::make_shared<data_type>();
    t->id = type_id::array;
    t->element = scalar_type(f, depth + 1);
    return t;
  }
  return scalar_type(f, depth);
}

// Protobuf's wire reader: lengths as unsigned varints, fields skipped by wire type.
struct wire_reader : byte_reader {
  wire_reader(std::string_view data, std::string* e) : byte_reader(data, e) {}

  bool bytes(std::string_view& out) {
    uint64_t n = 0;
    if (!varint(n)) return false;
    if (n > left()) return fail("truncated");
    return take(static_cast<size_t>(n), out);
  }
  bool skip(int wire, int depth) {
    uint64_t v = 0;
    std::string_view b;
    switch (wire) {
      case 0:
        return varint(v);
      case 1:
        return fixed(8, v);
      case 2:
        return bytes(b);
      case 5:
        return fixed(4, v);
      case 3:  // a group: skip to its end tag
        if (depth > k_max_depth) return fail("nested too deeply");
        while (true) {
          uint64_t tag = 0;
          if (!varint(tag)) return false;
          if ((tag & 7) == 4) return true;
          if (!skip(static_cast<int>(tag & 7), depth + 1)) return false;
        }
      default:
        return fail("wire type " + std::to_string(wire) + " is not valid here");
    }
  }
};

int wire_type_of(const FD& f) {
  switch (f.type()) {
    case FD::TYPE_DOUBLE:
    case FD::TYPE_FIXED64:
    case FD::TYPE_SFIXED64:
      return 1;
    case FD::TYPE_FLOAT:
    case FD::TYPE_FIXED32:
    case FD::TYPE_SFIXED32:
      return 5;
    case FD::TYPE_STRING:
    case FD::TYPE_BYTES:
    case FD::TYPE_MESSAGE:
      return 2;
    case FD::TYPE_GROUP:
      return 3;
    default:
      return 0;
  }
}

value default_of(const FD& f) {
  if (f.is_repeated()) {
    auto n = std::make_shared<stream::nested>();
    n->is_array = !f.is_map();
    return value::make_nested(std::move(n));
  }
  if (f.has_presence()) return value::null();
  switch (f.cpp_type()) {
    case FD::CPPTYPE_BOOL:
      return value::boolean(false);
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE:
      return value::real(0);
    case FD::CPPTYPE_STRING:
      return value::string("");
    case FD::CPPTYPE_ENUM:
      return value::string(f.enum_type()->value(0)->name());
    case FD::CPPTYPE_MESSAGE:
      return value::null();
    default:
      return value::integer(0);
  }
}

bool read_message(const gp::Descriptor& d, std::string_view bytes, value& out, std::string& err,
                  int depth);

// One value of `f` (not packed) whose tag had wire type `wire`.
bool read_one(const FD& f, int wire, wire_reader& r, value& out, int depth) {
  int want = wire_type_of(f);
  if (wire != want)
    return r.fail("field " + f.name() + ": wire type " + std::to_string(wire) + ", expected " +
                  std::to_string(want));
  uint64_t v = 0;
  std::string_view b;
  switch (f.type()) {
    case FD::TYPE_BOOL:
      if (!r.varint(v)) return false;
      out = value::boolean(v != 0);
      return true;
    case FD::TYPE_INT32:
      if (!r.varint(v)) return false;
      out = value::integer(static_cast<int32_t>(v));
      return true;
    case FD::TYPE_INT64:
    case FD::TYPE_UINT64:
      if (!r.varint(v)) return false;
      out = value::integer(static_cast<int64_t>(v));
      return true;
    case FD::TYPE_UINT32:
      if (!r.varint(v)) return false;
      out = value::integer(static_cast<uint32_t>(v));
      return true;
    case FD::TYPE_SINT32:
    case FD::TYPE_SINT64: {
      if (!r.varint(v)) return false;
      int64_t s = static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
      out = value::integer(f.type() == FD::TYPE_SINT32 ? static_cast<int32_t>(s) : s);
      return true;
    }
    case FD::TYPE_ENUM: {
      if (!r.varint(v)) return false;
      const auto* e = f.enum_type()->FindValueByNumber(static_cast<int32_t>(v));
      out = value::string(e ? e->name() : std::to_string(static_cast<int32_t>(v)));
      return true;
    }
    case FD::TYPE_FIXED64:
    case FD::TYPE_SFIXED64:
      if (!r.fixed(8, v)) return false;
      out = value::integer(static_cast<int64_t>(v));
      return true;
    case FD::TYPE_DOUBLE: {
      if (!r.fixed(8, v)) return false;
      double d;
      std::memcpy(&d, &v, 8);
      out = value::real(d);
      return true;
    }
    case FD::TYPE_FIXED32:
      if (!r.fixed(4, v)) return false;
      out = value::integer(static_cast<uint32_t>(v));
      return true;
    case FD::TYPE_SFIXED32:
      if (!r.fixed(4, v)) return false;
      out = value::integer(static_cast<int32_t>(static_cast<uint32_t>(v)));
      return true;
    case FD::TYPE_FLOAT: {
      if (!r.fixed(4, v)) return false;
      float fl;
      auto u = static_cast<uint32_t>(v);
      std::memcpy(&fl, &u, 4);
      out = value::real(fl);
      return true;
    }
    case FD::TYPE_STRING:
    case FD::TYPE_BYTES:
      if (!r.bytes(b)) return false;
      out = value::string(b);
      return true;
    case FD::TYPE_MESSAGE:
      if (!r.bytes(b)) return false;
      return read_message(*f.message_type(), b, out, *r.err, depth + 1);
    case FD::TYPE_GROUP:
      return r.skip(3, depth);
  }
  return r.fail("unknown field type");
}

// Adds what one tag of `f` carries to `acc` (repeated: the items; maps: the entries).
bool read_into(const FD& f, int wire, wire_reader& r, value& slot, stream::nested* acc, int depth) {
  if (!acc) return read_one(f, wire, r, slot, depth);
  if (f.is_map()) {
    std::string_view entry;
    if (wire != 2) return r.fail("map field " + f.name() + ": wire type " + std::to_string(wire));
    if (!r.bytes(entry)) return false;
    wire_reader er(entry, r.err);
    const auto& kf = *f.message_type()->map_key();
    const auto& vf = *f.message_type()->map_value();
    value k = default_of(kf), v = default_of(vf);
    while (!er.at_end()) {
      uint64_t tag = 0;
      if (!er.varint(tag)) return false;
      int n = static_cast<int>(tag >> 3), w = static_cast<int>(tag & 7);
      if (n == 1) {
        if (!read_one(kf, w, er, k, depth + 1)) return false;
      } else if (n == 2) {
        if (!read_one(vf, w, er, v, depth + 1)) return false;
      } else if (!er.skip(w, depth + 1)) {
        return false;
      }
    }
    std::string err;
    if (!stream::coerce(k, *data_type::of(type_id::varchar), err)) return r.fail(err);
    acc->names.emplace_back(k.str());
    acc->items.push_back(std::move(v));
    return true;
  }
  int want = wire_type_of(f);
  if (wire == 2 && want != 2) {  // packed
    std::string_view packed;
    if (!r.bytes(packed)) return false;
    wire_reader pr(packed, r.err);
    while (!pr.at_end()) {
      if (acc->items.size() >= (1u << 22)) return r.fail("too many repeated values");
      acc->items.emplace_back();
      if (!read_one(f, want, pr, acc->items.back(), depth)) return false;
    }
    return true;
  }
  if (acc->items.size() >= (1u << 22)) return r.fail("too many repeated values");
  acc->items.emplace_back();
  return read_one(f, wire, r, acc->items.back(), depth);
}

bool read_message(const gp::Descriptor& d, std::string_view bytes, value& out, std::string& err,
                  int depth) {
  if (depth > k_max_depth) {
    err = "nested too deeply";
    return false;
  }
  wire_reader r(bytes, &err);
  if (is_timestamp(&d)) {
    int64_t seconds = 0, nanos = 0;
    while (!r.at_end()) {
      uint64_t tag = 0, v = 0;
      if (!r.varint(tag)) return false;
      if ((tag & 7) == 0 && ((tag >> 3) == 1 || (tag >> 3) == 2)) {
        if (!r.varint(v)) return false;
        ((tag >> 3) == 1 ? seconds : nanos) = static_cast<int64_t>(v);
      } else if (!r.skip(static_cast<int>(tag & 7), depth)) {
        return false;
      }
    }
    // Protobuf's Timestamp spans years 1 to 9999; seconds beyond are not a time.
    constexpr int64_t k_max_seconds = 253'402'300'800;
    if (seconds < -k_max_seconds || seconds > k_max_seconds) {
      err = "a Timestamp out of range";
      return false;
    }
    out = value::timestamp(seconds * 1000 + static_cast<int32_t>(nanos) / 1'000'000);
    return true;
  }
  auto n = std::make_shared<stream::nested>();
  std::vector<std::shared_ptr<stream::nested>> accs(static_cast<size_t>(d.field_count()));
  for (int i = 0; i < d.field_count(); ++i) {
    n->names.push_back(d.field(i)->name());
    n->items.push_back(default_of(*d.field(i)));
    if (d.field(i)->is_repeated()) {
      accs[static_cast<size_t>(i)] = std::make_shared<stream::nested>();
      accs[static_cast<size_t>(i)]->is_array = !d.field(i)->is_map();
    }
  }
  while (!r.at_end()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    const FD* f = d.FindFieldByNumber(static_cast<int>(tag >> 3));
    if (!f) {
      if (!r.skip(static_cast<int>(tag & 7), depth)) return false;
      continue;
    }
    auto i = static_cast<size_t>(f->index());
    if (!read_into(*f, static_cast<int>(tag & 7), r, n->items[i], accs[i].get(), depth))
      return false;
  }
  for (size_t i = 0; i < accs.size(); ++i)
    if (accs[i]) n->items[i] = value::make_nested(std::move(accs[i]));
  out = value::make_nested(std::move(n));
  return true;
}

}  // namespace

std::vector<stream::field_type> columns_of(const gp::Descriptor& message) {
  std::vector<stream::field_type> out;
  for (int i = 0; i < message.field_count(); ++i)
    out.push_back({message.field(i)->name(), sql_type(*message.field(i), 1)});
  return out;
}

struct protobuf_row_decoder::impl {
  const gp::Descriptor* message;
  std::vector<stream::type_ptr> types;       // per column
  std::vector<const FD*> field_of;           // per column (nullptr: not in the message)
  std::vector<int> column_by_number;         // field numbers below 256
  std::unordered_map<int, int> column_high;  // the others
  stream::row defaults;

  int column(int number) const {
    if (number >= 0 && static_cast<size_t>(number) < column_by_number.size())
      return column_by_number[static_cast<size_t>(number)];
    auto it = column_high.find(number);
    return it == column_high.end() ? -1 : it->second;
  }
};

protobuf_row_decoder::protobuf_row_decoder(const gp::Descriptor& message,
                                           const std::vector<stream::field_type>& columns,
                                           const std::vector<bool>& needed)
    : impl_(std::make_unique<impl>()) {
  impl_->message = &message;
  impl_->column_by_number.assign(256, -1);
  impl_->field_of.assign(columns.size(), nullptr);
  impl_->defaults.assign(columns.size(), value::null());
  for (size_t c = 0; c < columns.size(); ++c) {
    impl_->types.push_back(columns[c].type);
    if (!needed.empty() && !needed[c]) continue;
    const FD* f = message.FindFieldByName(columns[c].name);
    for (int i = 0; !f && i < message.field_count(); ++i)
      if (iequals(message.field(i)->name(), columns[c].name)) f = message.field(i);
    if (!f) continue;
    impl_->field_of[c] = f;
    impl_->defaults[c] = default_of(*f);
    if (f->number() < 256)
      impl_->column_by_number[static_cast<size_t>(f->number())] = static_cast<int>(c);
    else
      impl_->column_high[f->number()] = static_cast<int>(c);
  }
}

protobuf_row_decoder::~protobuf_row_decoder() = default;

bool protobuf_row_decoder::decode(std::string_view data, stream::row& out, std::string& err) {
  auto& m = *impl_;
  out = m.defaults;
  std::vector<std::shared_ptr<stream::nested>> accs;
  wire_reader r(data, &err);
  while (!r.at_end()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return false;
    int c = m.column(static_cast<int>(tag >> 3));
    if (c < 0 || tag >> 3 > INT32_MAX) {
      if (!r.skip(static_cast<int>(tag & 7), 0)) return false;
      continue;
    }
    const FD& f = *m.field_of[static_cast<size_t>(c)];
    stream::nested* acc = nullptr;
    if (f.is_repeated()) {
      if (accs.empty()) accs.resize(out.size());
      auto& a = accs[static_cast<size_t>(c)];
      if (!a) {
        a = std::make_shared<stream::nested>();
        a->is_array = !f.is_map();
      }
      acc = a.get();
    }
    if (!read_into(f, static_cast<int>(tag & 7), r, out[static_cast<size_t>(c)], acc, 0))
      return false;
  }
  for (size_t c = 0; c < accs.size(); ++c)
    if (accs[c]) out[c] = value::make_nested(std::move(accs[c]));
  for (size_t c = 0; c < out.size(); ++c)
    if (m.field_of[c] && !stream::coerce(out[c], *m.types[c], err)) return false;
  return true;
}

// --- encoding ---

namespace {

// The field type of a column's type; nested ROW types get messages written to `nested`.
std::string proto_type(const data_type& t, std::string& nested, int& count, int depth);

std::string message_for(const std::vector<stream::field_type>& fields, const std::string& name,
                        int& count, int depth) {
  std::string nested, body;
  for (size_t i = 0; i < fields.size(); ++i) {
    const auto& t = *fields[i].type;
    std::string label = t.id == type_id::array ? "repeated "
                        : t.id == type_id::map ? ""
                                               : "optional ";
    body += "  " + label + proto_type(t, nested, count, depth) + " " + identifier(fields[i].name) +
            " = " + std::to_string(i + 1) + ";\n";
  }
  return "message " + name + " {\n" + nested + body + "}\n";
}

std::string proto_type(const data_type& t, std::string& nested, int& count, int depth) {
  switch (t.id) {
    case type_id::boolean:
      return "bool";
    case type_id::int32:
      return "int32";
    case type_id::int64:
      return "int64";
    case type_id::float64:
    case type_id::decimal:
      return "double";
    case type_id::timestamp:
      return "google.protobuf.Timestamp";
    case type_id::row: {
      if (depth > k_max_depth) return "string";
      std::string name = "Row" + std::to_string(++count);
      nested += message_for(t.fields, name, count, depth + 1);
      return name;
    }
    case type_id::array: {
      // A repeated field of repeated items cannot be: nested arrays are text.
      if (!t.element || t.element->id == type_id::array || t.element->id == type_id::map)
        return "string";
      return proto_type(*t.element, nested, count, depth + 1);
    }
    case type_id::map: {
      if (!t.element || t.element->id == type_id::array || t.element->id == type_id::map)
        return "map<string, string>";
      return "map<string, " + proto_type(*t.element, nested, count, depth + 1) + ">";
    }
    default:
      return "string";
  }
}

void put_tag(std::string& out, int number, int wire) {
  append_varint(out, static_cast<uint64_t>(number) << 3 | static_cast<uint64_t>(wire));
}
void put_bytes(std::string& out, int number, std::string_view b) {
  put_tag(out, number, 2);
  append_varint(out, b.size());
  out.append(b);
}

void put_value(std::string& out, int number, const data_type& t, const value& v, int depth);

void put_message(std::string& out, const std::vector<stream::field_type>& fields, const value& v,
                 int depth) {
  for (size_t i = 0; i < fields.size(); ++i) {
    const value* f = nullptr;
    if (const stream::nested* n = v.nest())
      f = i < n->items.size() && n->names.size() == n->items.size() && n->names[i] == fields[i].name
              ? &n->items[i]
              : n->find(fields[i].name);
    if (f) put_value(out, static_cast<int>(i + 1), *fields[i].type, *f, depth + 1);
  }
}

void put_scalar(std::string& out, int number, const data_type& t, const value& in) {
  value c = in;
  std::string err;
  if (t.id != type_id::varchar && !stream::coerce(c, t, err)) throw std::runtime_error(err);
  switch (t.id) {
    case type_id::boolean:
      put_tag(out, number, 0);
      append_varint(out, c.b ? 1 : 0);
      return;
    case type_id::int32:
    case type_id::int64:
      put_tag(out, number, 0);
      append_varint(out, static_cast<uint64_t>(c.i));
      return;
    case type_id::float64:
    case type_id::decimal: {
      put_tag(out, number, 1);
      append_double(out, c.as_double());
      return;
    }
    case type_id::timestamp: {
      int64_t s = c.i / 1000, ms = c.i % 1000;
      if (ms < 0) {
        s -= 1;
        ms += 1000;
      }
      std::string ts;
      put_tag(ts, 1, 0);
      append_varint(ts, static_cast<uint64_t>(s));
      if (ms) {
        put_tag(ts, 2, 0);
        append_varint(ts, static_cast<uint64_t>(ms * 1'000'000));
      }
      put_bytes(out, number, ts);
      return;
    }
    default:
      if (c.k == value::kind::string)
        put_bytes(out, number, c.str());
      else
        put_bytes(out, number, stream::to_display(c));
  }
}

void put_value(std::string& out, int number, const data_type& t, const value& v, int depth) {
  if (v.is_null()) return;
  if (t.id == type_id::row) {
    if (depth > k_max_depth) return put_scalar(out, number, *data_type::of(type_id::varchar), v);
    std::string m;
    put_message(m, t.fields, v, depth);
    put_bytes(out, number, m);
    return;
  }
  if (t.id == type_id::array || t.id == type_id::map) {
    const stream::nested* n = v.nest();
    if (!n) return;
    static const auto k_text = data_type::of(type_id::varchar);
    const data_type* et = t.element ? t.element.get() : k_text.get();
    if (et->id == type_id::array || et->id == type_id::map) et = k_text.get();
    for (size_t i = 0; i < n->items.size(); ++i) {
      const auto& item = n->items[i];
      if (t.id == type_id::array) {
        if (!item.is_null()) put_value(out, number, *et, item, depth + 1);
        continue;
      }
      std::string entry;
      put_bytes(entry, 1, i < n->names.size() ? n->names[i] : "");
      put_value(entry, 2, *et, item, depth + 1);
      put_bytes(out, number, entry);
    }
    return;
  }
  put_scalar(out, number, t, v);
}

}  // namespace

std::string protobuf_schema_for(const std::vector<stream::field_type>& columns,
                                std::string_view name) {
  int count = 0;
  std::string message = message_for(columns, identifier(name), count, 0);
  return "syntax = \"proto3\";\npackage sluice;\n\nimport "
         "\"google/protobuf/timestamp.proto\";\n\n" +
         message;
}

void protobuf_encode_row(std::string& out, const std::vector<stream::field_type>& columns,
                         const stream::row& r) {
  for (size_t i = 0; i < columns.size(); ++i)
    if (i < r.size()) put_value(out, static_cast<int>(i + 1), *columns[i].type, r[i], 0);
}

std::optional<std::vector<int32_t>> read_message_indexes(std::string_view& data, std::string& err) {
  byte_reader r(data, &err);
  int64_t count = 0;
  if (!r.zigzag(count)) return std::nullopt;
  if (count < 0 || count > 64) {
    err = "bad message indexes";
    return std::nullopt;
  }
  std::vector<int32_t> out;
  for (int64_t i = 0; i < count; ++i) {
    int64_t v = 0;
    if (!r.zigzag(v)) return std::nullopt;
    if (v < 0 || v > INT32_MAX) {
      err = "bad message index";
      return std::nullopt;
    }
    out.push_back(static_cast<int32_t>(v));
  }
  data.remove_prefix(data.size() - r.left());
  return out;
}

void append_message_indexes(std::string& out, const std::vector<int32_t>& indexes) {
  if (indexes.size() == 1 && indexes[0] == 0) {
    out.push_back(0);
    return;
  }
  append_zigzag(out, static_cast<int64_t>(indexes.size()));
  for (int32_t i : indexes)
    append_zigzag(out, i);
}

}  // namespace sluice::schema
