#pragma once
// Per-API request counters and latency histograms of the Kafka server (exported at /metrics).

#include <array>
#include <atomic>
#include <cstdint>

#include "metrics/histogram.h"

namespace sluice::kafka {

struct api_metrics {
  static constexpr size_t k_keys = 128;  // API keys are small integers
  std::array<std::atomic<uint64_t>, k_keys> requests{};
  // Requests that could not be answered: malformed, unsupported API or version, or a handler
  // failure (those close the connection). Error codes inside answers are not counted here.
  std::array<std::atomic<uint64_t>, k_keys> errors{};
  std::array<metrics::histogram, k_keys> latency;  // from decoding to the answer being ready
};

}  // namespace sluice::kafka
