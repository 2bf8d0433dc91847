#include "http/routes.h"

#include <algorithm>

#include "http/error_body.h"
#include "http/url.h"

namespace sluice::http {

using verb = boost::beast::http::verb;

std::optional<std::string> call::query(std::string_view name) const {
  return query_param(req.target(), name);
}

reply fail(unsigned status, std::string_view message) {
  return {status, error_body(static_cast<int>(status), message)};
}

bool match_pattern(std::string_view pattern, std::string_view path,
                   std::vector<std::string>& params) {
  params.clear();
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto pe = pattern.find('/');
    auto se = path.find('/');
    std::string_view pseg = pattern.substr(0, pe), seg = path.substr(0, se);
    if (pseg.starts_with('{')) {
      if (seg.empty()) return false;
      params.push_back(percent_decode(seg));
    } else if (pseg != seg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view() : path.substr(se);
  }
  return pattern.empty() && path.empty();
}

std::optional<route_match> router::match(verb method, std::string_view path,
                                         std::string* allowed) const {
  // "/v1/queues/" is "/v1/queues".
  if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  route_match m;
  std::vector<verb> others;
  for (const auto& r : routes_) {
    bool method_fits =
        !r.method || *r.method == method || (*r.method == verb::get && method == verb::head);
    if (!method_fits && !allowed) continue;
    if (!match_pattern(r.pattern, path, m.params)) continue;
    if (method_fits) {
      m.r = &r;
      return m;
    }
    if (std::find(others.begin(), others.end(), *r.method) == others.end())
      others.push_back(*r.method);
  }
  if (allowed) {
    allowed->clear();
    for (size_t i = 0; i < others.size(); ++i) {
      if (i) *allowed += i + 1 == others.size() ? " or " : ", ";
      *allowed += std::string(boost::beast::http::to_string(others[i]));
    }
  }
  return std::nullopt;
}

}  // namespace sluice::http
