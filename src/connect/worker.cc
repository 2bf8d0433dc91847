#include "connect/worker.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "base/json_writer.h"
#include "connect/runner.h"
#include "connect/state_topic.h"
#include "metrics/exposition.h"

namespace sluice::connect {

namespace {

constexpr std::string_view k_configs = "_connect_configs";
constexpr std::string_view k_offsets = "_connect_offsets";

const kind* kind_of(const config& c) {
  auto k = setting(c, "connector");
  if (k.empty()) k = setting(c, "connector.class");
  return find_kind(k);
}

// Settings every connector understands, checked before the kind's own.
result<void> validate_common(const kind& k, const config& c) {
  auto tolerance = setting(c, "errors.tolerance", "none");
  if (tolerance != "none" && tolerance != "all")
    return make_error(errc::invalid_argument,
                      "'errors.tolerance' must be 'none' or 'all', not '" + tolerance + "'");
  if (auto r = integer_setting(c, "errors.retry.timeout", 30'000, -1, INT64_MAX); !r)
    return r.error();
  if (auto r = integer_setting(c, "errors.retry.delay.max.ms", 60'000, 1, INT64_MAX); !r)
    return r.error();
  if (k.type == connector_type::sink) {
    bool topics = !setting(c, "topics").empty(), view = !setting(c, "view").empty();
    if (topics == view)
      return make_error(errc::invalid_argument,
                        "a sink connector reads either 'topics' (a comma-separated list) or a "
                        "'view'");
  }
  if (k.validate) return k.validate(c);
  return {};
}

}  // namespace

std::string config_to_json(const config& c) {
  json_writer w;
  w.begin_object();
  for (const auto& [k, v] : c)
    w.key(k).value(v);
  w.end_object();
  return std::move(w).str();
}

std::optional<config> config_from_json(std::string_view json, std::string& err) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json).get(obj)) {
    err = "the config must be a JSON object";
    return std::nullopt;
  }
  config c;
  for (auto [k, v] : obj) {
    std::string_view s;
    if (!v.get(s)) {
      c[std::string(k)] = std::string(s);
    } else if (v.is_null()) {
      continue;
    } else if (v.is_array() || v.is_object()) {
      err = "config value '" + std::string(k) + "' must be a string, a number or a boolean";
      return std::nullopt;
    } else {
      c[std::string(k)] = simdjson::minify(v);
    }
  }
  return c;
}

result<std::unique_ptr<worker>> worker::open(log::log& l, worker_options o) {
  std::unique_ptr<worker> w(new worker(std::move(o)));
  auto configs = state_topic::open(l, std::string(k_configs));
  if (!configs) return configs.error();
  auto offsets = state_topic::open(l, std::string(k_offsets));
  if (!offsets) return offsets.error();
  w->configs_ = std::move(*configs);
  w->offsets_ = std::move(*offsets);
  for (const auto& [name, json] : w->configs_->all()) {
    std::string err;
    auto c = config_from_json(json, err);
    if (!c || !kind_of(*c)) {
      spdlog::error("connector {}: its stored config cannot be used ({}); it is not started", name,
                    c ? "unknown connector kind" : err);
      continue;
    }
    w->configs_by_name_[name] = std::move(*c);
  }
  if (!w->configs_by_name_.empty())
    spdlog::info("connectors: {} configured", w->configs_by_name_.size());
  return w;
}

worker::worker(worker_options o) : o_(std::move(o)) {}

worker::~worker() {
  stop();
}

void worker::launch(const std::string& name, const config& c) {
  // REQUIRES: mu_ held.
  auto& r = runners_[name];
  r = std::make_unique<runner>(name, *kind_of(c), c, o_, *offsets_);
  if (setting(c, "sluice.paused") == "true") r->pause();
  r->start();
}

connect_error worker::not_found(const std::string& name) {
  return {404, "Connector " + name + " not found"};
}

void worker::start() {
  std::lock_guard lk(mu_);
  started_ = true;
  for (const auto& [name, c] : configs_by_name_)
    launch(name, c);
}

void worker::stop() {
  std::map<std::string, std::unique_ptr<runner>> runners;
  std::vector<std::unique_ptr<runner>> retiring;
  {
    std::lock_guard lk(mu_);
    started_ = false;
    runners.swap(runners_);
    retiring.swap(retiring_);
  }
  runners.clear();  // each stops its thread
  retiring.clear();
}

void worker::retire(std::unique_ptr<runner> r) {
  // REQUIRES: mu_ held.
  std::erase_if(retiring_, [](const auto& each) { return each->finished(); });
  if (!r) return;
  r->request_stop();
  retiring_.push_back(std::move(r));
}

std::variant<bool, connect_error> worker::put(const std::string& name, config c, bool replace) {
  if (name.empty() || name.find_first_of("/\\\"") != std::string::npos || name.size() > 200)
    return connect_error{400, "connector name '" + name + "' is not valid"};
  const kind* k = kind_of(c);
  if (!k) {
    auto asked = setting(c, "connector", setting(c, "connector.class"));
    std::string known;
    for (const auto& each : kinds())
      known += (known.empty() ? "" : ", ") + each.name;
    return connect_error{400, asked.empty()
                                  ? "the config names no 'connector' (known: " + known + ")"
                                  : "unknown connector '" + asked + "' (known: " + known + ")"};
  }
  if (auto r = validate_common(*k, c); !r)
    return connect_error{400, "connector " + name + ": " + r.error().message};
  std::lock_guard lk(mu_);
  auto existing = configs_by_name_.find(name);
  bool created = existing == configs_by_name_.end();
  if (!created && !replace) return connect_error{409, "Connector " + name + " already exists"};
  // A pause survives a new config.
  if (!created && setting(existing->second, "sluice.paused") == "true") c["sluice.paused"] = "true";
  if (auto r = configs_->put({{name, config_to_json(c)}}); !r)
    return connect_error{500, "storing the config: " + r.error().message};
  configs_by_name_[name] = c;
  if (!started_) return created;
  if (auto it = runners_.find(name); it != runners_.end()) retire(std::move(it->second));
  launch(name, c);
  spdlog::info("connector {} ({}) {}", name, k->name, created ? "created" : "reconfigured");
  return created;
}

std::optional<connect_error> worker::remove(const std::string& name) {
  std::lock_guard lk(mu_);
  if (!configs_by_name_.count(name)) return not_found(name);
  if (auto r = configs_->put({{name, std::nullopt}}); !r)
    return connect_error{500, "storing the config: " + r.error().message};
  configs_by_name_.erase(name);
  if (auto it = runners_.find(name); it != runners_.end()) {
    retire(std::move(it->second));
    runners_.erase(it);
  }
  spdlog::info("connector {} deleted (its stored offsets are kept)", name);
  return std::nullopt;
}

std::optional<connect_error> worker::pause(const std::string& name) {
  return set_paused(name, true);
}

std::optional<connect_error> worker::resume(const std::string& name) {
  return set_paused(name, false);
}

// The pause is kept in the stored config (sluice.paused), so that it survives a restart.
std::optional<connect_error> worker::set_paused(const std::string& name, bool paused) {
  std::lock_guard lk(mu_);
  auto it = configs_by_name_.find(name);
  if (it == configs_by_name_.end()) return not_found(name);
  auto c = it->second;
  if (paused)
    c["sluice.paused"] = "true";
  else
    c.erase("sluice.paused");
  if (auto r = configs_->put({{name, config_to_json(c)}}); !r)
    return connect_error{500, "storing the config: " + r.error().message};
  it->second = std::move(c);
  if (auto r = runners_.find(name); r != runners_.end()) {
    if (paused)
      r->second->pause();
    else
      r->second->resume();
  }
  return std::nullopt;
}

std::optional<connect_error> worker::restart(const std::string& name) {
  std::lock_guard lk(mu_);
  if (!configs_by_name_.count(name)) return not_found(name);
  if (auto r = runners_.find(name); r != runners_.end()) r->second->restart();
  return std::nullopt;
}

std::vector<std::string> worker::names() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [name, c] : configs_by_name_)
    out.push_back(name);
  return out;
}

std::optional<config> worker::config_of(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = configs_by_name_.find(name);
  if (it == configs_by_name_.end()) return std::nullopt;
  auto c = it->second;
  c.erase("sluice.paused");
  return c;
}

std::optional<connector_status> worker::status(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = configs_by_name_.find(name);
  if (it == configs_by_name_.end()) return std::nullopt;
  if (auto r = runners_.find(name); r != runners_.end()) return r->second->status();
  connector_status s;
  s.name = name;
  const kind* k = kind_of(it->second);
  s.kind = k->name;
  s.type = k->type;
  s.state = "UNASSIGNED";
  return s;
}

std::vector<connector_status> worker::statuses() const {
  std::vector<connector_status> out;
  for (const auto& n : names())
    if (auto s = status(n)) out.push_back(std::move(*s));
  return out;
}

std::optional<std::string> worker::create_connector(const std::string& name, bool source, config c,
                                                    bool if_not_exists) {
  const kind* k = kind_of(c);
  if (k && k->type != (source ? connector_type::source : connector_type::sink))
    return "'" + k->name + "' is a " + std::string(to_string(k->type)) + " connector: use CREATE " +
           (source ? "SINK" : "SOURCE") + " CONNECTOR";
  auto r = put(name, std::move(c), false);
  if (auto* e = std::get_if<connect_error>(&r)) {
    if (e->status == 409 && if_not_exists) return std::nullopt;
    return e->message;
  }
  return std::nullopt;
}

std::optional<std::string> worker::drop_connector(const std::string& name, bool if_exists) {
  auto e = remove(name);
  if (!e || (e->status == 404 && if_exists)) return std::nullopt;
  return e->message;
}

std::vector<sql::connector_row> worker::connectors() const {
  std::vector<sql::connector_row> out;
  for (const auto& s : statuses())
    out.push_back({s.name, s.kind, std::string(to_string(s.type)), s.state,
                   s.state == "FAILED" ? s.trace : std::string(), static_cast<int64_t>(s.records)});
  return out;
}

void worker::write_metrics(metrics::exposition& out) const {
  auto all = statuses();
  if (all.empty()) return;
  out.family("sluice_connector_up", "gauge",
             "Connector instances by state (1 for the state each is in)");
  for (const auto& s : all)
    for (const char* state : {"RUNNING", "PAUSED", "FAILED", "RESTARTING", "UNASSIGNED"})
      out.sample("sluice_connector_up", {{"connector", s.name}, {"kind", s.kind}, {"state", state}},
                 s.state == state ? 1 : 0);
  out.family("sluice_connector_records_total", "counter",
             "Records a connector moved: written to topics (sources) or into its peer (sinks)");
  for (const auto& s : all)
    out.sample("sluice_connector_records_total",
               {{"connector", s.name}, {"type", std::string(to_string(s.type))}},
               static_cast<double>(s.records));
  out.family("sluice_connector_errors_total", "counter",
             "Failed attempts of a connector (retried, dead-lettered or failing the task)");
  for (const auto& s : all)
    out.sample("sluice_connector_errors_total", {{"connector", s.name}},
               static_cast<double>(s.errors));
  out.family("sluice_connector_dead_letter_records_total", "counter",
             "Records a sink connector sent to its dead-letter topic");
  for (const auto& s : all)
    out.sample("sluice_connector_dead_letter_records_total", {{"connector", s.name}},
               static_cast<double>(s.dead_lettered));
  out.family("sluice_connector_restarts_total", "counter", "Restarts of a connector's task");
  for (const auto& s : all)
    out.sample("sluice_connector_restarts_total", {{"connector", s.name}},
               static_cast<double>(s.restarts));
  out.family("sluice_connector_lag_records", "gauge",
             "Records (or view changes) a sink connector has not delivered yet");
  for (const auto& s : all)
    if (s.lag >= 0)
      out.sample("sluice_connector_lag_records", {{"connector", s.name}},
                 static_cast<double>(s.lag));
}

}  // namespace sluice::connect
