#pragma once
// A work queue over a topic: each message goes to one of many competing consumers, leased for
// a visibility timeout, settled one by one (ack), retried with a growing backoff after a nack
// or an expired lease, and dead-lettered after max_deliveries attempts or a reject. Messages
// of one partition are spread over any number of consumers (unlike a consumer group). The
// public entry point of src/queue/.
//
// Messages are the topic's records: anything that produces to the topic (Kafka clients, the
// HTTP API) sends to the queue. A record header `sluice.deliver.after` (milliseconds since the
// epoch, decimal) holds a message back until then.
//
// Durability: acks, rejects and dead-lettering are answered once their settlement is on disk
// (queue/journal.h), so after a restart or kill -9 a settled message is never delivered again;
// leases are not kept, so every unsettled message is delivered again (at least once). Attempt
// counts and backoffs are journaled without waiting for the disk: a crash may forget the last
// few. A dead-lettered message is written to the dead-letter topic (durably) before it is
// settled; a crash in between delivers it again (and may dead-letter it twice).
//
// Dead-letter records keep the key, value and headers and add sluice.reason, sluice.queue,
// sluice.topic, sluice.partition, sluice.offset, sluice.attempts, sluice.timestamp (of the
// original) and sluice.dead.lettered.at (ms).
//
// Thread safety: all methods may be called from any thread.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace sluice::log {
class log;
class topic;
class partition;
}  // namespace sluice::log

namespace sluice {
class json_writer;
}

namespace sluice::queue {

class journal;
class partition_state;

struct queue_settings {
  std::string name;  // also the topic's name
  int64_t visibility_timeout_ms = 30'000;
  uint32_t max_deliveries = 5;
  // Retry backoff after the n-th failed attempt: base * factor^(n-1), at most max, then
  // spread by +-jitter (a fraction).
  int64_t backoff_base_ms = 1'000;
  double backoff_factor = 2.0;
  int64_t backoff_max_ms = 300'000;
  double backoff_jitter = 0.1;
  std::string dead_letter_topic;  // empty: "<name>.dlq"

  std::string dlq() const { return dead_letter_topic.empty() ? name + ".dlq" : dead_letter_topic; }
  int64_t backoff_ms(uint32_t attempt, double unit_random) const;
};

// JSON {"name":..,"visibility_timeout_ms":..,...}; unknown or bad fields are errors
// (errc::invalid_config with a message).
std::string to_json(const queue_settings& s);
// The same members, into an object `w` is writing.
void write_json_members(json_writer& w, const queue_settings& s);
result<queue_settings> settings_from_json(std::string_view json);

struct message {
  std::string receipt;  // names this delivery in ack/nack/reject: "partition-offset-lease"
  int32_t partition = 0;
  int64_t offset = 0;
  uint32_t attempt = 0;  // 1 on the first delivery
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

enum class outcome {
  ok,
  stale,        // the lease ended (expired, or settled by another call): nothing done
  bad_receipt,  // not a receipt of this queue
};

struct queue_stats {
  int64_t ready = 0;          // deliverable now
  int64_t in_flight = 0;      // leased
  int64_t delayed = 0;        // waiting for a backoff or their deliver-after time
  int64_t dead_lettered = 0;  // records in the dead-letter topic
  int64_t oldest_age_ms = 0;  // of the oldest unsettled message (0: none)
  int64_t acked = 0, nacked = 0, rejected = 0, expired = 0, redelivered = 0;  // since start
  bool failed = false;  // its journal failed (failure())
};

class queue : public std::enable_shared_from_this<queue> {
 public:
  // Opens the queue's delivery state in `dir` (creating it). The topic and the dead-letter
  // topic must exist. Errors: unknown_topic, io_error, corrupt_batch (state).
  // Shared: dead-lettering finishes on the log's threads and needs to know the queue lives.
  static result<std::shared_ptr<queue>> open(log::log& log, queue_settings settings,
                                             std::filesystem::path dir);
  ~queue();  // writes a snapshot
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;

  const queue_settings& settings() const { return settings_; }

  // Leases up to `max` messages available now (never waits), at most about `max_bytes`.
  // `visibility_ms` 0: the queue's timeout.
  std::vector<message> receive(size_t max, size_t max_bytes, int64_t visibility_ms,
                               const std::string& consumer);
  // `done(outcomes, durable)` runs (on another thread) once the settlements are on disk.
  using settle_done = std::function<void(std::vector<outcome>, result<void>)>;
  void ack(const std::vector<std::string>& receipts, settle_done done);
  // Available again after the retry backoff (or `delay_ms`); dead-lettered when it was the
  // last attempt. Answers at once (a lost nack only means an earlier redelivery).
  std::vector<outcome> nack(const std::vector<std::string>& receipts,
                            std::optional<int64_t> delay_ms);
  // To the dead-letter topic with `reason`; `done` once written and settled durably.
  void reject(const std::vector<std::string>& receipts, const std::string& reason,
              settle_done done);
  // Extends leases by `visibility_ms` from now.
  std::vector<outcome> extend(const std::vector<std::string>& receipts, int64_t visibility_ms);

  // Expired leases go back (with backoff) or to the dead-letter topic; a journal grown past a
  // few MB is folded into a new snapshot. Call often (the manager does, every 10 ms).
  void tick();
  queue_stats stats() const;
  // Why the queue's journal failed, or "" while it works. A failed queue keeps its messages (a
  // restart recovers what was durable) but cannot record deliveries or settlements: receive,
  // ack, nack, reject and extend are refused until a restart (the API answers 503).
  std::string failure() const;
  // Calls `fn` once (from any thread) when a record is appended to the topic or a message is
  // released (nack, expired lease) - then next_due() may be sooner; entries whose `alive`
  // expired are dropped.
  void when_available(std::weak_ptr<void> alive, std::function<void()> fn);
  // The earliest time (ms) a delayed message becomes ready or a lease ends, if any.
  std::optional<int64_t> next_due() const;

 private:
  queue(log::log& log, queue_settings settings);
  struct leased_ref {
    int32_t partition;
    int64_t offset;
    uint64_t lease;
  };
  static std::optional<leased_ref> parse_receipt(std::string_view r);
  // The partition a receipt names (and the receipt's parts), or nullptr. Holds mu_.
  partition_state* resolve(const std::string& receipt, leased_ref& ref);
  // Writes the messages to the dead-letter topic and settles them once that is durable; then
  // `after(result)` (with the queue unlocked). Holds each message under a lease meanwhile.
  void dead_letter(std::vector<std::pair<leased_ref, std::string>> which,
                   std::function<void(result<void>)> after);
  void checkpoint_locked();
  // At open: settles every message of this queue found in the dead-letter topic from where the
  // snapshot says a settle may be missing (the dead-letter record is the durable proof).
  result<void> settle_dead_lettered();
  void notify_waiters();
  void add_partitions_locked(const std::vector<std::shared_ptr<log::partition>>& parts);

  log::log& log_;
  const queue_settings settings_;
  std::shared_ptr<log::topic> topic_;
  std::shared_ptr<log::topic> dlq_;
  mutable std::mutex mu_;
  // Dead-letter records appended but not yet settled, by dead-letter partition (their
  // offsets). The snapshot keeps, per dead-letter partition, where a restart must look for
  // records of this queue whose settle the journal may have missed: the smallest of these, or
  // the end. Guarded by mu_.
  std::map<int32_t, std::multiset<int64_t>> dlq_in_flight_;
  std::vector<int64_t> dlq_scan_from_;  // from the snapshot, used by open()
  std::vector<std::unique_ptr<partition_state>> parts_;
  std::unique_ptr<journal> journal_;
  size_t rr_ = 0;  // partition to start the next receive at
  std::mutex waiters_mu_;
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> waiters_;
  queue_stats counters_;
};

}  // namespace sluice::queue
