#include "security/tokens.h"

#include <simdjson.h>
#include <chrono>

#include "base/json_writer.h"
#include "security/crypto.h"

namespace sluice::security {

namespace {

std::string base64url(std::string_view raw) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(k[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(k[(acc << (6 - bits)) & 63]);
  return out;
}

std::string token_hash(std::string_view token) {
  return hex(hash(digest::sha256, token));
}

}  // namespace

result<std::vector<token_store::entry>> token_store::parse(const std::filesystem::path& file,
                                                           std::string_view text) {
  std::vector<entry> out;
  if (text.empty()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array tokens;
  if (parser.parse(text.data(), text.size()).get(doc) || doc["tokens"].get(tokens))
    return make_error(errc::corrupt_file, file.string() + ": not a token file");
  for (auto t : tokens) {
    std::string_view id, user, name, h;
    int64_t created = 0;
    if (t["id"].get(id) || t["user"].get(user) || t["name"].get(name) || t["sha256"].get(h) ||
        t["created_ms"].get(created))
      return make_error(errc::corrupt_file, file.string() + ": a token lacks a field");
    out.push_back(
        {{std::string(id), std::string(user), std::string(name), created}, std::string(h)});
  }
  return out;
}

std::string token_store::serialize(const std::vector<entry>& entries) {
  json_writer w;
  w.begin_object().key("version").value(int64_t{1}).key("tokens").begin_array();
  for (const auto& e : entries)
    w.begin_object()
        .key("id")
        .value(e.info.id)
        .key("user")
        .value(e.info.user)
        .key("name")
        .value(e.info.name)
        .key("created_ms")
        .value(e.info.created_ms)
        .key("sha256")
        .value(e.hash)
        .end_object();
  w.end_array().end_object();
  return std::move(w).str() + "\n";
}

result<std::shared_ptr<token_store>> token_store::open(std::filesystem::path file) {
  std::shared_ptr<token_store> s(new token_store(std::move(file)));
  std::lock_guard lk(s->mu_);
  if (auto r = s->refresh(); !r) return r.error();
  return s;
}

result<void> token_store::refresh() const {
  auto text = file_.read_if_changed();
  if (!text) return text.error();
  if (!*text) return {};
  auto parsed = parse(file_.path(), **text);
  if (!parsed) return parsed.error();
  entries_ = std::make_shared<std::vector<entry>>(std::move(*parsed));
  return {};
}

result<std::pair<std::string, token_info>> token_store::create(std::string_view user,
                                                               std::string_view name) {
  if (user.empty()) return make_error(errc::invalid_argument, "a token needs a user");
  std::string secret = "slc_" + base64url(random_bytes(24));
  entry e;
  e.info.id = hex(random_bytes(4));
  e.info.user = std::string(user);
  e.info.name = std::string(name);
  e.info.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  e.hash = token_hash(secret);
  std::lock_guard lk(mu_);
  auto r = file_.update([&](const std::string& text) -> result<std::string> {
    auto now = parse(file_.path(), text);
    if (!now) return now.error();
    now->push_back(e);
    return serialize(*now);
  });
  if (!r) return r.error();
  if (auto rr = refresh(); !rr) return rr.error();
  return std::pair{secret, e.info};
}

std::optional<std::string> token_store::user_of(std::string_view token) const {
  if (!token.starts_with("slc_")) return std::nullopt;
  std::shared_ptr<const std::vector<entry>> entries;
  {
    std::lock_guard lk(mu_);
    (void)refresh();
    entries = entries_;
  }
  auto h = token_hash(token);
  std::optional<std::string> user;
  for (const auto& e : *entries)
    if (constant_time_equal(e.hash, h)) user = e.info.user;
  return user;
}

result<size_t> token_store::revoke(std::string_view id, bool all_of_user) {
  size_t removed = 0;
  std::lock_guard lk(mu_);
  auto r = file_.update([&](const std::string& text) -> result<std::string> {
    auto now = parse(file_.path(), text);
    if (!now) return now.error();
    removed = std::erase_if(
        *now, [&](const entry& e) { return all_of_user ? e.info.user == id : e.info.id == id; });
    return serialize(*now);
  });
  if (!r) return r.error();
  if (auto rr = refresh(); !rr) return rr.error();
  return removed;
}

std::vector<token_info> token_store::list() const {
  std::lock_guard lk(mu_);
  (void)refresh();
  std::vector<token_info> out;
  for (const auto& e : *entries_)
    out.push_back(e.info);
  return out;
}

}  // namespace sluice::security
