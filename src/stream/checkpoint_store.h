#pragma once
// Where a query keeps its checkpoint (source positions, watermark and operator state, one
// opaque blob): a file beside the embedded log, or a compacted topic of an external cluster,
// written in the same transaction as the query's output (cluster/kafka_io.h).
//
// Used by one thread (the query's).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::stream {

class checkpoint_store {
 public:
  virtual ~checkpoint_store() = default;
  // The last checkpoint written; nullopt when there is none. Errors: io_error.
  virtual result<std::optional<std::string>> read() = 0;
  // Replaces the checkpoint, atomically: after a crash read() gives this blob or the one before,
  // never a mix. Where output is exactly-once, this is also what makes it visible.
  virtual result<void> write(std::string_view blob) = 0;
  // Forgets the checkpoint (a dropped query).
  virtual result<void> erase() = 0;
  // Where, for logs and EXPLAIN.
  virtual std::string describe() const = 0;
};

// A file, replaced atomically (write to a temporary, fsync, rename).
std::unique_ptr<checkpoint_store> make_file_checkpoints(std::filesystem::path file);

}  // namespace sluice::stream
