#pragma once
// A small file of security state (users, ACLs, quotas) that the server and the `sluice`
// commands share. Reads notice another process's change by the file's identity (inode, size,
// mtime); a change is a read-modify-write under an exclusive flock on "<file>.lock", written
// atomically (temporary file, fdatasync, rename, folder fsync) with mode 0600.
//
// Not thread-safe: its owner serializes calls.

#include <sys/types.h>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/result.h"

namespace sluice::security {

class store_file {
 public:
  explicit store_file(std::filesystem::path path) : path_(std::move(path)) {}

  // The file's text when it changed since the last read (the first call always reads); an
  // empty text when there is no file; nullopt when unchanged.
  result<std::optional<std::string>> read_if_changed();
  // Under the lock: `change` turns the current text (empty if none) into the new one.
  // The next read_if_changed() returns the new text.
  result<void> update(const std::function<result<std::string>(const std::string&)>& change);
  const std::filesystem::path& path() const { return path_; }

 private:
  struct identity {
    bool exists = false;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const identity&) const = default;
  };
  result<identity> stat_file() const;

  const std::filesystem::path path_;
  std::optional<identity> seen_;
};

}  // namespace sluice::security
