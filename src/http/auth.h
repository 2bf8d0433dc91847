#pragma once
// Who is calling the HTTP API, and whether the route lets them. Credentials, in order:
//   Authorization: Basic base64(user:password)   the users of `sluice user` (SCRAM credentials)
//   Authorization: Bearer slc_...                 an API token (`sluice token create`), or a
//                                                 dashboard session from POST /v1/login
//   ?access_token=slc_...                         the same, for EventSource and browser
//                                                 WebSockets, which cannot set headers
//   a client certificate (https:// with mutual TLS) its subject, "User:CN=alice,O=Acme", when
//                                                 the request carries none of the above
// With no authorizer configured every request is allowed, as before security existed.
// A verified Basic credential is remembered (by its SHA-256) for a minute, so that a client
// sending the same header on every request does not pay a PBKDF2 each time; failed logins
// count in the same login limiter as Kafka's and are answered after its delay.
//
// Thread-safe.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "http/routes.h"

namespace sluice::security {
class user_store;
class token_store;
class authorizer;
class login_limiter;
}  // namespace sluice::security
namespace sluice::sql {
class engine;
}

namespace sluice::http {

struct security_config {
  std::shared_ptr<security::user_store> users;
  std::shared_ptr<security::token_store> tokens;
  // Null: no authentication or authorization on HTTP.
  std::shared_ptr<security::authorizer> authorizer;
  std::shared_ptr<security::login_limiter> logins;
};

class http_auth {
 public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  explicit http_auth(security_config c);
  ~http_auth();
  bool enabled() const { return config_.authorizer != nullptr; }

  struct identity {
    std::string principal = "User:ANONYMOUS";
    bool authenticated = false;
    std::string error;                   // credentials given but wrong
    std::chrono::milliseconds delay{0};  // to wait before answering a failure
  };
  // `tls_subject`: the connection's verified client certificate subject, or "".
  identity identify(const request& req, const std::string& host, std::string_view tls_subject = {});

  struct verdict {
    unsigned status = 200;  // 200 allowed, 401 not authenticated, 403 not allowed
    std::string message;
  };
  // What `who` may do with the matched route (or an unmatched path: then only being
  // authenticated counts). `sql_text`: the statements of a scope::sql route.
  verdict authorize(const identity& who, const std::string& host, const route_match* m,
                    const std::string& sql_text, const sql::engine& engine) const;

  // What `who` may do with any resource, for handlers that meet resources the route does not
  // name (http/routes.h caller::may): null when authorization is off. Thread-safe; may
  // outlive the request.
  std::function<bool(security::acl_operation, security::resource_type, std::string_view)>
  permissions(const identity& who, const std::string& host) const;
  // POST /v1/login: a session token for the dashboard (kept in memory for 12 hours), or
  // nullopt for wrong credentials.
  std::optional<std::string> login(const std::string& user, const std::string& password,
                                   const std::string& host, std::chrono::milliseconds& delay);

 private:
  bool allowed(const identity& who, const std::string& host, security::acl_operation op,
               security::resource_type type, std::string_view name) const;
  std::optional<std::string> check_basic(const std::string& user, const std::string& password);

  const security_config config_;
  struct cached {
    std::string user;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex mu_;
  std::unordered_map<std::string, cached> basic_cache_;  // by SHA-256 of "user:password"
  std::unordered_map<std::string, cached> sessions_;     // by SHA-256 of the session token
};

}  // namespace sluice::http
