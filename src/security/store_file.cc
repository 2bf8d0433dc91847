#include "security/store_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base/file.h"

namespace sluice::security {

namespace {

// An exclusive lock across processes for one read-modify-write.
class file_lock {
 public:
  explicit file_lock(const std::filesystem::path& lock_file)
      : fd_(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_.valid()) locked_ = ::flock(fd_.get(), LOCK_EX) == 0;
  }
  ~file_lock() {
    if (locked_) ::flock(fd_.get(), LOCK_UN);
  }
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  bool locked() const { return locked_; }

 private:
  unique_fd fd_;
  bool locked_ = false;
};

}  // namespace

result<store_file::identity> store_file::stat_file() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return identity{};
    return io_error("stat", path_);
  }
  return identity{true, st.st_ino, st.st_size,
                  int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

result<std::optional<std::string>> store_file::read_if_changed() {
  auto id = stat_file();
  if (!id) return id.error();
  if (seen_ && *seen_ == *id) return std::optional<std::string>();
  std::string text;
  if (id->exists) {
    auto data = read_file(path_);
    if (!data) return data.error();
    text.assign(data->begin(), data->end());
  }
  seen_ = *id;
  return std::optional<std::string>(std::move(text));
}

result<void> store_file::update(
    const std::function<result<std::string>(const std::string&)>& change) {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  if (ec) return make_error(errc::io_error, "cannot create " + path_.parent_path().string());
  file_lock lock(path_.string() + ".lock");
  if (!lock.locked()) return io_error("lock", path_.string() + ".lock");
  std::string current;
  if (auto id = stat_file(); !id) {
    return id.error();
  } else if (id->exists) {
    auto data = read_file(path_);
    if (!data) return data.error();
    current.assign(data->begin(), data->end());
  }
  auto next = change(current);
  if (!next) return next.error();
  if (auto r = write_file_atomic(
          path_, bytes_view(reinterpret_cast<const uint8_t*>(next->data()), next->size()));
      !r)
    return r;
  ::chmod(path_.c_str(), 0600);
  seen_.reset();  // the next read returns what was written
  return {};
}

}  // namespace sluice::security
