#pragma once
// The HTTP API's routing table. A route is a method, a path pattern ("{name}" matches one
// path segment), the name it is counted under in /metrics, what the caller must be allowed to
// do (an ACL operation on a resource named by a path segment, the cluster, or the statement's
// own objects for /v1/sql) and its handler. Each resource declares its routes beside its
// handlers (queue_api::add_routes, rest_proxy::add_routes, ...); the server adds them all to
// one router, which matches a request once: http_auth reads the permission, /metrics the
// name, and the handler gets the path's parameters.
//
// A path that some route matches with another method is answered 405 naming the methods;
// one that no route matches, 404. Routes are tried in the order they were added: add the
// more specific first where patterns of the same length overlap.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/push_stream.h"
#include "security/acl.h"

namespace sluice::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;

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

// The permissions routes are declared with.
namespace needs {
constexpr permission anyone{};
constexpr permission signed_in{permission::scope::authenticated};
constexpr permission sql{permission::scope::sql};
constexpr permission cluster(security::acl_operation o) {
  return {permission::scope::cluster, o, security::resource_type::cluster, -1};
}
constexpr permission named(security::acl_operation o, security::resource_type t, int segment = 0) {
  return {permission::scope::named, o, t, segment};
}
constexpr permission topic(security::acl_operation o, int segment = 0) {
  return named(o, security::resource_type::topic, segment);
}
}  // namespace needs

// Where a request came from.
struct peer {
  std::string host;            // the client's address
  std::string cert_subject;    // its verified TLS certificate's subject (mutual TLS)
  std::optional<size_t> loop;  // a TLS connection: the push loop it lives on
};

// Who calls, for handlers that meet resources the route does not name (the topics of a REST
// consumer's subscription, the subjects of a listing).
struct caller {
  std::string principal = "User:ANONYMOUS";
  bool authenticated = false;
  // Whether the caller may do `op` on a resource; null when authorization is off.
  // Thread-safe; may outlive the request.
  std::function<bool(security::acl_operation, security::resource_type, std::string_view)> may;

  bool allowed(security::acl_operation op, security::resource_type t, std::string_view name) const {
    return !may || may(op, t, name);
  }
};

// One request as its handler sees it.
struct call {
  const request& req;
  std::string_view path;                   // the target without its query
  const std::vector<std::string>& params;  // the pattern's {parameters}, percent-decoded
  const peer& from;
  const caller& who;

  std::string_view target() const { return req.target(); }
  std::optional<std::string> query(std::string_view name) const;  // ?name=, decoded
};

// Takes over a connection for a push endpoint (on the server's main loop).
using handoff = std::function<void(push_stream)>;

// A handler's answer: a status and a body, or (`push` set) the connection taken over.
struct reply {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  bool close = false;  // the connection ends after the answer (a refused push request)
  handoff push;
};

// An answer {"error_code":status,"message":..}.
reply fail(unsigned status, std::string_view message);

// A handler: a function that returns its coroutine (not a coroutine lambda with captures:
// the route's copy of the lambda must not be what the running coroutine refers to), and that
// gives the coroutine nothing temporary by reference: the temporaries of the function's
// return statement are gone before the coroutine runs. `call` outlives it.
using handler = std::function<boost::asio::awaitable<reply>(const call&)>;

struct route {
  std::optional<boost::beast::http::verb> method;  // nullopt: any method
  std::string pattern;
  std::string metric_name;
  permission needs;
  handler handle;
  // The content type of every answer, errors included (the REST Proxy's, the Schema
  // Registry's); empty: the reply's own.
  std::string_view content_type = {};
};

struct route_match {
  const route* r = nullptr;
  std::vector<std::string> params;  // percent-decoded {parameters}, in order
};

class router {
 public:
  void add(route r) { routes_.push_back(std::move(r)); }
  // A route served by `self->fn`, counted in /metrics under its pattern.
  template <class T>
  void add(boost::beast::http::verb method, std::string pattern, permission p, T* self,
           boost::asio::awaitable<reply> (T::*fn)(const call&),
           std::string_view content_type = {}) {
    std::string name = pattern;
    add({method, std::move(pattern), std::move(name), p,
         [self, fn](const call& c) { return (self->*fn)(c); }, content_type});
  }

  // The route for a request, or nullopt; then `allowed` lists the methods other routes of
  // the same path take ("GET or POST"), empty when no route has the path. HEAD matches GET.
  std::optional<route_match> match(boost::beast::http::verb method, std::string_view path,
                                   std::string* allowed = nullptr) const;
  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

// Whether `path` matches `pattern` ("{name}" is one non-empty segment); `params` gets the
// percent-decoded segments.
bool match_pattern(std::string_view pattern, std::string_view path,
                   std::vector<std::string>& params);

inline constexpr auto k_view_resource = security::resource_type::view;

}  // namespace sluice::http
