#include "security/authorizer.h"

#include <algorithm>
#include <unordered_map>

namespace sluice::security {

namespace {
// Looks up std::string keys by string_view without building a string.
struct name_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using by_name =
    std::unordered_map<std::string, std::vector<acl_binding>, name_hash, std::equal_to<>>;
}  // namespace

struct authorizer::index {
  uint64_t version = 0;
  struct per_type {
    by_name literal;  // "*" included
    by_name prefixed;
    std::vector<size_t> prefix_lengths;  // distinct, ascending
    std::vector<acl_binding> all;        // for allowed_any
  };
  std::unordered_map<int, per_type> types;
};

namespace {

bool implies(acl_operation granted, acl_operation wanted) {
  if (granted == wanted || granted == acl_operation::all) return true;
  if (wanted == acl_operation::describe)
    return granted == acl_operation::read || granted == acl_operation::write ||
           granted == acl_operation::remove || granted == acl_operation::alter;
  if (wanted == acl_operation::describe_configs) return granted == acl_operation::alter_configs;
  return false;
}

bool applies_to(const acl_binding& b, std::string_view principal, std::string_view host) {
  return (b.principal == principal || b.principal == "User:*") && (b.host == "*" || b.host == host);
}

// Folds one binding into the decision: a matching DENY ends it.
struct decision {
  bool denied = false;
  bool allowed = false;
  void consider(const acl_binding& b, std::string_view principal, std::string_view host,
                acl_operation op) {
    if (!applies_to(b, principal, host)) return;
    if (b.permission == acl_permission::deny) {
      if (b.operation == op || b.operation == acl_operation::all) denied = true;
    } else if (implies(b.operation, op)) {
      allowed = true;
    }
  }
};

}  // namespace

authorizer::authorizer(std::shared_ptr<acl_store> acls, std::vector<std::string> super_users)
    : acls_(std::move(acls)), super_users_(std::move(super_users)) {}

authorizer::~authorizer() = default;

std::shared_ptr<const authorizer::index> authorizer::current() const {
  uint64_t version = acls_->version();
  {
    std::lock_guard lk(mu_);
    if (index_ && index_->version == version) return index_;
  }
  auto fresh = std::make_shared<index>();
  fresh->version = version;
  for (const auto& b : *acls_->bindings()) {
    auto& t = fresh->types[static_cast<int>(b.type)];
    t.all.push_back(b);
    if (b.pattern == pattern_type::literal) {
      t.literal[b.name].push_back(b);
    } else {
      t.prefixed[b.name].push_back(b);
      t.prefix_lengths.push_back(b.name.size());
    }
  }
  for (auto& [_, t] : fresh->types) {
    std::sort(t.prefix_lengths.begin(), t.prefix_lengths.end());
    t.prefix_lengths.erase(std::unique(t.prefix_lengths.begin(), t.prefix_lengths.end()),
                           t.prefix_lengths.end());
  }
  std::shared_ptr<const index> out = std::move(fresh);
  std::lock_guard lk(mu_);
  index_ = out;
  return out;
}

bool authorizer::is_super_user(std::string_view principal) const {
  return std::find(super_users_.begin(), super_users_.end(), principal) != super_users_.end();
}

bool authorizer::allowed(std::string_view principal, std::string_view host, acl_operation op,
                         resource_type type, std::string_view name) const {
  if (is_super_user(principal)) return true;
  auto idx = current();
  auto t = idx->types.find(static_cast<int>(type));
  if (t == idx->types.end()) return false;
  const auto& per = t->second;
  decision d;
  auto consider_all = [&](const auto& map, std::string_view key) {
    if (auto it = map.find(key); it != map.end())
      for (const auto& b : it->second)
        d.consider(b, principal, host, op);
  };
  consider_all(per.literal, name);
  if (name != "*") consider_all(per.literal, "*");
  for (size_t len : per.prefix_lengths) {
    if (len > name.size()) break;
    consider_all(per.prefixed, name.substr(0, len));
  }
  return d.allowed && !d.denied;
}

bool authorizer::allowed_any(std::string_view principal, std::string_view host, acl_operation op,
                             resource_type type) const {
  if (is_super_user(principal)) return true;
  auto idx = current();
  auto t = idx->types.find(static_cast<int>(type));
  if (t == idx->types.end()) return false;
  for (const auto& b : t->second.all)
    if (b.permission == acl_permission::allow && applies_to(b, principal, host) &&
        implies(b.operation, op))
      return true;
  return false;
}

}  // namespace sluice::security
