// `sluice connector`: connectors through the server's Kafka Connect REST API
// (http/connect_api.h).
//
//   sluice connector list                      name, kind, type, state, records, last error
//   sluice connector plugins
//   sluice connector create NAME KEY=VALUE...  (connector=KIND and its settings)
//   sluice connector config NAME [KEY=VALUE...]   shows it, or replaces it
//   sluice connector status NAME
//   sluice connector pause|resume|restart|delete NAME

#include <simdjson.h>

#include <iostream>

#include "base/json_writer.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "connect/worker.h"

namespace sluice::cli {

namespace {

struct connector_options {
  std::string http = "127.0.0.1:8080";
  std::string name;
  std::vector<std::string> settings;
};

bool call(const connector_options& o, const std::string& method, const std::string& target,
          const std::string& body, std::string& answer) {
  return api_call(o.http, method, target, body, answer);
}

// The string `e` holds, or "".
std::string_view text_at(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view v;
  if (e.get(v)) return {};
  return v;
}

std::optional<connect::config> parse_settings(const std::vector<std::string>& args) {
  connect::config c;
  for (const auto& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: '" << a << "' is not KEY=VALUE\n";
      return std::nullopt;
    }
    c[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return c;
}

std::string path_of(const std::string& name) {
  std::string out;
  for (unsigned char ch : name) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      out += static_cast<char>(ch);
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return "/connectors/" + out;
}

int run(const std::string& verb, const connector_options& o) {
  std::string answer;
  if (verb == "list") {
    if (!call(o, "GET", "/connectors?expand=status&expand=info", "", answer)) return 1;
    simdjson::dom::parser p;
    simdjson::dom::object all;
    if (p.parse(answer).get(all)) return 1;
    std::cout << "NAME\tTYPE\tSTATE\tCONNECTOR\n";
    for (auto [name, e] : all) {
      auto type = text_at(e["status"]["type"]);
      auto state = text_at(e["status"]["tasks"].at(0)["state"]);
      auto kind = text_at(e["info"]["config"]["connector"]);
      if (kind.empty()) kind = text_at(e["info"]["config"]["connector.class"]);
      std::cout << name << "\t" << type << "\t" << state << "\t" << kind << "\n";
    }
    return 0;
  }
  if (verb == "plugins") {
    if (!call(o, "GET", "/connector-plugins", "", answer)) return 1;
    simdjson::dom::parser p;
    simdjson::dom::array all;
    if (p.parse(answer).get(all)) return 1;
    for (auto e : all) {
      std::cout << text_at(e["name"]) << "\t" << text_at(e["type"]) << "\t" << text_at(e["class"])
                << "\n";
    }
    return 0;
  }
  if (verb == "create" || (verb == "config" && !o.settings.empty())) {
    auto c = parse_settings(o.settings);
    if (!c) return 2;
    if (verb == "create") {
      std::string body = "{\"name\":";
      append_json_string(body, o.name);
      body += ",\"config\":" + connect::config_to_json(*c) + "}";
      if (!call(o, "POST", "/connectors", body, answer)) return 1;
      std::cout << "connector " << o.name << " created\n";
    } else {
      if (!call(o, "PUT", path_of(o.name) + "/config", connect::config_to_json(*c), answer))
        return 1;
      std::cout << "connector " << o.name << " reconfigured\n";
    }
    return 0;
  }
  if (verb == "config" || verb == "status") {
    if (!call(o, "GET", path_of(o.name) + "/" + verb, "", answer)) return 1;
    std::cout << answer << "\n";
    return 0;
  }
  std::string method = verb == "delete" ? "DELETE" : verb == "restart" ? "POST" : "PUT";
  std::string target = path_of(o.name) + (verb == "delete" ? "" : "/" + verb);
  if (!call(o, method, target, "", answer)) return 1;
  std::cout << "connector " << o.name << ": " << verb << (verb == "delete" ? "d" : "") << "\n";
  return 0;
}

}  // namespace

action add_connector_command(CLI::App& app) {
  auto o = std::make_shared<connector_options>();
  auto* cmd = app.add_subcommand("connector", "Manage connectors (Kafka Connect's REST API)");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  cmd->add_option("--http", o->http, "The server's HTTP address HOST:PORT")->capture_default_str();
  std::vector<std::pair<std::string, CLI::App*>> verbs;
  auto add = [&](const std::string& verb, const std::string& help, bool named, bool settings) {
    auto* sub = cmd->add_subcommand(verb, help);
    if (named) sub->add_option("name", o->name, "The connector's name")->required();
    if (settings) sub->add_option("settings", o->settings, "KEY=VALUE settings");
    verbs.emplace_back(verb, sub);
  };
  add("list", "List connectors with their state", false, false);
  add("plugins", "List the kinds of connector this server has", false, false);
  add("create", "Create a connector: connector=KIND and its settings", true, true);
  add("config", "Show a connector's config, or replace it with KEY=VALUE settings", true, true);
  add("status", "Show a connector's status", true, false);
  add("pause", "Pause a connector", true, false);
  add("resume", "Resume a paused connector", true, false);
  add("restart", "Restart a connector's task", true, false);
  add("delete", "Delete a connector (its stored offsets are kept)", true, false);
  return [cmd, verbs, o]() -> int {
    if (!cmd->parsed()) return -1;
    for (const auto& [verb, sub] : verbs)
      if (sub->parsed()) return run(verb, *o);
    return 2;
  };
}

}  // namespace sluice::cli
