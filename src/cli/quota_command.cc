// `sluice quota set|list|remove`: client quotas (security/quotas.h), the ones AlterClientQuotas
// and kafka-configs.sh --alter --entity-type users|clients|ips manage. A running server sees a
// change within a second.

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "security/quotas.h"

namespace sluice::cli {

namespace {

struct quota_settings {
  std::string data_dir = "./data";
  std::string user, client_id, ip;
  bool default_user = false, default_client = false, default_ip = false;
  std::map<std::string, double> values;
};

security::quota_entity entity_of(const quota_settings& s) {
  security::quota_entity e;
  if (!s.user.empty() || s.default_user)
    e["user"] = s.default_user ? std::nullopt : std::optional<std::string>(s.user);
  if (!s.client_id.empty() || s.default_client)
    e["client-id"] = s.default_client ? std::nullopt : std::optional<std::string>(s.client_id);
  if (!s.ip.empty() || s.default_ip)
    e["ip"] = s.default_ip ? std::nullopt : std::optional<std::string>(s.ip);
  return e;
}

std::string describe(const security::quota_entity& e) {
  std::string out;
  for (const auto& [type, name] : e)
    out += (out.empty() ? "" : ",") + type + "=" + (name ? *name : "<default>");
  return out;
}

}  // namespace

action add_quota_command(CLI::App& app) {
  auto s = std::make_shared<quota_settings>();
  auto* cmd = app.add_subcommand("quota", "Manage client quotas (byte rates, request time)");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  cmd->add_option("--data-dir", s->data_dir, "The server's data folder")->capture_default_str();
  auto entity_options = [&](CLI::App* v) {
    v->add_option("--user", s->user, "A user");
    v->add_flag("--default-user", s->default_user, "Every user without a quota of their own");
    v->add_option("--client-id", s->client_id, "A client id");
    v->add_flag("--default-client", s->default_client, "Every client id without its own");
    v->add_option("--ip", s->ip, "An address (connection_creation_rate)");
    v->add_flag("--default-ip", s->default_ip, "Every address without its own");
  };
  auto* set = cmd->add_subcommand("set", "Set quota values of an entity");
  entity_options(set);
  for (auto key : {"producer_byte_rate", "consumer_byte_rate", "request_percentage",
                   "connection_creation_rate"}) {
    std::string flag = "--" + std::string(key);
    std::replace(flag.begin(), flag.end(), '_', '-');
    set->add_option_function<double>(
        flag, [s, key](double v) { s->values[key] = v; }, std::string(key));
  }
  auto* list = cmd->add_subcommand("list", "List every quota");
  auto* remove = cmd->add_subcommand("remove", "Remove every quota value of an entity");
  entity_options(remove);
  return [cmd, set, list, remove, s]() -> int {
    if (!cmd->parsed()) return -1;
    auto q = security::quota_manager::open(std::filesystem::path(s->data_dir) / "_security" /
                                           "quotas.json");
    if (!q) {
      std::cerr << "sluice quota: " << q.error().message << "\n";
      return 1;
    }
    if (list->parsed()) {
      for (const auto& e : (*q)->entries()) {
        std::cout << describe(e.entity);
        for (const auto& [k, v] : e.values)
          std::cout << "\t" << k << "=" << v;
        std::cout << "\n";
      }
      return 0;
    }
    auto entity = entity_of(*s);
    std::vector<security::quota_manager::change> changes;
    if (set->parsed()) {
      if (s->values.empty()) {
        std::cerr << "sluice quota set: give at least one value, e.g. --producer-byte-rate\n";
        return 2;
      }
      for (const auto& [k, v] : s->values)
        changes.push_back({k, v, false});
    } else if (remove->parsed()) {
      for (const auto& e : (*q)->entries())
        if (e.entity == entity)
          for (const auto& [k, v] : e.values)
            changes.push_back({k, 0, true});
      if (changes.empty()) {
        std::cerr << "sluice quota remove: no quota for " << describe(entity) << "\n";
        return 1;
      }
    }
    if (auto r = (*q)->alter(entity, changes); !r) {
      std::cerr << "sluice quota: " << r.error().message << "\n";
      return r.code() == errc::invalid_argument ? 2 : 1;
    }
    std::cout << (set->parsed() ? "set " : "removed ") << changes.size() << " value(s) of "
              << describe(entity) << "\n";
    return 0;
  };
}

}  // namespace sluice::cli
