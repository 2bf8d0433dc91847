#pragma once
// A latency histogram with fixed buckets (seconds, Prometheus' convention), safe to observe
// from any thread without a lock.

#include <array>
#include <atomic>
#include <cstdint>

namespace sluice::metrics {

class histogram {
 public:
  // Upper bounds of the buckets, in seconds: 100 us to 10 s.
  static constexpr std::array<double, 14> bounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0};

  void observe(double seconds) {
    size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  // Observations <= bounds[i] (cumulative); i == bounds.size(): all.
  uint64_t cumulative(size_t i) const {
    uint64_t n = 0;
    for (size_t j = 0; j <= i && j < counts_.size(); ++j)
      n += counts_[j].load(std::memory_order_relaxed);
    return n;
  }
  uint64_t count() const { return cumulative(bounds.size()); }
  double sum() const { return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }

 private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace sluice::metrics
