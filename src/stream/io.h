#pragma once
// How a query reaches topics: one source and one sink interface. The log behind this
// process is the first implementation (make_log_io); an external Kafka cluster through
// librdkafka is meant to be the second, so nothing in the engine reaches past these.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace sluice::log {
class log;
}

namespace sluice::stream {

// What a reader of one or more sources sleeps on: each source signals it when one of its
// partitions may have new data. Thread-safe.
class wakeup {
 public:
  void signal() {
    {
      std::lock_guard lk(mu_);
      signaled_ = true;
    }
    cv_.notify_one();
  }
  // Returns once signaled (and clears it), or after `timeout`.
  void wait(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return signaled_; });
    signaled_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool signaled_ = false;
};

// Reads the partitions of one topic. Used by one query thread.
class topic_source {
 public:
  virtual ~topic_source() = default;
  virtual int32_t partitions() const = 0;
  // Appends to `out` whole record batches (Kafka v2 format) of partition `p`, starting with
  // the batch that holds `from`, about `max_bytes` of them. Nothing when `from` is the end.
  // Errors: offset_out_of_range (retention removed it), unknown_topic, io_error.
  virtual result<void> read(int32_t p, int64_t from, size_t max_bytes, bytes& out) = 0;
  virtual int64_t start_offset(int32_t p) const = 0;
  virtual int64_t end_offset(int32_t p) const = 0;
};

struct output_record {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  int64_t timestamp = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Appends records to one topic: a keyed record goes to the partition its key hashes to, others
// spread over the partitions. Used by one thread.
class topic_sink {
 public:
  using header = std::pair<std::string_view, std::string_view>;
  virtual ~topic_sink() = default;
  // Buffers one record (written by flush(), or earlier once enough are buffered).
  // Errors: unknown_topic (deleted), batch_too_large, io_error.
  virtual result<void> add(std::optional<std::string_view> key,
                           std::optional<std::string_view> value, int64_t timestamp,
                           std::span<const header> headers = {}) = 0;
  virtual result<void> flush() = 0;
  // add() for each, then flush().
  result<void> write(const std::vector<output_record>& records);
};

class topic_io {
 public:
  virtual ~topic_io() = default;
  virtual bool topic_exists(std::string_view topic) const = 0;
  // `wake` is signaled when a partition read to its end since may have new data (sources of
  // one query share it). Errors: unknown_topic.
  virtual result<std::unique_ptr<topic_source>> open_source(std::string_view topic,
                                                            std::shared_ptr<wakeup> wake) = 0;
  // Creates the topic (with the broker's defaults) when missing.
  virtual result<std::unique_ptr<topic_sink>> open_sink(std::string_view topic) = 0;
};

// Topics of this process's log: reads go to the partitions directly (no network hop).
std::unique_ptr<topic_io> make_log_io(log::log& l);

// Calls `fn(offset, timestamp, key, value)` for each record at or after `from` in `chunk`
// (whole record batches as a source returns them); returns the offset after the last record
// seen (`from` if none). Control batches are skipped. Errors: corrupt_batch.
result<int64_t> for_each_record(
    bytes_view chunk, int64_t from,
    const std::function<void(int64_t, int64_t, std::optional<std::string_view>,
                             std::optional<std::string_view>)>& fn);

}  // namespace sluice::stream
