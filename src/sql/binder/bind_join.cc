// Joins: the ON condition split into equality keys, conditions pushed into one side, time
// bounds (interval joins) and a residual; the join kind chosen from the inputs:
//   temporal / lookup  the right side is `t FOR SYSTEM_TIME AS OF ...` (a table);
//   window join        both inputs windowed, keys include window_start and window_end;
//   interval join      both inputs append-only with event time, the condition bounds each
//                      side's time by the other's columns;
//   regular join       anything else with at least one equality key.

#include <algorithm>

#include "base/strings.h"
#include "sql/binder/binder.h"
#include "sql/error.h"

namespace sluice::sql::binder {

namespace {

constexpr int k_left = 1, k_right = 2;

// Which sides the expression reads (k_left | k_right).
int sides_of(const expr& e, const scope& both, size_t left_width) {
  if (e.k == expr::kind::column) {
    int i = both.find(e.name, e.qualifier, e.loc);
    if (i < 0 && !e.qualifier.empty()) i = both.find(e.qualifier, "", e.loc);  // column.field
    if (i < 0) return 0;  // bind_expression reports it
    return static_cast<size_t>(i) < left_width ? k_left : k_right;
  }
  int m = 0;
  for (const auto& a : e.args)
    if (a) m |= sides_of(*a, both, left_width);
  return m;
}

// A column of one side plus a constant: `c`, `c + INTERVAL ..`, `c - INTERVAL ..`.
struct column_ref {
  int side = 0;     // k_left or k_right
  int column = -1;  // in that side's row
  int64_t offset = 0;
};

std::optional<column_ref> as_column_ref(const expr& e, const scope& both, size_t left_width) {
  if (e.k == expr::kind::column) {
    int i = both.find(e.name, e.qualifier, e.loc);
    if (i < 0 || both.cols[static_cast<size_t>(i)].type->id != stream::type_id::timestamp)
      return std::nullopt;
    if (static_cast<size_t>(i) < left_width) return column_ref{k_left, i, 0};
    return column_ref{k_right, i - static_cast<int>(left_width), 0};
  }
  if (e.k == expr::kind::binary && (e.op == "+" || e.op == "-") &&
      e.args[1]->k == expr::kind::interval) {
    auto t = as_column_ref(*e.args[0], both, left_width);
    if (t) t->offset += e.op == "+" ? e.args[1]->interval_ms : -e.args[1]->interval_ms;
    return t;
  }
  return std::nullopt;
}

// Upper bounds on each side's event time in terms of the other side's columns: a row of
// side S can only meet rows of the other side whose time is at most its column + offset, so
// once the watermark passes that (the row's expiry) it can meet no new row.
struct time_bounds {
  int time[2] = {-1, -1};               // each side's event-time column
  std::optional<column_ref> expiry[2];  // per side: the column (of that side) + offset
  // a OP b, with a and b on different sides.
  void add(const column_ref& a, const std::string& op, const column_ref& b) {
    if (a.side == b.side) return;
    // Normalize to x <= y + c (x strictly below: c - 1).
    const column_ref* x = &a;
    const column_ref* y = &b;
    if (op == ">=" || op == ">") std::swap(x, y);
    int64_t c = y->offset - x->offset - (op == "<" || op == ">" ? 1 : 0);
    int xs = x->side == k_left ? 0 : 1;
    if (x->column != time[xs]) return;  // bounds only an event time helps
    int ys = 1 - xs;
    // y's row meets x rows with time <= y.col + c: it expires after that.
    if (!expiry[ys]) expiry[ys] = column_ref{y->side, y->column, c + 1};
  }
};

void find_bounds(const expr& c, const scope& both, size_t lw, time_bounds& tb) {
  auto ref = [&](const expr& e) { return as_column_ref(e, both, lw); };
  if (c.k == expr::kind::between && !c.negated) {
    auto x = ref(*c.args[0]), lo = ref(*c.args[1]), hi = ref(*c.args[2]);
    if (x && lo) tb.add(*x, ">=", *lo);
    if (x && hi) tb.add(*x, "<=", *hi);
    return;
  }
  if (c.k == expr::kind::binary && (c.op == "<" || c.op == "<=" || c.op == ">" || c.op == ">=")) {
    auto a = ref(*c.args[0]), b = ref(*c.args[1]);
    if (a && b) tb.add(*a, c.op, *b);
  }
}

stream::join_type join_type_of(const std::string& j) {
  if (j == "LEFT") return stream::join_type::left;
  if (j == "RIGHT") return stream::join_type::right;
  if (j == "FULL") return stream::join_type::full;
  return stream::join_type::inner;
}

expr_ptr ast(expr::kind k, location loc) {
  auto e = std::make_shared<expr>();
  e->k = k;
  e->loc = loc;
  return e;
}

// Azure Stream Analytics' DATEDIFF(unit, a, b) BETWEEN lo AND hi, where a and b name the two
// sides: b's event time minus a's, in units, within [lo, hi]. Rewritten as the bound it is,
// b.t BETWEEN a.t + lo AND a.t + hi, on the sides' event-time columns; other conjuncts as
// they are.
expr_ptr rewrite_datediff(const expr_ptr& c, const bound& l, const bound& r) {
  if (c->k != expr::kind::between || c->negated) return c;
  const auto& d = *c->args[0];
  if (d.k != expr::kind::function || d.name != "DATEDIFF" || d.args.size() != 3 ||
      d.args[1]->k != expr::kind::column || d.args[2]->k != expr::kind::column ||
      !d.args[1]->qualifier.empty() || !d.args[2]->qualifier.empty())
    return c;
  auto side_of = [&](const std::string& alias) -> const bound* {
    for (const bound* b : {&l, &r})
      if (!b->sc.cols.empty() && iequals(b->sc.cols.front().qualifier, alias)) return b;
    return nullptr;
  };
  const bound* a = side_of(d.args[1]->name);
  const bound* b = side_of(d.args[2]->name);
  if (!a || !b || a == b) return c;  // not the two sides' names: an ordinary DATEDIFF
  for (const bound* x : {a, b})
    if (x->node->time_column < 0)
      throw sql_error(d.loc, "DATEDIFF over '" + x->sc.cols.front().qualifier +
                                 "' needs its event time (a stream with a timestamp)");
  int64_t unit = asa_unit(*d.args[0]);
  auto time_of = [&](const bound& x) {
    const auto& col = x.sc.cols[static_cast<size_t>(x.node->time_column)];
    auto e = ast(expr::kind::column, d.loc);
    e->qualifier = col.qualifier;
    e->name = col.name;
    return e;
  };
  auto bound_of = [&](const expr& n) {
    int64_t v = 0;
    if (n.k == expr::kind::literal && n.lit.k == stream::value::kind::integer)
      v = n.lit.i;
    else if (n.k == expr::kind::unary && n.op == "-" && n.args[0]->k == expr::kind::literal &&
             n.args[0]->lit.k == stream::value::kind::integer)
      v = -n.args[0]->lit.i;
    else
      throw sql_error(n.loc, "DATEDIFF between two streams is bounded by integer constants");
    auto sum = ast(expr::kind::binary, n.loc);
    sum->op = "+";
    auto iv = ast(expr::kind::interval, n.loc);
    iv->interval_ms = interval_times(v, unit, n.loc);
    sum->args = {time_of(*a), iv};
    return sum;
  };
  auto out = ast(expr::kind::between, c->loc);
  out->args = {time_of(*b), bound_of(*c->args[1]), bound_of(*c->args[2])};
  return out;
}

void push_filter(bound& side, const std::vector<expr_ptr>& preds) {
  if (preds.empty()) return;
  auto p = bind_expression(*conjunction(preds), side.sc);
  auto n = make_node(logical_node::kind::filter, side.node);
  n->predicate = p;
  side.node = n;
}

// FOR SYSTEM_TIME AS OF: the stream's event time (temporal join) or PROCTIME() (lookup
// join), on the table's primary key.
void bind_temporal(const expr& as_of, const table_ref& t, const bound& l, const bound& r,
                   const std::vector<std::pair<expr_ptr, expr_ptr>>& equal, logical_node& n) {
  auto type = n.join_spec.type;
  if (type != stream::join_type::inner && type != stream::join_type::left)
    throw sql_error(t.loc, "a temporal join is INNER or LEFT");
  if (l.node->mode != changelog_mode::append)
    throw sql_error(t.loc, "a temporal join's left side must be a stream (append-only)");
  if (r.node->mode != changelog_mode::upsert || r.node->key_names.empty())
    throw sql_error(t.right->loc,
                    "FOR SYSTEM_TIME AS OF needs a TABLE (versioned by its primary key)");
  if (as_of.k == expr::kind::function && as_of.name == "PROCTIME" && as_of.args.empty()) {
    n.join = logical_node::join_kind::lookup;
  } else {
    int c = as_of.k == expr::kind::column ? l.sc.find(as_of.name, as_of.qualifier, as_of.loc) : -1;
    if (c < 0 || c != l.node->time_column)
      throw sql_error(as_of.loc,
                      "FOR SYSTEM_TIME AS OF takes the left stream's event-time column, or "
                      "PROCTIME() for the table's current row");
    n.join = logical_node::join_kind::temporal;
  }
  // The equality must cover the table's primary key: each stream row meets one table row.
  std::vector<std::string> keyed;
  for (const auto& [a, b] : equal)
    if (b->k == expr::kind::column) keyed.push_back(ascii_lower(b->name));
  for (const auto& k : r.node->key_names)
    if (std::find(keyed.begin(), keyed.end(), ascii_lower(k)) == keyed.end())
      throw sql_error(t.right->loc,
                      "a temporal join needs an equality on the table's primary "
                      "key column '" +
                          k + "'");
  if (equal.size() != r.node->key_names.size())
    throw sql_error(t.right->loc, "a temporal join's equalities are the table's primary key");
  // A table's delete names its key in column order: look versions up in the same order.
  auto& js = n.join_spec;
  std::vector<size_t> order(js.right_keys.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return js.right_keys[a]->column_index() < js.right_keys[b]->column_index();
  });
  std::vector<stream::expression_ptr> lk, rk;
  for (size_t i : order) {
    lk.push_back(js.left_keys[i]);
    rk.push_back(js.right_keys[i]);
  }
  js.left_keys = std::move(lk);
  js.right_keys = std::move(rk);
}

}  // namespace

bound binder::bind_join(const table_ref& t, const rank_limit*, expr_ptr condition) {
  bound l = bind_from(*t.left, nullptr);
  bound r = bind_from(*t.right, nullptr);
  materialize_window(l);
  materialize_window(r);
  if (!l.node->view.empty() || !r.node->view.empty())
    throw sql_error(t.loc, "a view cannot be joined yet; join the streams and tables it reads");
  if (t.left->k == table_ref::kind::named && t.left->as_of)
    throw sql_error(t.left->loc, "FOR SYSTEM_TIME AS OF belongs to the right side of a join");
  auto type = join_type_of(t.join);
  size_t lw = l.sc.cols.size();
  scope both;
  both.cols = l.sc.cols;
  both.cols.insert(both.cols.end(), r.sc.cols.begin(), r.sc.cols.end());
  if (!condition)
    throw sql_error(t.loc,
                    "a join needs a condition: ON, or for FROM a, b a WHERE that "
                    "relates the two");

  // Split the condition.
  std::vector<expr_ptr> left_only, right_only, residual;
  std::vector<std::pair<expr_ptr, expr_ptr>> equal;  // (left side, right side)
  bool push_left = type == stream::join_type::inner || type == stream::join_type::right;
  bool push_right = type == stream::join_type::inner || type == stream::join_type::left;
  for (const auto& original : conjuncts(condition)) {
    auto c = rewrite_datediff(original, l, r);
    if (contains_aggregate(*c)) throw sql_error(c->loc, "aggregates are not allowed in a join");
    int m = sides_of(*c, both, lw);
    // An equality whose operands read one side each, in either order.
    int a = c->k == expr::kind::binary && c->op == "=" ? sides_of(*c->args[0], both, lw) : 0;
    int b = a ? sides_of(*c->args[1], both, lw) : 0;
    if (m == k_left && push_left) {
      left_only.push_back(c);
    } else if (m == k_right && push_right) {
      right_only.push_back(c);
    } else if ((a == k_left && b == k_right) || (a == k_right && b == k_left)) {
      bool swap = a == k_right;
      equal.emplace_back(swap ? c->args[1] : c->args[0], swap ? c->args[0] : c->args[1]);
    } else {
      residual.push_back(c);
    }
  }
  // Time bounds are read before pushing down, on the sides' event-time columns.
  time_bounds tb;
  tb.time[0] = l.node->time_column;
  tb.time[1] = r.node->time_column;
  for (const auto& c : residual)
    find_bounds(*c, both, lw, tb);

  auto n = std::make_shared<logical_node>();
  n->k = logical_node::kind::join;
  n->condition = condition->to_string();
  auto& js = n->join_spec;
  js.type = type;
  for (const auto& [a, b] : equal) {
    auto ka = bind_expression(*a, l.sc), kb = bind_expression(*b, r.sc);
    unify_join_keys(ka, kb, a->loc);
    js.left_keys.push_back(ka);
    js.right_keys.push_back(kb);
  }
  if (!residual.empty()) js.residual = bind_expression(*conjunction(residual), both);
  push_filter(l, left_only);
  push_filter(r, right_only);
  js.left_width = lw;
  js.right_width = r.sc.cols.size();
  js.names = both.names();

  // The kind of join.
  bool appends = l.node->mode == changelog_mode::append && r.node->mode == changelog_mode::append;
  int lws = l.node->window_start_column, lwe = l.node->window_end_column;
  int rws = r.node->window_start_column, rwe = r.node->window_end_column;
  bool same_start = false, same_end = false;
  for (size_t i = 0; i < equal.size(); ++i) {
    int a = js.left_keys[i]->column_index(), b = js.right_keys[i]->column_index();
    same_start |= a >= 0 && a == lws && b >= 0 && b == rws;
    same_end |= a >= 0 && a == lwe && b >= 0 && b == rwe;
  }
  const expr* as_of = t.right->k == table_ref::kind::named ? t.right->as_of.get() : nullptr;
  if (as_of) {
    bind_temporal(*as_of, t, l, r, equal, *n);
  } else if (appends && l.node->windowed && r.node->windowed && same_start && same_end) {
    n->join = logical_node::join_kind::window;
    n->bounded.what = "WindowJoin";
    n->bounded.left_expiry_column = lwe;
    n->bounded.right_expiry_column = rwe;
  } else if (appends && tb.expiry[0] && tb.expiry[1]) {
    n->join = logical_node::join_kind::interval;
    n->bounded.what = "IntervalJoin";
    n->bounded.left_expiry_column = tb.expiry[0]->column;
    n->bounded.left_offset_ms = tb.expiry[0]->offset;
    n->bounded.right_expiry_column = tb.expiry[1]->column;
    n->bounded.right_offset_ms = tb.expiry[1]->offset;
  } else if (equal.empty()) {
    throw sql_error(condition->loc,
                    "a join needs an equality between the two sides (a.x = b.y), a time bound "
                    "between two streams (b.ts BETWEEN a.ts AND a.ts + INTERVAL ..), or "
                    "windows joined on window_start and window_end");
  }
  if (n->join != logical_node::join_kind::regular && equal.empty())
    throw sql_error(condition->loc, "a time-bounded join needs an equality key as well");

  n->inputs = {l.node, r.node};
  n->columns = both.logical();
  if (n->join == logical_node::join_kind::temporal || n->join == logical_node::join_kind::lookup) {
    n->mode = changelog_mode::append;
    n->time_column = l.node->time_column;
    n->windowed = l.node->windowed;
    n->window_start_column = l.node->window_start_column;
    n->window_end_column = l.node->window_end_column;
  } else if (n->join == logical_node::join_kind::regular) {
    n->mode = appends && type == stream::join_type::inner ? changelog_mode::append
                                                          : changelog_mode::retract;
    n->time_column = -1;
  } else {
    n->mode = changelog_mode::append;
    n->time_column = l.node->time_column;
    n->windowed = n->join == logical_node::join_kind::window;
    if (n->windowed) {
      n->window_start_column = lws;
      n->window_end_column = lwe;
    }
  }
  if (n->mode == changelog_mode::retract) {
    n->has_key = true;
    if (l.node->has_key && r.node->has_key) {
      js.output_key = stream::join_spec::key_mode::both_keys;
      n->key_names = l.node->key_names;
      n->key_names.insert(n->key_names.end(), r.node->key_names.begin(), r.node->key_names.end());
    } else {
      // The whole joined row is the key: named after its columns, qualified so that the
      // names of a sink's record keys stay apart (a.k and b.k).
      js.output_key = stream::join_spec::key_mode::whole_row;
      for (const auto& c : both.cols)
        n->key_names.push_back(c.qualifier.empty() ? c.name : c.qualifier + "." + c.name);
    }
  }
  n->bounded.join = js;
  bound out;
  out.node = n;
  out.sc = both;
  return out;
}

}  // namespace sluice::sql::binder
