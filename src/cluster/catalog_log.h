#pragma once
// The catalog of a sluice cluster: the statements that changed it, in the order every process
// applies them, as the records of a one-partition topic kept forever (the catalog is small; a
// compacted topic would reorder a re-created object after what depends on it).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "cluster/kafka_io.h"

namespace sluice::cluster {

class catalog_log {
 public:
  // Creates the topic when missing. Errors: io_error.
  static result<std::unique_ptr<catalog_log>> open(kafka_io& io, std::string topic);
  ~catalog_log();  // stop()

  // Appends one statement, durably (acks=all); returns its offset. Errors: io_error.
  result<int64_t> append(const std::string& statement);
  // Calls `apply` for every record: those there now before it returns, later ones from a
  // thread of its own until stop().
  result<void> follow(std::function<void(int64_t, const std::string&)> apply);
  void stop();

 private:
  catalog_log(kafka_io& io, std::string topic);
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::cluster
