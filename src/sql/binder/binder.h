#pragma once
// The binder: resolves a SELECT's names and types against the catalog and builds its logical
// plan (sql/plan/logical_plan.h). Private to src/sql; planner.h is the public entry point.
// Every error is a sql_error at the position of the offending text.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/ast.h"
#include "sql/plan/logical_plan.h"
#include "sql/planner.h"

namespace sluice::sql::binder {

// A column visible to an expression, and the source column it reads (for projection
// pushdown: a source column nothing reads is not decoded).
struct column_info {
  std::string name;
  std::string qualifier;
  stream::type_ptr type;
  std::shared_ptr<std::vector<bool>> used;
  int source_index = -1;
  void mark() const {
    if (used) (*used)[static_cast<size_t>(source_index)] = true;
  }
};

struct scope {
  std::vector<column_info> cols;
  std::vector<std::string> names() const;
  // Index of the column, -1 when absent; throws for an ambiguous name.
  int find(const std::string& name, const std::string& qualifier, location loc) const;
  std::vector<logical_column> logical() const;
};

// Binds an expression to the scope; `hook` may bind a sub-expression itself (aggregates and
// group keys after GROUP BY) by returning non-null.
using hook = std::function<stream::expression_ptr(const expr&)>;
stream::expression_ptr bind_expression(const expr& e, const scope& sc, const hook& h = nullptr);

// Whether values of the two types compare: the same type, two numbers, or a NULL literal.
bool comparable(const stream::data_type& a, const stream::data_type& b);
// The keys of an equality join a = b: refused at `loc` when they do not compare; numbers of
// different types are compared as DOUBLE (join state hashes keys by value kind).
void unify_join_keys(stream::expression_ptr& a, stream::expression_ptr& b, location loc);

bool contains_aggregate(const expr& e);
bool contains_over(const expr& e);
std::vector<expr_ptr> conjuncts(const expr_ptr& e);
expr_ptr conjunction(const std::vector<expr_ptr>& parts);

// A TUMBLE/HOP/SESSION table function (or an ASA window in GROUP BY) not applied yet.
struct pending_window {
  bool active = false;
  stream::window_spec spec;
  location loc;
};
// An Azure Stream Analytics time unit (second, minute, ...) in milliseconds.
int64_t asa_unit(const expr& e);
// GROUP BY TUMBLINGWINDOW | HOPPINGWINDOW | SESSIONWINDOW of Azure Stream Analytics.
std::optional<pending_window> asa_window(const expr& e);
// TABLE(TUMBLE|HOP|SESSION(TABLE t, DESCRIPTOR(c), ...)): the window of the table function.
pending_window table_function_window(const table_ref& t, int time_column);

// A bound relation: its plan so far and the names visible over it.
struct bound {
  logical_ptr node;
  scope sc;
  pending_window window;  // from a window table function not applied yet
};

// Window Top-N's rank limit, found in an outer WHERE for the subquery that ranks.
struct rank_limit {
  std::string column;  // alias of the ROW_NUMBER()/RANK() item
  int64_t n = 0;
};

class binder {
 public:
  explicit binder(const name_lookup& names) : names_(names) {}
  bound bind_select(const select_stmt& s, const rank_limit* lim);
  // `where`: the WHERE over an inner or comma join (FROM a, b WHERE ...), which becomes part
  // of its condition.
  bound bind_from(const table_ref& t, const rank_limit* lim, expr_ptr where = nullptr);

 private:
  bound bind_named(const std::string& name, const std::string& alias, location loc);
  bound bind_join(const table_ref& t, const rank_limit* lim, expr_ptr condition);
  bound bind_union(const select_stmt& s, const rank_limit* lim);
  void bind_in_select(const expr& c, bound& f);
  void bind_exists(const expr& c, bound& f);
  // A semi (anti) join of `f` with `sub` on left_keys = sub's first columns.
  void semi_join(bound& f, const bound& sub, std::vector<stream::expression_ptr> left_keys,
                 bool anti, const expr& c);
  // Appends the OVER aggregates to `current` (and f's plan); `post` then binds them.
  void bind_over(const std::vector<const expr*>& overs, bound& f, scope& current, hook& post);

  const name_lookup& names_;
};

// Appends window_start/window_end to `b` for a pending TUMBLE/HOP table function.
void materialize_window(bound& b);

// New nodes over `input` (columns, mode, key and time column carried over).
logical_ptr make_node(logical_node::kind k, const logical_ptr& input);

}  // namespace sluice::sql::binder
