#include <algorithm>

#include "kafka/server.h"

namespace sluice::kafka {

std::string_view to_string(security_protocol p) {
  switch (p) {
    case security_protocol::plaintext:
      return "PLAINTEXT";
    case security_protocol::ssl:
      return "SSL";
    case security_protocol::sasl_plaintext:
      return "SASL_PLAINTEXT";
    case security_protocol::sasl_ssl:
      return "SASL_SSL";
  }
  return "PLAINTEXT";
}

namespace {

struct endpoint {
  security_protocol protocol;
  std::string host;
  uint16_t port;
};

result<std::vector<endpoint>> parse_endpoints(std::string_view list, std::string_view option) {
  std::vector<endpoint> out;
  auto bad = [&](std::string_view item, const std::string& why) {
    return make_error(errc::invalid_argument,
                      std::string(option) + ": '" + std::string(item) + "': " + why);
  };
  size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string_view item = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.empty()) continue;
    auto sep = item.find("://");
    if (sep == std::string_view::npos) return bad(item, "expected PROTOCOL://HOST:PORT");
    std::string_view name = item.substr(0, sep), addr = item.substr(sep + 3);
    endpoint e{};
    bool known = false;
    for (auto p : {security_protocol::plaintext, security_protocol::ssl,
                   security_protocol::sasl_plaintext, security_protocol::sasl_ssl})
      if (name == to_string(p)) {
        e.protocol = p;
        known = true;
      }
    if (!known) return bad(item, "the protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) return bad(item, "no port");
    e.host = std::string(addr.substr(0, colon));
    if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']')
      e.host = e.host.substr(1, e.host.size() - 2);
    if (e.host.empty()) e.host = "0.0.0.0";  // Kafka: an empty host is every interface
    int port = -1;
    try {
      size_t used = 0;
      port = std::stoi(std::string(addr.substr(colon + 1)), &used);
      if (used != addr.size() - colon - 1) port = -1;
    } catch (...) {
    }
    if (port < 0 || port > 65535) return bad(item, "the port must be 0-65535");
    e.port = static_cast<uint16_t>(port);
    out.push_back(std::move(e));
  }
  if (out.empty()) return make_error(errc::invalid_argument, std::string(option) + " is empty");
  return out;
}

}  // namespace

result<std::vector<listener>> parse_listeners(std::string_view listeners,
                                              std::string_view advertised) {
  auto eps = parse_endpoints(listeners, "listeners");
  if (!eps) return eps.error();
  std::vector<listener> out;
  for (auto& e : *eps) {
    for (const auto& l : out)
      if (l.protocol == e.protocol)
        return make_error(errc::invalid_argument,
                          "listeners: " + std::string(to_string(e.protocol)) +
                              " is listed twice (a listener is named by its protocol)");
    out.push_back(listener{e.protocol, e.host, e.port, {}, 0});
  }
  if (!advertised.empty()) {
    auto adv = parse_endpoints(advertised, "advertised listeners");
    if (!adv) return adv.error();
    for (auto& a : *adv) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const listener& l) { return l.protocol == a.protocol; });
      if (it == out.end())
        return make_error(errc::invalid_argument, "advertised listeners: no " +
                                                      std::string(to_string(a.protocol)) +
                                                      " listener to advertise");
      it->advertised_host = a.host;
      it->advertised_port = a.port;
    }
  }
  return out;
}

}  // namespace sluice::kafka
