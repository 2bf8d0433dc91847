#include "http/connect_api.h"

#include <simdjson.h>

#include "base/json_writer.h"
#include "base/run_on.h"
#include "connect/worker.h"
#include "http/error_body.h"
#include "http/routes.h"

namespace sluice::http {

namespace {

namespace bhttp = boost::beast::http;
using bhttp::verb;

reply answer(unsigned status, std::string body) {
  return {status, std::move(body)};
}
reply fail(const connect::connect_error& e) {
  return {static_cast<unsigned>(e.status), error_body(e.status, e.message)};
}
reply missing(const std::string& name) {
  return http::fail(404, "Connector " + name + " not found");
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

void connect_api::add_routes(router& r) {
  using op = security::acl_operation;
  // Connectors are the cluster's: described to read, altered to change. The calls block
  // (changes are durable when answered): they run on the workers.
  auto add = [&](verb m, std::string pattern, op o, reply (connect_api::*fn)(const call&)) {
    std::string name = pattern;
    r.add({m, std::move(pattern), std::move(name), needs::cluster(o), [this, fn](const call& c) {
             return run_on(workers_, [this, fn, &c] { return (this->*fn)(c); });
           }});
  };
  add(verb::get, "/connector-plugins", op::describe, &connect_api::plugins);
  add(verb::get, "/connectors", op::describe, &connect_api::list);
  add(verb::post, "/connectors", op::alter, &connect_api::create);
  add(verb::get, "/connectors/{n}", op::describe, &connect_api::info);
  add(verb::delete_, "/connectors/{n}", op::alter, &connect_api::remove);
  add(verb::get, "/connectors/{n}/config", op::describe, &connect_api::config);
  add(verb::put, "/connectors/{n}/config", op::alter, &connect_api::put_config);
  add(verb::get, "/connectors/{n}/status", op::describe, &connect_api::status);
  add(verb::get, "/connectors/{n}/tasks", op::describe, &connect_api::tasks);
  add(verb::post, "/connectors/{n}/restart", op::alter, &connect_api::restart);
  add(verb::put, "/connectors/{n}/pause", op::alter, &connect_api::pause_or_resume);
  add(verb::put, "/connectors/{n}/resume", op::alter, &connect_api::pause_or_resume);
  add(verb::get, "/connectors/{n}/tasks/{t}/status", op::describe, &connect_api::task_status);
  add(verb::post, "/connectors/{n}/tasks/{t}/restart", op::alter, &connect_api::restart);
}

reply connect_api::plugins(const call&) {
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

reply connect_api::list(const call& c) {
  json_writer w;
  if (!c.query("expand")) {
    w.begin_array();
    for (const auto& n : w_.names())
      w.value(n);
    w.end_array();
    return answer(200, std::move(w).str());
  }
  // ?expand=status&expand=info: both may be asked for.
  std::string_view target = c.target();
  bool status = target.find("expand=status") != std::string_view::npos;
  bool info = target.find("expand=info") != std::string_view::npos;
  w.begin_object();
  for (const auto& n : w_.names()) {
    auto s = w_.status(n);
    auto conf = w_.config_of(n);
    if (!s || !conf) continue;
    w.key(n).begin_object();
    if (status) {
      w.key("status");
      write_status(w, *s, w_.worker_id());
    }
    if (info) {
      w.key("info");
      write_info(w, n, *conf, s->type);
    }
    w.end_object();
  }
  w.end_object();
  return answer(200, std::move(w).str());
}

reply connect_api::create(const call& c) {
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  std::string_view name;
  simdjson::dom::element cfg;
  if (parser.parse(c.req.body()).get(body) || body["name"].get(name) || name.empty())
    return fail(400, "the body must be {\"name\": ..., \"config\": {...}}");
  std::string err;
  std::optional<connect::config> conf;
  if (body["config"].get(cfg))
    conf = connect::config{};
  else
    conf = connect::config_from_json(simdjson::minify(cfg), err);
  if (!conf) return fail(400, err);
  std::string n(name);
  conf->erase("name");
  auto r = w_.put(n, *conf, false);
  if (auto* e = std::get_if<connect::connect_error>(&r)) return fail(*e);
  json_writer w;
  write_info(w, n, *w_.config_of(n), w_.status(n)->type);
  return answer(201, std::move(w).str());
}

reply connect_api::info(const call& c) {
  const auto& n = c.params[0];
  auto conf = w_.config_of(n);
  auto s = w_.status(n);
  if (!conf || !s) return missing(n);
  json_writer w;
  write_info(w, n, *conf, s->type);
  return answer(200, std::move(w).str());
}

reply connect_api::remove(const call& c) {
  if (auto e = w_.remove(c.params[0])) return fail(*e);
  return answer(204, "");
}

reply connect_api::config(const call& c) {
  const auto& n = c.params[0];
  auto conf = w_.config_of(n);
  if (!conf) return missing(n);
  (*conf)["name"] = n;
  return answer(200, connect::config_to_json(*conf));
}

reply connect_api::put_config(const call& c) {
  const auto& n = c.params[0];
  std::string err;
  auto conf = connect::config_from_json(c.req.body(), err);
  if (!conf) return fail(400, err);
  if (auto it = conf->find("name"); it != conf->end()) {
    if (it->second != n)
      return fail(400, "Connector name configuration (" + it->second +
                           ") doesn't match connector name in the URL (" + n + ")");
    conf->erase(it);
  }
  auto r = w_.put(n, *conf, true);
  if (auto* e = std::get_if<connect::connect_error>(&r)) return fail(*e);
  json_writer w;
  write_info(w, n, *w_.config_of(n), w_.status(n)->type);
  return answer(std::get<bool>(r) ? 201 : 200, std::move(w).str());
}

reply connect_api::status(const call& c) {
  auto s = w_.status(c.params[0]);
  if (!s) return missing(c.params[0]);
  json_writer w;
  write_status(w, *s, w_.worker_id());
  return answer(200, std::move(w).str());
}

reply connect_api::tasks(const call& c) {
  const auto& n = c.params[0];
  auto conf = w_.config_of(n);
  if (!conf) return missing(n);
  json_writer w;
  w.begin_array().begin_object().key("id").begin_object();
  w.key("connector").value(n).key("task").value(int64_t{0}).end_object();
  w.key("config").begin_object();
  for (const auto& [k, v] : *conf)
    w.key(k).value(v);
  w.end_object().end_object().end_array();
  return answer(200, std::move(w).str());
}

// POST /connectors/{n}/restart and /connectors/{n}/tasks/0/restart (one task per connector).
reply connect_api::restart(const call& c) {
  const auto& n = c.params[0];
  if (c.params.size() > 1 && c.params[1] != "0")
    return fail(404, "Task " + n + "-" + c.params[1] + " not found");
  if (auto e = w_.restart(n)) return fail(*e);
  return answer(204, "");
}

reply connect_api::pause_or_resume(const call& c) {
  const auto& n = c.params[0];
  if (auto e = c.path.ends_with("/pause") ? w_.pause(n) : w_.resume(n)) return fail(*e);
  return answer(202, "");
}

reply connect_api::task_status(const call& c) {
  const auto& n = c.params[0];
  if (c.params[1] != "0") return fail(404, "Task " + n + "-" + c.params[1] + " not found");
  auto s = w_.status(n);
  if (!s) return missing(n);
  json_writer w;
  write_task_status(w, *s, w_.worker_id());
  return answer(200, std::move(w).str());
}

}  // namespace sluice::http
