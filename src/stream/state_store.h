#pragma once
// Keyed operator state that may outgrow memory: byte keys to byte values in RocksDB, with
// checkpoints that are consistent with the query's source positions.
//
// Layout under the operator's state folder:
//   db/            the working database
//   ckpt-<n>/      RocksDB checkpoints (SST files hard-linked); the query's checkpoint file
//                  names the one that belongs to it. The newest two are kept.
//
// Used by one thread (the query's).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::stream {

class state_store {
 public:
  virtual ~state_store() = default;
  // False when absent.
  virtual bool get(std::string_view key, std::string& value) = 0;
  // Buffered in a write batch until commit() (or until the batch is large).
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void erase(std::string_view key) = 0;
  virtual result<void> commit() = 0;
  // Every pair in key order (after commit()).
  virtual void for_each(const std::function<void(std::string_view, std::string_view)>& fn) = 0;
  // Commits and writes checkpoint `n`; removes checkpoints older than the previous one.
  virtual result<void> checkpoint(uint64_t n) = 0;
  // Replaces the working database by checkpoint `n`. Errors: io_error (missing or unreadable).
  virtual result<void> restore(uint64_t n) = 0;
  // Drops every key (a query that starts over).
  virtual result<void> clear() = 0;
  virtual uint64_t approximate_keys() = 0;
};

// Opens (creating) the store in `folder`. Errors: io_error.
// `ttl_ms` > 0: every value starts with the wall-clock time (8 bytes, little-endian epoch
// milliseconds) it was last used at, and compactions drop values older than the TTL (a
// compaction filter), so that state nobody touches leaves the disk too.
result<std::unique_ptr<state_store>> open_rocksdb_store(const std::filesystem::path& folder,
                                                        int64_t ttl_ms = 0);

}  // namespace sluice::stream
