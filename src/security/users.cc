#include "security/users.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <simdjson.h>
#include <map>

#include "base/base64.h"
#include "base/file.h"
#include "base/json_writer.h"

namespace sluice::security {

// What the file holds, and which version of the file it was read from.
struct user_store::state {
  std::map<std::string, std::map<scram_mechanism, scram_credential>, std::less<>> users;
  // The file's identity when read: another process's rename changes the inode.
  ino_t inode = 0;
  int64_t mtime_ns = -1;
  off_t size = -1;
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

// An exclusive lock across processes for one read-modify-write of the file.
class file_lock {
 public:
  explicit file_lock(const std::filesystem::path& lock_file)
      : fd_(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_.valid()) locked_ = ::flock(fd_.get(), LOCK_EX) == 0;
  }
  ~file_lock() {
    if (locked_) ::flock(fd_.get(), LOCK_UN);
  }
  bool locked() const { return locked_; }

 private:
  unique_fd fd_;
  bool locked_ = false;
};

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
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) {
    if (errno != ENOENT) return io_error("stat", file_);
    if (state_->mtime_ns != -1) state_ = std::make_shared<state>();
    return {};
  }
  int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (st.st_ino == state_->inode && mtime == state_->mtime_ns && st.st_size == state_->size)
    return {};
  auto text = read_file(file_);
  if (!text) return text.error();
  auto parsed =
      parse(file_, std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!parsed) return parsed.error();
  (*parsed)->inode = st.st_ino;
  (*parsed)->mtime_ns = mtime;
  (*parsed)->size = st.st_size;
  state_ = std::move(*parsed);
  return {};
}

template <typename Fn>
result<void> user_store::modify(Fn&& fn) {
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  if (ec) return make_error(errc::io_error, "cannot create " + file_.parent_path().string());
  std::lock_guard lk(mu_);
  file_lock fl(file_.string() + ".lock");
  if (!fl.locked()) return io_error("lock", file_.string() + ".lock");
  if (auto r = refresh(); !r) return r;
  auto next = std::make_shared<state>(*state_);
  if (auto r = fn(*next); !r) return r;
  auto text = serialize(*next);
  if (auto r = write_file_atomic(
          file_, bytes_view(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      !r)
    return r;
  ::chmod(file_.c_str(), 0600);
  state_ = std::make_shared<state>();  // no file identity: the refresh reads what was written
  return refresh();
}

std::optional<scram_credential> user_store::scram(std::string_view user, scram_mechanism m) const {
  std::shared_ptr<state> s;
  {
    std::lock_guard lk(mu_);
    (void)refresh();  // an unreadable file keeps the users last read
    s = state_;
  }
  auto u = s->users.find(user);
  if (u == s->users.end()) return std::nullopt;
  auto c = u->second.find(m);
  if (c == u->second.end()) return std::nullopt;
  return c->second;
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
  std::shared_ptr<state> s;
  {
    std::lock_guard lk(mu_);
    (void)refresh();
    s = state_;
  }
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
  std::lock_guard lk(mu_);
  (void)refresh();
  return state_->users.count(user) > 0;
}

}  // namespace sluice::security
