#pragma once
// What every handler may use: the server's configuration and the log.

#include <memory>

#include "group/coordinator.h"
#include "group/transaction_coordinator.h"
#include "kafka/server.h"
#include "kafka/server/api_metrics.h"
#include "log/log.h"

namespace sluice::kafka {

struct broker {
  server_config config;
  log::log& log;
  group::coordinator* groups = nullptr;  // null: group APIs answer COORDINATOR_NOT_AVAILABLE
  group::transaction_coordinator* transactions = nullptr;  // null: so do transaction APIs
  std::shared_ptr<api_metrics> metrics = std::make_shared<api_metrics>();
};

}  // namespace sluice::kafka
