#include "security/quotas.h"

#include <simdjson.h>
#include <algorithm>
#include <cmath>

#include "base/json_writer.h"

namespace sluice::security {

namespace {

constexpr std::string_view k_keys[] = {k_producer_byte_rate, k_consumer_byte_rate,
                                       k_request_percentage, k_connection_creation_rate};
// The longest a client is asked to wait for one request, as Kafka bounds throttle times by
// its quota window.
constexpr double k_max_throttle_s = 10;
constexpr auto k_reload_interval = std::chrono::seconds(1);

result<std::vector<quota_entry>> parse(const std::filesystem::path& file, std::string_view text) {
  std::vector<quota_entry> out;
  if (text.empty()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array quotas;
  if (parser.parse(text.data(), text.size()).get(doc) || doc["quotas"].get(quotas))
    return make_error(errc::corrupt_file, file.string() + ": not a quota file");
  for (auto q : quotas) {
    quota_entry e;
    simdjson::dom::object entity, values;
    if (q["entity"].get(entity) || q["values"].get(values))
      return make_error(errc::corrupt_file, file.string() + ": a quota lacks a field");
    for (auto [type, name] : entity) {
      std::string_view n;
      e.entity[std::string(type)] =
          name.is_null() ? std::nullopt : std::optional<std::string>(name.get(n) ? "" : n);
    }
    for (auto [key, value] : values) {
      double v = 0;
      if (value.get(v)) return make_error(errc::corrupt_file, file.string() + ": bad value");
      e.values[std::string(key)] = v;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string serialize(const std::vector<quota_entry>& entries) {
  json_writer w;
  w.begin_object().key("version").value(int64_t{1}).key("quotas").begin_array();
  for (const auto& e : entries) {
    w.begin_object().key("entity").begin_object();
    for (const auto& [type, name] : e.entity) {
      w.key(type);
      if (name)
        w.value(*name);
      else
        w.null();
    }
    w.end_object().key("values").begin_object();
    for (const auto& [k, v] : e.values)
      w.key(k).value(v);
    w.end_object().end_object();
  }
  w.end_array().end_object();
  return std::move(w).str() + "\n";
}

}  // namespace

bool is_quota_key(std::string_view key) {
  return std::find(std::begin(k_keys), std::end(k_keys), key) != std::end(k_keys);
}

result<std::shared_ptr<quota_manager>> quota_manager::open(std::filesystem::path file) {
  std::shared_ptr<quota_manager> q(new quota_manager(std::move(file)));
  std::lock_guard lk(q->mu_);
  if (auto r = q->refresh(); !r) return r.error();
  return q;
}

result<void> quota_manager::refresh() {
  auto text = file_.read_if_changed();
  if (!text) return text.error();
  if (!*text) return {};
  auto parsed = parse(file_.path(), **text);
  if (!parsed) return parsed.error();
  entries_ = std::move(*parsed);
  buckets_.clear();  // quotas changed: every client starts again from a full bucket
  return {};
}

void quota_manager::maybe_refresh() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return;
  next_check_ = now + k_reload_interval;
  (void)refresh();
  quiet_until_ns_.store(entries_.empty() ? next_check_.time_since_epoch().count() : 0,
                        std::memory_order_relaxed);
}

std::optional<std::pair<double, std::string>> quota_manager::resolve(
    std::string_view key, std::string_view user, std::string_view client_id) const {
  using name = std::optional<std::string>;
  // Kafka's precedence; `nullopt` in a pattern is the default entity, absent means unset.
  struct pattern {
    std::optional<name> user;
    std::optional<name> client;
  };
  const std::string u(user), c(client_id);
  const pattern order[] = {
      {name(u), name(c)}, {name(u), name()},      {name(u), std::nullopt}, {name(), name(c)},
      {name(), name()},   {name(), std::nullopt}, {std::nullopt, name(c)}, {std::nullopt, name()},
  };
  for (const auto& p : order) {
    for (const auto& e : entries_) {
      auto v = e.values.find(std::string(key));
      if (v == e.values.end()) continue;
      auto eu = e.entity.find("user");
      auto ec = e.entity.find("client-id");
      bool has_user = eu != e.entity.end(), has_client = ec != e.entity.end();
      if (has_user != p.user.has_value() || has_client != p.client.has_value()) continue;
      if (e.entity.count("ip")) continue;
      if (has_user && eu->second != *p.user) continue;
      if (has_client && ec->second != *p.client) continue;
      // The bucket: per actual user and client at the entity's level.
      std::string bucket =
          std::string(key) + "|" + (has_user ? "u:" + u : "") + "|" + (has_client ? "c:" + c : "");
      return std::pair{v->second, bucket};
    }
  }
  return std::nullopt;
}

std::chrono::milliseconds quota_manager::record(kind k, std::string_view user,
                                                std::string_view client_id, double amount) {
  std::string_view key = k == kind::produce ? k_producer_byte_rate
                         : k == kind::fetch ? k_consumer_byte_rate
                                            : k_request_percentage;
  if (std::chrono::steady_clock::now().time_since_epoch().count() <
      quiet_until_ns_.load(std::memory_order_relaxed))
    return {};
  std::lock_guard lk(mu_);
  maybe_refresh();
  if (entries_.empty()) return {};
  auto q = resolve(key, user, client_id);
  if (!q) return {};
  // request_percentage: a percentage of one handler thread, in seconds per second.
  double rate = k == kind::request ? q->first / 100.0 : q->first;
  if (rate <= 0) return {};
  auto now = std::chrono::steady_clock::now();
  auto [it, fresh] = buckets_.try_emplace(q->second);
  auto& b = it->second;
  if (fresh || b.rate != rate) {
    b.tokens = rate;  // one second of burst
    b.rate = rate;
  } else {
    b.tokens = std::min(rate, b.tokens + rate * std::chrono::duration<double>(now - b.at).count());
  }
  b.at = now;
  b.tokens -= amount;
  if (b.tokens >= 0) return {};
  ++throttled_[static_cast<int>(k)];
  double wait = std::min(-b.tokens / rate, k_max_throttle_s);
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait * 1000)));
}

bool quota_manager::admit_connection(std::string_view ip) {
  std::lock_guard lk(mu_);
  maybe_refresh();
  const quota_entry* found = nullptr;
  for (const auto& e : entries_) {
    auto i = e.entity.find("ip");
    if (i == e.entity.end() || !e.values.count(std::string(k_connection_creation_rate))) continue;
    if (i->second == std::string(ip)) {
      found = &e;
      break;
    }
    if (!i->second && !found) found = &e;  // the default ip quota, unless a specific one
  }
  if (!found) return true;
  double rate = found->values.at(std::string(k_connection_creation_rate));
  auto now = std::chrono::steady_clock::now();
  auto [it, fresh] = buckets_.try_emplace("conn|" + std::string(ip));
  auto& b = it->second;
  if (fresh || b.rate != rate) {
    b.tokens = rate;
    b.rate = rate;
  } else {
    b.tokens = std::min(rate, b.tokens + rate * std::chrono::duration<double>(now - b.at).count());
  }
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

std::vector<quota_entry> quota_manager::entries() const {
  std::lock_guard lk(mu_);
  const_cast<quota_manager*>(this)->maybe_refresh();
  return entries_;
}

result<void> quota_manager::alter(const quota_entity& entity, const std::vector<change>& changes,
                                  bool validate_only) {
  if (entity.empty()) return make_error(errc::invalid_argument, "an entity needs a type");
  for (const auto& [type, _] : entity)
    if (type != "user" && type != "client-id" && type != "ip")
      return make_error(errc::invalid_argument, "unknown entity type '" + type + "'");
  if (entity.count("ip") && entity.size() > 1)
    return make_error(errc::invalid_argument, "an ip quota stands alone");
  for (const auto& c : changes) {
    if (!is_quota_key(c.key))
      return make_error(errc::invalid_argument, "unknown quota '" + c.key + "'");
    if ((c.key == k_connection_creation_rate) != (entity.count("ip") > 0))
      return make_error(errc::invalid_argument,
                        "connection_creation_rate is for ip entities, the others are not");
    if (!c.remove && !(c.value > 0))
      return make_error(errc::invalid_argument, "a quota must be positive");
  }
  if (validate_only) return {};
  std::lock_guard lk(mu_);
  auto r = file_.update([&](const std::string& text) -> result<std::string> {
    auto now = parse(file_.path(), text);
    if (!now) return now.error();
    auto it = std::find_if(now->begin(), now->end(),
                           [&](const quota_entry& e) { return e.entity == entity; });
    if (it == now->end()) it = now->insert(now->end(), quota_entry{entity, {}});
    for (const auto& c : changes) {
      if (c.remove)
        it->values.erase(c.key);
      else
        it->values[c.key] = c.value;
    }
    if (it->values.empty()) now->erase(it);
    return serialize(*now);
  });
  if (!r) return r;
  next_check_ = {};
  maybe_refresh();
  return {};
}

uint64_t quota_manager::throttled(kind k) const {
  std::lock_guard lk(mu_);
  return throttled_[static_cast<int>(k)];
}

}  // namespace sluice::security
