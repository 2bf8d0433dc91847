#include "http/auth.h"

#include <spdlog/spdlog.h>

#include "base/base64.h"
#include "http/url.h"
#include "security/authorizer.h"
#include "security/crypto.h"
#include "security/login_limiter.h"
#include "security/tokens.h"
#include "security/users.h"
#include "sql/access.h"
#include "sql/engine.h"
#include "sql/error.h"

namespace sluice::http {

namespace {

constexpr auto k_basic_cache_ttl = std::chrono::seconds(60);
constexpr auto k_session_ttl = std::chrono::hours(12);
constexpr size_t k_max_cached = 10'000;

std::string key_of(std::string_view secret) {
  return security::hash(security::digest::sha256, secret);
}

template <typename Map>
void expire(Map& m, std::chrono::steady_clock::time_point now) {
  for (auto it = m.begin(); it != m.end();)
    it = it->second.until <= now ? m.erase(it) : std::next(it);
}

}  // namespace

http_auth::http_auth(security_config c) : config_(std::move(c)) {}
http_auth::~http_auth() = default;

std::optional<std::string> http_auth::check_basic(const std::string& user,
                                                  const std::string& password) {
  auto now = std::chrono::steady_clock::now();
  auto key = key_of(user + ":" + password);
  {
    std::lock_guard lk(mu_);
    if (auto it = basic_cache_.find(key); it != basic_cache_.end() && it->second.until > now)
      return it->second.user;
  }
  if (!config_.users || !config_.users->check_password(user, password)) return std::nullopt;
  std::lock_guard lk(mu_);
  if (basic_cache_.size() >= k_max_cached) expire(basic_cache_, now);
  if (basic_cache_.size() < k_max_cached) basic_cache_[key] = {user, now + k_basic_cache_ttl};
  return user;
}

http_auth::identity http_auth::identify(const request& req, const std::string& host,
                                        std::string_view tls_subject) {
  identity who;
  if (!enabled()) return who;
  std::string_view auth = req[boost::beast::http::field::authorization];
  std::optional<std::string> token;
  if (auth.starts_with("Bearer ")) {
    token = std::string(auth.substr(7));
  } else if (auth.starts_with("Basic ")) {
    auto decoded = base64_decode(auth.substr(6));
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      who.error = "malformed Basic credentials";
    } else if (config_.logins && config_.logins->blocked(host)) {
      who.error = "too many failed logins from this address; try again later";
    } else if (auto user = check_basic(decoded->substr(0, colon), decoded->substr(colon + 1))) {
      who.principal = "User:" + *user;
      who.authenticated = true;
    } else {
      who.error = "invalid user name or password";
    }
  } else if (!auth.empty()) {
    who.error = "unsupported Authorization scheme (use Basic or Bearer)";
  } else if (auto q = query_param(req.target(), "access_token")) {
    token = *q;
  } else if (!tls_subject.empty()) {
    who.principal = "User:" + std::string(tls_subject);
    who.authenticated = true;
  }
  if (token) {
    std::optional<std::string> user;
    {
      std::lock_guard lk(mu_);
      auto it = sessions_.find(key_of(*token));
      if (it != sessions_.end() && it->second.until > std::chrono::steady_clock::now())
        user = it->second.user;
    }
    if (!user && config_.tokens) user = config_.tokens->user_of(*token);
    // A token outlives nothing: its user must still exist.
    if (user && config_.users && config_.users->exists(*user)) {
      who.principal = "User:" + *user;
      who.authenticated = true;
    } else {
      who.error = "invalid or revoked token";
    }
  }
  if (!who.error.empty()) {
    who.delay = config_.logins ? config_.logins->failed(host) : std::chrono::milliseconds(100);
    spdlog::warn("http: failed login from {}: {}", host, who.error);
  }
  return who;
}

std::optional<std::string> http_auth::login(const std::string& user, const std::string& password,
                                            const std::string& host,
                                            std::chrono::milliseconds& delay) {
  if ((config_.logins && config_.logins->blocked(host)) || !check_basic(user, password)) {
    delay = config_.logins ? config_.logins->failed(host) : std::chrono::milliseconds(100);
    spdlog::warn("http: failed dashboard login from {} as user '{}'", host, user);
    return std::nullopt;
  }
  std::string token = "slc_s" + security::hex(security::random_bytes(24));
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  if (sessions_.size() >= k_max_cached) expire(sessions_, now);
  sessions_[key_of(token)] = {user, now + k_session_ttl};
  return token;
}

bool http_auth::allowed(const identity& who, const std::string& host, security::acl_operation op,
                        security::resource_type type, std::string_view name) const {
  return config_.authorizer->allowed(who.principal, host, op, type, name);
}

std::function<bool(security::acl_operation, security::resource_type, std::string_view)>
http_auth::permissions(const identity& who, const std::string& host) const {
  if (!enabled()) return nullptr;
  return [authorizer = config_.authorizer, principal = who.principal, host](
             security::acl_operation op, security::resource_type type, std::string_view name) {
    return authorizer->allowed(principal, host, op, type, name);
  };
}

http_auth::verdict http_auth::authorize(const identity& who, const std::string& host,
                                        const route_match* m, const std::string& sql_text,
                                        const sql::engine& engine) const {
  if (!enabled()) return {};
  if (m && m->r->needs.who == permission::scope::anyone) return {};
  auto refuse = [&](std::string what) -> verdict {
    if (!who.authenticated)
      return {401, who.error.empty() ? "authentication required (Basic or Bearer)" : who.error};
    return {403, who.principal + " may not " + what};
  };
  if (!who.authenticated) return refuse("");
  if (!m) return {};  // an unknown path: its handler answers 404
  using op = security::acl_operation;
  using rt = security::resource_type;
  const auto& p = m->r->needs;
  if (p.who == permission::scope::authenticated) return {};
  if (p.who == permission::scope::cluster) {
    if (!allowed(who, host, p.op, rt::cluster, security::k_cluster_name))
      return refuse(std::string(security::name_of(p.op)) + " the cluster");
    return {};
  }
  if (p.who == permission::scope::named) {
    const auto& name = m->params.at(static_cast<size_t>(p.segment));
    if (!allowed(who, host, p.op, p.type, name))
      return refuse(std::string(security::name_of(p.op)) + " " +
                    std::string(security::name_of(p.type)) + " '" + name + "'");
    return {};
  }
  // scope::sql: every object the statements touch.
  std::vector<sql::access_need> needs;
  try {
    needs = sql::access_needs(sql_text);
  } catch (const std::exception&) {
    return {};  // does not parse: it will be refused with its error before anything runs
  }
  // A name in FROM is a view, or a stream or table (checked as its topic), or a topic.
  auto resolve = [&](const std::string& name) -> std::pair<rt, std::string> {
    if (engine.find_view(name)) return {rt::view, name};
    return {rt::topic, engine.topic_of(name).value_or(name)};
  };
  auto either = [&](op o, rt t, const std::string& name) {
    return allowed(who, host, o, t, name) ||
           allowed(who, host, o, rt::cluster, security::k_cluster_name);
  };
  for (const auto& n : needs) {
    using action = sql::access_need::action;
    using object = sql::access_need::object;
    auto [t, name] = n.kind == object::view    ? std::pair{rt::view, n.name}
                     : n.kind == object::topic ? std::pair{rt::topic, n.name}
                                               : resolve(n.name);
    bool ok = true;
    std::string what;
    switch (n.what) {
      case action::read:
        ok = allowed(who, host, op::read, t, name);
        what = "READ";
        break;
      case action::create:
        ok = either(op::create, t, name);
        what = "CREATE";
        break;
      case action::write:
        ok = allowed(who, host, op::write, t, name);
        what = "WRITE";
        break;
      case action::drop:
        ok = allowed(who, host, op::remove, t, name);
        what = "DELETE";
        break;
      case action::describe:
        ok = allowed(who, host, op::describe, t, name);
        what = "DESCRIBE";
        break;
      case action::describe_all:
        if (!allowed(who, host, op::describe, rt::cluster, security::k_cluster_name))
          return refuse("DESCRIBE the cluster (SHOW)");
        continue;
      case action::manage_queries:
        if (!allowed(who, host, op::alter, rt::cluster, security::k_cluster_name))
          return refuse("ALTER the cluster (DROP SINK, DROP QUERY)");
        continue;
    }
    if (!ok) return refuse(what + " " + std::string(security::name_of(t)) + " '" + name + "'");
  }
  return {};
}

}  // namespace sluice::http
