// SELECT: WHERE, grouping (windowed or not), HAVING, Window Top-N and the SELECT list, over
// what FROM bound.

#include <unordered_map>

#include "base/strings.h"
#include "sql/binder/binder.h"
#include "sql/error.h"

namespace sluice::sql::binder {

using stream::data_type;
using stream::expression_ptr;
using stream::type_id;

namespace {

std::string output_name(const select_item& it) {
  if (!it.alias.empty()) return it.alias;
  const auto& e = *it.e;
  if (e.k == expr::kind::column) return e.name;
  if (e.k == expr::kind::field) return e.name;
  if (e.k == expr::kind::function && e.name == "SYSTEM.TIMESTAMP") return "window_end";
  return e.to_string();
}

bool is_ranking(const expr& e) {
  return e.k == expr::kind::over && (e.name == "ROW_NUMBER" || e.name == "RANK");
}

void collect_over(const expr& e, std::vector<const expr*>& out) {
  if (e.k == expr::kind::over && !is_ranking(e)) {
    out.push_back(&e);
    return;
  }
  for (const auto& a : e.args)
    if (a) collect_over(*a, out);
}

// Finds `rank_alias <= N` (or < N, = 1) among the outer WHERE's conjuncts, removing it.
std::optional<rank_limit> take_rank_filter(const select_stmt& outer, expr_ptr& where) {
  if (!outer.from || outer.from->k != table_ref::kind::subquery) return std::nullopt;
  std::vector<std::string> aliases;
  for (const auto& it : outer.from->subquery->items)
    if (is_ranking(*it.e)) aliases.push_back(it.alias.empty() ? it.e->name : it.alias);
  if (aliases.empty()) return std::nullopt;
  std::optional<rank_limit> found;
  std::vector<expr_ptr> rest;
  for (auto& c : conjuncts(where)) {
    if (!found && c->k == expr::kind::binary && (c->op == "<=" || c->op == "<" || c->op == "=") &&
        c->args[0]->k == expr::kind::column && c->args[1]->k == expr::kind::literal &&
        c->args[1]->lit.k == stream::value::kind::integer) {
      for (const auto& a : aliases)
        if (iequals(a, c->args[0]->name)) {
          int64_t n = c->args[1]->lit.i - (c->op == "<" ? 1 : 0);
          if (c->op == "=" && n != 1) break;
          if (n < 1) throw sql_error(c->loc, "the rank limit must be at least 1");
          found = rank_limit{a, n};
        }
      if (found) continue;
    }
    rest.push_back(c);
  }
  if (!found) return std::nullopt;
  where = conjunction(rest);
  return found;
}

// The aggregate calls of a SELECT: one slot per distinct call (the same text is the same
// call), and the slot of every occurrence, which the select list and HAVING are bound to.
struct aggregate_calls {
  std::vector<const expr*> distinct;
  std::unordered_map<const expr*, size_t> slot;

  void collect(const expr& e) {
    if (e.k == expr::kind::function && stream::is_aggregate_function(e.name)) {
      auto text = e.to_string();
      size_t i = 0;
      while (i < distinct.size() && distinct[i]->to_string() != text)
        ++i;
      if (i == distinct.size()) distinct.push_back(&e);
      slot[&e] = i;
      return;
    }
    for (const auto& a : e.args)
      if (a) collect(*a);
  }
};

bool reads_view(const logical_node& n) {
  if (n.k == logical_node::kind::scan) return !n.view.empty();
  for (const auto& in : n.inputs)
    if (reads_view(*in)) return true;
  return false;
}

// The grouping of a SELECT: its window (if any) and its keys.
struct grouping {
  std::vector<expr_ptr> keys;
  pending_window window;
  bool grouped = false;
  // Group keys that name the input's window_start / window_end (an aggregation over windowed
  // rows keeps their windows): the output's columns 0 and 1.
  std::vector<std::pair<expr_ptr, int>> window_keys;
};

grouping find_grouping(const select_stmt& s, bound& f) {
  grouping g;
  bool tvf_grouped = false;
  for (const auto& k : s.group_by) {
    if (auto w = asa_window(*k)) {
      if (g.window.active) throw sql_error(k->loc, "only one window per GROUP BY");
      g.window = *w;
      g.window.spec.time_column = f.node->time_column;
      continue;
    }
    g.keys.push_back(k);
  }
  bool has_aggregates = s.having != nullptr;
  for (const auto& it : s.items)
    has_aggregates |= contains_aggregate(*it.e);
  g.grouped = has_aggregates || !s.group_by.empty();

  if (f.window.active && g.grouped && !g.window.active) {
    // Flink's windowing TVF + GROUP BY window_start, window_end.
    bool has_start = false, has_end = false;
    std::vector<expr_ptr> rest;
    for (const auto& k : g.keys) {
      if (k->k == expr::kind::column && iequals(k->name, "window_start")) {
        has_start = true;
      } else if (k->k == expr::kind::column && iequals(k->name, "window_end")) {
        has_end = true;
      } else {
        rest.push_back(k);
      }
    }
    if (!has_start || !has_end)
      throw sql_error(s.loc,
                      "an aggregation over a window table function must GROUP BY "
                      "window_start, window_end");
    g.keys = rest;
    g.window = f.window;
    f.window.active = false;
    tvf_grouped = true;
  }
  if (!tvf_grouped) materialize_window(f);
  if (!g.window.active && g.grouped && f.node->windowed && f.node->window_start_column >= 0 &&
      f.node->window_end_column >= 0 && f.node->mode == changelog_mode::append) {
    // GROUP BY the window columns of windowed rows: aggregate per window again.
    std::vector<expr_ptr> rest;
    for (const auto& k : g.keys) {
      int c = k->k == expr::kind::column ? bind_expression(*k, f.sc)->column_index() : -1;
      if (c >= 0 && c == f.node->window_start_column)
        g.window_keys.emplace_back(k, 0);
      else if (c >= 0 && c == f.node->window_end_column)
        g.window_keys.emplace_back(k, 1);
      else
        rest.push_back(k);
    }
    if (g.window_keys.size() == 2) {
      g.keys = rest;
      g.window.active = true;
      g.window.loc = s.loc;
      g.window.spec = f.node->window;
      g.window.spec.start_column = f.node->window_start_column;
      g.window.spec.time_column = f.node->time_column;  // of this input (or its ts)
    } else {
      g.window_keys.clear();
    }
  }
  if (g.window.active && f.node->mode != changelog_mode::append)
    throw sql_error(g.window.loc,
                    "windows need an append-only input (a stream), not a table "
                    "or an updating result");
  if (g.window.active && g.window.spec.k != stream::window_spec::kind::session &&
      g.window.spec.slide_ms > g.window.spec.size_ms)
    throw sql_error(g.window.loc, "the hop must not be larger than the window");
  return g;
}

// SELECT DISTINCT and UNION: a GROUP BY of every column of `sc`, without aggregates.
logical_ptr distinct_rows(const logical_ptr& input, const scope& sc) {
  auto d = make_node(logical_node::kind::aggregate, input);
  for (size_t i = 0; i < sc.cols.size(); ++i)
    d->group_keys.push_back(stream::make_column(static_cast<int>(i), sc.cols[i].type));
  d->mode = changelog_mode::upsert;
  d->has_key = true;
  d->key_names = sc.names();
  d->windowed = false;
  d->time_column = d->window_start_column = d->window_end_column = -1;
  return d;
}

}  // namespace

bound binder::bind_union(const select_stmt& s, const rank_limit* lim) {
  std::vector<bound> members;
  std::vector<const select_stmt*> stmts;
  for (const select_stmt* m = &s; m; m = m->union_all.get()) {
    select_stmt one = *m;
    one.union_all = nullptr;
    if (one.emit_changes && m->union_all) one.emit_changes = false;
    members.push_back(bind_select(one, lim));
    stmts.push_back(m);
  }
  auto n = std::make_shared<logical_node>();
  n->k = logical_node::kind::union_all;
  const auto& first = members.front();
  const std::string kind = s.union_distinct ? "UNION" : "UNION ALL";
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& b = members[i];
    const select_stmt* m = stmts[i];
    if (b.sc.cols.size() != first.sc.cols.size())
      throw sql_error(m->loc, "each SELECT of a " + kind + " has " +
                                  std::to_string(first.sc.cols.size()) + " columns, this one " +
                                  std::to_string(b.sc.cols.size()));
    for (size_t c = 0; c < b.sc.cols.size(); ++c) {
      auto ta = first.sc.cols[c].type, tb = b.sc.cols[c].type;
      if (!comparable(*ta, *tb))
        throw sql_error(m->loc, "column " + std::to_string(c + 1) + " of the " + kind + " is " +
                                    ta->to_string() + " in the first SELECT and " +
                                    tb->to_string() + " here");
    }
    n->inputs.push_back(b.node);
  }
  n->columns = first.node->columns;
  n->mode = changelog_mode::append;
  n->time_column = first.node->time_column;
  for (const auto& b : members) {
    if (b.node->time_column != n->time_column) n->time_column = -1;
    if (b.node->mode != changelog_mode::append) n->mode = changelog_mode::retract;
  }
  if (n->mode == changelog_mode::retract) {
    // A union of changelogs (tables, aggregates, joins): their rows as inserts and
    // retractions, each keyed by itself (the members' keys may collide).
    n->time_column = -1;
    n->has_key = true;
    n->key_names = first.sc.names();
  }
  bound out;
  out.node = s.union_distinct ? distinct_rows(n, first.sc) : n;
  out.sc = first.sc;
  return out;
}

// x [NOT] IN (SELECT y ...): a semi (anti) join of `f` with the subquery on x = y.
void binder::bind_in_select(const expr& c, bound& f) {
  bound sub = bind_select(*c.subquery, nullptr);
  if (sub.sc.cols.size() != 1)
    throw sql_error(c.loc, "IN (SELECT ...) needs a SELECT of one column, this one has " +
                               std::to_string(sub.sc.cols.size()));
  semi_join(f, sub, {bind_expression(*c.args[0], f.sc)}, c.negated, c);
}

namespace {

// The names a FROM makes visible as qualifiers (aliases, else table names), lower-cased.
void qualifiers_of(const table_ref& t, std::vector<std::string>& out) {
  switch (t.k) {
    case table_ref::kind::join:
      qualifiers_of(*t.left, out);
      qualifiers_of(*t.right, out);
      return;
    case table_ref::kind::window_function:
      if (t.alias.empty() && t.input) {
        qualifiers_of(*t.input, out);
        return;
      }
      break;
    default:
      break;
  }
  out.push_back(ascii_lower(t.alias.empty() ? t.name : t.alias));
}

// Whether `e` refers to columns of the enclosing query (a qualifier the subquery's FROM does
// not have) and to its own (unqualified names are the subquery's, as SQL scoping says).
struct references {
  bool inner = false, outer = false;
};
void find_references(const expr& e, const std::vector<std::string>& inner, references& r) {
  if (e.k == expr::kind::column) {
    bool mine = e.qualifier.empty() ||
                std::find(inner.begin(), inner.end(), ascii_lower(e.qualifier)) != inner.end();
    (mine ? r.inner : r.outer) = true;
  }
  for (const auto& a : e.args)
    if (a) find_references(*a, inner, r);
  for (const auto& p : e.partition)
    find_references(*p, inner, r);
  for (const auto& o : e.order)
    find_references(*o.e, inner, r);
}

}  // namespace

// [NOT] EXISTS (SELECT ... FROM t WHERE t.y = outer.x AND ...): a semi (anti) join of `f` with
// the subquery on its correlations (equalities between its columns and the outer query's,
// named with their qualifier); its other conditions filter it first.
void binder::bind_exists(const expr& c, bound& f) {
  const select_stmt& s = *c.subquery;
  if (s.union_all || !s.group_by.empty() || s.having || s.emit_changes)
    throw sql_error(c.loc,
                    "EXISTS takes a plain SELECT ... FROM ... WHERE (no GROUP BY, "
                    "HAVING or UNION)");
  if (s.limit && *s.limit == 0) throw sql_error(c.loc, "EXISTS over LIMIT 0 is never true");
  std::vector<std::string> inner;
  qualifiers_of(*s.from, inner);
  std::vector<expr_ptr> rest;
  std::vector<std::pair<expr_ptr, expr_ptr>> keys;  // (inner, outer)
  for (const auto& part : conjuncts(s.where)) {
    references r;
    find_references(*part, inner, r);
    if (!r.outer) {
      rest.push_back(part);
      continue;
    }
    if (part->k == expr::kind::binary && part->op == "=") {
      references a, b;
      find_references(*part->args[0], inner, a);
      find_references(*part->args[1], inner, b);
      if (!a.outer && b.outer && !b.inner) {
        keys.emplace_back(part->args[0], part->args[1]);
        continue;
      }
      if (a.outer && !a.inner && !b.outer) {
        keys.emplace_back(part->args[1], part->args[0]);
        continue;
      }
    }
    throw sql_error(part->loc,
                    "a subquery may refer to the outer query only in equalities "
                    "(inner = outer, joined by AND): " +
                        part->to_string());
  }
  if (keys.empty())
    throw sql_error(c.loc,
                    "EXISTS needs a correlation with the outer query (WHERE t.y = outer.x, "
                    "naming the outer columns with their table or alias)");
  // The subquery as the semi join's right side: its correlated columns, filtered by the rest.
  select_stmt right = s;
  right.items.clear();
  for (size_t i = 0; i < keys.size(); ++i)
    right.items.push_back({keys[i].first, "exists_key_" + std::to_string(i)});
  right.where = conjunction(rest);
  right.distinct = false;
  right.order_by.clear();
  right.limit.reset();
  bound sub = bind_select(right, nullptr);
  std::vector<stream::expression_ptr> left;
  for (const auto& k : keys)
    left.push_back(bind_expression(*k.second, f.sc));
  semi_join(f, sub, std::move(left), c.negated, c);
}

void binder::semi_join(bound& f, const bound& sub, std::vector<stream::expression_ptr> left_keys,
                       bool anti, const expr& c) {
  auto n = std::make_shared<logical_node>();
  n->k = logical_node::kind::join;
  n->condition = c.to_string();
  auto& js = n->join_spec;
  js.type = anti ? stream::join_type::anti : stream::join_type::semi;
  for (size_t i = 0; i < left_keys.size(); ++i) {
    auto kr = stream::make_column(static_cast<int>(i), sub.sc.cols[i].type);
    unify_join_keys(left_keys[i], kr, c.loc);
    js.left_keys.push_back(left_keys[i]);
    js.right_keys.push_back(kr);
  }
  js.left_width = f.sc.cols.size();
  js.right_width = sub.sc.cols.size();
  js.names = f.sc.names();
  for (const auto& col : sub.sc.cols)
    js.names.push_back(col.name);
  n->inputs = {f.node, sub.node};
  n->columns = f.node->columns;
  bool appends = f.node->mode == changelog_mode::append && sub.node->mode == changelog_mode::append;
  // A semi join over append-only inputs only ever adds rows; an anti join takes a row back
  // when its first match comes.
  n->mode = appends && js.type == stream::join_type::semi ? changelog_mode::append
                                                          : changelog_mode::retract;
  if (n->mode == changelog_mode::retract) {
    n->has_key = true;
    if (f.node->has_key) {
      js.output_key = stream::join_spec::key_mode::both_keys;  // the left key
      n->key_names = f.node->key_names;
    } else {
      js.output_key = stream::join_spec::key_mode::whole_row;
      n->key_names = f.sc.names();
    }
  }
  n->time_column = -1;
  f.node = n;
}

void binder::bind_over(const std::vector<const expr*>& overs, bound& f, scope& current,
                       hook& post) {
  const expr& first = *overs.front();
  if (post) throw sql_error(first.loc, "OVER aggregates and GROUP BY belong in separate SELECTs");
  if (f.node->mode != changelog_mode::append || f.node->time_column < 0)
    throw sql_error(first.loc, "OVER aggregates need an append-only input with an event time");
  if (first.order.size() != 1 || first.order[0].descending ||
      bind_expression(*first.order[0].e, current)->column_index() != f.node->time_column)
    throw sql_error(first.loc, "OVER aggregates need ORDER BY the event-time column '" +
                                   current.cols[static_cast<size_t>(f.node->time_column)].name +
                                   "' (ascending)");
  stream::over_spec spec;
  spec.time_column = f.node->time_column;
  spec.rows = first.frame_rows;
  spec.preceding = first.frame_preceding;
  for (const auto& p : first.partition)
    spec.partition.push_back(bind_expression(*p, current));
  auto window_text = [](const expr& e) {
    auto t = e.to_string();
    return t.substr(t.find(" OVER "));
  };
  for (const auto* o : overs) {
    if (!stream::is_aggregate_function(o->name))
      throw sql_error(o->loc,
                      "OVER takes ROW_NUMBER(), RANK() or an aggregate (COUNT, SUM, "
                      "AVG, MIN, MAX, STDDEV), not " +
                          o->name);
    if (window_text(*o) != window_text(first))
      throw sql_error(o->loc, "every OVER aggregate of a SELECT needs the same window (" +
                                  window_text(first).substr(1) + ")");
    if (o->args.size() > 1) throw sql_error(o->loc, o->name + " takes one argument");
    stream::expression_ptr arg;
    if (!o->star_arg && !o->args.empty()) {
      arg = bind_expression(*o->args[0], current);
    } else if (o->name != "COUNT") {
      throw sql_error(o->loc, o->name + " needs an argument");
    }
    try {
      spec.aggs.push_back(stream::make_aggregate(o->name, arg, o->distinct, o->to_string()));
    } catch (const stream::type_error& x) {
      throw sql_error(o->loc, x.what());
    }
  }
  auto n = make_node(logical_node::kind::over, f.node);
  size_t base = current.cols.size();
  for (size_t i = 0; i < overs.size(); ++i)
    current.cols.push_back({overs[i]->to_string(), "", spec.aggs[i].result});
  n->columns = current.logical();
  n->over = std::move(spec);
  f.node = n;
  f.sc = current;
  post = [overs, base, current](const expr& e) -> stream::expression_ptr {
    for (size_t i = 0; i < overs.size(); ++i)
      if (overs[i] == &e)
        return stream::make_column(static_cast<int>(base + i), current.cols[base + i].type);
    return nullptr;
  };
}

bound binder::bind_select(const select_stmt& s, const rank_limit* lim) {
  if (s.union_all) return bind_union(s, lim);
  expr_ptr where = s.where;
  auto inner_limit = take_rank_filter(s, where);
  // IN (SELECT ...) and EXISTS (SELECT ...) conditions become semi and anti joins.
  std::vector<expr_ptr> in_selects, rest;
  for (auto& c : conjuncts(where))
    (c->k == expr::kind::in_select || c->k == expr::kind::exists ? in_selects : rest).push_back(c);
  where = conjunction(rest);
  bool inner_join = s.from->k == table_ref::kind::join &&
                    (s.from->join == "CROSS" || s.from->join == "INNER") &&
                    !(where && contains_aggregate(*where));
  bound f = bind_from(*s.from, inner_limit ? &*inner_limit : nullptr, inner_join ? where : nullptr);
  if (inner_join) where = nullptr;  // it became the join's condition
  for (const auto& c : in_selects) {
    if (c->k == expr::kind::exists)
      bind_exists(*c, f);
    else
      bind_in_select(*c, f);
  }

  auto g = find_grouping(s, f);
  if (where) {
    if (contains_aggregate(*where))
      throw sql_error(where->loc, "aggregates are not allowed in WHERE (use HAVING)");
    auto pred = bind_expression(*where, f.sc);
    if (pred->type()->id != type_id::boolean && pred->type()->id != type_id::null)
      throw sql_error(where->loc, "WHERE needs a BOOLEAN condition");
    auto n = make_node(logical_node::kind::filter, f.node);
    n->predicate = pred;
    f.node = n;
  }

  scope current = f.sc;  // what the select list is bound against
  hook post;
  std::vector<std::string> key_names;

  if (g.grouped) {
    if (!f.node->view.empty() && g.window.active)
      throw sql_error(s.loc, "a view has no event time to window on");
    aggregate_calls calls;
    for (const auto& it : s.items)
      calls.collect(*it.e);
    if (s.having) calls.collect(*s.having);
    std::vector<stream::agg_spec> aggs;
    for (const auto* a : calls.distinct) {
      if (a->args.size() > 1) throw sql_error(a->loc, a->name + " takes one argument");
      expression_ptr arg;
      if (!a->star_arg && !a->args.empty()) {
        if (contains_aggregate(*a->args[0])) throw sql_error(a->loc, "aggregates cannot be nested");
        arg = bind_expression(*a->args[0], f.sc);
      } else if (a->name != "COUNT") {
        throw sql_error(a->loc, a->name + " needs an argument");
      }
      try {
        aggs.push_back(stream::make_aggregate(a->name, arg, a->distinct, a->to_string()));
      } catch (const stream::type_error& x) {
        throw sql_error(a->loc, x.what());
      }
    }
    std::vector<expression_ptr> keys;
    for (const auto& k : g.keys) {
      if (contains_aggregate(*k)) throw sql_error(k->loc, "aggregates are not allowed in GROUP BY");
      keys.push_back(bind_expression(*k, f.sc));
      key_names.push_back(k->k == expr::kind::column ? k->name : k->to_string());
    }
    // The aggregation's output: [window_start, window_end,] keys..., aggregates...
    scope agg_out;
    size_t base = 0;
    if (g.window.active) {
      agg_out.cols.push_back({"window_start", "", data_type::of(type_id::timestamp)});
      agg_out.cols.push_back({"window_end", "", data_type::of(type_id::timestamp)});
      base = 2;
      key_names.insert(key_names.begin(), {"window_start", "window_end"});
    }
    for (size_t i = 0; i < keys.size(); ++i)
      agg_out.cols.push_back({key_names[base + i], "", keys[i]->type()});
    for (const auto& a : aggs)
      agg_out.cols.push_back({a.text, "", a.result});
    bool windowed = g.window.active;
    auto n = make_node(
        windowed ? logical_node::kind::window_aggregate : logical_node::kind::aggregate, f.node);
    n->group_keys = keys;
    n->aggs = aggs;
    n->columns = agg_out.logical();
    n->time_column = -1;
    n->key_names = key_names;
    if (windowed) {
      n->window = g.window.spec;
      n->mode = changelog_mode::append;
      n->windowed = true;
      n->window_start_column = 0;
      n->window_end_column = 1;
      n->time_column = 1;  // the window's end is its rows' event time
      n->has_key = true;   // (window_start, window_end, keys): each emitted once
    } else {
      n->mode = changelog_mode::upsert;
      n->has_key = true;
      n->windowed = false;
      n->window_start_column = n->window_end_column = -1;
    }
    f.node = n;
    post = [slots = std::move(calls.slot), group_keys = g.keys, base, windowed,
            key_count = keys.size(), agg_out,
            window_keys = g.window_keys](const expr& e) -> expression_ptr {
      if (auto it = slots.find(&e); it != slots.end()) {
        size_t idx = base + key_count + it->second;
        return stream::make_column(static_cast<int>(idx), agg_out.cols[idx].type);
      }
      // Group keys are expressions: a select item is one when it reads the same.
      auto text = e.to_string();
      for (const auto& [k, col] : window_keys)
        if (k->to_string() == text) return stream::make_column(col, agg_out.cols[col].type);
      // A group key by its text first, then a column by its name (`k` for `t.k`), where the
      // qualifiers do not say otherwise (`b.k` is not `a.k`).
      int by_name = -1;
      for (size_t i = 0; i < group_keys.size(); ++i) {
        const auto& g = *group_keys[i];
        if (g.to_string() == text) {
          size_t idx = base + i;
          return stream::make_column(static_cast<int>(idx), agg_out.cols[idx].type);
        }
        if (by_name < 0 && e.k == expr::kind::column && g.k == expr::kind::column &&
            iequals(g.name, e.name) &&
            (e.qualifier.empty() || g.qualifier.empty() || iequals(e.qualifier, g.qualifier)))
          by_name = static_cast<int>(i);
      }
      if (by_name >= 0) {
        size_t idx = base + static_cast<size_t>(by_name);
        return stream::make_column(static_cast<int>(idx), agg_out.cols[idx].type);
      }
      if (windowed) {
        if ((e.k == expr::kind::column && iequals(e.name, "window_start")))
          return stream::make_column(0, data_type::of(type_id::timestamp));
        if ((e.k == expr::kind::column && iequals(e.name, "window_end")) ||
            (e.k == expr::kind::function && e.name == "SYSTEM.TIMESTAMP"))
          return stream::make_column(1, data_type::of(type_id::timestamp));
      }
      if (e.k == expr::kind::column)
        throw sql_error(
            e.loc, "column '" + e.name + "' must be in GROUP BY or inside an aggregate function");
      return nullptr;
    };
    current = agg_out;
    if (s.having) {
      auto pred = bind_expression(*s.having, current, post);
      if (pred->type()->id != type_id::boolean)
        throw sql_error(s.having->loc, "HAVING needs a BOOLEAN condition");
      auto h = make_node(logical_node::kind::filter, f.node);
      h->predicate = pred;
      f.node = h;
    }
  } else if (g.window.active) {
    throw sql_error(g.window.loc, "a window in GROUP BY needs aggregates");
  }

  // OVER aggregates: the input's rows with the aggregates over their frames appended.
  std::vector<const expr*> overs;
  for (const auto& it : s.items)
    collect_over(*it.e, overs);
  for (const auto& it : s.items)
    if (is_ranking(*it.e) == false && contains_over(*it.e) && it.e->k != expr::kind::over) {
      for (const auto& a : it.e->args)
        if (a && a->k == expr::kind::over && is_ranking(*a))
          throw sql_error(a->loc, "ROW_NUMBER()/RANK() must be a column of its own");
    }
  if (!overs.empty()) bind_over(overs, f, current, post);

  // Window Top-N: ROW_NUMBER()/RANK() OVER (PARTITION BY window_start, window_end ORDER BY ..)
  int rank_item = -1;
  for (size_t i = 0; i < s.items.size(); ++i) {
    const auto& e = *s.items[i].e;
    if (e.k != expr::kind::over) continue;
    if (!is_ranking(e)) {
      if (!stream::is_aggregate_function(e.name))
        throw sql_error(e.loc,
                        "OVER takes ROW_NUMBER(), RANK() or an aggregate (COUNT, SUM, "
                        "AVG, MIN, MAX, STDDEV), not " +
                            e.name);
      continue;  // an OVER aggregate, bound above
    }
    if (rank_item >= 0) throw sql_error(e.loc, "only one ROW_NUMBER()/RANK() per SELECT");
    rank_item = static_cast<int>(i);
    std::string alias = s.items[i].alias.empty() ? e.name : s.items[i].alias;
    if (!lim || !iequals(lim->column, alias))
      throw sql_error(e.loc, e.name + "() OVER needs an outer query that keeps " + alias +
                                 " <= N (Window Top-N)");
    stream::top_n_spec spec;
    spec.n = lim->n;
    spec.dense_ties = e.name == "RANK";
    spec.retracting = f.node->mode != changelog_mode::append;
    for (const auto& p : e.partition) {
      auto c = bind_expression(*p, current, post);
      spec.partition.push_back(c);
      if (c->column_index() >= 0 && c->column_index() == f.node->window_end_column)
        spec.window_end_column = c->column_index();
    }
    // Partitioned by window: emitted once per window when it closes. Otherwise an upsert
    // per changed rank (over a changelog too: every row of a partition is then kept).
    bool per_window = spec.window_end_column >= 0;
    if (per_window && spec.retracting)
      throw sql_error(e.loc, "Window Top-N needs an append-only input (a windowed result)");
    if (!per_window && e.partition.empty())
      throw sql_error(e.loc, e.name + "() OVER needs PARTITION BY");
    if (e.order.empty()) throw sql_error(e.loc, e.name + "() OVER needs ORDER BY");
    for (const auto& o : e.order) {
      spec.order.push_back(bind_expression(*o.e, current, post));
      spec.descending.push_back(o.descending);
    }
    auto n = make_node(logical_node::kind::top_n, f.node);
    n->top_n = std::move(spec);
    if (!per_window) n->mode = changelog_mode::upsert;
    current.cols.push_back({alias, "", data_type::of(type_id::int64)});
    n->columns = current.logical();
    key_names.clear();
    for (const auto& p : e.partition)
      key_names.push_back(p->to_string());
    key_names.push_back("row");
    n->key_names = key_names;
    n->has_key = true;
    f.node = n;
  }

  // The SELECT list.
  std::vector<expression_ptr> exprs;
  scope out;
  for (size_t i = 0; i < s.items.size(); ++i) {
    const auto& it = s.items[i];
    if (it.e->k == expr::kind::star) {
      if (g.grouped) throw sql_error(it.e->loc, "'*' cannot be used with GROUP BY");
      bool any = false;
      for (size_t c = 0; c < current.cols.size(); ++c) {
        if (!it.e->qualifier.empty() && !iequals(current.cols[c].qualifier, it.e->qualifier))
          continue;
        if (rank_item >= 0 && c + 1 == current.cols.size()) continue;
        current.cols[c].mark();
        exprs.push_back(stream::make_column(static_cast<int>(c), current.cols[c].type));
        out.cols.push_back({current.cols[c].name, current.cols[c].qualifier, current.cols[c].type});
        any = true;
      }
      if (!any) throw sql_error(it.e->loc, "no columns for " + it.e->to_string());
      continue;
    }
    if (static_cast<int>(i) == rank_item) {
      auto idx = current.cols.size() - 1;
      exprs.push_back(stream::make_column(static_cast<int>(idx), current.cols[idx].type));
      out.cols.push_back({current.cols[idx].name, "", current.cols[idx].type});
      continue;
    }
    auto c = bind_expression(*it.e, current, post);
    exprs.push_back(c);
    std::string q = c->column_index() >= 0
                        ? current.cols[static_cast<size_t>(c->column_index())].qualifier
                        : "";
    out.cols.push_back({output_name(it), q, c->type()});
  }
  // Keep the event-time and window columns known through a projection that passes them on.
  auto passed_on = [&](int column) {
    int out_col = -1;
    for (size_t i = 0; i < exprs.size(); ++i)
      if (column >= 0 && exprs[i]->column_index() == column) out_col = static_cast<int>(i);
    return out_col;
  };
  int time_col = passed_on(f.node->time_column);
  int start_col = passed_on(f.node->window_start_column);
  int end_col = passed_on(f.node->window_end_column);
  bool identity = exprs.size() == current.cols.size();
  for (size_t i = 0; identity && i < exprs.size(); ++i)
    identity = exprs[i]->column_index() == static_cast<int>(i);
  if (!identity) {
    auto n = make_node(logical_node::kind::project, f.node);
    n->exprs = exprs;
    f.node = n;
  }
  f.node->columns = out.logical();
  if (s.distinct && !g.grouped) {
    f.node = distinct_rows(f.node, out);
    time_col = start_col = end_col = -1;
  }
  f.node->time_column = time_col;
  f.node->window_start_column = start_col;
  f.node->window_end_column = end_col;
  if (!key_names.empty()) f.node->key_names = key_names;
  f.sc = out;
  if ((!s.order_by.empty() || s.limit) && !reads_view(*f.node))
    // Only snapshot SELECTs on views sort; the engine applies ORDER BY/LIMIT itself.
    throw sql_error(s.loc,
                    "ORDER BY and LIMIT apply to SELECTs on views, not to continuous queries");
  return f;
}

}  // namespace sluice::sql::binder
