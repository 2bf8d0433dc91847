#include <algorithm>

#include "base/endpoints.h"
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

struct kafka_endpoint {
  security_protocol protocol;
  std::string host;
  uint16_t port;
};

result<std::vector<kafka_endpoint>> parse_endpoints(std::string_view list,
                                                    std::string_view option) {
  auto eps = sluice::parse_endpoints(list, option);
  if (!eps) return eps.error();
  std::vector<kafka_endpoint> out;
  for (auto& e : *eps) {
    kafka_endpoint k{security_protocol::plaintext, std::move(e.host), e.port};
    bool known = false;
    for (auto p : {security_protocol::plaintext, security_protocol::ssl,
                   security_protocol::sasl_plaintext, security_protocol::sasl_ssl})
      if (e.scheme == to_string(p)) {
        k.protocol = p;
        known = true;
      }
    if (!known)
      return make_error(errc::invalid_argument,
                        std::string(option) + ": '" + e.scheme +
                            "': the protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
    out.push_back(std::move(k));
  }
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
