#pragma once
// Operators that change a changelog's mode (operator.h, "Changelogs").

#include "stream/operator.h"

namespace sluice::stream {

// Upserting input to retracting output: an upsert of key k becomes a retraction of k's
// previous row (if any) and an insert; a delete of k a retraction of its row. Rows by key
// live in memory up to `cache_rows`, the rest in RocksDB (once open_state() gave a folder).
operator_ptr make_normalize(size_t cache_rows = 100'000);

}  // namespace sluice::stream
