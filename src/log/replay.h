#pragma once
// Reads a partition from its log start to its high watermark, batch by batch: how the internal
// topics (__consumer_offsets, __transaction_state) rebuild their state at start-up.

#include <cstddef>
#include <functional>

#include "base/bytes.h"
#include "base/result.h"
#include "log/record_batch.h"

namespace sluice::log {

class partition;

// Calls `fn` with every whole batch (its header and bytes) in offset order; returns the number
// of batches. Errors: io_error, corrupt_batch.
result<size_t> replay_partition(const partition& p,
                                const std::function<void(const batch_header&, bytes_view)>& fn);

}  // namespace sluice::log
