#include "base/endpoints.h"

#include <charconv>

namespace sluice {

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

}  // namespace

result<endpoint> parse_host_port(std::string_view addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return make_error(errc::invalid_argument, "no port");
  endpoint e;
  e.host = std::string(addr.substr(0, colon));
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);
  std::string_view port_text = addr.substr(colon + 1);
  unsigned port = 0;
  auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() ||
      port > 65535)
    return make_error(errc::invalid_argument, "the port must be 0-65535");
  e.port = static_cast<uint16_t>(port);
  return e;
}

result<std::vector<endpoint>> parse_endpoints(std::string_view list, std::string_view option) {
  std::vector<endpoint> out;
  auto bad = [&](std::string_view item, std::string_view why) {
    return make_error(errc::invalid_argument,
                      std::string(option) + ": '" + std::string(item) + "': " + std::string(why));
  };
  size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string_view item = trimmed(list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    start = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    if (item.empty()) continue;
    auto sep = item.find("://");
    if (sep == std::string_view::npos) return bad(item, "expected SCHEME://HOST:PORT");
    auto e = parse_host_port(item.substr(sep + 3));
    if (!e) return bad(item, e.error().message);
    e->scheme = std::string(item.substr(0, sep));
    if (e->host.empty()) e->host = "0.0.0.0";  // as Kafka: an empty host is every interface
    out.push_back(std::move(*e));
  }
  if (out.empty()) return make_error(errc::invalid_argument, std::string(option) + " is empty");
  return out;
}

}  // namespace sluice
