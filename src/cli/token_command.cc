// `sluice token create|list|revoke`: API tokens for HTTP (`Authorization: Bearer ...`), kept
// hashed in the data folder (security/tokens.h). The token is printed once, at creation.

#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "security/tokens.h"
#include "security/users.h"

namespace sluice::cli {

namespace {

struct token_settings {
  std::string data_dir = "./data";
  std::string user;
  std::string name;
  std::string id;
  bool all_of_user = false;
};

int run(const std::string& verb, const token_settings& s) {
  auto dir = std::filesystem::path(s.data_dir) / "_security";
  auto store = security::token_store::open(dir / "tokens.json");
  if (!store) {
    std::cerr << "sluice token: " << store.error().message << "\n";
    return 1;
  }
  if (verb == "create") {
    auto users = security::user_store::open(dir / "users.json");
    if (!users || !(*users)->exists(s.user)) {
      std::cerr << "sluice token: no user '" << s.user << "' (add it with sluice user add)\n";
      return 2;
    }
    auto t = (*store)->create(s.user, s.name);
    if (!t) {
      std::cerr << "sluice token: " << t.error().message << "\n";
      return 1;
    }
    std::cerr << "token " << t->second.id << " for user " << s.user
              << " (shown once; keep it secret):\n";
    std::cout << t->first << "\n";
    return 0;
  }
  if (verb == "list") {
    for (const auto& t : (*store)->list())
      std::cout << t.id << "\t" << t.user << "\t" << t.name << "\t" << t.created_ms << "\n";
    return 0;
  }
  auto n = (*store)->revoke(s.all_of_user ? s.user : s.id, s.all_of_user);
  if (!n) {
    std::cerr << "sluice token: " << n.error().message << "\n";
    return 1;
  }
  std::cout << *n << " token(s) revoked\n";
  return *n > 0 ? 0 : 1;
}

}  // namespace

action add_token_command(CLI::App& app) {
  auto s = std::make_shared<token_settings>();
  auto* cmd = app.add_subcommand("token", "Manage API tokens for the HTTP API");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  cmd->add_option("--data-dir", s->data_dir, "The server's data folder")->capture_default_str();
  auto* create = cmd->add_subcommand("create", "Create a token that acts as a user");
  create->add_option("--user", s->user, "The user it acts as")->required();
  create->add_option("--name", s->name, "What it is for");
  auto* list = cmd->add_subcommand("list", "List tokens (ids, users, names; never secrets)");
  auto* revoke = cmd->add_subcommand("revoke", "Revoke a token by id, or all of a user's");
  revoke->add_option("id", s->id, "The token's id");
  revoke->add_option("--user", s->user, "Revoke every token of this user instead");
  return [cmd, create, list, revoke, s]() -> int {
    if (!cmd->parsed()) return -1;
    if (create->parsed()) return run("create", *s);
    if (list->parsed()) return run("list", *s);
    if (revoke->parsed()) {
      s->all_of_user = !s->user.empty();
      if (s->id.empty() && !s->all_of_user) {
        std::cerr << "sluice token revoke: give an id or --user\n";
        return 2;
      }
      return run("revoke", *s);
    }
    return 2;
  };
}

}  // namespace sluice::cli
