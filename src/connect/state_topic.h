#pragma once
// A string map kept in a compacted internal topic of the log (one partition), as Kafka Connect
// keeps its configs and source offsets: each put() appends a record (a delete a tombstone) and
// returns once it is durable; open() rebuilds the map from the topic. The topic is created by
// the first put(), so a server that never used it shows none.
//
// Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sluice::log {
class log;
class partition;
}  // namespace sluice::log

namespace sluice::connect {

class state_topic {
 public:
  // Errors: those of the log, corrupt_batch.
  static result<std::unique_ptr<state_topic>> open(log::log& l, std::string name);

  // Writes the entries as one batch (nullopt: remove) and waits until it is durable.
  // Errors: io_error, no_space (the map is unchanged then).
  result<void> put(const std::vector<std::pair<std::string, std::optional<std::string>>>& entries);
  std::optional<std::string> get(const std::string& key) const;
  std::map<std::string, std::string> all() const;
  const std::string& name() const { return name_; }

 private:
  state_topic(log::log& l, std::string name) : log_(l), name_(std::move(name)) {}
  log::log& log_;
  const std::string name_;
  mutable std::mutex mu_;
  std::shared_ptr<log::partition> topic_;
  std::map<std::string, std::string> map_;
};

}  // namespace sluice::connect
