#include "schema/registry.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "base/clock.h"
#include "base/json_writer.h"
#include "base/strings.h"
#include "log/internal_topic.h"
#include "log/log.h"
#include "log/partition.h"
#include "log/records.h"
#include "log/replay.h"

namespace sluice::schema {

namespace {

constexpr std::string_view k_topic = "_schemas";

constexpr std::pair<compatibility, std::string_view> k_levels[] = {
    {compatibility::backward, "BACKWARD"},
    {compatibility::backward_transitive, "BACKWARD_TRANSITIVE"},
    {compatibility::forward, "FORWARD"},
    {compatibility::forward_transitive, "FORWARD_TRANSITIVE"},
    {compatibility::full, "FULL"},
    {compatibility::full_transitive, "FULL_TRANSITIVE"},
    {compatibility::none, "NONE"},
};
constexpr std::pair<registry_mode, std::string_view> k_modes[] = {
    {registry_mode::readwrite, "READWRITE"},
    {registry_mode::readonly, "READONLY"},
    {registry_mode::import, "IMPORT"},
};

registry_error error(int status, int code, std::string message) {
  return registry_error{status, code, std::move(message)};
}
registry_error subject_not_found(const std::string& s) {
  return error(404, 40401, "Subject '" + s + "' not found.");
}
registry_error version_not_found(int32_t v) {
  return error(404, 40402, "Version " + std::to_string(v) + " not found.");
}

// The identity of a schema's content: equal for the same type, text and references.
std::string content_key(schema_type t, std::string_view text,
                        const std::vector<schema_reference>& refs) {
  std::string k(name_of(t));
  k += '\n';
  k += text;
  for (const auto& r : refs)
    k += "\n" + r.name + "\n" + r.subject + "\n" + std::to_string(r.version);
  return k;
}

// Records of `_schemas`, in Confluent's layout: JSON keys and values.
std::string schema_key(const std::string& subject, int32_t version) {
  json_writer w;
  w.begin_object()
      .key("keytype")
      .value("SCHEMA")
      .key("subject")
      .value(subject)
      .key("version")
      .value(version)
      .key("magic")
      .value(int32_t{1})
      .end_object();
  return std::move(w).str();
}
std::string setting_key(std::string_view keytype, const std::string& subject) {
  json_writer w;
  w.begin_object().key("keytype").value(keytype).key("subject");
  if (subject.empty())
    w.null();
  else
    w.value(subject);
  w.key("magic").value(int32_t{0}).end_object();
  return std::move(w).str();
}
std::string schema_value(const schema_version& v) {
  json_writer w;
  w.begin_object()
      .key("subject")
      .value(v.subject)
      .key("version")
      .value(v.version)
      .key("id")
      .value(v.id)
      .key("schema")
      .value(v.text);
  if (v.type != schema_type::avro) w.key("schemaType").value(name_of(v.type));
  write_references(w, v.references);
  w.key("deleted").value(v.deleted).end_object();
  return std::move(w).str();
}

}  // namespace

void write_references(json_writer& w, const std::vector<schema_reference>& refs) {
  if (refs.empty()) return;
  w.key("references").begin_array();
  for (const auto& r : refs)
    w.begin_object()
        .key("name")
        .value(r.name)
        .key("subject")
        .value(r.subject)
        .key("version")
        .value(r.version)
        .end_object();
  w.end_array();
}

std::string_view name_of(compatibility c) {
  for (auto [l, n] : k_levels)
    if (l == c) return n;
  return "BACKWARD";
}
bool parse_compatibility(std::string_view name, compatibility& out) {
  for (auto [l, n] : k_levels)
    if (iequals(n, name)) {
      out = l;
      return true;
    }
  return false;
}
std::string_view name_of(registry_mode m) {
  for (auto [l, n] : k_modes)
    if (l == m) return n;
  return "READWRITE";
}
bool parse_mode(std::string_view name, registry_mode& out) {
  for (auto [l, n] : k_modes)
    if (iequals(n, name)) {
      out = l;
      return true;
    }
  return false;
}

struct registry::impl {
  struct stored {
    schema_type type = schema_type::avro;
    std::string text;
    std::vector<schema_reference> references;
    std::shared_ptr<const parsed_schema> parsed;  // nullptr: could not be parsed (logged)
  };
  struct version_entry {
    int32_t id = 0;
    bool deleted = false;
  };
  struct subject_state {
    std::map<int32_t, version_entry> versions;
    std::optional<compatibility> level;
    std::optional<registry_mode> mode;
    bool live() const {
      return std::any_of(versions.begin(), versions.end(),
                         [](const auto& v) { return !v.second.deleted; });
    }
  };

  log::log* log = nullptr;
  std::shared_ptr<log::partition> topic;  // null until the first change (created then)
  mutable std::shared_mutex mu;
  std::map<std::string, subject_state> subjects;
  std::map<int32_t, stored> schemas;
  std::map<std::string, int32_t> ids;  // by content_key
  compatibility level = compatibility::backward;
  registry_mode mode = registry_mode::readwrite;
  int32_t next_id = 1;
  std::atomic<uint64_t> generation{0};

  // --- state changes, shared by replay and live changes. REQUIRES: mu held exclusively. ---

  void put_version(const schema_version& v) {
    auto& s = subjects[v.subject];
    auto& e = s.versions[v.version];
    e.id = v.id;
    e.deleted = v.deleted;
    if (!schemas.count(v.id)) {
      stored st{v.type, v.text, v.references, nullptr};
      std::string err;
      st.parsed = parse_schema(v.type, v.text, reference_texts(v.references), err);
      if (!st.parsed)
        spdlog::warn("schema registry: schema {} ({}) does not parse: {}", v.id, v.subject, err);
      ids[content_key(v.type, v.text, v.references)] = v.id;
      schemas.emplace(v.id, std::move(st));
    }
    next_id = std::max(next_id, v.id + 1);
    generation.fetch_add(1, std::memory_order_release);
  }
  void forget_version(const std::string& subject, int32_t version) {
    auto it = subjects.find(subject);
    if (it == subjects.end()) return;
    auto v = it->second.versions.find(version);
    if (v == it->second.versions.end()) return;
    int32_t id = v->second.id;
    it->second.versions.erase(v);
    if (it->second.versions.empty() && !it->second.level && !it->second.mode) subjects.erase(it);
    if (uses(id, true).empty()) {
      auto s = schemas.find(id);
      if (s != schemas.end()) {
        ids.erase(content_key(s->second.type, s->second.text, s->second.references));
        schemas.erase(s);
      }
    }
    generation.fetch_add(1, std::memory_order_release);
  }
  void put_level(const std::string& subject, std::optional<compatibility> l) {
    if (subject.empty())
      level = l.value_or(compatibility::backward);
    else if (l || subjects.count(subject))
      subjects[subject].level = l;
    generation.fetch_add(1, std::memory_order_release);
  }
  void put_mode(const std::string& subject, std::optional<registry_mode> m) {
    if (subject.empty())
      mode = m.value_or(registry_mode::readwrite);
    else if (m || subjects.count(subject))
      subjects[subject].mode = m;
    generation.fetch_add(1, std::memory_order_release);
  }

  // --- reads. REQUIRES: mu held (shared or exclusive). ---

  std::vector<std::pair<std::string, int32_t>> uses(int32_t id, bool include_deleted) const {
    std::vector<std::pair<std::string, int32_t>> out;
    for (const auto& [name, s] : subjects)
      for (const auto& [v, e] : s.versions)
        if (e.id == id && (include_deleted || !e.deleted)) out.emplace_back(name, v);
    return out;
  }

  // The texts of `refs` and of what they reference in turn, dependencies first.
  std::vector<referenced_text> reference_texts(const std::vector<schema_reference>& refs) const {
    std::vector<referenced_text> out;
    std::set<int32_t> seen;
    collect(refs, seen, out, 0);
    return out;
  }
  void collect(const std::vector<schema_reference>& refs, std::set<int32_t>& seen,
               std::vector<referenced_text>& out, int depth) const {
    if (depth > 32) return;
    for (const auto& r : refs) {
      auto s = subjects.find(r.subject);
      if (s == subjects.end()) continue;
      auto v = s->second.versions.find(r.version);
      if (v == s->second.versions.end()) continue;
      auto st = schemas.find(v->second.id);
      if (st == schemas.end() || !seen.insert(v->second.id).second) continue;
      collect(st->second.references, seen, out, depth + 1);
      out.push_back({r.name, st->second.text});
    }
  }

  const subject_state* find(const std::string& subject) const {
    auto it = subjects.find(subject);
    return it == subjects.end() ? nullptr : &it->second;
  }

  // The version number `version` names (-1: the latest live one), or an error.
  outcome<int32_t> resolve(const std::string& subject, int32_t version,
                           bool include_deleted) const {
    const auto* s = find(subject);
    if (!s || (!include_deleted && !s->live())) return subject_not_found(subject);
    if (version == -1) {
      for (auto it = s->versions.rbegin(); it != s->versions.rend(); ++it)
        if (include_deleted || !it->second.deleted) return it->first;
      return version_not_found(version);
    }
    auto it = s->versions.find(version);
    if (it == s->versions.end() || (!include_deleted && it->second.deleted))
      return version_not_found(version);
    return version;
  }

  schema_version describe(const std::string& subject, int32_t version) const {
    const auto& e = subjects.at(subject).versions.at(version);
    const auto& st = schemas.at(e.id);
    return schema_version{subject, version, e.id, st.type, st.text, st.references, e.deleted};
  }

  compatibility level_of(const std::string& subject) const {
    const auto* s = find(subject);
    return s && s->level ? *s->level : level;
  }
  registry_mode mode_of(const std::string& subject) const {
    const auto* s = find(subject);
    return s && s->mode ? *s->mode : mode;
  }

  // `in` parsed with its references, or the error a client gets for it.
  outcome<std::shared_ptr<const parsed_schema>> parse_input(const schema_input& in) const {
    for (const auto& r : in.references) {
      const auto* s = find(r.subject);
      if (!s || !s->versions.count(r.version))
        return error(422, 42201,
                     "Invalid schema: reference '" + r.name + "' names subject '" + r.subject +
                         "' version " + std::to_string(r.version) + ", which does not exist");
    }
    std::string err;
    auto p = parse_schema(in.type, in.text, reference_texts(in.references), err);
    if (!p) return error(422, 42201, "Invalid schema: " + err);
    return p;
  }

  // Why `candidate` may not follow the versions `against` (ascending) of `subject` at `l`.
  std::vector<std::string> incompatibilities(const std::string& subject,
                                             const parsed_schema& candidate,
                                             const std::vector<int32_t>& against,
                                             compatibility l) const {
    std::vector<std::string> out;
    if (l == compatibility::none || against.empty()) return out;
    bool transitive = l == compatibility::backward_transitive ||
                      l == compatibility::forward_transitive || l == compatibility::full_transitive;
    bool backward = l != compatibility::forward && l != compatibility::forward_transitive;
    bool forward = l != compatibility::backward && l != compatibility::backward_transitive;
    std::vector<int32_t> checked = against;
    if (!transitive) checked = {against.back()};
    for (auto it = checked.rbegin(); it != checked.rend(); ++it) {
      const auto& e = subjects.at(subject).versions.at(*it);
      const auto& old = schemas.at(e.id);
      if (!old.parsed) continue;
      if (old.parsed->type() != candidate.type()) {
        out.push_back("{errorType:'TYPE_MISMATCH', description:'the new schema is " +
                      std::string(name_of(candidate.type())) + ", version " + std::to_string(*it) +
                      " is " + std::string(name_of(old.parsed->type())) + "'}");
        continue;
      }
      std::vector<avro::incompatibility> found;
      if (backward) found = candidate.can_read(*old.parsed);
      if (forward) {
        auto f = old.parsed->can_read(candidate);
        found.insert(found.end(), f.begin(), f.end());
      }
      if (found.empty()) continue;
      for (const auto& i : found)
        out.push_back("{errorType:'" + i.kind + "', description:'" + i.message +
                      "', additionalInfo:'" + i.path + "'}");
      out.push_back("{oldSchemaVersion: " + std::to_string(*it) + "}");
      out.push_back("{oldSchema: '" + old.text + "'}");
      out.push_back("{compatibility: '" + std::string(name_of(l)) + "'}");
      break;
    }
    return out;
  }

  std::vector<int32_t> live_versions(const std::string& subject) const {
    std::vector<int32_t> out;
    if (const auto* s = find(subject))
      for (const auto& [v, e] : s->versions)
        if (!e.deleted) out.push_back(v);
    return out;
  }

  // Appends records (key, value or tombstone) as one batch and answers `done` with `v` once
  // it is durable, or at once with the error that kept it from being written. False then.
  // REQUIRES: mu held exclusively.
  template <class T>
  bool write(const std::vector<std::pair<std::string, std::optional<std::string>>>& recs,
             std::function<void(outcome<T>)>& done, T v) {
    log::batch_builder b;
    int64_t now = now_ms();
    for (const auto& [k, val] : recs) {
      std::optional<bytes_view> value;
      if (val) value = as_bytes(*val);
      b.add(as_bytes(k), value, now);
    }
    auto batch = b.build();
    if (!topic) {
      auto p = log::open_internal_topic(*log, k_topic);
      if (!p) {
        done(registry_error{500, 50001, "Error in the backend data store: " + p.error().message});
        return false;
      }
      topic = std::move(*p);
    }
    auto r = topic->append(batch, now);
    if (!r) {
      done(registry_error{500, 50001, "Error in the backend data store: " + r.error().message});
      return false;
    }
    topic->when_durable(r->last_offset, [done = std::move(done), v = std::move(v)](result<void> d) {
      if (d)
        done(v);
      else
        done(registry_error{500, 50001, "Error in the backend data store: " + d.error().message});
    });
    return true;
  }

  void replay_record(std::string_view key, std::optional<std::string_view> value) {
    simdjson::dom::parser kp, vp;
    simdjson::dom::object k;
    std::string_view keytype;
    if (kp.parse(key).get(k) || k["keytype"].get(keytype)) return;
    std::string subject;
    std::string_view sv;
    if (!k["subject"].get(sv)) subject = std::string(sv);
    simdjson::dom::object v;
    bool has_value = value && !vp.parse(*value).get(v);
    if (keytype == "SCHEMA") {
      int64_t version = 0;
      if (k["version"].get(version)) return;
      if (!has_value) {
        forget_version(subject, static_cast<int32_t>(version));
        return;
      }
      schema_version sv2;
      sv2.subject = subject;
      sv2.version = static_cast<int32_t>(version);
      int64_t id = 0;
      std::string_view text, type = "AVRO";
      bool deleted = false;
      if (v["id"].get(id) || v["schema"].get(text)) return;
      if (v["schemaType"].get(type)) type = "AVRO";
      if (v["deleted"].get(deleted)) deleted = false;
      if (!parse_schema_type(type, sv2.type)) return;
      sv2.id = static_cast<int32_t>(id);
      sv2.text = std::string(text);
      sv2.deleted = deleted;
      simdjson::dom::array refs;
      if (!v["references"].get(refs))
        for (auto r : refs) {
          schema_reference ref;
          std::string_view n, s;
          int64_t rv = 0;
          if (r["name"].get(n) || r["subject"].get(s) || r["version"].get(rv)) continue;
          ref.name = std::string(n);
          ref.subject = std::string(s);
          ref.version = static_cast<int32_t>(rv);
          sv2.references.push_back(std::move(ref));
        }
      put_version(sv2);
    } else if (keytype == "CONFIG") {
      std::string_view l;
      compatibility c;
      if (has_value && !v["compatibilityLevel"].get(l) && parse_compatibility(l, c))
        put_level(subject, c);
      else
        put_level(subject, std::nullopt);
    } else if (keytype == "MODE") {
      std::string_view m;
      registry_mode rm;
      if (has_value && !v["mode"].get(m) && parse_mode(m, rm))
        put_mode(subject, rm);
      else
        put_mode(subject, std::nullopt);
    }
  }
};

registry::registry(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
registry::~registry() = default;

result<std::shared_ptr<registry>> registry::open(log::log& log) {
  auto i = std::make_shared<impl>();
  i->log = &log;
  // Created by the first change: a server whose registry is unused shows no `_schemas` topic.
  if (!log.find_topic(k_topic)) return std::shared_ptr<registry>(new registry(std::move(i)));
  auto p = log::open_internal_topic(log, k_topic);
  if (!p) return p.error();
  i->topic = std::move(*p);
  std::unique_lock lk(i->mu);
  auto batches = log::replay_partition(*i->topic, [&](const log::batch_header&, bytes_view batch) {
    auto r = log::for_each_record(batch, [&](const log::record_view& rv) {
      if (!rv.key) return;
      std::optional<std::string_view> value;
      if (rv.value)
        value = std::string_view(reinterpret_cast<const char*>(rv.value->data()), rv.value->size());
      i->replay_record(
          std::string_view(reinterpret_cast<const char*>(rv.key->data()), rv.key->size()), value);
    });
    if (!r) spdlog::warn("{}: skipping a batch: {}", k_topic, r.error().message);
  });
  if (!batches) return batches.error();
  spdlog::info("schema registry: {} subjects, {} schemas", i->subjects.size(), i->schemas.size());
  lk.unlock();
  return std::shared_ptr<registry>(new registry(std::move(i)));
}

void registry::register_schema(const std::string& subject, const schema_input& in,
                               std::optional<int32_t> id,
                               std::function<void(outcome<int32_t>)> done) {
  auto& m = *impl_;
  std::unique_lock lk(m.mu);
  auto mode = m.mode_of(subject);
  if (mode == registry_mode::readonly)
    return done(error(422, 42205, "Subject " + subject + " is in read-only mode"));
  if (id && mode != registry_mode::import)
    return done(
        error(422, 42205, "Subject " + subject + " is not in import mode: an id may not be given"));
  auto parsed = m.parse_input(in);
  if (auto* e = std::get_if<registry_error>(&parsed)) return done(*e);
  auto& schema = std::get<0>(parsed);
  auto key = content_key(in.type, schema->text(), in.references);
  auto known = m.ids.find(key);
  // The same schema live in the subject: its id, no change.
  if (known != m.ids.end() && !id)
    for (int32_t v : m.live_versions(subject))
      if (m.subjects.at(subject).versions.at(v).id == known->second) return done(known->second);
  auto live = m.live_versions(subject);
  if (mode != registry_mode::import) {
    auto reasons = m.incompatibilities(subject, *schema, live, m.level_of(subject));
    if (!reasons.empty()) {
      std::string message =
          "Schema being registered is incompatible with an earlier schema for "
          "subject \"" +
          subject + "\", details: [";
      for (size_t i = 0; i < reasons.size(); ++i)
        message += (i ? ", " : "") + reasons[i];
      return done(error(409, 409, message + "]"));
    }
  }
  int32_t new_id = known != m.ids.end() ? known->second : m.next_id;
  if (id) {
    auto taken = m.schemas.find(*id);
    if (taken != m.schemas.end() &&
        content_key(taken->second.type, taken->second.text, taken->second.references) != key)
      return done(error(422, 42207,
                        "Overwrite new schema with id " + std::to_string(*id) +
                            " is not permitted: the id holds another schema"));
    new_id = *id;
  }
  schema_version v;
  v.subject = subject;
  const auto* s = m.find(subject);
  v.version = s && !s->versions.empty() ? s->versions.rbegin()->first + 1 : 1;
  v.id = new_id;
  v.type = in.type;
  v.text = schema->text();
  v.references = in.references;
  if (m.write({{schema_key(subject, v.version), schema_value(v)}}, done, new_id)) m.put_version(v);
}

void registry::delete_subject(const std::string& subject, bool permanent,
                              std::function<void(outcome<std::vector<int32_t>>)> done) {
  auto& m = *impl_;
  std::unique_lock lk(m.mu);
  const auto* s = m.find(subject);
  if (!s || s->versions.empty()) return done(subject_not_found(subject));
  if (m.mode_of(subject) == registry_mode::readonly)
    return done(error(422, 42205, "Subject " + subject + " is in read-only mode"));
  bool live = s->live();
  if (!permanent && !live)
    return done(error(
        404, 40404,
        "Subject '" + subject + "' was soft deleted. Set permanent=true to delete permanently"));
  if (permanent && live)
    return done(
        error(404, 40405,
              "Subject '" + subject + "' was not deleted first before being permanently deleted"));
  std::vector<int32_t> versions;
  std::vector<std::pair<std::string, std::optional<std::string>>> recs;
  for (const auto& [v, e] : s->versions) {
    if (!permanent && e.deleted) continue;
    versions.push_back(v);
    auto d = m.describe(subject, v);
    d.deleted = true;
    recs.emplace_back(schema_key(subject, v),
                      permanent ? std::nullopt : std::optional<std::string>(schema_value(d)));
  }
  if (!m.write(recs, done, versions)) return;
  for (int32_t v : versions) {
    if (permanent) {
      m.forget_version(subject, v);
    } else {
      auto d = m.describe(subject, v);
      d.deleted = true;
      m.put_version(d);
    }
  }
}

void registry::delete_version(const std::string& subject, int32_t version, bool permanent,
                              std::function<void(outcome<int32_t>)> done) {
  auto& m = *impl_;
  std::unique_lock lk(m.mu);
  if (m.mode_of(subject) == registry_mode::readonly)
    return done(error(422, 42205, "Subject " + subject + " is in read-only mode"));
  auto resolved = m.resolve(subject, version, true);
  if (auto* e = std::get_if<registry_error>(&resolved)) return done(*e);
  int32_t v = std::get<int32_t>(resolved);
  if (version == -1 && !permanent) {
    auto live = m.resolve(subject, -1, false);
    if (auto* e = std::get_if<registry_error>(&live)) return done(*e);
    v = std::get<int32_t>(live);
  }
  auto d = m.describe(subject, v);
  if (!permanent && d.deleted)
    return done(error(404, 40406,
                      "Subject '" + subject + "' Version " + std::to_string(v) +
                          " was soft deleted. Set permanent=true to delete permanently"));
  if (permanent && !d.deleted)
    return done(error(404, 40407,
                      "Subject '" + subject + "' Version " + std::to_string(v) +
                          " was not deleted first before being permanently deleted"));
  // A version other live schemas reference stays.
  for (const auto& [name, s] : m.subjects)
    for (const auto& [ov, e] : s.versions) {
      if (e.deleted) continue;
      for (const auto& ref : m.schemas.at(e.id).references)
        if (ref.subject == subject && ref.version == v)
          return done(error(422, 42206,
                            "One or more references exist to the schema {subject=" + subject +
                                ",version=" + std::to_string(v) + "}: " + name + " version " +
                                std::to_string(ov)));
    }
  d.deleted = true;
  if (!m.write({{schema_key(subject, v),
                 permanent ? std::nullopt : std::optional<std::string>(schema_value(d))}},
               done, v))
    return;
  if (permanent)
    m.forget_version(subject, v);
  else
    m.put_version(d);
}

void registry::set_compatibility(const std::string& subject, std::optional<compatibility> level,
                                 std::function<void(outcome<compatibility>)> done) {
  auto& m = *impl_;
  std::unique_lock lk(m.mu);
  if (!subject.empty() && !level) {
    const auto* s = m.find(subject);
    if (!s || !s->level)
      return done(
          error(404, 40408,
                "Subject '" + subject + "' does not have subject-level compatibility configured"));
  }
  std::optional<std::string> value;
  if (level) {
    json_writer w;
    w.begin_object().key("compatibilityLevel").value(name_of(*level)).end_object();
    value = std::move(w).str();
  }
  auto previous = subject.empty() ? m.level : m.level_of(subject);
  if (m.write({{setting_key("CONFIG", subject), value}}, done, level.value_or(previous)))
    m.put_level(subject, level);
}

void registry::set_mode(const std::string& subject, std::optional<registry_mode> mode,
                        std::function<void(outcome<registry_mode>)> done) {
  auto& m = *impl_;
  std::unique_lock lk(m.mu);
  if (!subject.empty() && !mode) {
    const auto* s = m.find(subject);
    if (!s || !s->mode)
      return done(error(404, 40409,
                        "Subject '" + subject + "' does not have subject-level mode configured"));
  }
  std::optional<std::string> value;
  if (mode) {
    json_writer w;
    w.begin_object().key("mode").value(name_of(*mode)).end_object();
    value = std::move(w).str();
  }
  auto previous = subject.empty() ? m.mode : m.mode_of(subject);
  if (m.write({{setting_key("MODE", subject), value}}, done, mode.value_or(previous)))
    m.put_mode(subject, mode);
}

std::vector<std::string> registry::subjects(bool include_deleted, std::string_view prefix) const {
  std::shared_lock lk(impl_->mu);
  std::vector<std::string> out;
  for (const auto& [name, s] : impl_->subjects)
    if ((include_deleted ? !s.versions.empty() : s.live()) && name.starts_with(prefix))
      out.push_back(name);
  return out;
}

outcome<std::vector<int32_t>> registry::versions(const std::string& subject,
                                                 bool include_deleted) const {
  std::shared_lock lk(impl_->mu);
  const auto* s = impl_->find(subject);
  if (!s || (include_deleted ? s->versions.empty() : !s->live())) return subject_not_found(subject);
  std::vector<int32_t> out;
  for (const auto& [v, e] : s->versions)
    if (include_deleted || !e.deleted) out.push_back(v);
  return out;
}

outcome<schema_version> registry::version(const std::string& subject, int32_t version,
                                          bool include_deleted) const {
  std::shared_lock lk(impl_->mu);
  auto v = impl_->resolve(subject, version, include_deleted);
  if (auto* e = std::get_if<registry_error>(&v)) return *e;
  return impl_->describe(subject, std::get<int32_t>(v));
}

outcome<schema_version> registry::lookup(const std::string& subject, const schema_input& in,
                                         bool include_deleted) const {
  std::shared_lock lk(impl_->mu);
  const auto* s = impl_->find(subject);
  if (!s || (!include_deleted && !s->live())) return subject_not_found(subject);
  auto parsed = impl_->parse_input(in);
  if (auto* e = std::get_if<registry_error>(&parsed)) return *e;
  auto key = content_key(in.type, std::get<0>(parsed)->text(), in.references);
  auto id = impl_->ids.find(key);
  if (id != impl_->ids.end())
    for (auto it = s->versions.rbegin(); it != s->versions.rend(); ++it)
      if (it->second.id == id->second && (include_deleted || !it->second.deleted))
        return impl_->describe(subject, it->first);
  return error(404, 40403, "Schema not found");
}

outcome<schema_version> registry::by_id(int32_t id) const {
  std::shared_lock lk(impl_->mu);
  auto it = impl_->schemas.find(id);
  if (it == impl_->schemas.end())
    return error(404, 40403, "Schema " + std::to_string(id) + " not found");
  return schema_version{"", 0, id, it->second.type, it->second.text, it->second.references, false};
}

std::vector<std::pair<std::string, int32_t>> registry::uses_of(int32_t id,
                                                               bool include_deleted) const {
  std::shared_lock lk(impl_->mu);
  return impl_->uses(id, include_deleted);
}

std::shared_ptr<const parsed_schema> registry::parsed(int32_t id) const {
  std::shared_lock lk(impl_->mu);
  auto it = impl_->schemas.find(id);
  return it == impl_->schemas.end() ? nullptr : it->second.parsed;
}

std::pair<std::shared_ptr<const parsed_schema>, int32_t> registry::latest(
    const std::string& subject) const {
  std::shared_lock lk(impl_->mu);
  auto live = impl_->live_versions(subject);
  if (live.empty()) return {nullptr, 0};
  int32_t id = impl_->subjects.at(subject).versions.at(live.back()).id;
  return {impl_->schemas.at(id).parsed, id};
}

outcome<std::vector<std::string>> registry::test_compatibility(const std::string& subject,
                                                               int32_t version,
                                                               const schema_input& in) const {
  std::shared_lock lk(impl_->mu);
  auto parsed = impl_->parse_input(in);
  if (auto* e = std::get_if<registry_error>(&parsed)) return *e;
  const auto* s = impl_->find(subject);
  // Against a subject with no versions everything is compatible (Confluent answers so for
  // "latest"); a numbered version must exist.
  if (!s || !s->live()) {
    if (version > 0) return subject_not_found(subject);
    return std::vector<std::string>{};
  }
  auto level = impl_->level_of(subject);
  std::vector<int32_t> against;
  if (version == 0) {
    against = impl_->live_versions(subject);
  } else {
    auto v = impl_->resolve(subject, version, false);
    if (auto* e = std::get_if<registry_error>(&v)) return *e;
    against = {std::get<int32_t>(v)};
    // One named version: checked by the level's direction, not transitively.
    if (level == compatibility::backward_transitive) level = compatibility::backward;
    if (level == compatibility::forward_transitive) level = compatibility::forward;
    if (level == compatibility::full_transitive) level = compatibility::full;
  }
  return impl_->incompatibilities(subject, *std::get<0>(parsed), against, level);
}

compatibility registry::global_compatibility() const {
  std::shared_lock lk(impl_->mu);
  return impl_->level;
}
std::optional<compatibility> registry::subject_compatibility(const std::string& subject) const {
  std::shared_lock lk(impl_->mu);
  const auto* s = impl_->find(subject);
  return s ? s->level : std::nullopt;
}
registry_mode registry::global_mode() const {
  std::shared_lock lk(impl_->mu);
  return impl_->mode;
}
std::optional<registry_mode> registry::subject_mode(const std::string& subject) const {
  std::shared_lock lk(impl_->mu);
  const auto* s = impl_->find(subject);
  return s ? s->mode : std::nullopt;
}

registry_stats registry::stats() const {
  std::shared_lock lk(impl_->mu);
  registry_stats st;
  st.schemas = impl_->schemas.size();
  for (const auto& [name, s] : impl_->subjects) {
    if (s.live()) ++st.subjects;
    for (const auto& [v, e] : s.versions)
      st.versions += e.deleted ? 0 : 1;
  }
  return st;
}

uint64_t registry::generation() const {
  return impl_->generation.load(std::memory_order_acquire);
}

}  // namespace sluice::schema
