#pragma once
// A materialized view: the current rows of a query's result, kept by key, and a change feed
// (insert/update/delete, each with a sequence number) that subscribers follow.
//
// Rows are keyed by the element key the query gives (GROUP BY columns, window bounds); rows
// of a query without one are appended under their sequence number. At most `max_rows` rows
// are kept: beyond it the least recently changed row is removed (a delete in the feed). The
// feed keeps the last `feed_capacity` changes; a subscriber further behind takes a fresh
// snapshot, or (latest_since) the newest change of each key it missed: deletes are remembered
// for that as tombstones, the last `feed_capacity` of them.
//
// Thread safety: apply() from the query's thread; everything else from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "stream/operator.h"
#include "stream/state_codec.h"
#include "stream/value.h"

namespace sluice::view {

// How far a view's numbering jumps when it is restored from a checkpoint (view::restore).
inline constexpr uint64_t k_restart_gap = uint64_t{1} << 36;

struct change {
  enum class kind : uint8_t { insert, update, remove };
  uint64_t seq = 0;
  kind k = kind::insert;
  stream::row key;  // the row's key: the query's key columns, or [seq] for an unkeyed view
  stream::row r;    // the new row; the removed row for remove
};

struct row_less {
  bool operator()(const stream::row& a, const stream::row& b) const;
};

class view {
 public:
  // `keyed`: the query gives each row a key (GROUP BY, a table's primary key), so a change
  // supersedes the earlier ones of its key; else rows are appended.
  // Beyond `max_rows` rows or about `max_bytes` bytes of them (stream/memory.h) the least
  // recently changed rows are removed.
  view(std::string name, std::vector<std::string> columns, size_t max_rows = 100'000,
       size_t feed_capacity = 10'000, bool keyed = true, size_t max_bytes = SIZE_MAX);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& columns() const { return columns_; }
  bool keyed() const { return keyed_; }

  void apply(const stream::element_batch& batch);

  // Current rows in key order, and the sequence number they reflect (and their keys, which
  // identify them in later changes).
  std::vector<stream::row> rows(uint64_t* seq = nullptr,
                                std::vector<stream::row>* keys = nullptr) const;
  size_t size() const;
  // Estimated bytes in memory: the rows, the feed and the remembered deletes.
  size_t bytes() const;
  // The row whose key is `text`: a one-column key read as a string, an integer or a number
  // (?key= of GET /v1/views/{name}); nullopt when there is none.
  std::optional<stream::row> lookup(std::string_view text) const;
  uint64_t sequence() const;
  // Changes made since the process started (the sequence number jumps at a restore).
  uint64_t changes() const { return changes_.load(std::memory_order_relaxed); }
  // Changes with seq > `after`, oldest first (at most `max`). False when some of them have
  // already left the feed (the caller must take a snapshot instead).
  bool changes_since(uint64_t after, std::vector<change>& out, size_t max = SIZE_MAX) const;
  // Conflated changes: for each key changed after `after`, only its newest change (the current
  // row as an update, or its delete), in sequence order, at most `max` of them. `*upto` is set
  // to the position they bring a reader to: the view's sequence number when they are all of
  // them, else the last one's. False when a delete after `after` has been forgotten (the caller
  // must take a snapshot instead).
  bool latest_since(uint64_t after, std::vector<change>& out, size_t max, uint64_t* upto) const;

  // `fn` runs on the query's thread after each apply() that changed something; it must only
  // hand the changes off. Returns an id for unsubscribe().
  uint64_t subscribe(std::function<void(const std::vector<change>&)> fn);
  void unsubscribe(uint64_t id);

  // The view is gone (dropped, or replaced by one with other columns): subscribers are woken
  // (with no changes) and read `reason` from ended(), which their clients are told before they
  // are disconnected.
  void end(std::string reason);
  std::optional<std::string> ended() const;

  void snapshot(stream::state_writer& w) const;
  // Rows narrower than the view's columns (a checkpoint from before its query gained columns)
  // get nulls in the new ones.
  void restore(stream::state_reader& r);

 private:
  struct entry {
    stream::row r;
    uint64_t seq = 0;
  };
  void record(change c, std::vector<change>& fresh);
  void remember_delete(const change& c);

  const std::string name_;
  const std::vector<std::string> columns_;
  const size_t max_rows_;
  const size_t max_bytes_;
  const size_t feed_capacity_;
  const bool keyed_;

  mutable std::shared_mutex mu_;
  std::map<stream::row, entry, row_less> rows_;
  size_t rows_bytes_ = 0;
  std::atomic<uint64_t> changes_{0};        // estimated bytes of rows_ (and by_seq_)
  std::map<uint64_t, stream::row> by_seq_;  // last change seq -> key, for eviction
  std::vector<change> feed_;                // ring of the last feed_capacity_ changes
  size_t feed_head_ = 0;                    // index of the oldest change when full
  uint64_t seq_ = 0;
  // Deleted keys by the seq of their delete (and the other way), for latest_since; the oldest
  // are forgotten beyond feed_capacity_, and forgotten_ is the newest seq forgotten so.
  std::map<uint64_t, change> tombstones_;
  std::map<stream::row, uint64_t, row_less> tombstone_of_;
  uint64_t forgotten_ = 0;

  mutable std::mutex sub_mu_;
  std::optional<std::string> ended_;
  uint64_t next_sub_ = 1;
  std::map<uint64_t, std::function<void(const std::vector<change>&)>> subs_;
};

}  // namespace sluice::view

namespace sluice::view {
// The operator at the end of a CREATE MATERIALIZED VIEW query: applies each batch to `v`
// and keeps the view's rows in the query's checkpoint.
stream::operator_ptr make_view_writer(std::shared_ptr<view> v);
}  // namespace sluice::view
