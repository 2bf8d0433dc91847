#pragma once
// What SQL's CREATE SOURCE|SINK CONNECTOR, DROP CONNECTOR and SHOW CONNECTORS act on: the
// connector runtime (connect/worker.h) implements it; the engine keeps no connector of its own
// (the runtime stores their configurations).

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::sql {

struct connector_row {
  std::string name, kind, type, state, error;
  int64_t records = 0;
};

class connector_host {
 public:
  virtual ~connector_host() = default;
  // Creates connector `name` of the kind `config` names (it must be a source, or a sink, as
  // `source` says). An error message, or nullopt when done (or when it exists and
  // `if_not_exists`).
  virtual std::optional<std::string> create_connector(const std::string& name, bool source,
                                                      std::map<std::string, std::string> config,
                                                      bool if_not_exists) = 0;
  virtual std::optional<std::string> drop_connector(const std::string& name, bool if_exists) = 0;
  virtual std::vector<connector_row> connectors() const = 0;
};

}  // namespace sluice::sql
