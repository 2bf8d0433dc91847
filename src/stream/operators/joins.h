#pragma once
// Joins of two inputs. The joined row is the left row's columns then the right row's; the
// side that an outer join preserves gets NULLs for the other side's columns when it has no
// match.

#include "stream/operator.h"

namespace sluice::stream {

// semi: the left rows that have a match (x IN (SELECT ..)); anti: those that have none
// (NOT IN). Both output the left row alone.
enum class join_type { inner, left, right, full, semi, anti };
const char* join_type_name(join_type t);

struct join_spec {
  join_type type = join_type::inner;
  // Equality keys (evaluated on each side's row); a NULL key value matches nothing.
  std::vector<expression_ptr> left_keys, right_keys;
  expression_ptr residual;  // the rest of the condition, on the joined row; null: none
  size_t left_width = 0, right_width = 0;
  std::vector<std::string> names;  // of the joined row (dead letters)
  // The joined element's key: none (an append-only output), both sides' keys one after the
  // other (each side has a unique key), or the whole row (a retracting output without one).
  enum class key_mode { none, both_keys, whole_row };
  key_mode output_key = key_mode::none;
};

// Regular join of two changelogs (append-only or retracting; upserting inputs go through
// make_normalize first). Every row of both sides is kept, by join key, in memory up to
// `cache_rows` keys per side and in RocksDB beyond (open_state). A row that arrives meets the
// other side's rows; a retraction retracts what its row produced, and an outer join retracts
// and re-emits its NULL-padded rows as matches come and go. Output: retracting, or append-only
// when the join is INNER and neither input retracts (`append_only`). The output has no event
// time column: each joined row carries the later of its two rows' times.
operator_ptr make_hash_join(join_spec spec, bool append_only, size_t cache_rows);

// Join of two append-only inputs bounded by event time: interval joins (the right row's time
// within an interval of the left row's) and window joins (both sides' window_end equal). A row
// is kept in memory until the watermark reaches its expiry, its column `time_column` plus
// `offset_ms`; an outer join emits a row that found no match then. Rows that arrive expired
// are late (counted and dead-lettered). Output: append-only; the output watermark is held back
// to the oldest row still kept, so that rows emitted later are not late downstream.
struct bounded_join_spec {
  join_spec join;
  int left_expiry_column = -1, right_expiry_column = -1;
  int64_t left_offset_ms = 0, right_offset_ms = 0;
  std::string what;  // "IntervalJoin" or "WindowJoin", for EXPLAIN
};
operator_ptr make_bounded_join(bounded_join_spec spec);

// Temporal join of an append-only stream (left, input 0) with a table (right, input 1: its
// upserts and deletes, keyed by the join key, which is the table's primary key). INNER or
// LEFT. `event_time`: each stream row meets the table's version at its event time, once the
// watermark passes it (versions kept until the watermark makes them unreachable); otherwise
// the table's current row at once. Output: append-only, with the stream row's time.
operator_ptr make_temporal_join(join_spec spec, bool event_time);

}  // namespace sluice::stream
