#pragma once
// Free space as a limit: writes of user data are refused while the data folder's file system has
// less free space than configured, instead of running it full (where every write fails, the
// machine's other programs with it, and clients only see errors they retry blindly).
//
// The file system is read (statvfs) every second, and at once when a refusal might be stale;
// between two reads the bytes admitted are subtracted from the last reading, so a burst cannot
// overshoot the limit by more than what one read's interval lets through. Below the limit,
// admit() answers errc::no_space (Kafka: KAFKA_STORAGE_ERROR; HTTP: 507); a warning is logged
// once per transition, and writes resume by themselves when space comes back (retention,
// deleted topics, other programs).
//
// Internal topics (consumer offsets, transaction state) are not guarded: their writes are small,
// and commits and acks keep working while user data is refused.
//
// Thread safety: everything from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/result.h"

namespace sluice::log {

struct space_limits {
  // Writes are refused while less than this is free. Default: 256 MiB.
  uint64_t min_free_bytes = 256ULL << 20;
  // ... or less than this share of the file system. Default: 0 (no ratio).
  double min_free_ratio = 0;
};

class space_guard {
 public:
  space_guard(std::filesystem::path dir, space_limits limits);
  ~space_guard();
  space_guard(const space_guard&) = delete;
  space_guard& operator=(const space_guard&) = delete;

  // Whether `bytes` more may be written. Errors: no_space (counted in refused()).
  result<void> admit(size_t bytes);

  // Reads the file system now.
  void refresh();

  uint64_t free_bytes() const { return free_.load(); }
  uint64_t limit_bytes() const { return limit_.load(); }
  bool low() const { return low_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  void loop();

  const std::filesystem::path dir_;
  const space_limits limits_;
  std::atomic<uint64_t> free_{UINT64_MAX};  // last reading, less what was admitted since
  std::atomic<uint64_t> limit_{0};
  std::atomic<bool> low_{false};
  std::atomic<uint64_t> refused_{0};
  std::atomic<int64_t> last_refresh_ns_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice::log
