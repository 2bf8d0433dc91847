#pragma once
// Stateful operators that aggregate: windowed (closed by the watermark, emitted once) and
// unwindowed GROUP BY (updating: emits the new row of every group that changed).

#include "stream/aggregate.h"
#include "stream/operator.h"

namespace sluice::stream {

struct window_spec {
  enum class kind { tumble, hop, session };
  kind k = kind::tumble;
  int64_t size_ms = 0;   // TUMBLE, HOP
  int64_t slide_ms = 0;  // HOP (TUMBLE: = size)
  int64_t gap_ms = 0;    // SESSION
  int time_column = -1;  // the event-time column of the input row; -1: the element's ts
  // Rows already assigned to windows (an aggregation over a windowed result): each row's
  // window starts at this column's value (TUMBLE/HOP sizes as above). -1: assign by time.
  int start_column = -1;
};

// Output rows: window_start, window_end, the key columns, the aggregate values; the element's
// key is (window_start, window_end, keys). Emitted when the watermark reaches window_end.
operator_ptr make_window_aggregate(window_spec w, std::vector<expression_ptr> keys,
                                   std::vector<agg_spec> aggs,
                                   std::vector<std::string> input_names);

// Output rows: the key columns, the aggregate values, as upserts keyed by the key columns,
// once per input batch for every group that changed.
// Groups live in memory up to `cache_rows`; with a state folder (open_state) the others are
// kept in RocksDB, so that the number of groups is bounded by disk, not memory.
operator_ptr make_group_aggregate(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                                  std::vector<std::string> input_names,
                                  size_t cache_rows = 100'000);

// Window Top-N (ROW_NUMBER/RANK() OVER (PARTITION BY ... ORDER BY ...) <= n) on windowed
// input: buffers the best rows of each partition and emits them, with their rank appended,
// when the watermark reaches the partition's window_end (column `window_end_column`).
struct top_n_spec {
  std::vector<expression_ptr> partition;
  std::vector<expression_ptr> order;
  std::vector<bool> descending;
  int64_t n = 1;
  bool dense_ties = false;  // RANK(): rows tied with the n-th are kept too
  // Over a retracting changelog (Top-N of an aggregate, of a table): every row of a partition
  // is kept, so that the next one takes the place of a top row retracted.
  bool retracting = false;
  int window_end_column = -1;
};
operator_ptr make_top_n(top_n_spec spec, std::vector<std::string> input_names);

// Whether ORDER BY values `a` come strictly before `b` under `spec`'s directions.
inline bool ranks_before(const top_n_spec& spec, const row& a, const row& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    int c = compare(a[i], b[i]);
    if (c != 0) return spec.descending[i] ? c > 0 : c < 0;
  }
  return false;
}

// OVER aggregates (AGG(x) OVER (PARTITION BY .. ORDER BY time [frame])) on append-only
// input: each row with the aggregates of its partition's frame appended, emitted once the
// watermark passes it, in event-time order. Output: append-only.
struct over_spec {
  std::vector<expression_ptr> partition;
  std::vector<agg_spec> aggs;
  int time_column = 0;     // the ORDER BY column: the input's event time
  bool rows = false;       // ROWS frame (a count) or RANGE (milliseconds of event time)
  int64_t preceding = -1;  // the frame's start before the current row; -1: unbounded
};
operator_ptr make_over_aggregate(over_spec spec, std::vector<std::string> input_names);

// Top-N without a window (ROW_NUMBER only) on append-only input: the best `n` rows of each
// partition, emitted as upserts keyed by (partition values, rank) whenever a rank's row
// changes. Partitions live in memory up to `cache_rows`, the rest in RocksDB (open_state).
// `window_end_column` is not used.
operator_ptr make_rank(top_n_spec spec, std::vector<std::string> input_names,
                       size_t cache_rows = 100'000);

}  // namespace sluice::stream
