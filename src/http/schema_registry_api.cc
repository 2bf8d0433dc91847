#include "http/schema_registry_api.h"

#include <simdjson.h>

#include <charconv>

#include "base/await_callback.h"
#include "base/json_writer.h"
#include "http/error_body.h"
#include "http/routes.h"
#include "http/url.h"
#include "schema/registry.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using request = bhttp::request<bhttp::string_body>;
using schema::outcome;
using schema::registry_error;

namespace {

rest_answer fail(unsigned status, int code, const std::string& message) {
  return {status, error_body(code, message)};
}
rest_answer fail(const registry_error& e) {
  return fail(static_cast<unsigned>(e.status), e.code, e.message);
}
rest_answer ok(std::string body) {
  return {200, std::move(body)};
}

bool flag(const request& req, std::string_view name) {
  auto v = query_param(req.target(), name);
  return v && (*v == "true" || v->empty());
}

// "latest" and -1 are the latest version (-1); 1..2^31-1 a version; nullopt otherwise.
std::optional<int32_t> parse_version(std::string_view v) {
  if (v == "latest" || v == "-1") return -1;
  int32_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 1) return std::nullopt;
  return n;
}
rest_answer bad_version(std::string_view v) {
  return fail(422, 42202,
              "The specified version '" + std::string(v) +
                  "' is not a valid version id. Allowed values are between [1, 2^31-1] and the "
                  "string \"latest\"");
}

std::string version_body(const schema::schema_version& v) {
  json_writer w;
  w.begin_object().key("subject").value(v.subject).key("version").value(v.version).key("id").value(
      v.id);
  if (v.type != schema::schema_type::avro) w.key("schemaType").value(schema::name_of(v.type));
  schema::write_references(w, v.references);
  w.key("schema").value(v.text).end_object();
  return std::move(w).str();
}

// The body of a register, lookup or compatibility request.
struct schema_body {
  schema::schema_input in;
  std::optional<int32_t> id;
};
std::optional<schema_body> parse_schema_body(const request& req, std::string& err) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(req.body()).get(o)) {
    err = "the body must be a JSON object {\"schema\": \"...\"}";
    return std::nullopt;
  }
  schema_body b;
  std::string_view text;
  if (o["schema"].get(text)) {
    err = "the body needs \"schema\", the schema's text as a string";
    return std::nullopt;
  }
  b.in.text = std::string(text);
  std::string_view type;
  if (!o["schemaType"].get(type) && !schema::parse_schema_type(type, b.in.type)) {
    err = "unknown schemaType '" + std::string(type) + "' (AVRO, PROTOBUF or JSON)";
    return std::nullopt;
  }
  simdjson::dom::array refs;
  if (!o["references"].get(refs))
    for (auto r : refs) {
      std::string_view name, subject;
      int64_t version = 0;
      if (r["name"].get(name) || r["subject"].get(subject) || r["version"].get(version)) {
        err = "a reference needs \"name\", \"subject\" and \"version\"";
        return std::nullopt;
      }
      b.in.references.push_back(
          {std::string(name), std::string(subject), static_cast<int32_t>(version)});
    }
  int64_t id = 0;
  if (!o["id"].get(id) && id > 0) b.id = static_cast<int32_t>(id);
  return b;
}

// Waits for a registry change's answer without blocking the loop.
template <class T, class Start>
awaitable<outcome<T>> change(Start start) {
  co_return co_await await_callback<outcome<T>>(std::move(start));
}

}  // namespace

bool schema_registry_api::owns(std::string_view path) {
  for (std::string_view p : {"/subjects", "/schemas", "/config", "/mode", "/compatibility"})
    if (path == p || (path.starts_with(p) && path[p.size()] == '/')) return true;
  return false;
}

awaitable<std::optional<rest_answer>> schema_registry_api::handle(
    const request& req, const std::function<bool(std::string_view)>& may_see) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (!owns(path)) co_return std::nullopt;
  auto& r = *registry_;
  auto method = req.method();
  bool get = method == bhttp::verb::get || method == bhttp::verb::head;
  bool post = method == bhttp::verb::post;
  bool put = method == bhttp::verb::put;
  bool del = method == bhttp::verb::delete_;
  std::vector<std::string> p;
  auto is = [&](std::string_view pattern) { return match_pattern(pattern, path, p); };
  std::string err;

  // --- subjects ---
  if (is("/subjects")) {
    if (!get) co_return fail(405, 405, "use GET");
    auto prefix = query_param(target, "subjectPrefix").value_or("");
    json_writer w;
    w.begin_array();
    for (const auto& s : r.subjects(flag(req, "deleted"), prefix))
      if (!may_see || may_see(s)) w.value(s);
    w.end_array();
    co_return ok(std::move(w).str());
  }
  if (is("/subjects/{s}/versions")) {
    if (get) {
      auto v = r.versions(p[0], flag(req, "deleted"));
      if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
      json_writer w;
      w.begin_array();
      for (int32_t n : std::get<0>(v))
        w.value(n);
      w.end_array();
      co_return ok(std::move(w).str());
    }
    if (!post) co_return fail(405, 405, "use GET or POST");
    auto body = parse_schema_body(req, err);
    if (!body) co_return fail(422, 42201, "Invalid schema: " + err);
    auto subject = p[0];
    auto id = co_await change<int32_t>(
        [&](auto done) { r.register_schema(subject, body->in, body->id, std::move(done)); });
    if (auto* e = std::get_if<registry_error>(&id)) co_return fail(*e);
    json_writer w;
    w.begin_object().key("id").value(std::get<int32_t>(id)).end_object();
    co_return ok(std::move(w).str());
  }
  if (is("/subjects/{s}")) {
    if (post) {
      auto body = parse_schema_body(req, err);
      if (!body) co_return fail(422, 42201, "Invalid schema: " + err);
      auto v = r.lookup(p[0], body->in, flag(req, "deleted"));
      if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
      co_return ok(version_body(std::get<schema::schema_version>(v)));
    }
    if (!del) co_return fail(405, 405, "use POST (lookup) or DELETE");
    auto subject = p[0];
    bool permanent = flag(req, "permanent");
    auto gone = co_await change<std::vector<int32_t>>(
        [&](auto done) { r.delete_subject(subject, permanent, std::move(done)); });
    if (auto* e = std::get_if<registry_error>(&gone)) co_return fail(*e);
    json_writer w;
    w.begin_array();
    for (int32_t n : std::get<0>(gone))
      w.value(n);
    w.end_array();
    co_return ok(std::move(w).str());
  }
  bool schema_only = is("/subjects/{s}/versions/{v}/schema");
  bool referenced = !schema_only && is("/subjects/{s}/versions/{v}/referencedby");
  if (schema_only || referenced || is("/subjects/{s}/versions/{v}")) {
    auto version = parse_version(p[1]);
    if (!version) co_return bad_version(p[1]);
    if (del && !schema_only && !referenced) {
      auto subject = p[0];
      bool permanent = flag(req, "permanent");
      auto gone = co_await change<int32_t>(
          [&](auto done) { r.delete_version(subject, *version, permanent, std::move(done)); });
      if (auto* e = std::get_if<registry_error>(&gone)) co_return fail(*e);
      co_return ok(std::to_string(std::get<int32_t>(gone)));
    }
    if (!get) co_return fail(405, 405, "use GET or DELETE");
    auto v = r.version(p[0], *version, flag(req, "deleted"));
    if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
    const auto& sv = std::get<schema::schema_version>(v);
    if (schema_only) co_return ok(sv.text);
    if (referenced) {
      // The ids of live schemas whose references name this version.
      json_writer w;
      w.begin_array();
      for (const auto& s : r.subjects(false))
        if (auto vs = r.versions(s, false); auto* list = std::get_if<0>(&vs))
          for (int32_t n : *list) {
            auto other = r.version(s, n, false);
            if (auto* o = std::get_if<schema::schema_version>(&other))
              for (const auto& ref : o->references)
                if (ref.subject == sv.subject && ref.version == sv.version) w.value(o->id);
          }
      w.end_array();
      co_return ok(std::move(w).str());
    }
    co_return ok(version_body(sv));
  }

  // --- schemas by id ---
  if (is("/schemas/types")) {
    if (!get) co_return fail(405, 405, "use GET");
    co_return ok("[\"AVRO\",\"PROTOBUF\",\"JSON\"]");
  }
  bool ids_schema = is("/schemas/ids/{id}/schema");
  bool ids_subjects = !ids_schema && is("/schemas/ids/{id}/subjects");
  bool ids_versions = !ids_schema && !ids_subjects && is("/schemas/ids/{id}/versions");
  if (ids_schema || ids_subjects || ids_versions || is("/schemas/ids/{id}")) {
    if (!get) co_return fail(405, 405, "use GET");
    int32_t id = 0;
    auto [ptr, ec] = std::from_chars(p[0].data(), p[0].data() + p[0].size(), id);
    if (ec != std::errc() || ptr != p[0].data() + p[0].size())
      co_return fail(404, 40403, "Schema " + p[0] + " not found");
    auto s = r.by_id(id);
    if (auto* e = std::get_if<registry_error>(&s)) co_return fail(*e);
    const auto& sv = std::get<schema::schema_version>(s);
    if (ids_schema) co_return ok(sv.text);
    if (ids_subjects || ids_versions) {
      json_writer w;
      w.begin_array();
      std::string last;
      for (const auto& [subject, version] : r.uses_of(id, flag(req, "deleted"))) {
        if (may_see && !may_see(subject)) continue;
        if (ids_versions) {
          w.begin_object().key("subject").value(subject).key("version").value(version).end_object();
        } else if (subject != last) {
          w.value(subject);
          last = subject;
        }
      }
      w.end_array();
      co_return ok(std::move(w).str());
    }
    json_writer w;
    w.begin_object();
    if (sv.type != schema::schema_type::avro) w.key("schemaType").value(schema::name_of(sv.type));
    schema::write_references(w, sv.references);
    w.key("schema").value(sv.text).end_object();
    co_return ok(std::move(w).str());
  }

  // --- compatibility levels and modes ---
  bool config = is("/config") || is("/config/{s}");
  if (config || is("/mode") || is("/mode/{s}")) {
    std::string subject = p.empty() ? std::string() : p[0];
    const char* field = config ? "compatibilityLevel" : "mode";
    if (get) {
      std::string_view value;
      if (config) {
        auto own = subject.empty() ? std::optional(r.global_compatibility())
                                   : r.subject_compatibility(subject);
        if (!own && !flag(req, "defaultToGlobal"))
          co_return fail(
              404, 40408,
              "Subject '" + subject + "' does not have subject-level compatibility configured");
        value = schema::name_of(own.value_or(r.global_compatibility()));
      } else {
        auto own = subject.empty() ? std::optional(r.global_mode()) : r.subject_mode(subject);
        if (!own && !flag(req, "defaultToGlobal"))
          co_return fail(404, 40409,
                         "Subject '" + subject + "' does not have subject-level mode configured");
        value = schema::name_of(own.value_or(r.global_mode()));
      }
      json_writer w;
      w.begin_object().key(field).value(value).end_object();
      co_return ok(std::move(w).str());
    }
    if (!put && !del) co_return fail(405, 405, "use GET, PUT or DELETE");
    std::string_view given;  // in `parser`'s document
    simdjson::dom::parser parser;
    if (put) {
      simdjson::dom::object o;
      if (parser.parse(req.body()).get(o) || o[config ? "compatibility" : "mode"].get(given))
        co_return fail(422, config ? 42203 : 42204,
                       config ? "the body must be {\"compatibility\": \"BACKWARD\"}"
                              : "the body must be {\"mode\": \"READWRITE\"}");
    }
    json_writer w;
    if (config) {
      std::optional<schema::compatibility> level;
      if (put) {
        schema::compatibility c;
        if (!schema::parse_compatibility(given, c))
          co_return fail(422, 42203,
                         "Invalid compatibility level '" + std::string(given) +
                             "'. Valid values are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, "
                             "FORWARD_TRANSITIVE, FULL and FULL_TRANSITIVE");
        level = c;
      }
      auto set = co_await change<schema::compatibility>(
          [&](auto done) { r.set_compatibility(subject, level, std::move(done)); });
      if (auto* e = std::get_if<registry_error>(&set)) co_return fail(*e);
      w.begin_object()
          .key(put ? "compatibility" : "compatibilityLevel")
          .value(schema::name_of(std::get<schema::compatibility>(set)))
          .end_object();
    } else {
      std::optional<schema::registry_mode> mode;
      if (put) {
        schema::registry_mode m;
        if (!schema::parse_mode(given, m))
          co_return fail(422, 42204,
                         "Invalid mode '" + std::string(given) +
                             "'. Valid values are READWRITE, READONLY and IMPORT");
        mode = m;
      }
      auto set = co_await change<schema::registry_mode>(
          [&](auto done) { r.set_mode(subject, mode, std::move(done)); });
      if (auto* e = std::get_if<registry_error>(&set)) co_return fail(*e);
      w.begin_object().key("mode").value(schema::name_of(std::get<schema::registry_mode>(set)));
      w.end_object();
    }
    co_return ok(std::move(w).str());
  }

  bool one = is("/compatibility/subjects/{s}/versions/{v}");
  if (one || is("/compatibility/subjects/{s}/versions")) {
    if (!post) co_return fail(405, 405, "use POST");
    int32_t version = 0;  // every version the subject's level checks
    if (one) {
      auto v = parse_version(p[1]);
      if (!v) co_return bad_version(p[1]);
      version = *v;
    }
    auto body = parse_schema_body(req, err);
    if (!body) co_return fail(422, 42201, "Invalid schema: " + err);
    auto found = r.test_compatibility(p[0], version, body->in);
    if (auto* e = std::get_if<registry_error>(&found)) co_return fail(*e);
    const auto& reasons = std::get<std::vector<std::string>>(found);
    json_writer w;
    w.begin_object().key("is_compatible").value(reasons.empty());
    if (flag(req, "verbose")) {
      w.key("messages").begin_array();
      for (const auto& m : reasons)
        w.value(m);
      w.end_array();
    }
    w.end_object();
    co_return ok(std::move(w).str());
  }
  co_return fail(404, 404, "HTTP 404 Not Found");
}

}  // namespace sluice::http
