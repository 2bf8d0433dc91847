#include "security/acl.h"

#include <simdjson.h>
#include <algorithm>
#include <cctype>

#include "base/json_writer.h"

namespace sluice::security {

namespace {

template <typename E, size_t N>
E parse_name(std::string_view s, const std::pair<E, std::string_view> (&names)[N], E unknown) {
  for (const auto& [e, n] : names)
    if (n.size() == s.size() && std::equal(n.begin(), n.end(), s.begin(), [](char a, char b) {
          return a == std::toupper(static_cast<unsigned char>(b));
        }))
      return e;
  return unknown;
}

template <typename E, size_t N>
std::string_view find_name(E e, const std::pair<E, std::string_view> (&names)[N]) {
  for (const auto& [v, n] : names)
    if (v == e) return n;
  return "UNKNOWN";
}

constexpr std::pair<resource_type, std::string_view> k_types[] = {
    {resource_type::any, "ANY"},
    {resource_type::topic, "TOPIC"},
    {resource_type::group, "GROUP"},
    {resource_type::cluster, "CLUSTER"},
    {resource_type::transactional_id, "TRANSACTIONAL_ID"},
    {resource_type::delegation_token, "DELEGATION_TOKEN"},
    {resource_type::user, "USER"},
    {resource_type::view, "VIEW"},
    {resource_type::subject, "SUBJECT"}};
constexpr std::pair<pattern_type, std::string_view> k_patterns[] = {
    {pattern_type::any, "ANY"},
    {pattern_type::match, "MATCH"},
    {pattern_type::literal, "LITERAL"},
    {pattern_type::prefixed, "PREFIXED"}};
constexpr std::pair<acl_operation, std::string_view> k_operations[] = {
    {acl_operation::any, "ANY"},
    {acl_operation::all, "ALL"},
    {acl_operation::read, "READ"},
    {acl_operation::write, "WRITE"},
    {acl_operation::create, "CREATE"},
    {acl_operation::remove, "DELETE"},
    {acl_operation::alter, "ALTER"},
    {acl_operation::describe, "DESCRIBE"},
    {acl_operation::cluster_action, "CLUSTER_ACTION"},
    {acl_operation::describe_configs, "DESCRIBE_CONFIGS"},
    {acl_operation::alter_configs, "ALTER_CONFIGS"},
    {acl_operation::idempotent_write, "IDEMPOTENT_WRITE"},
    {acl_operation::create_tokens, "CREATE_TOKENS"},
    {acl_operation::describe_tokens, "DESCRIBE_TOKENS"}};
constexpr std::pair<acl_permission, std::string_view> k_permissions[] = {
    {acl_permission::any, "ANY"}, {acl_permission::deny, "DENY"}, {acl_permission::allow, "ALLOW"}};

}  // namespace

std::string_view name_of(resource_type t) {
  return find_name(t, k_types);
}
std::string_view name_of(pattern_type p) {
  return find_name(p, k_patterns);
}
std::string_view name_of(acl_operation o) {
  return find_name(o, k_operations);
}
std::string_view name_of(acl_permission p) {
  return find_name(p, k_permissions);
}
resource_type parse_resource_type(std::string_view s) {
  return parse_name(s, k_types, resource_type::unknown);
}
pattern_type parse_pattern_type(std::string_view s) {
  return parse_name(s, k_patterns, pattern_type::unknown);
}
acl_operation parse_operation(std::string_view s) {
  return parse_name(s, k_operations, acl_operation::unknown);
}
acl_permission parse_permission(std::string_view s) {
  return parse_name(s, k_permissions, acl_permission::unknown);
}

bool acl_filter::matches(const acl_binding& b) const {
  if (kafka_types_only && static_cast<int>(b.type) > static_cast<int>(resource_type::user))
    return false;
  if (type != resource_type::any && type != b.type) return false;
  switch (pattern) {
    case pattern_type::any:
      if (name && *name != b.name) return false;
      break;
    case pattern_type::match:
      if (name) {
        bool applies = (b.pattern == pattern_type::literal && (b.name == *name || b.name == "*")) ||
                       (b.pattern == pattern_type::prefixed && name->starts_with(b.name));
        if (!applies) return false;
      }
      break;
    default:
      if (b.pattern != pattern || (name && *name != b.name)) return false;
  }
  if (principal && *principal != b.principal) return false;
  if (host && *host != b.host) return false;
  if (operation != acl_operation::any && operation != b.operation) return false;
  if (permission != acl_permission::any && permission != b.permission) return false;
  return true;
}

std::string validate(const acl_binding& b) {
  if (b.type == resource_type::any || b.type == resource_type::unknown)
    return "a binding needs a resource type (TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, VIEW)";
  if (b.pattern != pattern_type::literal && b.pattern != pattern_type::prefixed)
    return "a binding's pattern type is LITERAL or PREFIXED";
  if (b.operation == acl_operation::any || b.operation == acl_operation::unknown)
    return "a binding needs an operation";
  if (b.permission != acl_permission::allow && b.permission != acl_permission::deny)
    return "a binding's permission is ALLOW or DENY";
  if (b.name.empty()) return "a binding needs a resource name";
  if (b.type == resource_type::cluster && b.name != k_cluster_name)
    return "the cluster resource is named kafka-cluster";
  if (b.pattern == pattern_type::prefixed && b.name == "*")
    return "a PREFIXED pattern cannot be '*' (use LITERAL '*' for every name)";
  if (!b.principal.starts_with("User:") || b.principal.size() == 5)
    return "a principal has the form User:NAME (or User:*)";
  if (b.host.empty()) return "a binding needs a host ('*' for any)";
  return {};
}

namespace {

result<std::shared_ptr<std::vector<acl_binding>>> parse_acls(const std::filesystem::path& file,
                                                             std::string_view text) {
  auto out = std::make_shared<std::vector<acl_binding>>();
  if (text.empty()) return out;
  auto corrupt = [&](const std::string& why) {
    return make_error(errc::corrupt_file, file.string() + ": " + why);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return corrupt("not JSON");
  simdjson::dom::array acls;
  if (doc["acls"].get(acls)) return corrupt("no \"acls\" array");
  for (auto a : acls) {
    std::string_view type, name, pattern, principal, host, op, perm;
    if (a["resource_type"].get(type) || a["name"].get(name) || a["pattern"].get(pattern) ||
        a["principal"].get(principal) || a["host"].get(host) || a["operation"].get(op) ||
        a["permission"].get(perm))
      return corrupt("a binding lacks a field");
    acl_binding b{parse_resource_type(type), std::string(name), parse_pattern_type(pattern),
                  std::string(principal),    std::string(host), parse_operation(op),
                  parse_permission(perm)};
    if (auto why = validate(b); !why.empty()) return corrupt(why);
    out->push_back(std::move(b));
  }
  return out;
}

std::string serialize_acls(const std::vector<acl_binding>& acls) {
  json_writer w;
  w.begin_object().key("version").value(int64_t{1}).key("acls").begin_array();
  for (const auto& b : acls)
    w.begin_object()
        .key("resource_type")
        .value(name_of(b.type))
        .key("name")
        .value(b.name)
        .key("pattern")
        .value(name_of(b.pattern))
        .key("principal")
        .value(b.principal)
        .key("host")
        .value(b.host)
        .key("operation")
        .value(name_of(b.operation))
        .key("permission")
        .value(name_of(b.permission))
        .end_object();
  w.end_array().end_object();
  return std::move(w).str() + "\n";
}

}  // namespace

result<std::shared_ptr<acl_store>> acl_store::open(std::filesystem::path file) {
  std::shared_ptr<acl_store> s(new acl_store(std::move(file)));
  std::lock_guard lk(s->mu_);
  if (auto r = s->refresh(); !r) return r.error();
  return s;
}

result<void> acl_store::refresh() const {
  auto text = file_.read_if_changed();
  if (!text) return text.error();
  if (!*text) return {};
  auto parsed = parse_acls(file_.path(), **text);
  if (!parsed) return parsed.error();
  bindings_ = std::move(*parsed);
  version_.fetch_add(1, std::memory_order_release);
  return {};
}

void acl_store::maybe_refresh() const {
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto next = next_check_ns_.load(std::memory_order_relaxed);
  if (now < next) return;
  if (!next_check_ns_.compare_exchange_strong(next, now + 1'000'000'000)) return;
  std::lock_guard lk(mu_);
  (void)refresh();  // an unreadable file keeps the bindings last read
}

std::shared_ptr<const std::vector<acl_binding>> acl_store::bindings() const {
  maybe_refresh();
  std::lock_guard lk(mu_);
  return bindings_;
}

uint64_t acl_store::version() const {
  maybe_refresh();
  return version_.load(std::memory_order_acquire);
}

result<void> acl_store::add(const std::vector<acl_binding>& bindings) {
  for (const auto& b : bindings)
    if (auto why = validate(b); !why.empty()) return make_error(errc::invalid_argument, why);
  std::lock_guard lk(mu_);
  auto r = file_.update([&](const std::string& text) -> result<std::string> {
    auto now = parse_acls(file_.path(), text);
    if (!now) return now.error();
    for (const auto& b : bindings)
      if (std::find((*now)->begin(), (*now)->end(), b) == (*now)->end()) (*now)->push_back(b);
    return serialize_acls(**now);
  });
  if (!r) return r;
  return refresh();
}

result<std::vector<std::vector<acl_binding>>> acl_store::remove(
    const std::vector<acl_filter>& filters) {
  std::vector<std::vector<acl_binding>> removed(filters.size());
  std::lock_guard lk(mu_);
  auto r = file_.update([&](const std::string& text) -> result<std::string> {
    auto now = parse_acls(file_.path(), text);
    if (!now) return now.error();
    for (auto& list : removed)
      list.clear();
    std::vector<acl_binding> kept;
    for (auto& b : **now) {
      bool gone = false;
      for (size_t i = 0; i < filters.size(); ++i)
        if (filters[i].matches(b)) {
          removed[i].push_back(b);
          gone = true;
        }
      if (!gone) kept.push_back(std::move(b));
    }
    return serialize_acls(kept);
  });
  if (!r) return r.error();
  if (auto rr = refresh(); !rr) return rr.error();
  return removed;
}

std::vector<acl_binding> acl_store::describe(const acl_filter& f) const {
  std::vector<acl_binding> out;
  for (const auto& b : *bindings())
    if (f.matches(b)) out.push_back(b);
  return out;
}

}  // namespace sluice::security
