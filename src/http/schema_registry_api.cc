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
using schema::outcome;
using schema::registry_error;

namespace {

reply fail(unsigned status, int code, const std::string& message) {
  return {status, error_body(code, message)};
}
reply fail(const registry_error& e) {
  return fail(static_cast<unsigned>(e.status), e.code, e.message);
}
reply ok(std::string body) {
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
reply bad_version(std::string_view v) {
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

void schema_registry_api::add_routes(router& rt) {
  using verb = bhttp::verb;
  using op = security::acl_operation;
  auto subject = [](op o) { return needs::named(o, security::resource_type::subject); };
  auto add = [&](verb m, std::string pattern, permission p,
                 awaitable<reply> (schema_registry_api::*fn)(const call&)) {
    rt.add(m, std::move(pattern), p, this, fn, k_schema_registry_content_type);
  };
  using api = schema_registry_api;
  // A subject is read, written (new versions) and deleted as a SUBJECT resource; listings
  // show only the subjects one may DESCRIBE.
  add(verb::get, "/subjects", needs::signed_in, &api::list_subjects);
  add(verb::get, "/subjects/{s}/versions", subject(op::read), &api::list_versions);
  add(verb::post, "/subjects/{s}/versions", subject(op::write), &api::register_schema);
  add(verb::post, "/subjects/{s}", subject(op::read), &api::lookup);
  add(verb::delete_, "/subjects/{s}", subject(op::remove), &api::delete_subject);
  add(verb::get, "/subjects/{s}/versions/{v}", subject(op::read), &api::version);
  add(verb::delete_, "/subjects/{s}/versions/{v}", subject(op::remove), &api::delete_version);
  add(verb::get, "/subjects/{s}/versions/{v}/schema", subject(op::read), &api::version);
  add(verb::get, "/subjects/{s}/versions/{v}/referencedby", subject(op::read), &api::referenced_by);
  add(verb::get, "/schemas/types", needs::signed_in, &api::types);
  for (std::string part : {"", "/schema", "/subjects", "/versions"})
    add(verb::get, "/schemas/ids/{id}" + part, needs::signed_in, &api::by_id);
  // Levels and modes: global ones are the cluster's to change, a subject's its own.
  for (std::string what : {"/config", "/mode"}) {
    add(verb::get, what, needs::signed_in, &api::setting);
    add(verb::put, what, needs::cluster(op::alter), &api::change_setting);
    add(verb::get, what + "/{s}", subject(op::read), &api::setting);
    add(verb::put, what + "/{s}", subject(op::alter), &api::change_setting);
    add(verb::delete_, what + "/{s}", subject(op::alter), &api::change_setting);
  }
  add(verb::post, "/compatibility/subjects/{s}/versions", subject(op::read),
      &api::test_compatibility);
  add(verb::post, "/compatibility/subjects/{s}/versions/{v}", subject(op::read),
      &api::test_compatibility);
}

awaitable<reply> schema_registry_api::list_subjects(const call& c) {
  auto prefix = c.query("subjectPrefix").value_or("");
  json_writer w;
  w.begin_array();
  for (const auto& s : registry_->subjects(flag(c.req, "deleted"), prefix))
    if (c.who.allowed(security::acl_operation::describe, security::resource_type::subject, s))
      w.value(s);
  w.end_array();
  co_return ok(std::move(w).str());
}

awaitable<reply> schema_registry_api::list_versions(const call& c) {
  auto v = registry_->versions(c.params[0], flag(c.req, "deleted"));
  if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
  json_writer w;
  w.begin_array();
  for (int32_t n : std::get<0>(v))
    w.value(n);
  w.end_array();
  co_return ok(std::move(w).str());
}

awaitable<reply> schema_registry_api::register_schema(const call& c) {
  std::string err;
  auto body = parse_schema_body(c.req, err);
  if (!body) co_return fail(422, 42201, "Invalid schema: " + err);
  const auto& subject = c.params[0];
  auto id = co_await change<int32_t>(
      [&](auto done) { registry_->register_schema(subject, body->in, body->id, std::move(done)); });
  if (auto* e = std::get_if<registry_error>(&id)) co_return fail(*e);
  json_writer w;
  w.begin_object().key("id").value(std::get<int32_t>(id)).end_object();
  co_return ok(std::move(w).str());
}

awaitable<reply> schema_registry_api::lookup(const call& c) {
  std::string err;
  auto body = parse_schema_body(c.req, err);
  if (!body) co_return fail(422, 42201, "Invalid schema: " + err);
  auto v = registry_->lookup(c.params[0], body->in, flag(c.req, "deleted"));
  if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
  co_return ok(version_body(std::get<schema::schema_version>(v)));
}

awaitable<reply> schema_registry_api::delete_subject(const call& c) {
  const auto& subject = c.params[0];
  bool permanent = flag(c.req, "permanent");
  auto gone = co_await change<std::vector<int32_t>>(
      [&](auto done) { registry_->delete_subject(subject, permanent, std::move(done)); });
  if (auto* e = std::get_if<registry_error>(&gone)) co_return fail(*e);
  json_writer w;
  w.begin_array();
  for (int32_t n : std::get<0>(gone))
    w.value(n);
  w.end_array();
  co_return ok(std::move(w).str());
}

awaitable<reply> schema_registry_api::delete_version(const call& c) {
  auto version = parse_version(c.params[1]);
  if (!version) co_return bad_version(c.params[1]);
  const auto& subject = c.params[0];
  bool permanent = flag(c.req, "permanent");
  auto gone = co_await change<int32_t>(
      [&](auto done) { registry_->delete_version(subject, *version, permanent, std::move(done)); });
  if (auto* e = std::get_if<registry_error>(&gone)) co_return fail(*e);
  co_return ok(std::to_string(std::get<int32_t>(gone)));
}

// GET /subjects/{s}/versions/{v}[/schema].
awaitable<reply> schema_registry_api::version(const call& c) {
  auto version = parse_version(c.params[1]);
  if (!version) co_return bad_version(c.params[1]);
  auto v = registry_->version(c.params[0], *version, flag(c.req, "deleted"));
  if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
  const auto& sv = std::get<schema::schema_version>(v);
  if (c.path.ends_with("/schema")) co_return ok(sv.text);
  co_return ok(version_body(sv));
}

// The ids of live schemas whose references name this version.
awaitable<reply> schema_registry_api::referenced_by(const call& c) {
  auto version = parse_version(c.params[1]);
  if (!version) co_return bad_version(c.params[1]);
  auto& r = *registry_;
  auto v = r.version(c.params[0], *version, flag(c.req, "deleted"));
  if (auto* e = std::get_if<registry_error>(&v)) co_return fail(*e);
  const auto& sv = std::get<schema::schema_version>(v);
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

awaitable<reply> schema_registry_api::types(const call&) {
  json_writer w;
  w.begin_array().value("AVRO").value("PROTOBUF").value("JSON").end_array();
  co_return ok(std::move(w).str());
}

// GET /schemas/ids/{id}[/schema|/subjects|/versions].
awaitable<reply> schema_registry_api::by_id(const call& c) {
  const auto& text = c.params[0];
  int32_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size())
    co_return fail(404, 40403, "Schema " + text + " not found");
  auto s = registry_->by_id(id);
  if (auto* e = std::get_if<registry_error>(&s)) co_return fail(*e);
  const auto& sv = std::get<schema::schema_version>(s);
  if (c.path.ends_with("/schema")) co_return ok(sv.text);
  bool versions = c.path.ends_with("/versions");
  if (versions || c.path.ends_with("/subjects")) {
    json_writer w;
    w.begin_array();
    std::string last;
    for (const auto& [subject, version] : registry_->uses_of(id, flag(c.req, "deleted"))) {
      if (!c.who.allowed(security::acl_operation::describe, security::resource_type::subject,
                         subject))
        continue;
      if (versions) {
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

// GET /config[/{s}] (compatibility levels) and /mode[/{s}].
awaitable<reply> schema_registry_api::setting(const call& c) {
  auto& r = *registry_;
  bool config = c.path.starts_with("/config");
  std::string subject = c.params.empty() ? std::string() : c.params[0];
  std::string_view value;
  if (config) {
    auto own = subject.empty() ? std::optional(r.global_compatibility())
                               : r.subject_compatibility(subject);
    if (!own && !flag(c.req, "defaultToGlobal"))
      co_return fail(
          404, 40408,
          "Subject '" + subject + "' does not have subject-level compatibility configured");
    value = schema::name_of(own.value_or(r.global_compatibility()));
  } else {
    auto own = subject.empty() ? std::optional(r.global_mode()) : r.subject_mode(subject);
    if (!own && !flag(c.req, "defaultToGlobal"))
      co_return fail(404, 40409,
                     "Subject '" + subject + "' does not have subject-level mode configured");
    value = schema::name_of(own.value_or(r.global_mode()));
  }
  json_writer w;
  w.begin_object().key(config ? "compatibilityLevel" : "mode").value(value).end_object();
  co_return ok(std::move(w).str());
}

// PUT /config[/{s}] and /mode[/{s}]; DELETE of a subject's (back to the global one).
awaitable<reply> schema_registry_api::change_setting(const call& c) {
  auto& r = *registry_;
  bool config = c.path.starts_with("/config");
  bool put = c.req.method() == bhttp::verb::put;
  std::string subject = c.params.empty() ? std::string() : c.params[0];
  std::string_view given;  // in `parser`'s document
  simdjson::dom::parser parser;
  if (put) {
    simdjson::dom::object o;
    if (parser.parse(c.req.body()).get(o) || o[config ? "compatibility" : "mode"].get(given))
      co_return fail(422, config ? 42203 : 42204,
                     config ? "the body must be {\"compatibility\": \"BACKWARD\"}"
                            : "the body must be {\"mode\": \"READWRITE\"}");
  }
  json_writer w;
  if (config) {
    std::optional<schema::compatibility> level;
    if (put) {
      schema::compatibility l;
      if (!schema::parse_compatibility(given, l))
        co_return fail(422, 42203,
                       "Invalid compatibility level '" + std::string(given) +
                           "'. Valid values are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, "
                           "FORWARD_TRANSITIVE, FULL and FULL_TRANSITIVE");
      level = l;
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

// POST /compatibility/subjects/{s}/versions[/{v}].
awaitable<reply> schema_registry_api::test_compatibility(const call& c) {
  int32_t version = 0;  // every version the subject's level checks
  if (c.params.size() > 1) {
    auto v = parse_version(c.params[1]);
    if (!v) co_return bad_version(c.params[1]);
    version = *v;
  }
  std::string err;
  auto body = parse_schema_body(c.req, err);
  if (!body) co_return fail(422, 42201, "Invalid schema: " + err);
  auto found = registry_->test_compatibility(c.params[0], version, body->in);
  if (auto* e = std::get_if<registry_error>(&found)) co_return fail(*e);
  const auto& reasons = std::get<std::vector<std::string>>(found);
  json_writer w;
  w.begin_object().key("is_compatible").value(reasons.empty());
  if (flag(c.req, "verbose")) {
    w.key("messages").begin_array();
    for (const auto& m : reasons)
      w.value(m);
    w.end_array();
  }
  w.end_object();
  co_return ok(std::move(w).str());
}

}  // namespace sluice::http
