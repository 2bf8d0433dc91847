#include "base/endpoints.h"
#include "http/server.h"

namespace sluice::http {

result<std::vector<listener>> parse_listeners(std::string_view list) {
  auto eps = parse_endpoints(list, "HTTP listeners");
  if (!eps) return eps.error();
  std::vector<listener> out;
  for (auto& e : *eps) {
    if (e.scheme != "http" && e.scheme != "https")
      return make_error(errc::invalid_argument,
                        "HTTP listeners: '" + e.scheme + "': the scheme must be http or https");
    out.push_back(listener{e.scheme == "https", std::move(e.host), e.port});
  }
  return out;
}

}  // namespace sluice::http
