#pragma once
// Every HTTP endpoint in one table: its method, its path pattern ("{name}" matches one path
// segment), the name it is counted under in /metrics, and what the caller must be allowed
// to do (an ACL operation on a resource named by a path segment, the cluster, or the
// statement's own objects for /v1/sql). The authorization of every route is read here, in
// one place; the handlers of each resource (queue_api, rest_proxy, rest_consumers, the
// server's own) then serve the request.

#include <boost/beast/http/verb.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "security/acl.h"

namespace sluice::http {

struct permission {
  enum class scope {
    anyone,         // no authentication needed (health checks, the dashboard's files)
    authenticated,  // any authenticated principal (the handler may filter what it shows)
    cluster,        // `op` on the cluster
    named,          // `op` on the resource `type` named by path segment `segment`
    sql,            // decided by the statement's objects (sql/access.h)
  };
  scope who = scope::anyone;
  security::acl_operation op = security::acl_operation::describe;
  security::resource_type type = security::resource_type::cluster;
  int segment = -1;  // index into the matched path's {parameters}
};

struct route {
  std::optional<boost::beast::http::verb> method;  // nullopt: any method
  std::string_view pattern;
  std::string_view metric_name;
  permission needs;
};

struct route_match {
  const route* r = nullptr;
  std::vector<std::string> params;  // percent-decoded {parameters}, in order
};

std::span<const route> routes();
// Whether `path` matches `pattern` ("{name}" is one non-empty segment); `params` gets the
// percent-decoded segments.
bool match_pattern(std::string_view pattern, std::string_view path,
                   std::vector<std::string>& params);
// The route for a request, or nullopt (then the request is answered 404 or 405 by its
// handler, and needs no permission beyond being authenticated).
std::optional<route_match> match_route(boost::beast::http::verb method, std::string_view path);

inline constexpr auto k_view_resource = security::resource_type::view;

}  // namespace sluice::http
