// `sluice user add|list|delete`: the users who may log in (SASL PLAIN and SCRAM, HTTP).
// Works on the data folder's user store directly, whether or not the server runs: a running
// server sees the change on the next login (security/users.h).

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "security/users.h"

namespace sluice::cli {

namespace {

struct user_settings {
  std::string data_dir = "./data";
  std::string name;
  std::string password;
  bool password_stdin = false;
  int iterations = security::k_min_iterations;
  std::string mechanism;
};

std::filesystem::path store_path(const user_settings& s) {
  return std::filesystem::path(s.data_dir) / "_security" / "users.json";
}

int add_user(const user_settings& s) {
  std::string password = s.password;
  if (s.password_stdin || password.empty()) {
    if (isatty(STDIN_FILENO)) std::cerr << "password for " << s.name << ": ";
    std::getline(std::cin, password);
  }
  auto store = security::user_store::open(store_path(s));
  if (!store) {
    std::cerr << "sluice user: " << store.error().message << "\n";
    return 1;
  }
  bool existed = (*store)->exists(s.name);
  if (auto r = (*store)->set_password(s.name, password, s.iterations); !r) {
    std::cerr << "sluice user: " << r.error().message << "\n";
    return r.code() == errc::invalid_argument ? 2 : 1;
  }
  std::cout << (existed ? "updated" : "added") << " user " << s.name
            << " (SCRAM-SHA-256, SCRAM-SHA-512, " << s.iterations << " iterations)\n";
  return 0;
}

int list_users(const user_settings& s) {
  auto store = security::user_store::open(store_path(s));
  if (!store) {
    std::cerr << "sluice user: " << store.error().message << "\n";
    return 1;
  }
  for (const auto& u : (*store)->list()) {
    std::cout << u.name;
    for (const auto& [m, iterations] : u.mechanisms)
      std::cout << "\t" << security::mechanism_name(m) << ":" << iterations;
    std::cout << "\n";
  }
  return 0;
}

int delete_user(const user_settings& s) {
  auto store = security::user_store::open(store_path(s));
  if (!store) {
    std::cerr << "sluice user: " << store.error().message << "\n";
    return 1;
  }
  std::optional<security::scram_mechanism> m;
  if (!s.mechanism.empty()) {
    m = security::parse_scram_mechanism(s.mechanism);
    if (!m) {
      std::cerr << "sluice user: --mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512\n";
      return 2;
    }
  }
  auto removed = (*store)->remove(s.name, m);
  if (!removed) {
    std::cerr << "sluice user: " << removed.error().message << "\n";
    return 1;
  }
  if (!*removed) {
    std::cerr << "sluice user: no user " << s.name << (m ? " with that mechanism" : "") << "\n";
    return 1;
  }
  std::cout << "deleted " << (m ? std::string(security::mechanism_name(*m)) + " of " : "")
            << "user " << s.name << "\n";
  return 0;
}

}  // namespace

action add_user_command(CLI::App& app) {
  auto s = std::make_shared<user_settings>();
  auto* cmd = app.add_subcommand("user", "Manage the users who may log in (SASL, HTTP)");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --data-dir after the subcommand too
  cmd->add_option("--data-dir", s->data_dir, "The server's data folder")->capture_default_str();
  auto* add = cmd->add_subcommand("add", "Add a user or change a user's password");
  add->add_option("name", s->name, "User name")->required();
  add->add_option("--password", s->password,
                  "The password (visible to other local users in the process list: prefer "
                  "--password-stdin)");
  add->add_flag("--password-stdin", s->password_stdin, "Read the password from standard input");
  add->add_option("--iterations", s->iterations, "SCRAM iterations")
      ->capture_default_str()
      ->check(CLI::Range(security::k_min_iterations, security::k_max_iterations));
  auto* list = cmd->add_subcommand("list", "List users and their mechanisms");
  auto* del = cmd->add_subcommand("delete", "Delete a user (or one mechanism's credential)");
  del->add_option("name", s->name, "User name")->required();
  del->add_option("--mechanism", s->mechanism, "Only this mechanism's credential");
  return [cmd, add, list, del, s]() -> int {
    if (!cmd->parsed()) return -1;
    if (add->parsed()) return add_user(*s);
    if (list->parsed()) return list_users(*s);
    if (del->parsed()) return delete_user(*s);
    return 2;
  };
}

}  // namespace sluice::cli
