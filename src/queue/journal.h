#pragma once
// The durable delivery state of one queue: a snapshot file and a journal of changes since it,
// in the queue's folder. Changes are appended in memory; sync() makes everything appended so
// far durable (write + fdatasync) on the journal's own thread, sharing one sync among all
// callers waiting at that moment (group commit). checkpoint() replaces the snapshot and
// empties the journal, so that neither grows with the number of messages acknowledged.
//
// Files: `snapshot` is [u32 crc32c][bytes of the caller's state]; `journal` is a sequence of
// [u32 length][u32 crc32c][event: varints kind, partition, a, b]. A torn or corrupt tail (a
// crash during a write) is cut at open; a corrupt snapshot is an error.
//
// A failed write, fdatasync or truncate fails the journal until a restart: nothing more is
// written after a tail that may be torn (a restart would cut what followed it), every sync()
// and checkpoint() answers the error, and failure() says it. Retrying the sync would not help
// (after a failed fdatasync the kernel may have dropped the dirty pages: "fsyncgate").

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/result.h"

namespace sluice::queue {

struct event {
  enum class kind : uint8_t {
    settle = 1,     // [a, b) settled
    delivered = 2,  // offset a delivered b times
    delay = 3,      // offset a held back until b (ms)
  };
  kind k = kind::settle;
  int32_t partition = 0;
  int64_t a = 0, b = 0;
};

class journal {
 public:
  // Opens (creating) `dir`: hands the snapshot to `on_snapshot` (not called when there is
  // none), then each journal event to `on_event`, in order.
  static result<std::unique_ptr<journal>> open(
      const std::filesystem::path& dir, const std::function<void(std::string_view)>& on_snapshot,
      const std::function<void(const event&)>& on_event);
  // Hands each whole, CRC-checked event of a journal file's bytes to `on_event`, in order;
  // returns the length of that prefix (a torn or corrupt tail ends it).
  static size_t replay(bytes_view data, const std::function<void(const event&)>& on_event);
  // Appends the journal record of `e` to `out`.
  static void encode(const event& e, std::string& out);
  ~journal();  // waits for pending syncs
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  void append(const event& e);
  // `done` runs on the journal's thread once every event appended before this call is durable.
  void sync(std::function<void(result<void>)> done);
  // Writes `state` (which must reflect every event appended so far) as the new snapshot,
  // durably, and empties the journal. Blocks.
  result<void> checkpoint(std::string_view state);
  // Bytes in the journal file (for deciding when to checkpoint).
  int64_t size() const;
  // Why the journal failed, or "" while it works.
  std::string failure() const;

 private:
  journal(std::filesystem::path dir, unique_fd fd, int64_t size);
  void run();
  void fail_locked(const error_info& e);

  const std::filesystem::path dir_;
  unique_fd fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;  // appended, not written yet
  std::vector<std::function<void(result<void>)>> waiting_;
  int64_t size_ = 0;  // file size including what the thread is writing
  bool stop_ = false;
  bool busy_ = false;  // the thread is writing and syncing
  std::string failed_;
  std::thread thread_;
};

}  // namespace sluice::queue
