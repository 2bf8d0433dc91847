#pragma once

#include <chrono>
#include <cstdint>

namespace sluice {

// Wall-clock milliseconds since the Unix epoch: the unit of Kafka timestamps.
inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
