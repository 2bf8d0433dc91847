#include "stream/json_decoder.h"

#include <simdjson.h>

#include <cctype>
#include <unordered_map>

#include "base/strings.h"

namespace sluice::stream {

// The DOM API picks the fastest kernel for the CPU at run time (On-Demand would be fixed
// to what the compiler targets).
namespace dom = simdjson::dom;

namespace {

const char* json_type_name(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "?";
}

// Converts the JSON value `v` to a value of type `t`; false with `err` (naming `path`).
bool convert(dom::element v, const data_type& t, value& out, std::string& err,
             const std::string& path) {
  auto jt = v.type();
  if (jt == dom::element_type::NULL_VALUE) {
    out = value();
    return true;
  }
  auto mismatch = [&] {
    err = "column '" + path + "': expected " + t.to_string() + ", got " + json_type_name(jt);
    return false;
  };
  bool number = jt == dom::element_type::INT64 || jt == dom::element_type::UINT64 ||
                jt == dom::element_type::DOUBLE;
  switch (t.id) {
    case type_id::null:
      out = value();
      return true;
    case type_id::boolean:
      if (jt != dom::element_type::BOOL) return mismatch();
      out = value::boolean(v.get_bool().value_unsafe());
      return true;
    case type_id::int32:
    case type_id::int64: {
      if (!number) return mismatch();
      if (jt != dom::element_type::INT64) {
        err =
            "column '" + path + "': expected " + t.to_string() + ", got " +
            (jt == dom::element_type::DOUBLE ? "a non-integer number" : "an integer out of range");
        return false;
      }
      int64_t i = v.get_int64().value_unsafe();
      if (t.id == type_id::int32 && (i < INT32_MIN || i > INT32_MAX)) {
        err = "column '" + path + "': " + std::to_string(i) + " is out of range for INT";
        return false;
      }
      out = value::integer(i);
      return true;
    }
    case type_id::float64:
    case type_id::decimal: {
      double d;
      if (!number || v.get_double().get(d)) return mismatch();
      out = value::real(d);
      return true;
    }
    case type_id::varchar: {
      if (jt == dom::element_type::STRING) {
        out = value::string(v.get_string().value_unsafe());
        return true;
      }
      if (number || jt == dom::element_type::BOOL) {
        out = value::string(simdjson::minify(v));
        return true;
      }
      return mismatch();
    }
    case type_id::timestamp: {
      if (jt == dom::element_type::INT64) {
        out = value::timestamp(v.get_int64().value_unsafe());
        return true;
      }
      if (number) {
        double d;
        if (v.get_double().get(d)) return mismatch();
        out = value::timestamp(static_cast<int64_t>(d));
        return true;
      }
      if (jt != dom::element_type::STRING) return mismatch();
      std::string_view s = v.get_string().value_unsafe();
      int64_t ms;
      if (!parse_timestamp(s, ms)) {
        err = "column '" + path + "': '" + std::string(s) + "' is not an ISO-8601 timestamp";
        return false;
      }
      out = value::timestamp(ms);
      return true;
    }
    case type_id::array: {
      if (jt != dom::element_type::ARRAY) return mismatch();
      auto n = std::make_shared<nested>();
      n->is_array = true;
      size_t i = 0;
      dom::array arr;
      if (v.get_array().get(arr)) return mismatch();
      for (dom::element item : arr) {
        value x;
        if (!convert(item, *t.element, x, err, path + "[" + std::to_string(++i) + "]"))
          return false;
        n->items.push_back(std::move(x));
      }
      out = value::make_nested(std::move(n));
      return true;
    }
    case type_id::map:
    case type_id::row: {
      if (jt != dom::element_type::OBJECT) return mismatch();
      auto n = std::make_shared<nested>();
      if (t.id == type_id::row) {
        n->names.reserve(t.fields.size());
        for (const auto& f : t.fields)
          n->names.push_back(f.name);
        n->items.resize(t.fields.size());
      }
      dom::object obj;
      if (v.get_object().get(obj)) return mismatch();
      for (dom::key_value_pair field : obj) {
        std::string_view key = field.key;
        if (t.id == type_id::map) {
          value x;
          if (!convert(field.value, *t.element, x, err, path + "." + std::string(key)))
            return false;
          n->names.emplace_back(key);
          n->items.push_back(std::move(x));
          continue;
        }
        for (size_t i = 0; i < t.fields.size(); ++i)
          if (t.fields[i].name == key) {
            if (!convert(field.value, *t.fields[i].type, n->items[i], err,
                         path + "." + std::string(key)))
              return false;
            break;
          }
      }
      out = value::make_nested(std::move(n));
      return true;
    }
  }
  return mismatch();
}

}  // namespace

struct json_decoder::impl {
  std::vector<field_type> schema;
  std::unordered_map<std::string, size_t> folded;
  std::vector<bool> needed;
  dom::parser parser;
  std::string buf;  // the record copied with simdjson's padding after it
};

json_decoder::json_decoder(std::vector<field_type> schema, std::vector<bool> needed)
    : impl_(std::make_unique<impl>()) {
  impl_->schema = std::move(schema);
  if (needed.empty()) needed.assign(impl_->schema.size(), true);  // none given: all
  needed.resize(impl_->schema.size(), false);
  impl_->needed = std::move(needed);
  for (size_t i = 0; i < impl_->schema.size(); ++i)
    impl_->folded.emplace(ascii_lower(impl_->schema[i].name), i);
}

json_decoder::~json_decoder() = default;

bool json_decoder::decode(std::string_view json, row& out, std::string& err) {
  auto& m = *impl_;
  out.assign(m.schema.size(), value());
  m.buf.assign(json);
  m.buf.append(simdjson::SIMDJSON_PADDING, '\0');
  dom::element doc;
  if (m.parser.parse(m.buf.data(), json.size(), false).get(doc)) {
    err = "not valid JSON";
    return false;
  }
  dom::object obj;
  if (doc.get_object().get(obj)) {
    err = "not a JSON object";
    return false;
  }
  for (auto field : obj) {
    std::string_view key = field.key;
    size_t idx = m.schema.size();
    for (size_t i = 0; i < m.schema.size(); ++i)
      if (m.schema[i].name == key) {
        idx = i;
        break;
      }
    if (idx == m.schema.size()) {
      auto f = m.folded.find(ascii_lower(key));
      if (f == m.folded.end()) continue;
      idx = f->second;
    }
    if (!m.needed[idx]) continue;
    if (!convert(field.value, *m.schema[idx].type, out[idx], err, m.schema[idx].name)) return false;
  }
  return true;
}

}  // namespace sluice::stream
