#pragma once
// The delivery state of one partition of a queue: which messages are settled (acknowledged,
// rejected or dead-lettered), leased to a consumer until a deadline, waiting out a retry
// backoff, or ready. Pure bookkeeping: no I/O, time passed in (ms), so that it is tested
// alone; the queue (queue/queue.h) reads the messages, journals the changes and applies the
// retry policy.
//
// Offsets below floor() are all settled; settled offsets above it are kept as ranges. Offsets
// from cursor() on were never delivered. Everything in [floor, cursor) that is neither settled,
// leased nor delayed is ready for redelivery.
//
// Not thread-safe: the owning queue serializes access.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "queue/offset_ranges.h"

namespace sluice::stream {
class state_writer;
class state_reader;
}  // namespace sluice::stream

namespace sluice::queue {

struct event;  // queue/journal.h

struct lease {
  int64_t offset = 0;
  uint64_t id = 0;       // changes with every delivery: an ack must name the current one
  uint32_t attempt = 0;  // 1 on the first delivery
  int64_t deadline = 0;  // the message becomes due for redelivery then
  std::string consumer;
};

class partition_state {
 public:
  explicit partition_state(int64_t start = 0) : floor_(start), cursor_(start) {}

  int64_t floor() const { return floor_; }
  int64_t cursor() const { return cursor_; }

  // Offsets that can be delivered at `now`, at most `n`: redeliveries first (oldest offset
  // first), then offsets from the cursor below `end` (the partition's high watermark).
  std::vector<int64_t> candidates(size_t n, int64_t now, int64_t end);
  // Leases `offset` (one of candidates()) to `consumer` until `deadline`; counts the attempt.
  lease take(int64_t offset, int64_t deadline, const std::string& consumer);

  enum class outcome { ok, stale };  // stale: not leased under that id (any more)
  // Settles a leased message for good.
  outcome ack(int64_t offset, uint64_t lease_id);
  // Ends a lease without settling: the message is ready again at `available_at`.
  outcome release(int64_t offset, uint64_t lease_id, int64_t available_at);
  // The lease held on `offset` under `lease_id`, if it is still held.
  const lease* leased(int64_t offset, uint64_t lease_id) const;
  // Extends a held lease to `deadline` (a consumer that needs longer).
  outcome extend(int64_t offset, uint64_t lease_id, int64_t deadline);
  // Leases whose deadline is <= now; they stay leased until released or settled.
  std::vector<lease> expired(int64_t now) const;

  // Recovery and dead-lettering: settles an offset in any state.
  void settle(int64_t offset);
  void settle(int64_t begin, int64_t end);
  // Recovery: `offset` was delivered `attempts` times (the cursor moves past it).
  void delivered(int64_t offset, uint32_t attempts);
  // Holds a ready or new message back until `available_at` (retry backoff after a restart, or
  // a message's own deliver-after time).
  void delay(int64_t offset, int64_t available_at);
  // After a restart: every lease is gone and its message ready again.
  void drop_leases();
  // Recovery: applies one journal event of this partition. Events about offsets at or past
  // `end` (the log's end as the queue opens) are dropped: their records went with an unsynced
  // tail, or the journal is damaged, and making the gap up to them ready would take time and
  // memory without bound.
  void replay(const event& e, int64_t end);

  uint32_t attempts(int64_t offset) const;
  // Counts for stats: ready now (redeliveries due + never delivered below `end`), leased,
  // delayed (backoff not over).
  int64_t ready(int64_t now, int64_t end) const;
  size_t in_flight() const { return leases_.size(); }
  size_t delayed(int64_t now) const;
  // The earliest time a delayed message becomes ready or a lease ends (nullopt: none).
  std::optional<int64_t> next_due() const;
  size_t settled_ranges() const { return settled_.range_count(); }

  // Log retention removed messages below `start`: they count as settled.
  void truncate_below(int64_t start);

  void snapshot(stream::state_writer& w) const;
  void restore(stream::state_reader& r);

 private:
  void advance_floor();
  bool is_settled(int64_t offset) const { return offset < floor_ || settled_.contains(offset); }

  int64_t floor_;
  int64_t cursor_;
  offset_ranges settled_;
  void drop_lease(std::map<int64_t, lease>::iterator it);
  void undelay(int64_t offset);  // no longer held back

  std::map<int64_t, lease> leases_;                  // by offset
  std::set<std::pair<int64_t, int64_t>> deadlines_;  // (deadline, offset) of every lease
  std::set<int64_t> ready_;                          // redeliveries ready now
  std::multimap<int64_t, int64_t> delayed_;          // available_at -> offset
  std::unordered_map<int64_t, int64_t> delay_of_;    // offset -> available_at
  std::unordered_map<int64_t, uint32_t> attempts_;   // unsettled offsets delivered before
  uint64_t next_lease_ = 1;
};

}  // namespace sluice::queue
