#include "queue/journal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>

#include "base/crc32c.h"
#include "stream/state_codec.h"

namespace sluice::queue {

namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // host order: the files never leave this machine's build
  out.append(b, 4);
}

uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

result<std::unique_ptr<journal>> journal::open(
    const std::filesystem::path& dir, const std::function<void(std::string_view)>& on_snapshot,
    const std::function<void(const event&)>& on_event) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());

  auto snap_path = dir / "snapshot";
  if (std::filesystem::exists(snap_path)) {
    auto data = read_file(snap_path);
    if (!data) return data.error();
    if (data->size() < 4 || get_u32(data->data()) != crc32c(data->data() + 4, data->size() - 4))
      return make_error(errc::corrupt_batch,
                        "queue snapshot " + snap_path.string() + " is corrupt");
    on_snapshot(
        std::string_view(reinterpret_cast<const char*>(data->data()) + 4, data->size() - 4));
  }

  auto path = dir / "journal";
  unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error("open", path);
  auto data = read_file(path);
  if (!data) return data.error();
  size_t pos = replay(*data, on_event);
  if (pos != data->size()) {
    // A torn tail from a crash mid-write: nothing after it was ever confirmed durable.
    if (::ftruncate(fd.get(), static_cast<off_t>(pos)) != 0) return io_error("truncate", path);
  }
  if (::lseek(fd.get(), static_cast<off_t>(pos), SEEK_SET) < 0) return io_error("seek", path);
  return std::unique_ptr<journal>(new journal(dir, std::move(fd), static_cast<int64_t>(pos)));
}

size_t journal::replay(bytes_view data, const std::function<void(const event&)>& on_event) {
  size_t pos = 0;
  while (pos + 8 <= data.size()) {
    uint32_t len = get_u32(data.data() + pos);
    if (len > 64 || pos + 8 + len > data.size()) break;
    const uint8_t* body = data.data() + pos + 8;
    if (get_u32(data.data() + pos + 4) != crc32c(body, len)) break;
    try {
      stream::state_reader r(std::string_view(reinterpret_cast<const char*>(body), len));
      event e;
      e.k = static_cast<event::kind>(r.varint());  // kinds this version does not know: ignored
      e.partition = static_cast<int32_t>(r.varint());
      e.a = r.varint();
      e.b = r.varint();
      on_event(e);
    } catch (const stream::corrupt_state&) {
      break;
    }
    pos += 8 + len;
  }
  return pos;
}

journal::journal(std::filesystem::path dir, unique_fd fd, int64_t size)
    : dir_(std::move(dir)), fd_(std::move(fd)), size_(size) {
  thread_ = std::thread([this] { run(); });
}

journal::~journal() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void journal::encode(const event& e, std::string& out) {
  stream::state_writer w;
  w.put_varint(static_cast<int64_t>(e.k));
  w.put_varint(e.partition);
  w.put_varint(e.a);
  w.put_varint(e.b);
  put_u32(out, static_cast<uint32_t>(w.data().size()));
  put_u32(out, crc32c(w.data().data(), w.data().size()));
  out += w.data();
}

void journal::append(const event& e) {
  std::lock_guard lk(mu_);
  size_t before = pending_.size();
  encode(e, pending_);
  size_ += static_cast<int64_t>(pending_.size() - before);
}

void journal::sync(std::function<void(result<void>)> done) {
  {
    std::lock_guard lk(mu_);
    waiting_.push_back(std::move(done));
  }
  cv_.notify_one();
}

void journal::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !waiting_.empty(); });
    if (waiting_.empty() && stop_) return;
    std::string data = std::move(pending_);
    pending_.clear();
    auto waiters = std::move(waiting_);
    waiting_.clear();
    if (!failed_.empty()) {
      auto e = make_error(errc::io_error, failed_);
      lk.unlock();
      for (auto& w : waiters)
        w(e);
      lk.lock();
      continue;
    }
    busy_ = true;
    lk.unlock();
    result<void> r;
    size_t off = 0;
    while (off < data.size() && r) {
      ssize_t n = ::write(fd_.get(), data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        r = io_error("write", dir_ / "journal");
      else
        off += static_cast<size_t>(n);
    }
    if (r && ::fdatasync(fd_.get()) != 0) r = io_error("fdatasync", dir_ / "journal");
    if (!r) {
      lk.lock();
      fail_locked(r.error());
      lk.unlock();
    }
    for (auto& w : waiters)
      w(r);
    lk.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

void journal::fail_locked(const error_info& e) {
  if (!failed_.empty()) return;
  failed_ = e.message;
  spdlog::error("queue journal {} failed: {}; the queue refuses work until a restart",
                dir_.string(), failed_);
}

std::string journal::failure() const {
  std::lock_guard lk(mu_);
  return failed_;
}

result<void> journal::checkpoint(std::string_view state) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return !busy_; });  // no write in flight while the file is swapped
  if (!failed_.empty()) return make_error(errc::io_error, failed_);
  std::string data;
  put_u32(data, crc32c(state.data(), state.size()));
  data += state;
  auto r = write_file_atomic(dir_ / "snapshot", as_bytes(data));
  if (!r) return r;
  // The snapshot covers every event, pending ones included.
  pending_.clear();
  if (::ftruncate(fd_.get(), 0) != 0 || ::lseek(fd_.get(), 0, SEEK_SET) < 0 ||
      ::fdatasync(fd_.get()) != 0) {
    auto e = io_error("truncate", dir_ / "journal");
    fail_locked(e);
    return e;
  }
  size_ = 0;
  auto waiters = std::move(waiting_);
  waiting_.clear();
  lk.unlock();
  for (auto& w : waiters)
    w(result<void>{});
  return {};
}

int64_t journal::size() const {
  std::lock_guard lk(mu_);
  return size_;
}

}  // namespace sluice::queue
