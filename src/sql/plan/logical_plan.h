#pragma once
// The logical plan: what a SELECT computes, as a tree of small nodes with bound (typed,
// resolved) expressions, each stating its output columns and its changelog mode. The binder
// builds it (sql/binder/), EXPLAIN prints it, and lowering turns it into a dataflow of
// stream operators (lower.h).

#include <memory>
#include <string>
#include <vector>

#include "stream/aggregate.h"
#include "stream/dataflow.h"
#include "stream/expression.h"
#include "stream/operators/aggregates.h"
#include "stream/operators/joins.h"

namespace sluice::sql {

// What a node's output stream carries (stream/operator.h, "Changelogs").
enum class changelog_mode {
  append,   // inserts only
  upsert,   // upserts and deletes by key
  retract,  // inserts and retractions of whole rows
};
const char* mode_name(changelog_mode m);

struct logical_column {
  std::string name;
  std::string qualifier;  // the table or alias it comes from (empty once computed)
  stream::type_ptr type;
};

struct logical_node;
using logical_ptr = std::shared_ptr<logical_node>;

struct logical_node {
  enum class kind {
    scan,              // a stream or table's topic (source), or a view's rows (snapshot)
    filter,            // WHERE, HAVING
    project,           // the SELECT list
    window_assign,     // TUMBLE/HOP: window_start, window_end appended (a copy per window)
    window_aggregate,  // GROUP BY a window: one row per window and key when it closes
    aggregate,         // GROUP BY without a window: an upsert per changed group
    top_n,             // Window Top-N, or Top-N per key (an upsert per changed rank)
    join,              // regular, interval, window or temporal join of inputs[0] and [1]
    union_all,         // every input's rows
    over,              // OVER aggregates appended to each row
  };
  enum class join_kind { regular, interval, window, temporal, lookup };

  kind k = kind::scan;
  std::vector<logical_ptr> inputs;
  std::vector<logical_column> columns;  // the output
  changelog_mode mode = changelog_mode::append;
  std::vector<std::string> key_names;  // the unique key of upsert/retract output, if known
  bool has_key = false;                // elements carry a key (upsert, keyed retractions)
  int time_column = -1;                // the event-time column of the output (-1: none)
  bool windowed = false;               // rows belong to event-time windows
  int window_start_column = -1, window_end_column = -1;  // when windowed, if still there

  // scan
  stream::source_spec source;               // topic empty for a view
  std::string view;                         // the view a snapshot SELECT reads
  std::string name;                         // stream, table or view name
  std::shared_ptr<std::vector<bool>> used;  // source columns read (projection pushdown)
  // filter
  stream::expression_ptr predicate;
  // project
  std::vector<stream::expression_ptr> exprs;
  // window_assign, window_aggregate; carried downstream while the rows stay windowed
  stream::window_spec window;
  // window_aggregate, aggregate
  std::vector<stream::expression_ptr> group_keys;
  std::vector<stream::agg_spec> aggs;
  // top_n
  stream::top_n_spec top_n;
  // over
  stream::over_spec over;
  // join
  join_kind join = join_kind::regular;
  stream::join_spec join_spec;
  stream::bounded_join_spec bounded;  // interval and window joins
  std::string condition;              // the ON condition's text, for EXPLAIN

  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& c : columns)
      n.push_back(c.name);
    return n;
  }
};

// The plan as an indented tree, one node a line, each with its changelog mode.
std::string explain(const logical_node& root);

}  // namespace sluice::sql
