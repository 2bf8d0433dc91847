#include "base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0) ::close(fd_);
}

error_info io_error(std::string_view what, const std::filesystem::path& path) {
  return make_error(errc::io_error,
                    std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

result<bytes> read_file(const std::filesystem::path& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open", path);
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0) return io_error("seek", path);
  bytes data(static_cast<size_t>(size));
  if (auto r = pread_full(fd.get(), data.data(), data.size(), 0, path); !r) return r.error();
  return data;
}

result<void> write_file_atomic(const std::filesystem::path& path, bytes_view data, bool durable) {
  auto tmp = path;
  tmp += ".tmp";
  {
    unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return io_error("create", tmp);
    if (auto r = pwrite_full(fd.get(), data.data(), data.size(), 0, tmp); !r) return r;
    if (durable && ::fdatasync(fd.get()) != 0) return io_error("fdatasync", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename", tmp);
  return durable ? sync_dir(path.parent_path()) : result<void>{};
}

result<void> sync_dir(const std::filesystem::path& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return io_error("open", dir);
  if (::fsync(fd.get()) != 0) return io_error("fsync", dir);
  return {};
}

result<void> pread_full(int fd, uint8_t* buf, size_t n, int64_t pos,
                        const std::filesystem::path& p) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, pos);
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error("read", p);
    }
    if (r == 0) return make_error(errc::io_error, "unexpected end of file " + p.string());
    buf += r;
    pos += r;
    n -= static_cast<size_t>(r);
  }
  return {};
}

result<void> pwrite_full(int fd, const uint8_t* buf, size_t n, int64_t pos,
                         const std::filesystem::path& p) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, buf, n, pos);
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error("write", p);
    }
    buf += r;
    pos += r;
    n -= static_cast<size_t>(r);
  }
  return {};
}

}  // namespace sluice
