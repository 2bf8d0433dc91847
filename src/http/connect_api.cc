#include "http/connect_api.h"

#include <simdjson.h>

#include "base/json_writer.h"
#include "connect/worker.h"
#include "http/error_body.h"
#include "http/routes.h"
#include "http/url.h"

namespace sluice::http {

namespace {

namespace bhttp = boost::beast::http;
using bhttp::verb;

rest_answer answer(unsigned status, std::string body) {
  return {status, std::move(body)};
}
rest_answer fail(const connect::connect_error& e) {
  return {static_cast<unsigned>(e.status), error_body(e.status, e.message)};
}
rest_answer fail(int status, const std::string& message) {
  return {static_cast<unsigned>(status), error_body(status, message)};
}

void write_info(json_writer& w, const std::string& name, const connect::config& c,
                connect::connector_type type) {
  w.begin_object().key("name").value(name).key("config").begin_object();
  for (const auto& [k, v] : c)
    w.key(k).value(v);
  w.key("name").value(name);
  w.end_object().key("tasks").begin_array();
  w.begin_object().key("connector").value(name).key("task").value(int64_t{0}).end_object();
  w.end_array().key("type").value(to_string(type)).end_object();
}

void write_task_status(json_writer& w, const connect::connector_status& s,
                       const std::string& worker_id) {
  w.begin_object().key("id").value(int64_t{0}).key("state").value(s.state);
  w.key("worker_id").value(worker_id);
  if (s.state == "FAILED" && !s.trace.empty()) w.key("trace").value(s.trace);
  w.end_object();
}

void write_status(json_writer& w, const connect::connector_status& s,
                  const std::string& worker_id) {
  w.begin_object().key("name").value(s.name).key("connector").begin_object();
  // The connector itself runs wherever its task does; its state is the task's.
  w.key("state").value(s.state == "FAILED" ? std::string("RUNNING") : s.state);
  w.key("worker_id").value(worker_id).end_object();
  w.key("tasks").begin_array();
  write_task_status(w, s, worker_id);
  w.end_array().key("type").value(to_string(s.type)).end_object();
}

}  // namespace

bool connect_api::owns(std::string_view path) {
  return path == "/connectors" || path.starts_with("/connectors/") ||
         path == "/connector-plugins" || path.starts_with("/connector-plugins/");
}

std::optional<rest_answer> connect_api::handle(const bhttp::request<bhttp::string_body>& req) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (!owns(path)) return std::nullopt;
  auto m = req.method();
  std::vector<std::string> p;

  if (path == "/connector-plugins" || path == "/connector-plugins/") {
    if (m != verb::get) return fail(405, "use GET");
    json_writer w;
    w.begin_array();
    for (const auto& k : connect::kinds())
      w.begin_object()
          .key("class")
          .value(k.classes.empty() ? k.name : k.classes.front())
          .key("type")
          .value(to_string(k.type))
          .key("version")
          .value(k.version)
          .key("name")
          .value(k.name)
          .end_object();
    w.end_array();
    return answer(200, std::move(w).str());
  }

  if (path == "/connectors" || path == "/connectors/") {
    if (m == verb::get) {
      auto expand = query_param(target, "expand");
      json_writer w;
      if (!expand) {
        w.begin_array();
        for (const auto& n : w_.names())
          w.value(n);
        w.end_array();
        return answer(200, std::move(w).str());
      }
      // ?expand=status&expand=info: both may be asked for.
      bool status = target.find("expand=status") != std::string_view::npos;
      bool info = target.find("expand=info") != std::string_view::npos;
      w.begin_object();
      for (const auto& n : w_.names()) {
        auto s = w_.status(n);
        auto c = w_.config_of(n);
        if (!s || !c) continue;
        w.key(n).begin_object();
        if (status) {
          w.key("status");
          write_status(w, *s, w_.worker_id());
        }
        if (info) {
          w.key("info");
          write_info(w, n, *c, s->type);
        }
        w.end_object();
      }
      w.end_object();
      return answer(200, std::move(w).str());
    }
    if (m != verb::post) return fail(405, "use GET or POST");
    simdjson::dom::parser parser;
    simdjson::dom::object body;
    std::string_view name;
    simdjson::dom::element cfg;
    if (parser.parse(req.body()).get(body) || body["name"].get(name) || name.empty())
      return fail(400, "the body must be {\"name\": ..., \"config\": {...}}");
    std::string err;
    std::optional<connect::config> c;
    if (body["config"].get(cfg))
      c = connect::config{};
    else
      c = connect::config_from_json(simdjson::minify(cfg), err);
    if (!c) return fail(400, err);
    std::string n(name);
    c->erase("name");
    auto r = w_.put(n, *c, false);
    if (auto* e = std::get_if<connect::connect_error>(&r)) return fail(*e);
    json_writer w;
    write_info(w, n, *w_.config_of(n), w_.status(n)->type);
    return answer(201, std::move(w).str());
  }

  auto one = [&](std::string_view pattern) { return match_pattern(pattern, path, p); };
  auto missing = [&](const std::string& n) { return fail(404, "Connector " + n + " not found"); };

  if (one("/connectors/{n}")) {
    const auto& n = p[0];
    if (m == verb::delete_) {
      if (auto e = w_.remove(n)) return fail(*e);
      return answer(204, "");
    }
    if (m != verb::get) return fail(405, "use GET or DELETE");
    auto c = w_.config_of(n);
    auto s = w_.status(n);
    if (!c || !s) return missing(n);
    json_writer w;
    write_info(w, n, *c, s->type);
    return answer(200, std::move(w).str());
  }
  if (one("/connectors/{n}/{what}")) {
    const auto& n = p[0];
    const auto& what = p[1];
    if (what == "config") {
      if (m == verb::get) {
        auto c = w_.config_of(n);
        if (!c) return missing(n);
        (*c)["name"] = n;
        return answer(200, connect::config_to_json(*c));
      }
      if (m != verb::put) return fail(405, "use GET or PUT");
      std::string err;
      auto c = connect::config_from_json(req.body(), err);
      if (!c) return fail(400, err);
      if (auto it = c->find("name"); it != c->end()) {
        if (it->second != n)
          return fail(400, "Connector name configuration (" + it->second +
                               ") doesn't match connector name in the URL (" + n + ")");
        c->erase(it);
      }
      auto r = w_.put(n, *c, true);
      if (auto* e = std::get_if<connect::connect_error>(&r)) return fail(*e);
      json_writer w;
      write_info(w, n, *w_.config_of(n), w_.status(n)->type);
      return answer(std::get<bool>(r) ? 201 : 200, std::move(w).str());
    }
    if (what == "status") {
      if (m != verb::get) return fail(405, "use GET");
      auto s = w_.status(n);
      if (!s) return missing(n);
      json_writer w;
      write_status(w, *s, w_.worker_id());
      return answer(200, std::move(w).str());
    }
    if (what == "tasks") {
      if (m != verb::get) return fail(405, "use GET");
      auto c = w_.config_of(n);
      if (!c) return missing(n);
      json_writer w;
      w.begin_array().begin_object().key("id").begin_object();
      w.key("connector").value(n).key("task").value(int64_t{0}).end_object();
      w.key("config").begin_object();
      for (const auto& [k, v] : *c)
        w.key(k).value(v);
      w.end_object().end_object().end_array();
      return answer(200, std::move(w).str());
    }
    if (what == "restart") {
      if (m != verb::post) return fail(405, "use POST");
      if (auto e = w_.restart(n)) return fail(*e);
      return answer(204, "");
    }
    if (what == "pause" || what == "resume") {
      if (m != verb::put) return fail(405, "use PUT");
      if (auto e = what == "pause" ? w_.pause(n) : w_.resume(n)) return fail(*e);
      return answer(202, "");
    }
    return fail(404, "unknown connector resource '" + what + "'");
  }
  if (one("/connectors/{n}/tasks/{t}/status") || one("/connectors/{n}/tasks/{t}/restart")) {
    const auto& n = p[0];
    if (p[1] != "0") return fail(404, "Task " + n + "-" + p[1] + " not found");
    if (path.ends_with("/restart")) {
      if (m != verb::post) return fail(405, "use POST");
      if (auto e = w_.restart(n)) return fail(*e);
      return answer(204, "");
    }
    if (m != verb::get) return fail(405, "use GET");
    auto s = w_.status(n);
    if (!s) return missing(n);
    json_writer w;
    write_task_status(w, *s, w_.worker_id());
    return answer(200, std::move(w).str());
  }
  return fail(404, "not found: " + std::string(path));
}

}  // namespace sluice::http
