#include "schema/avro_schema.h"

#include "base/json_writer.h"

#include <simdjson.h>

#include <map>
#include <set>
#include <stdexcept>

namespace sluice::schema::avro {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct parse_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::string_view k_type_names[] = {"null",   "boolean", "int",    "long",   "float",
                                             "double", "bytes",   "string", "record", "enum",
                                             "array",  "map",     "union",  "fixed"};

std::optional<type> primitive(std::string_view n) {
  for (int t = 0; t <= static_cast<int>(type::string); ++t)
    if (k_type_names[t] == n) return static_cast<type>(t);
  return std::nullopt;
}

bool valid_name(std::string_view n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool valid_full_name(std::string_view n) {
  size_t start = 0;
  while (true) {
    auto dot = n.find('.', start);
    if (!valid_name(n.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string in_quotes(std::string_view s) {
  std::string out = "'";
  out.append(s.substr(0, 80));
  if (s.size() > 80) out += "...";
  return out + "'";
}

}  // namespace

std::string_view name_of(type t) {
  return k_type_names[static_cast<size_t>(t)];
}

std::string_view node::short_name() const {
  auto dot = full_name.rfind('.');
  return dot == std::string::npos ? std::string_view(full_name)
                                  : std::string_view(full_name).substr(dot + 1);
}

int node::field_index(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == name) return static_cast<int>(i);
  for (size_t i = 0; i < fields.size(); ++i)
    for (const auto& a : fields[i].aliases)
      if (a == name) return static_cast<int>(i);
  return -1;
}

// Builds a schema's nodes from its JSON (REQUIRES: one builder per parse).
struct schema_builder {
  schema& s;
  std::map<std::string, const node*, std::less<>> named;

  node* make(type t) {
    s.nodes_.push_back(std::make_unique<node>());
    s.nodes_.back()->type = t;
    return s.nodes_.back().get();
  }

  static std::string full_name(std::string_view name, std::string_view ns) {
    if (name.find('.') != std::string_view::npos || ns.empty()) return std::string(name);
    return std::string(ns) + "." + std::string(name);
  }
  static std::string namespace_of(const std::string& full) {
    auto dot = full.rfind('.');
    return dot == std::string::npos ? std::string() : full.substr(0, dot);
  }

  const node* reference(std::string_view name, const std::string& ns) {
    if (auto p = primitive(name)) return make(*p);
    if (auto it = named.find(full_name(name, ns)); it != named.end()) return it->second;
    if (auto it = named.find(name); it != named.end()) return it->second;
    throw parse_error("unknown type " + in_quotes(name));
  }

  std::string_view string_attr(simdjson::dom::object o, std::string_view key, bool required,
                               std::string_view where) {
    element v;
    if (o[key].get(v)) {
      if (required)
        throw parse_error(std::string(where) + ": missing \"" + std::string(key) + "\"");
      return {};
    }
    std::string_view out;
    if (v.get(out))
      throw parse_error(std::string(where) + ": \"" + std::string(key) + "\" must be a string");
    return out;
  }

  // The name (and registration) of a named type being defined.
  std::string define(simdjson::dom::object o, node* n, const std::string& ns,
                     std::string_view what) {
    auto name = string_attr(o, "name", true, std::string("a ") + std::string(what));
    auto own_ns = string_attr(o, "namespace", false, what);
    element nsv;
    bool has_ns = !o["namespace"].get(nsv);
    std::string full = name.find('.') != std::string_view::npos
                           ? std::string(name)
                           : full_name(name, has_ns ? own_ns : std::string_view(ns));
    if (!valid_full_name(full))
      throw parse_error(std::string(what) + " name " + in_quotes(full) +
                        " is not a valid Avro name");
    if (primitive(full))
      throw parse_error(std::string(what) + " name " + in_quotes(full) + " is a primitive type's");
    if (named.count(full)) throw parse_error("type " + in_quotes(full) + " is defined twice");
    n->full_name = full;
    named.emplace(full, n);
    element av;
    if (!o["aliases"].get(av)) {
      simdjson::dom::array aliases;
      if (av.get(aliases)) throw parse_error(in_quotes(full) + ": \"aliases\" must be an array");
      for (auto a : aliases) {
        std::string_view alias;
        if (a.get(alias) || !valid_full_name(alias))
          throw parse_error(in_quotes(full) + ": bad alias");
        n->aliases.push_back(full_name(alias, namespace_of(full)));
      }
    }
    return namespace_of(full);
  }

  const node* parse(element e, const std::string& ns) {
    switch (e.type()) {
      case element_type::STRING:
        return reference(std::string_view(e), ns);
      case element_type::ARRAY:
        return parse_union(simdjson::dom::array(e), ns);
      case element_type::OBJECT:
        return parse_object(simdjson::dom::object(e), ns);
      default:
        throw parse_error("a schema must be a type name, an object or an array (union), not " +
                          in_quotes(simdjson::to_string(e)));
    }
  }

  const node* parse_union(simdjson::dom::array a, const std::string& ns) {
    node* n = make(type::union_type);
    std::set<std::string> seen;
    for (auto b : a) {
      const node* branch = parse(b, ns);
      if (branch->type == type::union_type)
        throw parse_error("a union may not contain a union directly");
      std::string key = branch->named() ? branch->full_name : std::string(name_of(branch->type));
      if (!seen.insert(key).second)
        throw parse_error("a union may not hold two branches of type " + in_quotes(key));
      n->branches.push_back(branch);
    }
    return n;
  }

  void logical(simdjson::dom::object o, node* n) {
    std::string_view lt;
    if (o["logicalType"].get(lt)) return;
    auto t = n->type;
    bool ok = false;
    if (lt == "decimal") {
      int64_t precision = 0, scale = 0;
      if (!o["precision"].get(precision) && precision > 0 && precision <= INT32_MAX) {
        if (o["scale"].get(scale)) scale = 0;
        ok = (t == type::bytes || t == type::fixed) && scale >= 0 && scale <= precision;
        if (t == type::fixed && n->size < 32) {
          // A fixed of n bytes holds at most floor(log10(2^(8n-1) - 1)) digits.
          double max_digits = (8.0 * static_cast<double>(n->size) - 1) * 0.30102999566398;
          ok = ok && static_cast<double>(precision) <= max_digits;
        }
        n->precision = static_cast<int32_t>(precision);
        n->scale = static_cast<int32_t>(scale);
      }
    } else if (lt == "uuid") {
      ok = t == type::string || (t == type::fixed && n->size == 16);
    } else if (lt == "date" || lt == "time-millis") {
      ok = t == type::int32;
    } else if (lt == "time-micros" || lt == "timestamp-millis" || lt == "timestamp-micros" ||
               lt == "timestamp-nanos" || lt == "local-timestamp-millis" ||
               lt == "local-timestamp-micros" || lt == "local-timestamp-nanos") {
      ok = t == type::int64;
    } else if (lt == "duration") {
      ok = t == type::fixed && n->size == 12;
    }
    if (ok) n->logical_type = std::string(lt);
  }

  const node* parse_object(simdjson::dom::object o, const std::string& ns) {
    element tv;
    if (o["type"].get(tv)) throw parse_error("a schema object needs a \"type\"");
    std::string_view t;
    if (tv.get(t)) return parse(tv, ns);  // {"type": {...}} or {"type": [...]}
    if (auto p = primitive(t)) {
      node* n = make(*p);
      logical(o, n);
      return n;
    }
    if (t == "record" || t == "error") {
      node* n = make(type::record);
      auto inner = define(o, n, ns, "record");
      simdjson::dom::array fields;
      if (o["fields"].get(fields))
        throw parse_error("record " + in_quotes(n->full_name) + " needs a \"fields\" array");
      for (auto fe : fields) {
        simdjson::dom::object fo;
        if (fe.get(fo))
          throw parse_error("record " + in_quotes(n->full_name) + ": a field must be an object");
        field f;
        f.name =
            std::string(string_attr(fo, "name", true, "a field of " + in_quotes(n->full_name)));
        std::string where = "field " + in_quotes(f.name) + " of record " + in_quotes(n->full_name);
        if (!valid_name(f.name)) throw parse_error(where + ": not a valid Avro name");
        for (const auto& other : n->fields)
          if (other.name == f.name) throw parse_error(where + ": defined twice");
        element ft;
        if (fo["type"].get(ft)) throw parse_error(where + ": missing \"type\"");
        try {
          f.schema = parse(ft, inner);
        } catch (const parse_error& e) {
          throw parse_error(where + ": " + e.what());
        }
        element dv;
        if (!fo["default"].get(dv)) {
          if (!valid_default(*f.schema, dv))
            throw parse_error(where + ": default " + in_quotes(simdjson::to_string(dv)) +
                              " is not a " + describe(*f.schema));
          f.default_json = simdjson::to_string(dv);
        }
        element av;
        if (!fo["aliases"].get(av)) {
          simdjson::dom::array aliases;
          if (av.get(aliases)) throw parse_error(where + ": \"aliases\" must be an array");
          for (auto a : aliases) {
            std::string_view alias;
            if (a.get(alias) || !valid_name(alias)) throw parse_error(where + ": bad alias");
            f.aliases.emplace_back(alias);
          }
        }
        n->fields.push_back(std::move(f));
      }
      logical(o, n);
      return n;
    }
    if (t == "enum") {
      node* n = make(type::enumeration);
      define(o, n, ns, "enum");
      simdjson::dom::array symbols;
      if (o["symbols"].get(symbols))
        throw parse_error("enum " + in_quotes(n->full_name) + " needs a \"symbols\" array");
      for (auto se : symbols) {
        std::string_view sym;
        if (se.get(sym) || !valid_name(sym))
          throw parse_error("enum " + in_quotes(n->full_name) + ": bad symbol " +
                            in_quotes(simdjson::to_string(se)));
        for (const auto& other : n->symbols)
          if (other == sym)
            throw parse_error("enum " + in_quotes(n->full_name) + ": symbol " + in_quotes(sym) +
                              " appears twice");
        n->symbols.emplace_back(sym);
      }
      element dv;
      if (!o["default"].get(dv)) {
        std::string_view d;
        if (dv.get(d) || std::find(n->symbols.begin(), n->symbols.end(), d) == n->symbols.end())
          throw parse_error("enum " + in_quotes(n->full_name) + ": the default must be a symbol");
        n->enum_default = std::string(d);
      }
      return n;
    }
    if (t == "array" || t == "map") {
      node* n = make(t == "array" ? type::array : type::map);
      element iv;
      const char* key = t == "array" ? "items" : "values";
      if (o[key].get(iv)) throw parse_error(std::string(t) + " needs \"" + key + "\"");
      n->items = parse(iv, ns);
      logical(o, n);
      return n;
    }
    if (t == "fixed") {
      node* n = make(type::fixed);
      define(o, n, ns, "fixed");
      int64_t size = 0;
      if (o["size"].get(size) || size < 0)
        throw parse_error("fixed " + in_quotes(n->full_name) + " needs a non-negative \"size\"");
      n->size = size;
      logical(o, n);
      return n;
    }
    return reference(t, ns);  // {"type": "SomeNamedType"}
  }

  static std::string describe(const node& n) {
    return n.named() ? std::string(name_of(n.type)) + " " + n.full_name
                     : std::string(name_of(n.type));
  }

  static bool valid_default(const node& n, element v) {
    switch (n.type) {
      case type::null:
        return v.is_null();
      case type::boolean:
        return v.is_bool();
      case type::int32: {
        int64_t i = 0;
        return !v.get(i) && i >= INT32_MIN && i <= INT32_MAX;
      }
      case type::int64:
        return v.is_int64();
      case type::float32:
      case type::float64:
        return v.is_number();
      case type::bytes:
      case type::string:
        return v.is_string();
      case type::fixed: {
        std::string_view s;
        return !v.get(s);  // characters 0-255: the byte count depends on the encoding
      }
      case type::enumeration: {
        std::string_view s;
        return !v.get(s) && std::find(n.symbols.begin(), n.symbols.end(), s) != n.symbols.end();
      }
      case type::array: {
        simdjson::dom::array a;
        if (v.get(a)) return false;
        for (auto x : a)
          if (!valid_default(*n.items, x)) return false;
        return true;
      }
      case type::map: {
        simdjson::dom::object o;
        if (v.get(o)) return false;
        for (auto [k, x] : o)
          if (!valid_default(*n.items, x)) return false;
        return true;
      }
      case type::record: {
        simdjson::dom::object o;
        if (v.get(o)) return false;
        for (const auto& f : n.fields) {
          element x;
          if (o[f.name].get(x)) {
            if (!f.default_json) return false;
          } else if (!valid_default(*f.schema, x)) {
            return false;
          }
        }
        return true;
      }
      case type::union_type:
        for (const node* b : n.branches)
          if (valid_default(*b, v)) return true;
        return false;
    }
    return false;
  }

  // Avro's Parsing Canonical Form: names in full, only the attributes that matter, in their
  // order, no white space; a named type printed once, then by its name.
  void canonical(const node& n, std::set<const node*>& printed, json_writer& w) {
    if (n.named() && printed.count(&n)) {
      w.value(n.full_name);
      return;
    }
    switch (n.type) {
      case type::record:
        printed.insert(&n);
        w.begin_object().key("name").value(n.full_name).key("type").value("record");
        w.key("fields").begin_array();
        for (const auto& f : n.fields) {
          w.begin_object().key("name").value(f.name).key("type");
          canonical(*f.schema, printed, w);
          w.end_object();
        }
        w.end_array().end_object();
        return;
      case type::enumeration:
        printed.insert(&n);
        w.begin_object().key("name").value(n.full_name).key("type").value("enum");
        w.key("symbols").begin_array();
        for (const auto& symbol : n.symbols)
          w.value(symbol);
        w.end_array().end_object();
        return;
      case type::fixed:
        printed.insert(&n);
        w.begin_object().key("name").value(n.full_name).key("type").value("fixed");
        w.key("size").value(static_cast<int64_t>(n.size)).end_object();
        return;
      case type::array:
      case type::map:
        w.begin_object().key("type").value(n.type == type::array ? "array" : "map");
        w.key(n.type == type::array ? "items" : "values");
        canonical(*n.items, printed, w);
        w.end_object();
        return;
      case type::union_type:
        w.begin_array();
        for (const node* branch : n.branches)
          canonical(*branch, printed, w);
        w.end_array();
        return;
      default:
        w.value(name_of(n.type));
    }
  }
};

std::shared_ptr<const schema> schema::parse(std::string_view json, std::string& error,
                                            const std::vector<std::string>& references) {
  simdjson::dom::parser parser;
  std::shared_ptr<schema> s(new schema());
  schema_builder b{*s, {}};
  element doc;
  for (size_t i = 0; i < references.size(); ++i) {
    if (parser.parse(references[i]).get(doc)) {
      error = "reference " + std::to_string(i + 1) + " is not JSON";
      return nullptr;
    }
    try {
      b.parse(doc, "");
    } catch (const parse_error& e) {
      error = "reference " + std::to_string(i + 1) + ": " + e.what();
      return nullptr;
    }
  }
  if (auto e = parser.parse(json.data(), json.size()).get(doc)) {
    error = std::string("not JSON: ") + simdjson::error_message(e);
    return nullptr;
  }
  try {
    s->root_ = b.parse(doc, "");
  } catch (const parse_error& e) {
    error = e.what();
    return nullptr;
  }
  std::set<const node*> printed;
  json_writer canonical;
  b.canonical(*s->root_, printed, canonical);
  s->canonical_ = std::move(canonical).str();
  s->text_ = simdjson::to_string(doc);
  return s;
}

}  // namespace sluice::schema::avro
