#pragma once
// A response frame: its encoded bytes, with record data from segment files spliced in at
// given positions. A connection sends the file ranges with sendfile(2), so fetched records go
// from the page cache to the socket without being copied through sluice.

#include <chrono>
#include <vector>

#include "base/bytes.h"
#include "log/partition.h"

namespace sluice::kafka {

struct file_slice {
  size_t at;              // position in `head` before which the file bytes go
  log::read_result data;  // the segment range
};

struct response {
  bytes head;                      // starts with the 4-byte size prefix
  std::vector<file_slice> slices;  // ascending `at`
  // The connection is closed once this response is written (a failed SASL login).
  bool close_after = false;
  // The connection reads no further request for this long once this response is on its way:
  // the throttle of a client that waits it out itself (KIP-219), so pipelined requests do not
  // slip past their quota.
  std::chrono::milliseconds mute{0};

  size_t size() const {
    size_t n = head.size();
    for (const auto& s : slices)
      n += s.data.len;
    return n;
  }
  // The whole frame in one buffer (reads the file ranges); for tests and fuzzing.
  bytes flatten() const;
};

}  // namespace sluice::kafka
