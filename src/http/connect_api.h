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

#include <boost/asio/any_io_executor.hpp>

#include "http/routes.h"

namespace sluice::connect {
class worker;
}

namespace sluice::http {

class connect_api {
 public:
  // `workers` runs the calls, which block.
  connect_api(connect::worker& w, boost::asio::any_io_executor workers)
      : w_(w), workers_(std::move(workers)) {}

  // The routes above; each needs DESCRIBE (reads) or ALTER (changes) on the cluster.
  void add_routes(router& r);

 private:
  reply plugins(const call& c);
  reply list(const call& c);
  reply create(const call& c);
  reply info(const call& c);
  reply remove(const call& c);
  reply config(const call& c);
  reply put_config(const call& c);
  reply status(const call& c);
  reply tasks(const call& c);
  reply restart(const call& c);
  reply pause_or_resume(const call& c);
  reply task_status(const call& c);

  connect::worker& w_;
  boost::asio::any_io_executor workers_;
};

}  // namespace sluice::http
