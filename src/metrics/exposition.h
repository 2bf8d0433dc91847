#pragma once
// Prometheus text exposition format (version 0.0.4): families with HELP and TYPE, samples
// with escaped labels, histograms as _bucket/_sum/_count.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/histogram.h"

namespace sluice::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

class exposition {
 public:
  // Starts a family; every sample of it must follow before the next family.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const labels& l, double value);
  void histogram_sample(std::string_view name, const labels& l, const histogram& h);
  const std::string& text() const { return out_; }

 private:
  void append_labels(const labels& l, const char* extra_key = nullptr,
                     std::string_view extra_value = {});
  std::string out_;
};

}  // namespace sluice::metrics
