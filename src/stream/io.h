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
namespace sluice::group {
class transaction_coordinator;
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

// Reads the partitions of one topic, as a read_committed consumer: nothing of a transaction
// still open, nothing of an aborted one. Used by one query thread.
class topic_source {
 public:
  virtual ~topic_source() = default;
  virtual int32_t partitions() const = 0;
  // fn(offset, timestamp, key, value) for each record of partition `p` at or after `from`,
  // about `max_bytes` of them (control records and aborted transactions skipped); returns the
  // offset after the last record seen (`from` if none; past the end when only control records
  // came). The views stay valid during the call only; `scratch` is the caller's buffer for
  // sources that read batches. Errors: offset_out_of_range (retention removed it),
  // unknown_topic, io_error, corrupt_batch (a batch that does not decode: nothing of what was
  // read is kept, the caller decides what to skip).
  using record_fn = std::function<void(int64_t, int64_t, std::optional<std::string_view>,
                                       std::optional<std::string_view>)>;
  virtual result<int64_t> for_each(int32_t p, int64_t from, size_t max_bytes, bytes& scratch,
                                   const record_fn& fn) = 0;
  virtual int64_t start_offset(int32_t p) const = 0;
  // Where reading ends for now: the last stable offset.
  virtual int64_t end_offset(int32_t p) const = 0;
};

struct output_record {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  int64_t timestamp = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

// How a sink's records reach readers.
enum class delivery : uint8_t {
  // Records are visible as they are written; after a crash, what was written since the last
  // checkpoint is written again.
  at_least_once,
  // Records are written in one transaction per checkpoint, committed with it (two-phase:
  // prepare() before the checkpoint is written, commit() after): read_committed readers see
  // each result once, across crashes, a checkpoint interval later.
  exactly_once,
};

struct sink_options {
  delivery mode = delivery::at_least_once;
  // exactly_once: the transactional id, stable across restarts (one per sink of a query).
  std::string transactional_id;
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

  // Two-phase commit with the query's checkpoint (exactly_once; the others flush and return
  // an empty description). prepare() writes everything added and waits until it is durable;
  // it returns what recover() needs to finish this transaction, to be stored in the
  // checkpoint. commit() makes the prepared transaction visible. At start-up, recover() gets
  // the description from the last checkpoint (empty if none): it commits that transaction if
  // it is still open and aborts whatever else the sink left open.
  virtual result<std::string> prepare() {
    if (auto r = flush(); !r) return r.error();
    return std::string();
  }
  virtual result<void> commit() { return {}; }
  virtual result<void> recover(std::string_view /*prepared*/) { return {}; }
};

class topic_io {
 public:
  virtual ~topic_io() = default;
  virtual bool topic_exists(std::string_view topic) const = 0;
  // `wake` is signaled when a partition read to its end since may have new data (sources of
  // one query share it). Errors: unknown_topic.
  virtual result<std::unique_ptr<topic_source>> open_source(std::string_view topic,
                                                            std::shared_ptr<wakeup> wake) = 0;
  // Creates the topic (with the broker's defaults) when missing. Errors: unknown_topic,
  // invalid_config (exactly_once where this io has no transactions).
  virtual result<std::unique_ptr<topic_sink>> open_sink(std::string_view topic,
                                                        const sink_options& options = {}) = 0;
  // Whether open_sink can give exactly_once sinks.
  virtual bool transactions() const = 0;
};

// Topics of this process's log: reads go to the partitions directly (no network hop).
// Exactly-once sinks use `transactions` (null: at_least_once only).
std::unique_ptr<topic_io> make_log_io(log::log& l,
                                      group::transaction_coordinator* transactions = nullptr);

// Calls `fn(offset, timestamp, key, value)` for each record at or after `from` in `chunk`
// (whole record batches as a source returns them); returns the offset after the last record
// seen (`from` if none). Control batches are skipped. Errors: corrupt_batch.
result<int64_t> for_each_record(
    bytes_view chunk, int64_t from,
    const std::function<void(int64_t, int64_t, std::optional<std::string_view>,
                             std::optional<std::string_view>)>& fn);

}  // namespace sluice::stream
