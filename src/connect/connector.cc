#include "connect/connector.h"

#include <charconv>

#include "base/strings.h"

namespace sluice::connect {

std::string_view to_string(connector_type t) {
  return t == connector_type::source ? "source" : "sink";
}

const kind* find_kind(std::string_view name) {
  for (const auto& k : kinds()) {
    if (iequals(k.name, name)) return &k;
    for (const auto& c : k.classes)
      if (c == name) return &k;
  }
  return nullptr;
}

std::string setting(const config& c, const std::string& key, std::string def) {
  auto it = c.find(key);
  return it == c.end() ? std::move(def) : it->second;
}

result<std::string> required(const config& c, const std::string& key) {
  auto it = c.find(key);
  if (it == c.end() || it->second.empty())
    return make_error(errc::invalid_argument, "'" + key + "' is required");
  return it->second;
}

result<int64_t> integer_setting(const config& c, const std::string& key, int64_t def, int64_t min,
                                int64_t max) {
  auto it = c.find(key);
  if (it == c.end()) return def;
  int64_t v = 0;
  const auto& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return make_error(errc::invalid_argument, "'" + key + "' must be an integer, not '" + s + "'");
  if (v < min || v > max)
    return make_error(
        errc::invalid_argument,
        "'" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

std::vector<std::string> list_setting(const config& c, const std::string& key) {
  return split_list(setting(c, key));
}

int64_t integer_or(const config& c, const std::string& key, int64_t def) {
  auto r = integer_setting(c, key, def, INT64_MIN, INT64_MAX);
  return r ? *r : def;
}

}  // namespace sluice::connect
