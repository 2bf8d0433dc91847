#include "schema/json_schema.h"

#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>

#include "base/json_writer.h"

namespace sluice::schema::json {

using simdjson::dom::element;
using simdjson::dom::element_type;
using stream::data_type;
using stream::type_id;

namespace {

constexpr int k_max_schema_depth = 64;
constexpr size_t k_max_pattern_input = 4096;

enum type_bit : uint8_t {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_string = 32,
  t_integer = 64,
};

constexpr std::pair<std::string_view, uint8_t> k_types[] = {
    {"null", t_null},     {"boolean", t_boolean}, {"object", t_object},  {"array", t_array},
    {"number", t_number}, {"string", t_string},   {"integer", t_integer}};

struct parse_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string types_text(uint8_t t) {
  std::string out;
  for (auto [n, b] : k_types)
    if (t & b) out += (out.empty() ? "" : "|") + std::string(n);
  return out.empty() ? "any" : out;
}

}  // namespace

struct node {
  bool always = false;                                  // the schema `true` or {}
  bool never = false;                                   // the schema `false`
  uint8_t types = 0;                                    // 0: any type
  std::optional<std::vector<std::string>> enum_values;  // minified
  std::optional<std::string> const_value;
  std::vector<std::pair<std::string, const node*>> properties;
  std::vector<std::string> required;
  bool additional_allowed = true;
  const node* additional = nullptr;
  std::vector<std::pair<std::string, const node*>> pattern_properties;
  std::vector<std::regex> pattern_regexes;
  const node* items = nullptr;
  std::vector<const node*> tuple;
  bool additional_items_allowed = true;
  const node* additional_items = nullptr;
  std::optional<int64_t> min_items, max_items, min_length, max_length, min_properties,
      max_properties;
  bool unique_items = false;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  std::optional<std::regex> pattern;
  std::string pattern_text;
  std::vector<const node*> all_of, any_of, one_of;
  const node* not_schema = nullptr;
  std::string ref;  // unresolved reference text
  const node* target = nullptr;
  std::string format;

  const node* property(std::string_view name) const {
    for (const auto& [n, s] : properties)
      if (n == name) return s;
    return nullptr;
  }
  bool requires_property(std::string_view name) const {
    for (const auto& r : required)
      if (r == name) return true;
    return false;
  }
};

struct builder {
  schema& s;
  std::map<std::string, node*> by_pointer;          // "<doc>#/definitions/x"
  std::vector<std::pair<node*, std::string>> refs;  // (node, "<doc>" + "#/...")
  std::map<std::string, node*> doc_roots;           // by document name ("" is the schema)

  node* make() {
    s.nodes_.push_back(std::make_unique<node>());
    return s.nodes_.back().get();
  }

  static std::optional<double> number(simdjson::dom::object o, std::string_view k,
                                      const std::string& path) {
    element v;
    if (o[k].get(v)) return std::nullopt;
    double d = 0;
    if (v.get(d)) throw parse_error(path + "/" + std::string(k) + ": must be a number");
    return d;
  }
  static std::optional<int64_t> count(simdjson::dom::object o, std::string_view k,
                                      const std::string& path) {
    element v;
    if (o[k].get(v)) return std::nullopt;
    int64_t n = 0;
    if (v.get(n) || n < 0)
      throw parse_error(path + "/" + std::string(k) + ": must be a non-negative integer");
    return n;
  }

  const node* list(element v, const std::string& doc, const std::string& path,
                   std::vector<const node*>& out, int depth) {
    simdjson::dom::array a;
    if (v.get(a) || a.size() == 0) throw parse_error(path + ": must be a non-empty array");
    size_t i = 0;
    for (auto x : a)
      out.push_back(build(x, doc, path + "/" + std::to_string(i++), depth + 1));
    return nullptr;
  }

  node* build(element e, const std::string& doc, const std::string& path, int depth) {
    if (depth > k_max_schema_depth) throw parse_error(path + ": nested too deeply");
    node* n = make();
    bool b = false;
    if (!e.get(b)) {
      (b ? n->always : n->never) = true;
      return n;
    }
    simdjson::dom::object o;
    if (e.get(o))
      throw parse_error((path.empty() ? "#" : path) + ": a schema is an object or a boolean");
    if (o.size() == 0) n->always = true;
    element v;
    if (!o["$ref"].get(v)) {
      std::string_view r;
      if (v.get(r)) throw parse_error(path + "/$ref: must be a string");
      n->ref = std::string(r);
      refs.emplace_back(n, doc);
    }
    if (!o["type"].get(v)) {
      std::string_view t;
      simdjson::dom::array ts;
      auto one = [&](std::string_view name) {
        for (auto [tn, bit] : k_types)
          if (tn == name) {
            n->types |= bit;
            return;
          }
        throw parse_error(path + "/type: unknown type '" + std::string(name) + "'");
      };
      if (!v.get(t)) {
        one(t);
      } else if (!v.get(ts)) {
        for (auto x : ts) {
          if (x.get(t)) throw parse_error(path + "/type: must hold type names");
          one(t);
        }
      } else {
        throw parse_error(path + "/type: must be a type name or an array of them");
      }
    }
    if (!o["enum"].get(v)) {
      simdjson::dom::array a;
      if (v.get(a)) throw parse_error(path + "/enum: must be an array");
      n->enum_values.emplace();
      for (auto x : a)
        n->enum_values->push_back(simdjson::minify(x));
    }
    if (!o["const"].get(v)) n->const_value = simdjson::minify(v);
    if (!o["properties"].get(v)) {
      simdjson::dom::object ps;
      if (v.get(ps)) throw parse_error(path + "/properties: must be an object");
      for (auto [k, x] : ps)
        n->properties.emplace_back(
            std::string(k), build(x, doc, path + "/properties/" + std::string(k), depth + 1));
    }
    if (!o["required"].get(v)) {
      simdjson::dom::array a;
      if (v.get(a)) throw parse_error(path + "/required: must be an array of names");
      for (auto x : a) {
        std::string_view r;
        if (x.get(r)) throw parse_error(path + "/required: must be an array of names");
        n->required.emplace_back(r);
      }
    }
    if (!o["additionalProperties"].get(v)) {
      bool allowed = true;
      if (!v.get(allowed))
        n->additional_allowed = allowed;
      else
        n->additional = build(v, doc, path + "/additionalProperties", depth + 1);
    }
    if (!o["patternProperties"].get(v)) {
      simdjson::dom::object ps;
      if (v.get(ps)) throw parse_error(path + "/patternProperties: must be an object");
      for (auto [k, x] : ps) {
        try {
          n->pattern_regexes.emplace_back(std::string(k), std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          throw parse_error(path + "/patternProperties: bad pattern '" + std::string(k) + "'");
        }
        n->pattern_properties.emplace_back(
            std::string(k),
            build(x, doc, path + "/patternProperties/" + std::string(k), depth + 1));
      }
    }
    if (!o["items"].get(v)) {
      if (v.is_array())
        list(v, doc, path + "/items", n->tuple, depth);
      else
        n->items = build(v, doc, path + "/items", depth + 1);
    }
    if (!o["additionalItems"].get(v)) {
      bool allowed = true;
      if (!v.get(allowed))
        n->additional_items_allowed = allowed;
      else
        n->additional_items = build(v, doc, path + "/additionalItems", depth + 1);
    }
    n->min_items = count(o, "minItems", path);
    n->max_items = count(o, "maxItems", path);
    n->min_length = count(o, "minLength", path);
    n->max_length = count(o, "maxLength", path);
    n->min_properties = count(o, "minProperties", path);
    n->max_properties = count(o, "maxProperties", path);
    if (!o["uniqueItems"].get(v) && v.get(n->unique_items))
      throw parse_error(path + "/uniqueItems: must be a boolean");
    n->minimum = number(o, "minimum", path);
    n->maximum = number(o, "maximum", path);
    n->exclusive_minimum = number(o, "exclusiveMinimum", path);
    n->exclusive_maximum = number(o, "exclusiveMaximum", path);
    n->multiple_of = number(o, "multipleOf", path);
    if (n->multiple_of && *n->multiple_of <= 0)
      throw parse_error(path + "/multipleOf: must be greater than 0");
    if (!o["pattern"].get(v)) {
      std::string_view p;
      if (v.get(p)) throw parse_error(path + "/pattern: must be a string");
      try {
        n->pattern.emplace(std::string(p), std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        throw parse_error(path + "/pattern: bad regular expression '" + std::string(p) + "'");
      }
      n->pattern_text = std::string(p);
    }
    if (!o["format"].get(v)) {
      std::string_view f;
      if (!v.get(f)) n->format = std::string(f);
    }
    if (!o["allOf"].get(v)) list(v, doc, path + "/allOf", n->all_of, depth);
    if (!o["anyOf"].get(v)) list(v, doc, path + "/anyOf", n->any_of, depth);
    if (!o["oneOf"].get(v)) list(v, doc, path + "/oneOf", n->one_of, depth);
    if (!o["not"].get(v)) n->not_schema = build(v, doc, path + "/not", depth + 1);
    for (const char* defs : {"definitions", "$defs"}) {
      if (o[defs].get(v)) continue;
      simdjson::dom::object ds;
      if (v.get(ds)) throw parse_error(path + "/" + defs + ": must be an object");
      for (auto [k, x] : ds) {
        std::string pointer = path + "/" + defs + "/" + std::string(k);
        by_pointer[doc + "#" + pointer] = build(x, doc, pointer, depth + 1);
      }
    }
    return n;
  }

  void resolve() {
    for (auto& [n, doc] : refs) {
      std::string r = n->ref;
      std::string target_doc = doc;
      auto hash = r.find('#');
      if (hash != 0) {
        target_doc = r.substr(0, hash);
        r = hash == std::string::npos ? "#" : r.substr(hash);
      }
      if (r == "#" || r == "#/") {
        auto it = doc_roots.find(target_doc);
        if (it == doc_roots.end()) throw parse_error("$ref '" + n->ref + "': no such schema");
        n->target = it->second;
        continue;
      }
      auto it = by_pointer.find(target_doc + r);
      if (it == by_pointer.end())
        throw parse_error("$ref '" + n->ref + "' does not name a definition");
      n->target = it->second;
    }
  }
};

namespace {

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s)
    n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

uint8_t type_of(element e) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return t_null;
    case element_type::BOOL:
      return t_boolean;
    case element_type::OBJECT:
      return t_object;
    case element_type::ARRAY:
      return t_array;
    case element_type::STRING:
      return t_string;
    case element_type::INT64:
    case element_type::UINT64:
      return t_integer | t_number;
    case element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      return std::floor(d) == d && std::isfinite(d) ? (t_integer | t_number) : t_number;
    }
  }
  return 0;
}

struct validator {
  std::string& err;

  bool fail(const std::string& path, const std::string& what) {
    err = (path.empty() ? std::string("#") : path) + ": " + what;
    return false;
  }

  bool valid(const node& n, element e, const std::string& path, int depth) {
    if (depth > k_max_schema_depth) return fail(path, "nested too deeply (a $ref cycle?)");
    if (n.never) return fail(path, "no value is allowed here");
    if (n.always) return true;
    if (n.target && !valid(*n.target, e, path, depth + 1)) return false;
    uint8_t t = type_of(e);
    if (n.types && !(n.types & t))
      return fail(path, "expected " + types_text(n.types) + ", got " +
                            types_text(t & t_integer ? uint8_t{t_integer} : t));
    if (n.enum_values || n.const_value) {
      std::string m = simdjson::minify(e);
      if (n.const_value && m != *n.const_value) return fail(path, "must be " + *n.const_value);
      if (n.enum_values &&
          std::find(n.enum_values->begin(), n.enum_values->end(), m) == n.enum_values->end())
        return fail(path, m + " is not one of the enum's values");
    }
    if (t & t_number) {
      double d = 0;
      if (e.get(d)) d = 0;
      if (n.minimum && d < *n.minimum) return fail(path, "less than the minimum");
      if (n.maximum && d > *n.maximum) return fail(path, "more than the maximum");
      if (n.exclusive_minimum && d <= *n.exclusive_minimum)
        return fail(path, "not more than the exclusive minimum");
      if (n.exclusive_maximum && d >= *n.exclusive_maximum)
        return fail(path, "not less than the exclusive maximum");
      if (n.multiple_of) {
        double q = d / *n.multiple_of;
        if (std::fabs(q - std::round(q)) > 1e-9) return fail(path, "not a multiple of multipleOf");
      }
    }
    if (t == t_string) {
      std::string_view s = e.get_string().value_unsafe();
      size_t len = n.min_length || n.max_length ? code_points(s) : 0;
      if (n.min_length && len < static_cast<size_t>(*n.min_length))
        return fail(path, "shorter than minLength");
      if (n.max_length && len > static_cast<size_t>(*n.max_length))
        return fail(path, "longer than maxLength");
      // std::regex recurses per character: a long string could exhaust the thread's stack.
      if (n.pattern && s.size() > k_max_pattern_input)
        return fail(path, "longer than the " + std::to_string(k_max_pattern_input) +
                              " bytes a pattern is matched against");
      if (n.pattern && !std::regex_search(s.begin(), s.end(), *n.pattern))
        return fail(path, "does not match the pattern " + n.pattern_text);
    }
    if (t == t_object) {
      simdjson::dom::object o = e.get_object().value_unsafe();
      if (n.min_properties && o.size() < static_cast<size_t>(*n.min_properties))
        return fail(path, "fewer properties than minProperties");
      if (n.max_properties && o.size() > static_cast<size_t>(*n.max_properties))
        return fail(path, "more properties than maxProperties");
      for (const auto& r : n.required) {
        element x;
        if (o[r].get(x)) return fail(path, "the required property '" + r + "' is missing");
      }
      for (auto [k, x] : o) {
        std::string kp = path + "/" + std::string(k);
        bool matched = false;
        if (const node* p = n.property(k)) {
          matched = true;
          if (!valid(*p, x, kp, depth + 1)) return false;
        }
        for (size_t i = 0; i < n.pattern_properties.size(); ++i)
          if (k.size() <= k_max_pattern_input &&
              std::regex_search(k.begin(), k.end(), n.pattern_regexes[i])) {
            matched = true;
            if (!valid(*n.pattern_properties[i].second, x, kp, depth + 1)) return false;
          }
        if (matched) continue;
        if (!n.additional_allowed)
          return fail(path, "the property '" + std::string(k) + "' is not allowed");
        if (n.additional && !valid(*n.additional, x, kp, depth + 1)) return false;
      }
    }
    if (t == t_array) {
      simdjson::dom::array a = e.get_array().value_unsafe();
      if (n.min_items && a.size() < static_cast<size_t>(*n.min_items))
        return fail(path, "fewer items than minItems");
      if (n.max_items && a.size() > static_cast<size_t>(*n.max_items))
        return fail(path, "more items than maxItems");
      size_t i = 0;
      std::set<std::string> seen;
      for (auto x : a) {
        std::string ip = path + "/" + std::to_string(i);
        if (!n.tuple.empty()) {
          if (i < n.tuple.size()) {
            if (!valid(*n.tuple[i], x, ip, depth + 1)) return false;
          } else if (!n.additional_items_allowed) {
            return fail(path, "more items than the tuple allows");
          } else if (n.additional_items && !valid(*n.additional_items, x, ip, depth + 1)) {
            return false;
          }
        } else if (n.items && !valid(*n.items, x, ip, depth + 1)) {
          return false;
        }
        if (n.unique_items && !seen.insert(simdjson::minify(x)).second)
          return fail(path, "items are not unique");
        ++i;
      }
    }
    for (const node* s : n.all_of)
      if (!valid(*s, e, path, depth + 1)) return false;
    if (!n.any_of.empty()) {
      std::string ignored;
      validator quiet{ignored};
      bool any = false;
      for (const node* s : n.any_of)
        if ((any = quiet.valid(*s, e, path, depth + 1))) break;
      if (!any) return fail(path, "matches none of anyOf");
    }
    if (!n.one_of.empty()) {
      std::string ignored;
      validator quiet{ignored};
      int matches = 0;
      for (const node* s : n.one_of)
        matches += quiet.valid(*s, e, path, depth + 1);
      if (matches != 1)
        return fail(path, "matches " + std::to_string(matches) + " of oneOf, not exactly one");
    }
    if (n.not_schema) {
      std::string ignored;
      validator quiet{ignored};
      if (quiet.valid(*n.not_schema, e, path, depth + 1)) return fail(path, "matches not");
    }
    return true;
  }
};

// The SQL type of a (resolved) schema. A schema that contains itself ($ref to an enclosing
// one) is JSON text where it recurs, and so is everything past `budget` types in all (a schema
// whose definitions refer to each other many times over would otherwise grow exponentially).
struct typing {
  std::set<const node*> active;  // the schemas being typed, outermost first
  size_t budget = 10'000;
};

stream::type_ptr sql_type(const node& n, int depth, typing& ty) {
  const node* s = &n;
  while (s->target && depth < k_max_schema_depth) {
    s = s->target;
    ++depth;
  }
  uint8_t t = s->types & ~t_null;
  if (depth > k_max_schema_depth || ty.budget == 0 || ty.active.count(s))
    return data_type::of(type_id::varchar);
  --ty.budget;
  if (t == t_boolean) return data_type::of(type_id::boolean);
  if (t == t_integer) return data_type::of(type_id::int64);
  if (t == t_number || t == (t_number | t_integer)) return data_type::of(type_id::float64);
  if (t == t_string)
    return data_type::of(s->format == "date-time" ? type_id::timestamp : type_id::varchar);
  ty.active.insert(s);
  struct leave {
    typing& ty;
    const node* s;
    ~leave() { ty.active.erase(s); }
  } on_return{ty, s};
  if (t == t_array) {
    auto a = std::make_shared<data_type>();
    a->id = type_id::array;
    a->element = s->items ? sql_type(*s->items, depth + 1, ty) : data_type::of(type_id::varchar);
    return a;
  }
  if (t == t_object) {
    auto r = std::make_shared<data_type>();
    if (s->properties.empty() && s->additional) {
      r->id = type_id::map;
      r->element = sql_type(*s->additional, depth + 1, ty);
      return r;
    }
    r->id = type_id::row;
    for (const auto& [name, p] : s->properties)
      r->fields.push_back({name, sql_type(*p, depth + 1, ty)});
    return r;
  }
  return data_type::of(type_id::varchar);
}

// --- compatibility ---

struct comparer {
  std::vector<avro::incompatibility> found;
  std::set<std::pair<const node*, const node*>> active;

  void add(const char* kind, const std::string& path, std::string message) {
    found.push_back({kind, path.empty() ? "#/" : path, std::move(message)});
  }

  static const node* resolved(const node* n) {
    for (int i = 0; n->target && i < k_max_schema_depth; ++i)
      n = n->target;
    return n;
  }

  // Whether `r` accepts everything `w` does, as far as the keywords tell.
  void compare(const node* rn, const node* wn, const std::string& path) {
    const node& r = *resolved(rn);
    const node& w = *resolved(wn);
    if (r.always || w.never) return;
    if (!active.insert({&r, &w}).second) return;
    if (r.never) {
      add("TYPE_NARROWED", path, "the new schema accepts nothing here");
      return;
    }
    uint8_t rt = r.types, wt = w.types;
    if (rt & t_number) rt |= t_integer;
    if (rt && (wt == 0 || (wt & ~rt)))
      add("TYPE_NARROWED", path + "/type",
          "the type narrowed from " + types_text(wt) + " to " + types_text(r.types));
    if (r.enum_values) {
      if (!w.enum_values) {
        add("ENUM_ARRAY_NARROWED", path + "/enum", "an enum was added");
      } else {
        for (const auto& v : *w.enum_values)
          if (std::find(r.enum_values->begin(), r.enum_values->end(), v) == r.enum_values->end()) {
            add("ENUM_ARRAY_NARROWED", path + "/enum", "the enum lost " + v);
            break;
          }
      }
    }
    auto tighter_min = [&](const std::optional<double>& a, const std::optional<double>& b,
                           const char* kind, const char* what) {
      if (a && (!b || *a > *b))
        add(kind, path + "/" + what, std::string(what) + " increased or added");
    };
    auto tighter_max = [&](const std::optional<double>& a, const std::optional<double>& b,
                           const char* kind, const char* what) {
      if (a && (!b || *a < *b))
        add(kind, path + "/" + what, std::string(what) + " decreased or added");
    };
    auto as_double = [](const std::optional<int64_t>& v) -> std::optional<double> {
      if (!v) return std::nullopt;
      return static_cast<double>(*v);
    };
    tighter_min(r.minimum, w.minimum, "MINIMUM_INCREASED", "minimum");
    tighter_max(r.maximum, w.maximum, "MAXIMUM_DECREASED", "maximum");
    tighter_min(r.exclusive_minimum, w.exclusive_minimum, "EXCLUSIVE_MINIMUM_INCREASED",
                "exclusiveMinimum");
    tighter_max(r.exclusive_maximum, w.exclusive_maximum, "EXCLUSIVE_MAXIMUM_DECREASED",
                "exclusiveMaximum");
    tighter_min(as_double(r.min_length), as_double(w.min_length), "MIN_LENGTH_INCREASED",
                "minLength");
    tighter_max(as_double(r.max_length), as_double(w.max_length), "MAX_LENGTH_DECREASED",
                "maxLength");
    tighter_min(as_double(r.min_items), as_double(w.min_items), "MIN_ITEMS_INCREASED", "minItems");
    tighter_max(as_double(r.max_items), as_double(w.max_items), "MAX_ITEMS_DECREASED", "maxItems");
    if (!r.pattern_text.empty() && r.pattern_text != w.pattern_text)
      add("PATTERN_CHANGED", path + "/pattern", "the pattern changed or was added");
    // Objects.
    for (const auto& [name, rp] : r.properties) {
      std::string pp = path + "/properties/" + name;
      if (const node* wp = w.property(name)) {
        compare(rp, wp, pp);
      } else if (w.additional_allowed && !resolved(rp)->always) {
        // The writer allowed any property by that name: the reader now constrains it.
        if (w.additional)
          compare(rp, w.additional, pp);
        else
          add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", pp,
              "the property '" + name + "' was added to an open content model");
      }
      if (r.requires_property(name) && !w.requires_property(name))
        add(w.property(name) ? "REQUIRED_ATTRIBUTE_ADDED"
                             : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            pp, "the property '" + name + "' is newly required");
    }
    for (const auto& [name, wp] : w.properties) {
      if (r.property(name)) continue;
      std::string pp = path + "/properties/" + name;
      if (!r.additional_allowed)
        add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", pp,
            "the property '" + name + "' was removed from a closed content model");
      else if (r.additional)
        compare(r.additional, wp, pp);
    }
    if (!r.additional_allowed && w.additional_allowed)
      add("ADDITIONAL_PROPERTIES_REMOVED", path + "/additionalProperties",
          "additional properties are no longer allowed");
    else if (r.additional && w.additional)
      compare(r.additional, w.additional, path + "/additionalProperties");
    // Arrays.
    if (r.items && w.items) compare(r.items, w.items, path + "/items");
    for (size_t i = 0; i < r.tuple.size() && i < w.tuple.size(); ++i)
      compare(r.tuple[i], w.tuple[i], path + "/items/" + std::to_string(i));
    active.erase({&r, &w});
  }
};

}  // namespace

schema::~schema() = default;

std::shared_ptr<const schema> schema::parse(std::string_view text,
                                            const std::vector<referenced_text>& references,
                                            std::string& error) {
  std::shared_ptr<schema> s(new schema());
  builder b{*s, {}, {}, {}};
  simdjson::dom::parser parser;
  element doc;
  try {
    for (const auto& r : references) {
      if (parser.parse(r.text).get(doc))
        throw parse_error("reference '" + r.name + "' is not JSON");
      b.doc_roots[r.name] = b.build(doc, r.name, "", 0);
    }
    if (auto e = parser.parse(text.data(), text.size()).get(doc))
      throw parse_error(std::string("not JSON: ") + simdjson::error_message(e));
    s->text_ = simdjson::minify(doc);
    node* root = b.build(doc, "", "", 0);
    b.doc_roots[""] = root;
    s->root_ = root;
    b.resolve();
  } catch (const parse_error& e) {
    error = e.what();
    return nullptr;
  }
  return s;
}

bool schema::validate(element doc, std::string& err) const {
  validator v{err};
  return v.valid(*root_, doc, "", 0);
}

std::optional<std::vector<stream::field_type>> columns_of(const schema& s, std::string& err) {
  typing ty;
  auto t = sql_type(s.root(), 0, ty);
  if (t->id != type_id::row || t->fields.empty()) {
    err = "the schema is not an object with properties: they are a stream's columns";
    return std::nullopt;
  }
  return t->fields;
}

std::vector<avro::incompatibility> check_compatibility(const schema& reader, const schema& writer) {
  comparer c;
  c.compare(&reader.root(), &writer.root(), "#");
  return std::move(c.found);
}

namespace {

void write_type(json_writer& w, const data_type& t, int depth) {
  auto nullable = [&](const char* type) {
    w.key("type").begin_array().value(type).value("null").end_array();
  };
  w.begin_object();
  switch (t.id) {
    case type_id::boolean:
      nullable("boolean");
      break;
    case type_id::int32:
    case type_id::int64:
      nullable("integer");
      break;
    case type_id::float64:
    case type_id::decimal:
      nullable("number");
      break;
    case type_id::timestamp:
      nullable("string");
      w.key("format").value("date-time");
      break;
    case type_id::row:
      nullable("object");
      if (depth < k_max_schema_depth) {
        w.key("properties").begin_object();
        for (const auto& f : t.fields) {
          w.key(f.name);
          write_type(w, *f.type, depth + 1);
        }
        w.end_object();
      }
      break;
    case type_id::array:
      nullable("array");
      if (t.element && depth < k_max_schema_depth) {
        w.key("items");
        write_type(w, *t.element, depth + 1);
      }
      break;
    case type_id::map:
      nullable("object");
      if (t.element && depth < k_max_schema_depth) {
        w.key("additionalProperties");
        write_type(w, *t.element, depth + 1);
      }
      break;
    default:
      nullable("string");
  }
  w.end_object();
}

}  // namespace

std::string json_schema_for(const std::vector<stream::field_type>& columns,
                            std::string_view title) {
  json_writer w;
  w.begin_object()
      .key("$schema")
      .value("http://json-schema.org/draft-07/schema#")
      .key("title")
      .value(title)
      .key("type")
      .value("object")
      .key("properties")
      .begin_object();
  for (const auto& c : columns) {
    w.key(c.name);
    write_type(w, *c.type, 1);
  }
  w.end_object().end_object();
  return std::move(w).str();
}

}  // namespace sluice::schema::json
