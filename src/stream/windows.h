#pragma once
// Window arithmetic on epoch milliseconds. Windows are aligned to the epoch, as Flink's and
// Azure Stream Analytics' are: TUMBLE(1 minute) windows start on whole minutes (UTC).

#include <cstdint>

namespace sluice::stream {

inline int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// The start of the earliest window of (size, slide) that contains t.
inline int64_t window_first_start(int64_t t, int64_t size, int64_t slide) {
  int64_t last = floor_div(t, slide) * slide;  // the latest window containing t
  int64_t first = last - ((size - 1) / slide) * slide;
  while (first + size <= t)
    first += slide;
  return first;
}

}  // namespace sluice::stream
