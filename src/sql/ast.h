#pragma once
// The syntax tree of sluice SQL, as the parser builds it (names unresolved, types unchecked).
// docs/sql.md describes the language.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stream/value.h"

namespace sluice::sql {

// 1-based position in the statement text.
struct location {
  int line = 1;
  int column = 1;
};

struct expr;
using expr_ptr = std::shared_ptr<expr>;
struct select_stmt;

struct order_item {
  expr_ptr e;
  bool descending = false;
};

struct expr {
  enum class kind {
    literal,    // lit
    interval,   // interval_ms
    column,     // name, optionally qualifier.name
    star,       // * or qualifier.*
    unary,      // op ("-", "NOT"), args[0]
    binary,     // op ("+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR")
    function,   // name(args), distinct for COUNT(DISTINCT x), star_arg for COUNT(*)
    case_when,  // args: [operand or null] then (when, then)... then [else or null]
    cast,       // args[0], cast_type
    in_list,    // args[0] IN (args[1..]); negated
    between,    // args[0] BETWEEN args[1] AND args[2]; negated
    like,       // args[0] LIKE args[1]; negated
    is_null,    // args[0] IS NULL; negated
    field,      // args[0].name
    index,      // args[0][args[1]]
    over,       // name() OVER (PARTITION BY partition ORDER BY order): ROW_NUMBER, RANK
    in_select,  // args[0] IN (subquery); negated
    exists,     // EXISTS (subquery); negated
  };

  kind k = kind::literal;
  location loc;
  std::string op;
  std::string name;
  std::string qualifier;
  std::vector<expr_ptr> args;
  stream::value lit;
  int64_t interval_ms = 0;
  stream::type_ptr cast_type;
  bool negated = false;
  bool distinct = false;
  bool star_arg = false;
  std::vector<expr_ptr> partition;
  std::vector<order_item> order;
  std::shared_ptr<select_stmt> subquery;  // in_select, exists
  // over: the frame. ROWS BETWEEN n PRECEDING (rows) or RANGE BETWEEN INTERVAL PRECEDING (ms)
  // AND CURRENT ROW; -1: UNBOUNDED PRECEDING (also when no frame is given).
  bool frame_rows = false;
  int64_t frame_preceding = -1;

  // SQL text of the expression, used for default column names and messages.
  std::string to_string() const;
};

struct select_item {
  expr_ptr e;
  std::string alias;
};

struct table_ref {
  enum class kind { named, subquery, window_function, join };
  kind k = kind::named;
  location loc;
  std::string name;   // named source
  std::string alias;  // AS alias
  std::shared_ptr<select_stmt> subquery;
  // TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE input, DESCRIPTOR(col), INTERVAL ...)):
  std::string window;  // "TUMBLE", "HOP", "SESSION"
  std::shared_ptr<table_ref> input;
  std::string descriptor;
  std::vector<int64_t> intervals;  // TUMBLE: size; HOP: slide, size; SESSION: gap
  std::vector<expr_ptr> session_partition;
  std::string timestamp_by;  // Azure Stream Analytics: FROM s TIMESTAMP BY col
  expr_ptr as_of;            // t FOR SYSTEM_TIME AS OF expr (a temporal join's table)
  // left JOIN right ON on; join: INNER, LEFT, RIGHT, FULL, or CROSS (a comma: FROM a, b)
  std::string join;
  std::shared_ptr<table_ref> left, right;
  expr_ptr on;
};

struct select_stmt {
  location loc;
  bool distinct = false;
  std::vector<select_item> items;
  std::string into;  // Azure Stream Analytics: SELECT ... INTO out FROM ...
  location into_loc;
  std::shared_ptr<table_ref> from;
  expr_ptr where;
  std::vector<expr_ptr> group_by;
  expr_ptr having;
  std::vector<order_item> order_by;
  std::optional<int64_t> limit;
  bool emit_changes = false;
  // SELECT ... UNION [ALL | DISTINCT] <union_all>; every link of a chain is of one kind.
  std::shared_ptr<select_stmt> union_all;
  bool union_distinct = false;  // UNION (DISTINCT): the rows of every SELECT, each once
};

struct column_def {
  std::string name;
  stream::type_ptr type;
  location loc;
};

// WITH (key = 'value', ...): keys lower-cased.
using properties = std::map<std::string, std::string>;

struct create_source_stmt {
  bool is_table = false;  // CREATE TABLE (upserts by primary key) or CREATE STREAM
  bool if_not_exists = false;
  std::string name;
  std::vector<column_def> columns;
  std::vector<std::string> primary_key;
  properties with;
};

struct create_view_stmt {
  bool if_not_exists = false;
  std::string name;
  std::shared_ptr<select_stmt> query;
  properties with;
};

struct create_sink_stmt {
  bool if_not_exists = false;
  std::string name;
  std::string topic;  // INTO TOPIC 'name'
  std::shared_ptr<select_stmt> query;
  properties with;
};

// CREATE SOURCE CONNECTOR name WITH (...) | CREATE SINK CONNECTOR name FROM x WITH (...)
struct create_connector_stmt {
  bool source = true;
  bool if_not_exists = false;
  std::string name;
  std::string from;  // a sink's stream, table or view
  location from_loc;
  properties with;
};

struct insert_stmt {
  std::string target;  // a declared stream
  location target_loc;
  std::shared_ptr<select_stmt> query;
};

struct query_stmt {
  std::shared_ptr<select_stmt> query;
};

struct show_stmt {
  std::string what;  // STREAMS, TABLES, VIEWS, SINKS, QUERIES, TOPICS, CONNECTORS
};

struct describe_stmt {
  std::string name;
  location loc;
};

struct drop_stmt {
  std::string what;  // STREAM, TABLE, VIEW, SINK, QUERY, CONNECTOR
  std::string name;
  bool if_exists = false;
  location loc;
};

struct statement;

struct explain_stmt {
  std::shared_ptr<statement> inner;
};

struct statement {
  std::variant<create_source_stmt, create_view_stmt, create_sink_stmt, insert_stmt, query_stmt,
               show_stmt, describe_stmt, drop_stmt, explain_stmt, create_connector_stmt>
      body;
  std::string text;  // the statement's own text, without the trailing ';'
  location loc;
};

}  // namespace sluice::sql
