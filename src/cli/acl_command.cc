// `sluice acl add|list|remove`: Kafka ACLs, kept in the data folder like the users (a running
// server sees a change within a second). The same bindings that CreateAcls, DescribeAcls and
// DeleteAcls (kafka-acls.sh, admin clients) manage.

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "security/acl.h"

namespace sluice::cli {

namespace {

struct acl_settings {
  std::string data_dir = "./data";
  std::string principal;
  std::string host;
  std::vector<std::string> operations;
  bool allow = false;
  bool deny = false;
  std::string topic, group, transactional_id, view, subject;
  bool cluster = false;
  bool prefixed = false;
};

// The resource the options name; nullopt (and a message) when not exactly one.
bool resource_of(const acl_settings& s, security::resource_type& type, std::string& name,
                 bool required) {
  int given = !s.topic.empty() + !s.group.empty() + !s.transactional_id.empty() + !s.view.empty() +
              !s.subject.empty() + s.cluster;
  if (given > 1 || (required && given == 0)) {
    std::cerr << "sluice acl: name one resource: --topic, --group, --transactional-id, "
                 "--view, --subject or --cluster\n";
    return false;
  }
  type = security::resource_type::any;
  if (!s.topic.empty()) type = security::resource_type::topic, name = s.topic;
  if (!s.group.empty()) type = security::resource_type::group, name = s.group;
  if (!s.transactional_id.empty())
    type = security::resource_type::transactional_id, name = s.transactional_id;
  if (!s.view.empty()) type = security::resource_type::view, name = s.view;
  if (!s.subject.empty()) type = security::resource_type::subject, name = s.subject;
  if (s.cluster) type = security::resource_type::cluster, name = security::k_cluster_name;
  return true;
}

void print(const security::acl_binding& b) {
  std::cout << security::name_of(b.permission) << "\t" << b.principal << "\t" << b.host << "\t"
            << security::name_of(b.operation) << "\t" << security::name_of(b.type) << ":"
            << (b.pattern == security::pattern_type::prefixed ? "prefixed:" : "") << b.name << "\n";
}

std::optional<security::acl_filter> filter_of(const acl_settings& s) {
  security::acl_filter f;
  std::string name;
  if (!resource_of(s, f.type, name, false)) return std::nullopt;
  if (!name.empty()) {
    f.name = name;
    f.pattern = s.prefixed ? security::pattern_type::prefixed : security::pattern_type::literal;
  }
  if (!s.principal.empty()) f.principal = s.principal;
  if (!s.host.empty()) f.host = s.host;
  if (s.operations.size() == 1) f.operation = security::parse_operation(s.operations[0]);
  if (s.allow != s.deny)
    f.permission = s.allow ? security::acl_permission::allow : security::acl_permission::deny;
  return f;
}

int run(const std::string& verb, const acl_settings& s) {
  auto store =
      security::acl_store::open(std::filesystem::path(s.data_dir) / "_security" / "acls.json");
  if (!store) {
    std::cerr << "sluice acl: " << store.error().message << "\n";
    return 1;
  }
  if (verb == "add") {
    security::resource_type type;
    std::string name;
    if (!resource_of(s, type, name, true)) return 2;
    if (s.allow == s.deny || s.principal.empty() || s.operations.empty()) {
      std::cerr << "sluice acl add: needs --allow or --deny, --principal and --operation\n";
      return 2;
    }
    std::vector<security::acl_binding> bindings;
    for (const auto& op : s.operations) {
      security::acl_binding b{
          type,
          name,
          s.prefixed ? security::pattern_type::prefixed : security::pattern_type::literal,
          s.principal,
          s.host.empty() ? "*" : s.host,
          security::parse_operation(op),
          s.allow ? security::acl_permission::allow : security::acl_permission::deny};
      if (auto why = security::validate(b); !why.empty()) {
        std::cerr << "sluice acl add: " << op << ": " << why << "\n";
        return 2;
      }
      bindings.push_back(std::move(b));
    }
    if (auto r = (*store)->add(bindings); !r) {
      std::cerr << "sluice acl: " << r.error().message << "\n";
      return 1;
    }
    for (const auto& b : bindings)
      print(b);
    return 0;
  }
  auto f = filter_of(s);
  if (!f) return 2;
  if (verb == "list") {
    for (const auto& b : (*store)->describe(*f))
      print(b);
    return 0;
  }
  auto removed = (*store)->remove({*f});
  if (!removed) {
    std::cerr << "sluice acl: " << removed.error().message << "\n";
    return 1;
  }
  for (const auto& b : (*removed)[0])
    print(b);
  std::cerr << (*removed)[0].size() << " binding(s) removed\n";
  return 0;
}

}  // namespace

action add_acl_command(CLI::App& app) {
  auto s = std::make_shared<acl_settings>();
  auto* cmd = app.add_subcommand("acl", "Manage Kafka ACLs (who may do what to which resource)");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  cmd->add_option("--data-dir", s->data_dir, "The server's data folder")->capture_default_str();
  std::vector<std::pair<std::string, CLI::App*>> verbs;
  for (auto [verb, help] : {std::pair{"add", "Add bindings (one per --operation)"},
                            std::pair{"list", "List the bindings the options select"},
                            std::pair{"remove", "Remove the bindings the options select"}}) {
    auto* v = cmd->add_subcommand(verb, help);
    v->add_flag("--allow", s->allow, "Allow");
    v->add_flag("--deny", s->deny, "Deny");
    v->add_option("--principal", s->principal, "User:NAME, or User:* for everyone");
    v->add_option("--host", s->host, "Client address ('*' for any; default *)");
    v->add_option("--operation", s->operations,
                  "READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, "
                  "ALTER_CONFIGS, IDEMPOTENT_WRITE, ALL");
    v->add_option("--topic", s->topic, "A topic ('*' for every topic)");
    v->add_option("--group", s->group, "A consumer group");
    v->add_option("--transactional-id", s->transactional_id, "A transactional id");
    v->add_option("--view", s->view, "A live view (HTTP reads and subscriptions)");
    v->add_option("--subject", s->subject, "A schema registry subject");
    v->add_flag("--cluster", s->cluster, "The cluster");
    v->add_flag("--prefixed", s->prefixed, "The name is a prefix");
    verbs.emplace_back(verb, v);
  }
  return [cmd, verbs, s]() -> int {
    if (!cmd->parsed()) return -1;
    for (const auto& [verb, v] : verbs)
      if (v->parsed()) return run(verb, *s);
    return 2;
  };
}

}  // namespace sluice::cli
