#pragma once
// A partition: an ordered, append-only sequence of record batches stored as segments.
// The partition is the unit of ordering and of concurrency; nothing here waits on another
// partition.
//
// Thread safety: every public member may be called from any thread. Appends, reads and
// retention serialize on the partition's own mutex; file reads of returned slices happen
// outside it. Callbacks (durability, new data) run on the thread that triggers them (a
// flusher thread or an appending thread) and must only hand work off (post to an executor).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/named_type.h"
#include "base/result.h"
#include "log/producer_state.h"
#include "log/topic_config.h"

namespace sluice::log {

class segment;
class flusher;
class space_guard;

struct append_result {
  model::offset base_offset;
  model::offset last_offset;
  int64_t log_append_time = -1;  // broker time when the topic uses LogAppendTime, else -1
  model::offset log_start;
  bool duplicate = false;  // an idempotent retry: nothing was written, offsets are the original
};

// What a reader may see: everything appended, or only what is below the last stable offset
// (no record of a transaction that is still open; Kafka's isolation.level).
enum class isolation : int8_t { read_uncommitted = 0, read_committed = 1 };

// A contiguous byte range of one segment file, holding whole record batches (the last one may
// be cut short by the byte limit, as Kafka does).
struct read_result {
  std::shared_ptr<const segment> seg;  // keeps the file open while the bytes are copied
  int64_t pos = 0;
  size_t len = 0;
  model::offset high_watermark;
  model::offset last_stable;
  model::offset log_start;

  result<void> copy_to(uint8_t* dst) const;
  // The segment file to send the range from (sendfile); -1 when len is 0.
  int file_descriptor() const;
};

class partition : public std::enable_shared_from_this<partition> {
 public:
  // Opens (creating if needed) the partition at `dir`. With `clean` false (the broker did not
  // stop cleanly), segments from the recovery point on are CRC-checked and a torn tail cut.
  static result<std::shared_ptr<partition>> open(std::filesystem::path dir, model::partition_id id,
                                                 topic_config config, bool clean, flusher* flusher);
  ~partition();

  model::partition_id id() const { return id_; }

  // Appends one record batch (`batch` is rewritten in place: base offset, LogAppendTime).
  // A transactional batch opens its producer's transaction here (until its marker); control
  // batches are refused (only the broker writes markers).
  // Errors: corrupt_batch, invalid_record, unsupported_message_format, batch_too_large,
  // out_of_order_sequence, invalid_producer_epoch, invalid_txn_state, io_error,
  // unknown_topic (deleted).
  result<append_result> append(std::span<uint8_t> batch, int64_t now);

  // Appends the commit or abort marker that closes `producer_id`'s transaction here (a marker
  // where none is open is written too, as Kafka does; readers skip it). An epoch above the
  // producer's fences its older epochs. Errors: invalid_producer_epoch (an older epoch),
  // io_error, unknown_topic.
  result<append_result> append_marker(int64_t producer_id, int16_t epoch, control_type type,
                                      int32_t coordinator_epoch, int64_t now);

  // Calls `done` once every offset <= `last` is on disk (fdatasync), sharing one sync with all
  // other waiters (group commit); with an io_error if the sync failed.
  void when_durable(model::offset last, std::function<void(result<void>)> done);

  // Bytes starting at the batch that holds `from`, at most max(max_bytes, size of that batch),
  // ending before the last stable offset under read_committed. An empty result (len 0) when
  // `from` is the high watermark (the last stable offset under read_committed).
  // Errors: offset_out_of_range, io_error.
  result<read_result> read(model::offset from, size_t max_bytes,
                           isolation level = isolation::read_uncommitted) const;

  // Transactions aborted in this partition whose range overlaps [from, to).
  std::vector<aborted_transaction> aborted_transactions(model::offset from, model::offset to) const;
  // Every producer known here, with the start of its open transaction.
  std::vector<producer_state::producer_info> producers() const;

  // The offset of the first record with a timestamp >= ts (in the first batch whose newest
  // timestamp is >= ts, as Kafka), or the high watermark if none.
  result<model::offset> offset_for_time(int64_t ts) const;
  // The offset and timestamp of the record with the largest timestamp (ListOffsets -3), if
  // the partition holds any record.
  result<std::optional<std::pair<int64_t, int64_t>>> max_timestamp_record() const;

  // Traffic since the process started: appended records and bytes, bytes handed to readers
  // (Kafka fetches, SQL queries).
  int64_t records_in() const { return records_in_.load(std::memory_order_relaxed); }
  int64_t bytes_in() const { return bytes_in_.load(std::memory_order_relaxed); }
  int64_t bytes_out() const { return bytes_out_.load(std::memory_order_relaxed); }

  model::offset high_watermark() const;
  // The first offset of the oldest open transaction, or the high watermark if none.
  model::offset last_stable_offset() const;
  model::offset log_start() const;
  int64_t size_bytes() const;
  int segment_count() const;

  // Registers a one-shot callback for the next append. Entries whose `alive` expired are
  // dropped without being called.
  void on_next_append(std::weak_ptr<void> alive, std::function<void()> fn);

  // DeleteRecords: moves the log start up to `offset` (-1: the high watermark); records
  // below it are gone for readers, whole segments below it are deleted. The new start is
  // durable before this returns. Returns the log start (unchanged when `offset` is below it).
  // Errors: offset_out_of_range (beyond the high watermark), io_error, unknown_topic.
  result<model::offset> delete_records_before(model::offset offset);

  void set_config(topic_config c);
  // Deletes whole segments beyond retention.ms/retention.bytes (cleanup.policy with
  // "delete"); an expired active segment is rolled first.
  void enforce_retention(int64_t now);
  // cleanup.policy with "compact": rewrites sealed segments keeping only the newest record
  // of each key (and tombstones younger than delete.retention.ms). Offsets never change; a
  // compressed batch that loses records is rewritten uncompressed. Producers are not blocked:
  // segments are rewritten aside and swapped under the lock; a reader holding the old file keeps
  // reading it. Returns the number of segments rewritten.
  result<int> compact(int64_t now);
  // Group commit, in three steps so that the flusher can cover several partitions with one
  // sync: take what is to be synced, sync it (here or by the flusher's syncfs), then answer
  // the waiters that sync covered.
  struct flush_ticket {
    std::vector<std::shared_ptr<segment>> segments;  // with data not yet synced
    bool sync_folder = false;                        // a file was created or removed
    bool sealed = false;                             // a sealed segment is among them
    int64_t target = 0;                              // offsets below it are covered
    int64_t active_base = 0;
  };
  flush_ticket begin_flush();
  result<void> sync_files(const flush_ticket& t) const;  // fdatasync of each file
  void end_flush(const flush_ticket& t, result<void> synced);
  // Writes indexes and the producer snapshot and syncs everything (clean shutdown).
  result<void> close();
  // Marks the partition deleted: later appends fail with unknown_topic.
  void mark_deleted();

  // Set once a write, roll or sync of the partition's files failed (EIO, ENOSPC, ...): from
  // then on appends fail with io_error and durability waiters are answered with the error, so
  // that nothing is reported written that might not be; reads go on. A restart recovers the
  // files (the tail after the last sync is CRC-checked and cut where torn). Empty: healthy.
  std::string failure() const;

  // Appends (not markers, not duplicates of what is written) must first be admitted by
  // `guard`: below the free-space limit they fail with no_space.
  // REQUIRES: before the partition is shared with other threads.
  void guard_space(space_guard* guard) { space_ = guard; }

 private:
  partition(std::filesystem::path dir, model::partition_id id, topic_config config,
            flusher* flusher);
  result<void> load(bool clean);
  result<void> roll(int64_t now);
  result<append_result> append_locked(std::unique_lock<std::mutex>& lk, std::span<uint8_t> batch,
                                      batch_header& h, int64_t now,
                                      std::optional<control_type> marker);
  int64_t last_stable_locked() const;
  result<void> write_producer_snapshot(int64_t at) const;
  void notify_appended(std::unique_lock<std::mutex>& lock);
  void schedule_flush_locked();
  void fail_locked(const std::string& why);
  std::shared_ptr<segment> segment_for(int64_t offset) const;

  struct durable_waiter {
    int64_t offset;
    std::function<void(result<void>)> done;
  };
  struct data_waiter {
    std::weak_ptr<void> alive;
    std::function<void()> fn;
  };

  const std::filesystem::path dir_;
  const model::partition_id id_;
  flusher* const flusher_;
  space_guard* space_ = nullptr;

  mutable std::mutex mu_;
  topic_config config_;
  std::map<int64_t, std::shared_ptr<segment>> segments_;  // by base offset
  std::shared_ptr<segment> active_;
  producer_state producers_;
  // Per producer, the first batch refused for lack of space since its last append (append()).
  struct refused_batch {
    int16_t epoch;
    int32_t base_sequence;
  };
  std::unordered_map<int64_t, refused_batch> refused_;
  int64_t next_offset_ = 0;
  int64_t log_start_ = 0;
  int64_t durable_offset_ = 0;  // every offset below it is on disk
  int64_t recovery_point_ = 0;  // written by end_flush only (one flush at a time)
  bool dir_dirty_ = false;
  bool flush_scheduled_ = false;
  bool deleted_ = false;
  std::string failed_;  // failure()
  std::vector<durable_waiter> durable_waiters_;
  mutable std::atomic<int64_t> records_in_{0}, bytes_in_{0}, bytes_out_{0};
  std::vector<data_waiter> data_waiters_;
};

}  // namespace sluice::log
