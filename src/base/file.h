#pragma once
// Small RAII and durability helpers over POSIX file descriptors.

#include <filesystem>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace sluice {

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// An errc::io_error carrying `what`, the path and strerror(errno).
error_info io_error(std::string_view what, const std::filesystem::path& path);

// Reads the whole file; errc::io_error if it cannot be opened or read.
result<bytes> read_file(const std::filesystem::path& path);

// Writes `data` to `path` atomically: a temporary file, then rename. With `durable`, the data
// is fdatasync'ed before the rename and the folder fsync'ed after it.
result<void> write_file_atomic(const std::filesystem::path& path, bytes_view data,
                               bool durable = true);

// fsync of a directory, so that a created, renamed or removed entry is durable.
result<void> sync_dir(const std::filesystem::path& dir);

// pread/pwrite that loop over short transfers and EINTR.
result<void> pread_full(int fd, uint8_t* buf, size_t n, int64_t pos,
                        const std::filesystem::path& p);
result<void> pwrite_full(int fd, const uint8_t* buf, size_t n, int64_t pos,
                         const std::filesystem::path& p);

}  // namespace sluice
