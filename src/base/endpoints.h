#pragma once
// Lists of listener addresses as Kafka writes them: "SCHEME://HOST:PORT,SCHEME://HOST:PORT"
// (Kafka's listeners use PLAINTEXT, SSL, ..., sluice's HTTP listeners http and https). An
// empty host means every interface; an IPv6 host is written in brackets.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

struct endpoint {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
};

// errc::invalid_argument, starting with `option` and naming the entry, for a malformed one or
// an empty list. Schemes are not checked here.
result<std::vector<endpoint>> parse_endpoints(std::string_view list, std::string_view option);

// "HOST:PORT" alone (the host may be empty or bracketed); errc::invalid_argument saying what
// is wrong ("no port", "the port must be 0-65535").
result<endpoint> parse_host_port(std::string_view addr);

}  // namespace sluice
