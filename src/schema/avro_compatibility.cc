// Avro schema resolution as a compatibility check: can a reader with one schema read what a
// writer wrote with another (Apache Avro specification, "Schema Resolution")?

#include <algorithm>
#include <set>

#include "schema/avro_schema.h"

namespace sluice::schema::avro {

namespace {

struct checker {
  std::vector<incompatibility> found;
  // Pairs of named types being compared further up: a recursive type meeting itself again is
  // compatible if the rest of the comparison says so.
  std::set<std::pair<const node*, const node*>> active;

  void add(std::string kind, const std::string& path, std::string message) {
    found.push_back({std::move(kind), path.empty() ? "/" : path, std::move(message)});
  }

  static bool names_match(const node& r, const node& w) {
    if (r.short_name() == w.short_name() || r.full_name == w.full_name) return true;
    for (const auto& a : r.aliases) {
      auto dot = a.rfind('.');
      std::string_view short_alias =
          dot == std::string::npos ? std::string_view(a) : std::string_view(a).substr(dot + 1);
      if (a == w.full_name || short_alias == w.short_name()) return true;
    }
    return false;
  }

  static bool promotable(type writer, type reader) {
    if (writer == reader) return true;
    switch (writer) {
      case type::int32:
        return reader == type::int64 || reader == type::float32 || reader == type::float64;
      case type::int64:
        return reader == type::float32 || reader == type::float64;
      case type::float32:
        return reader == type::float64;
      case type::string:
        return reader == type::bytes;
      case type::bytes:
        return reader == type::string;
      default:
        return false;
    }
  }

  // Whether `r` reads `w` with no incompatibility, without recording anything.
  bool quietly(const node& r, const node& w) {
    checker c;
    c.active = active;
    c.check(r, w, "");
    return c.found.empty();
  }

  void check(const node& r, const node& w, const std::string& path) {
    if (w.type == type::union_type) {
      // Every branch the writer may have used must be readable.
      for (size_t i = 0; i < w.branches.size(); ++i) {
        if (r.type == type::union_type) {
          bool any = std::any_of(r.branches.begin(), r.branches.end(),
                                 [&](const node* b) { return quietly(*b, *w.branches[i]); });
          if (!any)
            add("MISSING_UNION_BRANCH", path,
                "the reader's union has no branch for the writer's " + describe(*w.branches[i]));
        } else {
          check(r, *w.branches[i], path);
        }
      }
      return;
    }
    if (r.type == type::union_type) {
      for (const node* b : r.branches)
        if (quietly(*b, w)) return;
      add("MISSING_UNION_BRANCH", path,
          "the reader's union has no branch for the writer's " + describe(w));
      return;
    }
    if (!promotable(w.type, r.type)) {
      add("TYPE_MISMATCH", path,
          "the reader's type " + describe(r) + " cannot read the writer's " + describe(w));
      return;
    }
    switch (r.type) {
      case type::record: {
        if (!names_match(r, w)) {
          add("NAME_MISMATCH", path + "/name",
              "the reader's record " + r.full_name + " does not match the writer's " + w.full_name);
          return;
        }
        if (!active.insert({&r, &w}).second) return;
        for (size_t i = 0; i < r.fields.size(); ++i) {
          const auto& rf = r.fields[i];
          std::string fpath = path + "/fields/" + std::to_string(i);
          int wi = -1;
          for (size_t j = 0; j < w.fields.size() && wi < 0; ++j)
            if (w.fields[j].name == rf.name) wi = static_cast<int>(j);
          for (size_t j = 0; j < w.fields.size() && wi < 0; ++j)
            for (const auto& a : rf.aliases)
              if (w.fields[j].name == a) wi = static_cast<int>(j);
          if (wi < 0) {
            if (!rf.default_json)
              add("READER_FIELD_MISSING_DEFAULT_VALUE", fpath,
                  "the field '" + rf.name + "' at path '" + fpath +
                      "' in the reader's schema has no default value and is missing in the "
                      "writer's");
            continue;
          }
          check(*rf.schema, *w.fields[static_cast<size_t>(wi)].schema, fpath + "/type");
        }
        active.erase({&r, &w});
        return;
      }
      case type::enumeration: {
        if (!names_match(r, w)) {
          add("NAME_MISMATCH", path + "/name",
              "the reader's enum " + r.full_name + " does not match the writer's " + w.full_name);
          return;
        }
        if (r.enum_default) return;
        std::string missing;
        for (const auto& s : w.symbols)
          if (std::find(r.symbols.begin(), r.symbols.end(), s) == r.symbols.end())
            missing += (missing.empty() ? "" : ", ") + s;
        if (!missing.empty())
          add("MISSING_ENUM_SYMBOLS", path + "/symbols",
              "the reader's enum " + r.full_name + " lacks the writer's symbols [" + missing +
                  "] and has no default");
        return;
      }
      case type::fixed:
        if (!names_match(r, w)) {
          add("NAME_MISMATCH", path + "/name",
              "the reader's fixed " + r.full_name + " does not match the writer's " + w.full_name);
        } else if (r.size != w.size) {
          add("FIXED_SIZE_MISMATCH", path + "/size",
              "the reader's fixed " + r.full_name + " has size " + std::to_string(r.size) +
                  ", the writer's " + std::to_string(w.size));
        }
        return;
      case type::array:
        check(*r.items, *w.items, path + "/items");
        return;
      case type::map:
        check(*r.items, *w.items, path + "/values");
        return;
      default:
        return;
    }
  }

  static std::string describe(const node& n) {
    return n.named() ? std::string(name_of(n.type)) + " " + n.full_name
                     : std::string(name_of(n.type));
  }
};

}  // namespace

std::vector<incompatibility> check_resolution(const node& reader, const node& writer) {
  checker c;
  c.check(reader, writer, "");
  return std::move(c.found);
}

}  // namespace sluice::schema::avro
