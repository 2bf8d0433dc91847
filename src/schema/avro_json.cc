#include "schema/avro_json.h"

#include "schema/binary.h"

#include <cmath>
#include <cstring>

namespace sluice::schema {

using avro::node;
using avro::type;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// A JSON string of code points 0-255 as the bytes they stand for.
bool latin1_bytes(std::string_view s, std::string& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c & 0xe0) == 0xc0 && c <= 0xc3 && i + 1 < s.size()) {
      out.push_back(
          static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(s[++i]) & 0x3f)));
    } else {
      return false;
    }
  }
  return true;
}
// Bytes as a JSON string of code points 0-255.
std::string latin1_text(std::string_view b) {
  std::string out;
  out.reserve(b.size());
  for (char ch : b) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

std::string branch_name(const node& n) {
  return n.named() ? n.full_name : std::string(avro::name_of(n.type));
}

struct encoder {
  std::string& out;
  std::string& err;

  bool fail(const std::string& path, const std::string& what) {
    err = (path.empty() ? std::string("the value") : path) + ": " + what;
    return false;
  }

  bool encode(const node& n, element v, const std::string& path, int depth) {
    if (depth > k_max_depth) return fail(path, "nested too deeply");
    switch (n.type) {
      case type::null:
        return v.is_null() || fail(path, "expected null");
      case type::boolean: {
        bool b = false;
        if (v.get(b)) return fail(path, "expected a boolean");
        out.push_back(b ? 1 : 0);
        return true;
      }
      case type::int32:
      case type::int64: {
        int64_t i = 0;
        if (v.get(i)) {
          double d = 0;
          if (v.get(d) || d != std::floor(d) || std::fabs(d) > 9.2e18)
            return fail(path, std::string("expected an integer (") +
                                  std::string(avro::name_of(n.type)) + ")");
          i = static_cast<int64_t>(d);
        }
        if (n.type == type::int32 && (i < INT32_MIN || i > INT32_MAX))
          return fail(path, "out of range for an int");
        append_zigzag(out, i);
        return true;
      }
      case type::float32:
      case type::float64: {
        double d = 0;
        if (v.get(d)) return fail(path, "expected a number");
        if (n.type == type::float32) {
          float f = static_cast<float>(d);
          char b[4];
          std::memcpy(b, &f, 4);
          out.append(b, 4);
        } else {
          append_double(out, d);
        }
        return true;
      }
      case type::string:
      case type::bytes: {
        std::string_view s;
        if (v.get(s)) return fail(path, "expected a string");
        if (n.type == type::string) {
          append_zigzag(out, static_cast<int64_t>(s.size()));
          out.append(s);
          return true;
        }
        std::string b;
        if (!latin1_bytes(s, b)) return fail(path, "bytes must be code points 0-255");
        append_zigzag(out, static_cast<int64_t>(b.size()));
        out += b;
        return true;
      }
      case type::fixed: {
        std::string_view s;
        std::string b;
        if (v.get(s) || !latin1_bytes(s, b) || static_cast<int64_t>(b.size()) != n.size)
          return fail(path,
                      "expected " + std::to_string(n.size) + " bytes (fixed " + n.full_name + ")");
        out += b;
        return true;
      }
      case type::enumeration: {
        std::string_view s;
        if (v.get(s)) return fail(path, "expected a symbol of enum " + n.full_name);
        for (size_t i = 0; i < n.symbols.size(); ++i)
          if (n.symbols[i] == s) {
            append_zigzag(out, static_cast<int64_t>(i));
            return true;
          }
        return fail(path, "'" + std::string(s) + "' is not a symbol of enum " + n.full_name);
      }
      case type::array: {
        simdjson::dom::array a;
        if (v.get(a)) return fail(path, "expected an array");
        if (a.size() > 0) append_zigzag(out, static_cast<int64_t>(a.size()));
        size_t i = 0;
        for (auto x : a)
          if (!encode(*n.items, x, path + "[" + std::to_string(i++) + "]", depth + 1)) return false;
        out.push_back(0);
        return true;
      }
      case type::map: {
        simdjson::dom::object o;
        if (v.get(o)) return fail(path, "expected an object (map)");
        if (o.size() > 0) append_zigzag(out, static_cast<int64_t>(o.size()));
        for (auto [k, x] : o) {
          append_zigzag(out, static_cast<int64_t>(k.size()));
          out.append(k);
          if (!encode(*n.items, x, path + "." + std::string(k), depth + 1)) return false;
        }
        out.push_back(0);
        return true;
      }
      case type::record: {
        simdjson::dom::object o;
        if (v.get(o)) return fail(path, "expected an object (record " + n.full_name + ")");
        simdjson::dom::parser defaults;
        for (const auto& f : n.fields) {
          std::string fpath = path.empty() ? f.name : path + "." + f.name;
          element x;
          if (o[f.name].get(x)) {
            if (!f.default_json) return fail(fpath, "missing, and the field has no default");
            element d;
            if (defaults.parse(*f.default_json).get(d)) return fail(fpath, "bad default");
            // A default of a union is of its first branch.
            const node& t = f.schema->type == type::union_type ? *f.schema->branches[0] : *f.schema;
            if (f.schema->type == type::union_type) out.push_back(0);
            if (!encode(t, d, fpath, depth + 1)) return false;
            continue;
          }
          if (!encode(*f.schema, x, fpath, depth + 1)) return false;
        }
        return true;
      }
      case type::union_type: {
        // Avro's JSON encoding: null, or {"<branch>": value}.
        simdjson::dom::object o;
        if (!v.get(o) && o.size() == 1) {
          auto [k, x] = *o.begin();
          for (size_t i = 0; i < n.branches.size(); ++i)
            if (branch_name(*n.branches[i]) == k || n.branches[i]->short_name() == k) {
              append_zigzag(out, static_cast<int64_t>(i));
              return encode(*n.branches[i], x, path, depth + 1);
            }
        }
        // A bare value: the first branch that takes it.
        size_t mark = out.size();
        for (size_t i = 0; i < n.branches.size(); ++i) {
          append_zigzag(out, static_cast<int64_t>(i));
          std::string ignored;
          encoder trial{out, ignored};
          if (trial.encode(*n.branches[i], v, path, depth + 1)) return true;
          out.resize(mark);
        }
        return fail(path, "fits no branch of the union");
      }
    }
    return fail(path, "unknown type");
  }
};

struct decoder : avro_reader {
  json_writer& w;
  bool wrap;

  decoder(std::string_view data, json_writer& out, bool wrap_unions, std::string& e)
      : avro_reader(data, &e), w(out), wrap(wrap_unions) {}

  bool decode(const node& n, int depth) {
    if (depth > k_max_depth) return fail("nested too deeply");
    std::string_view b;
    int64_t i = 0;
    switch (n.type) {
      case type::null:
        w.null();
        return true;
      case type::boolean:
        if (!take(1, b)) return false;
        w.value(b[0] != 0);
        return true;
      case type::int32:
      case type::int64:
        if (!read_long(i)) return false;
        w.value(i);
        return true;
      case type::float32: {
        if (!take(4, b)) return false;
        float f;
        std::memcpy(&f, b.data(), 4);
        w.value(static_cast<double>(f));
        return true;
      }
      case type::float64: {
        if (!take(8, b)) return false;
        double d;
        std::memcpy(&d, b.data(), 8);
        w.value(d);
        return true;
      }
      case type::string:
        if (!read_bytes(b)) return false;
        w.value(simdjson::validate_utf8(b.data(), b.size()) ? std::string(b) : latin1_text(b));
        return true;
      case type::bytes:
        if (!read_bytes(b)) return false;
        w.value(latin1_text(b));
        return true;
      case type::fixed:
        if (!take(static_cast<size_t>(n.size), b)) return false;
        w.value(latin1_text(b));
        return true;
      case type::enumeration:
        if (!read_long(i)) return false;
        if (i < 0 || static_cast<size_t>(i) >= n.symbols.size()) return fail("bad enum index");
        w.value(n.symbols[static_cast<size_t>(i)]);
        return true;
      case type::union_type: {
        if (!read_long(i)) return false;
        if (i < 0 || static_cast<size_t>(i) >= n.branches.size()) return fail("bad union branch");
        const node& b2 = *n.branches[static_cast<size_t>(i)];
        if (!wrap || b2.type == type::null) return decode(b2, depth + 1);
        w.begin_object().key(branch_name(b2));
        if (!decode(b2, depth + 1)) return false;
        w.end_object();
        return true;
      }
      case type::record:
        w.begin_object();
        for (const auto& f : n.fields) {
          w.key(f.name);
          if (!decode(*f.schema, depth + 1)) return false;
        }
        w.end_object();
        return true;
      case type::array:
      case type::map: {
        bool is_map = n.type == type::map;
        if (is_map)
          w.begin_object();
        else
          w.begin_array();
        while (true) {
          int64_t count = 0;
          if (!block(count)) return false;
          if (count == 0) break;
          for (int64_t k = 0; k < count; ++k) {
            if (is_map) {
              if (!read_bytes(b)) return false;
              w.key(simdjson::validate_utf8(b.data(), b.size()) ? std::string(b) : latin1_text(b));
            }
            if (!decode(*n.items, depth + 1)) return false;
          }
        }
        if (is_map)
          w.end_object();
        else
          w.end_array();
        return true;
      }
    }
    return fail("unknown type");
  }
};

}  // namespace

bool json_to_avro(const node& schema, element v, std::string& out, std::string& err) {
  encoder e{out, err};
  return e.encode(schema, v, "", 0);
}

bool avro_to_json(const node& schema, std::string_view data, json_writer& w, bool wrap_unions,
                  std::string& err) {
  decoder d(data, w, wrap_unions, err);
  if (!d.decode(schema, 0)) return false;
  if (d.p != d.end) {
    err = std::to_string(d.end - d.p) + " bytes after the value";
    return false;
  }
  return true;
}

}  // namespace sluice::schema
