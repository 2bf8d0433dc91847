#pragma once
// Everything /metrics exports besides the HTTP server's own families: per topic partition
// traffic and size, consumer-group lag, Kafka API requests, SQL queries and views, event-loop
// stalls, and the process. Reads each module's public state at scrape time.

#include "metrics/exposition.h"

namespace sluice {
class loop_watch;
}
namespace sluice::log {
class log;
}
namespace sluice::group {
class coordinator;
}
namespace sluice::kafka {
class server;
}
namespace sluice::sql {
class engine;
}
namespace sluice::queue {
class manager;
}

namespace sluice::metrics {

struct sources {
  const log::log* log = nullptr;
  const group::coordinator* groups = nullptr;
  const kafka::server* kafka = nullptr;
  const sql::engine* engine = nullptr;
  const queue::manager* queues = nullptr;
  const loop_watch* loops = nullptr;
};

void collect(exposition& out, const sources& s);

}  // namespace sluice::metrics
