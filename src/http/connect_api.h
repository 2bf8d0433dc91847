#pragma once
// Kafka Connect's REST API over connect/worker.h, at the root of sluice's HTTP port, so that
// the tools written for Kafka Connect (curl scripts, UIs, Terraform providers) work:
//
//   GET    /connector-plugins                 [{"class","type","version"}]
//   GET    /connectors[?expand=status|info]   ["name",..] or {"name":{"status":..,"info":..}}
//   POST   /connectors                        {"name","config":{..}} -> 201 {"name","config",
//                                             "tasks","type"}; 409 when it exists
//   GET    /connectors/{n}                    {"name","config","tasks","type"}
//   GET    /connectors/{n}/config             the config
//   PUT    /connectors/{n}/config             creates (201) or reconfigures (200)
//   GET    /connectors/{n}/status             {"name","connector":{"state","worker_id"},
//                                             "tasks":[{"id":0,"state","worker_id"[,"trace"]}],
//                                             "type"}
//   GET    /connectors/{n}/tasks, /connectors/{n}/tasks/0/status
//   POST   /connectors/{n}/restart, /connectors/{n}/tasks/0/restart   204
//   PUT    /connectors/{n}/pause, /connectors/{n}/resume              202
//   DELETE /connectors/{n}                    204
//
// Errors as Kafka Connect answers them: {"error_code":404,"message":"Connector x not found"}.
// A connector names its kind with `connector.class` (a Kafka Connect class name that sluice
// knows, or its short name) or `connector`. The calls block (changes are durable when
// answered): run them off the event loop.

#include <boost/beast/http.hpp>
#include <optional>

#include "http/rest_proxy.h"

namespace sluice::connect {
class worker;
}

namespace sluice::http {

class connect_api {
 public:
  explicit connect_api(connect::worker& w) : w_(w) {}
  // Nullopt when the path is not one of the API's.
  std::optional<rest_answer> handle(
      const boost::beast::http::request<boost::beast::http::string_body>& req);
  static bool owns(std::string_view path);

 private:
  connect::worker& w_;
};

}  // namespace sluice::http
