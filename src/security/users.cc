#include "security/users.h"

#include <simdjson.h>
#include <map>

#include "base/base64.h"
#include "base/file.h"
#include "base/json_writer.h"

namespace sluice::security {

// What the file holds.
struct user_store::state {
  std::map<std::string, std::map<scram_mechanism, scram_credential>, std::less<>> users;
};

namespace {}  // namespace

result<std::shared_ptr<user_store::state>> user_store::parse(const std::filesystem::path& file,
                                                             std::string_view text) {
  auto s = std::make_shared<user_store::state>();
  auto corrupt = [&](const std::string& why) {
    return make_error(errc::corrupt_file, file.string() + ": " + why);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return corrupt("not JSON");
  simdjson::dom::object users;
  if (doc["users"].get(users)) return corrupt("no \"users\" object");
  for (auto [name, mechs] : users) {
    simdjson::dom::object mo;
    if (mechs.get(mo)) return corrupt("user " + std::string(name) + " is not an object");
    for (auto [mname, cred] : mo) {
      auto m = parse_scram_mechanism(mname);
      std::string_view salt, stored, server;
      int64_t iterations = 0;
      if (!m || cred["salt"].get(salt) || cred["stored_key"].get(stored) ||
          cred["server_key"].get(server) || cred["iterations"].get(iterations))
        return corrupt("bad credential of user " + std::string(name));
      auto sa = base64_decode(salt), st = base64_decode(stored), se = base64_decode(server);
      if (!sa || !st || !se) return corrupt("bad base64 in user " + std::string(name));
      s->users[std::string(name)][*m] =
          scram_credential{*m, *sa, static_cast<int>(iterations), *st, *se};
    }
  }
  return s;
}

std::string user_store::serialize(const state& s) {
  json_writer w;
  w.begin_object().key("version").value(int64_t{1}).key("users").begin_object();
  for (const auto& [name, mechs] : s.users) {
    w.key(name).begin_object();
    for (const auto& [m, c] : mechs) {
      w.key(mechanism_name(m))
          .begin_object()
          .key("salt")
          .value(base64_encode(c.salt))
          .key("iterations")
          .value(int64_t{c.iterations})
          .key("stored_key")
          .value(base64_encode(c.stored_key))
          .key("server_key")
          .value(base64_encode(c.server_key))
          .end_object();
    }
    w.end_object();
  }
  w.end_object().end_object();
  return std::move(w).str() + "\n";
}

namespace {

result<void> check_name(std::string_view user) {
  if (user.empty() || user.size() > 256)
    return make_error(errc::invalid_argument, "a user name has 1 to 256 characters");
  for (unsigned char c : user)
    if (c < 0x20 || c == 0x7f)
      return make_error(errc::invalid_argument, "a user name has no control characters");
  return {};
}

}  // namespace

user_store::user_store(std::filesystem::path file)
    : file_(std::move(file)), state_(std::make_shared<state>()) {}

result<std::shared_ptr<user_store>> user_store::open(std::filesystem::path file) {
  std::shared_ptr<user_store> s(new user_store(std::move(file)));
  std::lock_guard lk(s->mu_);
  if (auto r = s->refresh(); !r) return r.error();
  return s;
}

result<void> user_store::refresh() const {
  auto text = file_.read_if_changed();
  if (!text) return text.error();
  if (!*text) return {};
  if ((*text)->empty()) {
    state_ = std::make_shared<state>();
    return {};
  }
  auto parsed = parse(file_.path(), **text);
  if (!parsed) return parsed.error();
  state_ = std::move(*parsed);
  return {};
}

std::pair<std::shared_ptr<const user_store::state>, std::shared_ptr<const user_store::state>>
user_store::current() const {
  std::lock_guard lk(mu_);
  (void)refresh();  // an unreadable file keeps the users last read
  return {state_, ephemeral_};
}

void user_store::add_ephemeral(std::string_view user, std::string_view password) {
  auto s = std::make_shared<state>();
  auto& u = s->users[std::string(user)];
  for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512})
    u[m] = make_scram_credential(m, password);
  std::lock_guard lk(mu_);
  if (ephemeral_)
    for (const auto& [name, creds] : ephemeral_->users)
      s->users.emplace(name, creds);
  ephemeral_ = std::move(s);
}

template <typename Fn>
result<void> user_store::modify(Fn&& fn) {
  std::lock_guard lk(mu_);
  auto r = file_.update([&](const std::string& text) -> result<std::string> {
    auto now = text.empty() ? std::make_shared<state>() : parse(file_.path(), text);
    if (!now) return now.error();
    if (auto changed = fn(**now); !changed) return changed.error();
    return serialize(**now);
  });
  if (!r) return r;
  return refresh();
}

std::optional<scram_credential> user_store::scram(std::string_view user, scram_mechanism m) const {
  auto [stored, ephemeral] = current();
  for (const auto* s : {ephemeral.get(), stored.get()}) {
    if (!s) continue;
    auto u = s->users.find(user);
    if (u == s->users.end()) continue;
    auto c = u->second.find(m);
    return c == u->second.end() ? std::nullopt : std::optional<scram_credential>(c->second);
  }
  return std::nullopt;
}

bool user_store::check_password(std::string_view user, std::string_view password) const {
  // Either mechanism's credential proves the password; SHA-512's first.
  for (auto m : {scram_mechanism::sha512, scram_mechanism::sha256})
    if (auto c = scram(user, m)) return security::check_password(*c, password);
  return false;
}

result<void> user_store::set_password(std::string_view user, std::string_view password,
                                      int iterations) {
  if (auto r = check_name(user); !r) return r;
  if (password.empty()) return make_error(errc::invalid_argument, "the password is empty");
  if (iterations < k_min_iterations || iterations > k_max_iterations)
    return make_error(errc::invalid_argument, "iterations must be between " +
                                                  std::to_string(k_min_iterations) + " and " +
                                                  std::to_string(k_max_iterations));
  auto c256 = make_scram_credential(scram_mechanism::sha256, password, iterations);
  auto c512 = make_scram_credential(scram_mechanism::sha512, password, iterations);
  return modify([&](state& s) -> result<void> {
    auto& u = s.users[std::string(user)];
    u[scram_mechanism::sha256] = c256;
    u[scram_mechanism::sha512] = c512;
    return {};
  });
}

result<void> user_store::set_credential(std::string_view user, const scram_credential& c) {
  if (auto r = check_name(user); !r) return r;
  if (c.iterations < k_min_iterations || c.iterations > k_max_iterations)
    return make_error(errc::invalid_argument, "iterations must be between " +
                                                  std::to_string(k_min_iterations) + " and " +
                                                  std::to_string(k_max_iterations));
  return modify([&](state& s) -> result<void> {
    s.users[std::string(user)][c.mechanism] = c;
    return {};
  });
}

result<bool> user_store::remove(std::string_view user, std::optional<scram_mechanism> m) {
  bool removed = false;
  auto r = modify([&](state& s) -> result<void> {
    auto u = s.users.find(user);
    if (u == s.users.end()) return {};
    if (!m) {
      s.users.erase(u);
      removed = true;
    } else {
      removed = u->second.erase(*m) > 0;
      if (u->second.empty()) s.users.erase(u);
    }
    return {};
  });
  if (!r) return r.error();
  return removed;
}

std::vector<user_info> user_store::list() const {
  // The stored users: ephemeral ones (sluice's internal clients) are not listed.
  auto s = current().first;
  std::vector<user_info> out;
  for (const auto& [name, mechs] : s->users) {
    user_info u{name, {}};
    for (const auto& [m, c] : mechs)
      u.mechanisms.emplace_back(m, c.iterations);
    out.push_back(std::move(u));
  }
  return out;
}

bool user_store::exists(std::string_view user) const {
  auto [stored, ephemeral] = current();
  return stored->users.count(user) > 0 || (ephemeral && ephemeral->users.count(user) > 0);
}

}  // namespace sluice::security
