#include "log/space_guard.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cmath>

namespace sluice::log {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

space_guard::space_guard(std::filesystem::path dir, space_limits limits)
    : dir_(std::move(dir)), limits_(limits) {
  refresh();
  thread_ = std::thread([this] { loop(); });
}

space_guard::~space_guard() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void space_guard::loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::seconds(1));
    if (stop_) break;
    lk.unlock();
    refresh();
    lk.lock();
  }
}

void space_guard::refresh() {
  last_refresh_ns_ = now_ns();
  struct statvfs st {};
  if (::statvfs(dir_.c_str(), &st) != 0) return;  // keep the last reading
  uint64_t total = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  uint64_t avail = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  uint64_t limit = std::max<uint64_t>(
      limits_.min_free_bytes,
      static_cast<uint64_t>(std::ceil(limits_.min_free_ratio * static_cast<double>(total))));
  limit_ = limit;
  free_ = avail;
  bool low = avail < limit;
  if (low_.exchange(low) != low) {
    if (low)
      spdlog::warn(
          "log: {} has {} free, below the limit of {} (--min-free-bytes, --min-free-ratio): "
          "refusing writes of user data until space comes back",
          dir_.string(), mib(avail), mib(limit));
    else
      spdlog::warn("log: {} has {} free again (limit {}): accepting writes", dir_.string(),
                   mib(avail), mib(limit));
  }
}

result<void> space_guard::admit(size_t bytes) {
  uint64_t limit = limit_.load();
  uint64_t free = free_.load();
  // Refused on a reading older than 100 ms: read again, space may have come back.
  if ((free < limit + bytes) && now_ns() - last_refresh_ns_.load() > 100'000'000) {
    refresh();
    free = free_.load();
  }
  if (free < limit + bytes) {
    refused_.fetch_add(1);
    if (!low_.exchange(true))
      spdlog::warn(
          "log: {} is down to {} free, below the limit of {}: refusing writes of user data",
          dir_.string(), mib(free), mib(limit));
    return make_error(errc::no_space, "the data folder has " + mib(free) +
                                          " free, below the limit of " + mib(limit) +
                                          " (--min-free-bytes, --min-free-ratio)");
  }
  free_.fetch_sub(std::min<uint64_t>(bytes, free_.load()));
  return {};
}

}  // namespace sluice::log
