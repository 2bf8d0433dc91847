#include "sql/planner.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <optional>

#include "base/strings.h"
#include "sql/error.h"
#include "sql/parser.h"
#include "stream/aggregate.h"
#include "stream/operators/aggregates.h"

namespace sluice::sql {

namespace {

using stream::data_type;
using stream::expression_ptr;
using stream::type_id;
using stream::type_ptr;

struct column_info {
  std::string name;
  std::string qualifier;
  type_ptr type;
  // A column of the source itself: the query's use of it is marked, so that the decoder skips
  // the JSON fields no one reads.
  std::shared_ptr<std::vector<bool>> used;
  int source_index = -1;
  void mark() const {
    if (used) (*used)[static_cast<size_t>(source_index)] = true;
  }
};

struct scope {
  std::vector<column_info> cols;
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& c : cols)
      n.push_back(c.name);
    return n;
  }
  // Index of the column, -1 when absent; throws for an ambiguous name.
  int find(const std::string& name, const std::string& qualifier, location loc) const {
    int found = -1;
    auto scan = [&](bool exact) {
      for (size_t i = 0; i < cols.size(); ++i) {
        const auto& c = cols[i];
        if (!qualifier.empty() && !iequals(c.qualifier, qualifier)) continue;
        if (exact ? c.name == name : iequals(c.name, name)) {
          if (found >= 0) throw sql_error(loc, "column name '" + name + "' is ambiguous");
          found = static_cast<int>(i);
        }
      }
    };
    scan(true);
    if (found < 0) scan(false);
    return found;
  }
};

// A TUMBLE/HOP/SESSION table function (or an ASA window in GROUP BY) waiting to be applied.
struct pending_window {
  bool active = false;
  stream::window_spec spec;
  location loc;
};

using hook = std::function<expression_ptr(const expr&)>;

[[noreturn]] void rethrow_typed(location loc, const std::exception& e) {
  throw sql_error(loc, e.what());
}

bool contains_aggregate(const expr& e) {
  if (e.k == expr::kind::function && stream::is_aggregate_function(e.name)) return true;
  for (const auto& a : e.args)
    if (a && contains_aggregate(*a)) return true;
  return false;
}

bool contains_over(const expr& e) {
  if (e.k == expr::kind::over) return true;
  for (const auto& a : e.args)
    if (a && contains_over(*a)) return true;
  return false;
}

expression_ptr compile(const expr& e, const scope& sc, const hook& h);

expression_ptr compile_column(const expr& e, const scope& sc) {
  int i = sc.find(e.name, e.qualifier, e.loc);
  if (i >= 0) {
    sc.cols[static_cast<size_t>(i)].mark();
    return stream::make_column(i, sc.cols[static_cast<size_t>(i)].type);
  }
  if (!e.qualifier.empty()) {
    // qualifier.name may be column.field
    int c = sc.find(e.qualifier, "", e.loc);
    if (c >= 0) {
      sc.cols[static_cast<size_t>(c)].mark();
      try {
        return stream::make_field(stream::make_column(c, sc.cols[static_cast<size_t>(c)].type),
                                  e.name);
      } catch (const stream::type_error& x) {
        rethrow_typed(e.loc, x);
      }
    }
    throw sql_error(e.loc, "unknown column '" + e.qualifier + "." + e.name + "'");
  }
  std::string known;
  for (const auto& c : sc.cols)
    known += (known.empty() ? "" : ", ") + c.name;
  throw sql_error(e.loc, "unknown column '" + e.name + "' (columns: " + known + ")");
}

expression_ptr compile(const expr& e, const scope& sc, const hook& h) {
  if (h)
    if (auto r = h(e)) return r;
  auto sub = [&](size_t i) { return compile(*e.args[i], sc, h); };
  try {
    switch (e.k) {
      case expr::kind::literal: {
        type_ptr t;
        switch (e.lit.k) {
          case stream::value::kind::null:
            t = data_type::of(type_id::null);
            break;
          case stream::value::kind::boolean:
            t = data_type::of(type_id::boolean);
            break;
          case stream::value::kind::integer:
            t = data_type::of(type_id::int64);
            break;
          case stream::value::kind::real:
            t = data_type::of(type_id::float64);
            break;
          case stream::value::kind::string:
            t = data_type::of(type_id::varchar);
            break;
          case stream::value::kind::timestamp:
            t = data_type::of(type_id::timestamp);
            break;
          case stream::value::kind::nested:
            t = data_type::of(type_id::null);
            break;
        }
        return stream::make_literal(e.lit, t);
      }
      case expr::kind::interval:
        return stream::make_literal(stream::value::integer(e.interval_ms),
                                    data_type::of(type_id::int64));
      case expr::kind::column:
        return compile_column(e, sc);
      case expr::kind::star:
        throw sql_error(e.loc, "'*' is only allowed in the SELECT list");
      case expr::kind::unary:
        return stream::make_unary(e.op, sub(0));
      case expr::kind::binary:
        return stream::make_binary(e.op, sub(0), sub(1));
      case expr::kind::function: {
        if (stream::is_aggregate_function(e.name))
          throw sql_error(e.loc, "aggregate " + e.name + " is not allowed here");
        if (e.name == "TUMBLINGWINDOW" || e.name == "HOPPINGWINDOW" || e.name == "SESSIONWINDOW")
          throw sql_error(e.loc, e.name + " belongs in GROUP BY");
        if (e.name == "SYSTEM.TIMESTAMP")
          throw sql_error(e.loc, "System.Timestamp() needs a windowed GROUP BY");
        std::vector<expression_ptr> args;
        for (size_t i = 0; i < e.args.size(); ++i)
          args.push_back(sub(i));
        return stream::make_function(e.name, std::move(args));
      }
      case expr::kind::case_when: {
        expression_ptr operand = e.args[0] ? sub(0) : nullptr;
        std::vector<expression_ptr> whens, thens;
        size_t n = e.args.size();
        for (size_t i = 1; i + 1 < n; i += 2) {
          whens.push_back(sub(i));
          thens.push_back(sub(i + 1));
        }
        expression_ptr otherwise = e.args[n - 1] ? sub(n - 1) : nullptr;
        return stream::make_case(std::move(operand), std::move(whens), std::move(thens),
                                 std::move(otherwise));
      }
      case expr::kind::cast:
        return stream::make_cast(sub(0), e.cast_type);
      case expr::kind::in_list: {
        std::vector<expression_ptr> list;
        for (size_t i = 1; i < e.args.size(); ++i)
          list.push_back(sub(i));
        return stream::make_in(sub(0), std::move(list), e.negated);
      }
      case expr::kind::between:
        return stream::make_between(sub(0), sub(1), sub(2), e.negated);
      case expr::kind::like:
        return stream::make_like(sub(0), sub(1), e.negated);
      case expr::kind::is_null:
        return stream::make_is_null(sub(0), e.negated);
      case expr::kind::field:
        return stream::make_field(sub(0), e.name);
      case expr::kind::index:
        return stream::make_index(sub(0), sub(1));
      case expr::kind::over:
        throw sql_error(e.loc, e.name +
                                   "() OVER is supported as Window Top-N: in a subquery whose "
                                   "outer WHERE keeps rank <= N");
    }
  } catch (const stream::type_error& x) {
    rethrow_typed(e.loc, x);
  }
  throw sql_error(e.loc, "unsupported expression");
}

std::string output_name(const select_item& it, size_t index) {
  if (!it.alias.empty()) return it.alias;
  const auto& e = *it.e;
  if (e.k == expr::kind::column) return e.name;
  if (e.k == expr::kind::field) return e.name;
  if (e.k == expr::kind::function && e.name == "SYSTEM.TIMESTAMP") return "window_end";
  (void)index;
  return e.to_string();
}

int64_t asa_unit(const expr& e) {
  if (e.k != expr::kind::column || !e.qualifier.empty())
    throw sql_error(e.loc, "expected a time unit (millisecond, second, minute, hour, day)");
  auto u = ascii_upper(e.name);
  if (u == "MILLISECOND" || u == "MS") return 1;
  if (u == "SECOND" || u == "SS" || u == "S") return 1000;
  if (u == "MINUTE" || u == "MI" || u == "N") return 60'000;
  if (u == "HOUR" || u == "HH") return 3'600'000;
  if (u == "DAY" || u == "DD" || u == "D") return 86'400'000;
  throw sql_error(e.loc, "expected a time unit (millisecond, second, minute, hour, day), found '" +
                             e.name + "'");
}

int64_t positive_int(const expr& e, const char* what) {
  if (e.k != expr::kind::literal || e.lit.k != stream::value::kind::integer || e.lit.i <= 0)
    throw sql_error(e.loc, std::string("expected a positive integer ") + what);
  return e.lit.i;
}

int64_t times(int64_t a, int64_t b, location loc) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) throw sql_error(loc, "interval too large");
  return out;
}

int64_t positive_interval(int64_t ms, location loc) {
  if (ms <= 0) throw sql_error(loc, "a window interval must be positive");
  return ms;
}

// GROUP BY TUMBLINGWINDOW(unit, n) | HOPPINGWINDOW(unit, size, hop) | SESSIONWINDOW(unit,
// timeout, max_duration) of Azure Stream Analytics.
std::optional<pending_window> asa_window(const expr& e) {
  if (e.k != expr::kind::function) return std::nullopt;
  pending_window w;
  w.active = true;
  w.loc = e.loc;
  if (e.name == "TUMBLINGWINDOW" || e.name == "TUMBLING_WINDOW") {
    if (e.args.size() != 2) throw sql_error(e.loc, "TUMBLINGWINDOW(unit, size) takes 2 arguments");
    w.spec.k = stream::window_spec::kind::tumble;
    w.spec.size_ms = times(asa_unit(*e.args[0]), positive_int(*e.args[1], "window size"), e.loc);
    w.spec.slide_ms = w.spec.size_ms;
    return w;
  }
  if (e.name == "HOPPINGWINDOW" || e.name == "HOPPING_WINDOW") {
    if (e.args.size() != 3)
      throw sql_error(e.loc, "HOPPINGWINDOW(unit, size, hop) takes 3 arguments");
    int64_t unit = asa_unit(*e.args[0]);
    w.spec.k = stream::window_spec::kind::hop;
    w.spec.size_ms = times(unit, positive_int(*e.args[1], "window size"), e.loc);
    w.spec.slide_ms = times(unit, positive_int(*e.args[2], "hop size"), e.loc);
    return w;
  }
  if (e.name == "SESSIONWINDOW" || e.name == "SESSION_WINDOW") {
    if (e.args.size() < 2 || e.args.size() > 3)
      throw sql_error(e.loc, "SESSIONWINDOW(unit, timeout[, max duration]) takes 2 or 3 arguments");
    w.spec.k = stream::window_spec::kind::session;
    w.spec.gap_ms = times(asa_unit(*e.args[0]), positive_int(*e.args[1], "timeout"), e.loc);
    return w;
  }
  return std::nullopt;
}

struct rank_limit {
  std::string column;  // alias of the ROW_NUMBER()/RANK() item
  int64_t n = 0;
};

struct planned {
  plan p;
  scope sc;
  pending_window window;  // from a TUMBLE/HOP/SESSION table function not applied yet
  int time_column = -1;   // event-time column index in sc (-1: none known)
  std::shared_ptr<std::vector<bool>> used;  // source columns the query reads
};

planned plan_query(const select_stmt& s, const name_lookup& nl, const rank_limit* lim,
                   const plan_options& po);

planned plan_from(const table_ref& t, const name_lookup& nl, const rank_limit* lim,
                  const plan_options& po) {
  planned out;
  auto from_source = [&](const std::string& name, const std::string& alias, location loc,
                         planned& o) {
    const std::string qual = alias.empty() ? name : alias;
    if (const auto* def = nl.find_source(name)) {
      o.p.source.topic = def->topic;
      o.p.source.schema = def->columns;
      o.p.source.watermark_delay_ms = def->watermark_delay_ms;
      o.p.source.idle_timeout_ms = def->idle_timeout_ms;
      o.p.source.upsert = def->is_table;
      o.used = std::make_shared<std::vector<bool>>(def->columns.size(), false);
      for (size_t i = 0; i < def->columns.size(); ++i) {
        o.sc.cols.push_back(
            {def->columns[i].name, qual, def->columns[i].type, o.used, static_cast<int>(i)});
        if (!def->timestamp_column.empty() && def->columns[i].name == def->timestamp_column)
          o.p.source.time_column = static_cast<int>(i);
        for (const auto& k : def->primary_key)
          if (k == def->columns[i].name) o.p.source.key_columns.push_back(static_cast<int>(i));
      }
      o.time_column = o.p.source.time_column;
      o.p.updating = def->is_table;
      if (def->is_table) o.p.key_names = def->primary_key;
      return;
    }
    if (const auto* cols = nl.find_view(name)) {
      o.p.view_source = name;
      for (const auto& c : *cols)
        o.sc.cols.push_back({c.name, qual, c.type});
      return;
    }
    throw sql_error(loc, "unknown stream, table or view '" + name + "'");
  };
  switch (t.k) {
    case table_ref::kind::named: {
      from_source(t.name, t.alias, t.loc, out);
      if (!t.timestamp_by.empty()) {
        int c = out.sc.find(t.timestamp_by, "", t.loc);
        if (c < 0)
          throw sql_error(t.loc, "unknown column '" + t.timestamp_by + "' in TIMESTAMP BY");
        if (out.sc.cols[static_cast<size_t>(c)].type->id != type_id::timestamp)
          throw sql_error(t.loc, "TIMESTAMP BY needs a TIMESTAMP column");
        out.p.source.time_column = c;
        out.time_column = c;
      }
      return out;
    }
    case table_ref::kind::subquery: {
      out = plan_query(*t.subquery, nl, lim, po);
      for (auto& c : out.sc.cols)
        c.qualifier = t.alias;
      return out;
    }
    case table_ref::kind::window_function: {
      from_source(t.input->name, t.alias.empty() ? t.input->name : t.alias, t.input->loc, out);
      if (out.p.source.upsert)
        throw sql_error(t.loc, "window functions need a stream, not a table");
      int c = out.sc.find(t.descriptor, "", t.loc);
      if (c < 0) throw sql_error(t.loc, "unknown column '" + t.descriptor + "' in DESCRIPTOR");
      if (out.sc.cols[static_cast<size_t>(c)].type->id != type_id::timestamp)
        throw sql_error(t.loc, "DESCRIPTOR needs a TIMESTAMP column");
      // The descriptor column is the query's event time (and drives its watermark).
      out.p.source.time_column = c;
      out.time_column = c;
      out.window.active = true;
      out.window.loc = t.loc;
      auto& w = out.window.spec;
      w.time_column = c;
      if (t.window == "TUMBLE") {
        w.k = stream::window_spec::kind::tumble;
        w.size_ms = w.slide_ms = positive_interval(t.intervals[0], t.loc);
      } else if (t.window == "HOP") {
        w.k = stream::window_spec::kind::hop;
        w.slide_ms = positive_interval(t.intervals[0], t.loc);
        w.size_ms = positive_interval(t.intervals[1], t.loc);
      } else {
        w.k = stream::window_spec::kind::session;
        w.gap_ms = positive_interval(t.intervals[0], t.loc);
      }
      return out;
    }
  }
  return out;
}

// Applies a pending TUMBLE/HOP table function as window_start/window_end columns.
void materialize_window(planned& f) {
  if (!f.window.active) return;
  if (f.window.spec.k == stream::window_spec::kind::session)
    throw sql_error(f.window.loc,
                    "SESSION windows need GROUP BY window_start, window_end (an aggregation)");
  const auto& w = f.window.spec;
  f.p.operators.push_back(stream::make_window_assign(w.time_column, w.size_ms, w.slide_ms));
  f.sc.cols.push_back({"window_start", "", data_type::of(type_id::timestamp)});
  f.sc.cols.push_back({"window_end", "", data_type::of(type_id::timestamp)});
  f.window.active = false;
  f.p.windowed = true;
}

std::vector<expr_ptr> conjuncts(const expr_ptr& e) {
  if (!e) return {};
  if (e->k == expr::kind::binary && e->op == "AND") {
    auto a = conjuncts(e->args[0]);
    auto b = conjuncts(e->args[1]);
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  return {e};
}

// Finds `rank_alias <= N` (or < N, = 1) among the outer WHERE's conjuncts, removing it.
std::optional<rank_limit> take_rank_filter(const select_stmt& outer, expr_ptr& where) {
  if (!outer.from || outer.from->k != table_ref::kind::subquery) return std::nullopt;
  std::vector<std::string> aliases;
  for (const auto& it : outer.from->subquery->items)
    if (it.e->k == expr::kind::over) aliases.push_back(it.alias.empty() ? it.e->name : it.alias);
  if (aliases.empty()) return std::nullopt;
  auto parts = conjuncts(where);
  std::optional<rank_limit> found;
  std::vector<expr_ptr> rest;
  for (auto& c : parts) {
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
  where = nullptr;
  for (auto& r : rest) {
    if (!where) {
      where = r;
    } else {
      auto b = std::make_shared<expr>();
      b->k = expr::kind::binary;
      b->op = "AND";
      b->loc = r->loc;
      b->args = {where, r};
      where = b;
    }
  }
  return found;
}

void collect_aggregates(const expr& e, std::vector<const expr*>& out) {
  if (e.k == expr::kind::function && stream::is_aggregate_function(e.name)) {
    for (const auto* x : out)
      if (x->to_string() == e.to_string()) return;
    out.push_back(&e);
    return;
  }
  for (const auto& a : e.args)
    if (a) collect_aggregates(*a, out);
}

planned plan_query(const select_stmt& s, const name_lookup& nl, const rank_limit* lim,
                   const plan_options& po) {
  expr_ptr where = s.where;
  auto inner_limit = take_rank_filter(s, where);
  planned f = plan_from(*s.from, nl, inner_limit ? &*inner_limit : nullptr, po);
  if (s.distinct) throw sql_error(s.loc, "SELECT DISTINCT is not supported yet (use GROUP BY)");

  // Grouping: an ASA window in GROUP BY, GROUP BY window_start, window_end over a window
  // table function, or plain GROUP BY / aggregates without GROUP BY (updating).
  std::vector<expr_ptr> group_keys;
  pending_window window;
  bool tvf_grouped = false;
  for (const auto& g : s.group_by) {
    if (auto w = asa_window(*g)) {
      if (window.active) throw sql_error(g->loc, "only one window per GROUP BY");
      window = *w;
      window.spec.time_column = f.time_column;
      continue;
    }
    group_keys.push_back(g);
  }
  bool has_aggregates = false;
  for (const auto& it : s.items)
    has_aggregates |= contains_aggregate(*it.e);
  if (s.having) has_aggregates = true;
  bool grouped = has_aggregates || !s.group_by.empty();

  if (f.window.active && grouped && !window.active) {
    // Flink's windowing TVF + GROUP BY window_start, window_end.
    bool has_start = false, has_end = false;
    std::vector<expr_ptr> rest;
    for (const auto& g : group_keys) {
      if (g->k == expr::kind::column && iequals(g->name, "window_start")) {
        has_start = true;
      } else if (g->k == expr::kind::column && iequals(g->name, "window_end")) {
        has_end = true;
      } else {
        rest.push_back(g);
      }
    }
    if (!has_start || !has_end)
      throw sql_error(s.loc,
                      "an aggregation over a window table function must GROUP BY "
                      "window_start, window_end");
    group_keys = rest;
    window = f.window;
    f.window.active = false;
    tvf_grouped = true;
  }
  if (!tvf_grouped) materialize_window(f);
  if (window.active && f.p.source.upsert)
    throw sql_error(window.loc, "windows need a stream, not a table");
  if (window.active && window.spec.k != stream::window_spec::kind::session &&
      window.spec.slide_ms > window.spec.size_ms)
    throw sql_error(window.loc, "the hop must not be larger than the window");

  if (where) {
    if (contains_aggregate(*where))
      throw sql_error(where->loc, "aggregates are not allowed in WHERE (use HAVING)");
    auto pred = compile(*where, f.sc, nullptr);
    if (pred->type()->id != type_id::boolean && pred->type()->id != type_id::null)
      throw sql_error(where->loc, "WHERE needs a BOOLEAN condition");
    f.p.operators.push_back(stream::make_filter(pred, f.sc.names()));
  }

  scope input = f.sc;
  scope current = f.sc;  // what the select list is compiled against
  hook post;
  std::vector<std::string> key_names;

  if (grouped) {
    if (f.p.updating)
      throw sql_error(s.loc, "aggregating a TABLE is not supported yet (aggregate a stream)");
    if (!f.p.view_source.empty() && window.active)
      throw sql_error(s.loc, "a view has no event time to window on");
    std::vector<const expr*> agg_exprs;
    for (const auto& it : s.items)
      collect_aggregates(*it.e, agg_exprs);
    if (s.having) collect_aggregates(*s.having, agg_exprs);
    std::vector<stream::agg_spec> aggs;
    for (const auto* a : agg_exprs) {
      if (a->args.size() > 1) throw sql_error(a->loc, a->name + " takes one argument");
      expression_ptr arg;
      if (!a->star_arg && !a->args.empty()) {
        if (contains_aggregate(*a->args[0])) throw sql_error(a->loc, "aggregates cannot be nested");
        arg = compile(*a->args[0], input, nullptr);
      } else if (a->name != "COUNT") {
        throw sql_error(a->loc, a->name + " needs an argument");
      }
      try {
        aggs.push_back(stream::make_aggregate(a->name, arg, a->distinct, a->to_string()));
      } catch (const stream::type_error& x) {
        rethrow_typed(a->loc, x);
      }
    }
    std::vector<expression_ptr> keys;
    for (const auto& g : group_keys) {
      if (contains_aggregate(*g)) throw sql_error(g->loc, "aggregates are not allowed in GROUP BY");
      keys.push_back(compile(*g, input, nullptr));
      key_names.push_back(g->k == expr::kind::column ? g->name : g->to_string());
    }
    // The aggregation's output: [window_start, window_end,] keys..., aggregates...
    scope agg_out;
    size_t base = 0;
    if (window.active) {
      agg_out.cols.push_back({"window_start", "", data_type::of(type_id::timestamp)});
      agg_out.cols.push_back({"window_end", "", data_type::of(type_id::timestamp)});
      base = 2;
      key_names.insert(key_names.begin(), {"window_start", "window_end"});
    }
    for (size_t i = 0; i < keys.size(); ++i)
      agg_out.cols.push_back({key_names[base + i], "", keys[i]->type()});
    for (const auto& a : aggs)
      agg_out.cols.push_back({a.text, "", a.result});
    if (window.active) {
      f.p.operators.push_back(
          stream::make_window_aggregate(window.spec, keys, aggs, input.names()));
      f.p.windowed = true;
    } else {
      f.p.operators.push_back(
          stream::make_group_aggregate(keys, aggs, input.names(), po.state_cache_rows));
      f.p.updating = true;
    }
    bool windowed = window.active;
    post = [agg_exprs, group_keys, base, windowed, key_count = keys.size(),
            agg_out](const expr& e) -> expression_ptr {
      auto text = e.to_string();
      for (size_t i = 0; i < agg_exprs.size(); ++i)
        if (agg_exprs[i]->to_string() == text) {
          size_t idx = base + key_count + i;
          return stream::make_column(static_cast<int>(idx), agg_out.cols[idx].type);
        }
      for (size_t i = 0; i < group_keys.size(); ++i)
        if (group_keys[i]->to_string() == text ||
            (e.k == expr::kind::column && group_keys[i]->k == expr::kind::column &&
             iequals(group_keys[i]->name, e.name))) {
          size_t idx = base + i;
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
      auto pred = compile(*s.having, current, post);
      if (pred->type()->id != type_id::boolean)
        throw sql_error(s.having->loc, "HAVING needs a BOOLEAN condition");
      f.p.operators.push_back(stream::make_filter(pred, current.names()));
    }
    f.time_column = -1;
  } else if (window.active) {
    throw sql_error(window.loc, "a window in GROUP BY needs aggregates");
  }

  // Window Top-N: ROW_NUMBER()/RANK() OVER (PARTITION BY window_start, window_end ORDER BY ..)
  int rank_item = -1;
  for (size_t i = 0; i < s.items.size(); ++i) {
    const auto& e = *s.items[i].e;
    if (e.k != expr::kind::over) {
      if (contains_over(e))
        throw sql_error(e.loc, "ROW_NUMBER()/RANK() must be a column of its own");
      continue;
    }
    if (rank_item >= 0) throw sql_error(e.loc, "only one ROW_NUMBER()/RANK() per SELECT");
    rank_item = static_cast<int>(i);
    if (e.name != "ROW_NUMBER" && e.name != "RANK")
      throw sql_error(e.loc, "only ROW_NUMBER() and RANK() are supported with OVER");
    std::string alias = s.items[i].alias.empty() ? e.name : s.items[i].alias;
    if (!lim || !iequals(lim->column, alias))
      throw sql_error(e.loc, e.name + "() OVER needs an outer query that keeps " + alias +
                                 " <= N (Window Top-N)");
    if (grouped && !f.p.windowed) throw sql_error(e.loc, "Top-N needs windowed input");
    stream::top_n_spec spec;
    spec.n = lim->n;
    spec.dense_ties = e.name == "RANK";
    for (const auto& p : e.partition) {
      auto c = compile(*p, current, post);
      spec.partition.push_back(c);
      if (p->k == expr::kind::column && iequals(p->name, "window_end"))
        spec.window_end_column = c->column_index();
    }
    if (spec.window_end_column < 0)
      throw sql_error(e.loc, "Window Top-N needs PARTITION BY window_start, window_end");
    if (e.order.empty()) throw sql_error(e.loc, e.name + "() OVER needs ORDER BY");
    for (const auto& o : e.order) {
      spec.order.push_back(compile(*o.e, current, post));
      spec.descending.push_back(o.descending);
    }
    f.p.operators.push_back(stream::make_top_n(std::move(spec), current.names()));
    current.cols.push_back({alias, "", data_type::of(type_id::int64)});
    key_names.clear();
    for (const auto& p : e.partition)
      key_names.push_back(p->to_string());
    key_names.push_back("row");
  }

  // The SELECT list.
  std::vector<expression_ptr> exprs;
  scope out;
  for (size_t i = 0; i < s.items.size(); ++i) {
    const auto& it = s.items[i];
    if (it.e->k == expr::kind::star) {
      if (grouped) throw sql_error(it.e->loc, "'*' cannot be used with GROUP BY");
      bool any = false;
      for (size_t c = 0; c < current.cols.size(); ++c) {
        if (!it.e->qualifier.empty() && !iequals(current.cols[c].qualifier, it.e->qualifier))
          continue;
        if (rank_item >= 0 && c + 1 == current.cols.size()) continue;
        current.cols[c].mark();
        exprs.push_back(stream::make_column(static_cast<int>(c), current.cols[c].type));
        out.cols.push_back({current.cols[c].name, "", current.cols[c].type});
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
    auto c = compile(*it.e, current, post);
    exprs.push_back(c);
    out.cols.push_back({output_name(it, i), "", c->type()});
  }
  // Keep the event-time column known through a projection that passes it on.
  int time_col = -1;
  for (size_t i = 0; i < exprs.size(); ++i)
    if (f.time_column >= 0 && exprs[i]->column_index() == f.time_column)
      time_col = static_cast<int>(i);
  bool identity = exprs.size() == current.cols.size();
  for (size_t i = 0; identity && i < exprs.size(); ++i)
    identity = exprs[i]->column_index() == static_cast<int>(i);
  if (!identity) f.p.operators.push_back(stream::make_project(exprs, current.names()));
  f.sc = out;
  f.time_column = time_col;
  if (!key_names.empty() || grouped) f.p.key_names = key_names;
  if (!s.order_by.empty() || s.limit) {
    // Only snapshot SELECTs on views sort; the engine applies ORDER BY/LIMIT itself.
    if (f.p.view_source.empty())
      throw sql_error(s.loc,
                      "ORDER BY and LIMIT apply to SELECTs on views, not to continuous "
                      "queries");
  }
  return f;
}

int64_t parse_duration(const std::string& v, location loc, const char* what) {
  // "5000" (ms), "5 s", "5 seconds", "2 minutes", "100 ms"
  int64_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || n < 0)
    throw sql_error(loc, std::string("bad ") + what + ": '" + v + "'");
  std::string unit(r.ptr, v.data() + v.size());
  unit.erase(0, unit.find_first_not_of(' '));
  auto u = ascii_upper(unit);
  if (!u.empty() && u.back() == 'S' && u != "MS" && u != "S") u.pop_back();
  if (u.empty() || u == "MS" || u == "MILLISECOND") return n;
  if (u == "S" || u == "SECOND") return times(n, 1000, loc);
  if (u == "MIN" || u == "MINUTE") return times(n, 60'000, loc);
  if (u == "H" || u == "HOUR") return times(n, 3'600'000, loc);
  throw sql_error(loc, std::string("bad ") + what + " unit '" + unit + "'");
}

}  // namespace

source_def make_source_def(const create_source_stmt& s, location loc) {
  source_def d;
  d.name = s.name;
  d.is_table = s.is_table;
  d.primary_key = s.primary_key;
  for (const auto& c : s.columns) {
    for (const auto& x : d.columns)
      if (iequals(x.name, c.name)) throw sql_error(c.loc, "duplicate column '" + c.name + "'");
    d.columns.push_back({c.name, c.type});
  }
  for (const auto& k : s.primary_key) {
    bool found = false;
    for (const auto& c : d.columns)
      found |= c.name == k;
    if (!found) throw sql_error(loc, "PRIMARY KEY column '" + k + "' is not declared");
  }
  if (s.is_table && s.primary_key.empty())
    throw sql_error(loc, "a TABLE needs a PRIMARY KEY (its rows are upserted by key)");
  if (!s.is_table && !s.primary_key.empty())
    throw sql_error(loc, "a STREAM has no PRIMARY KEY (use CREATE TABLE for upserts)");
  for (const auto& [k, v] : s.with) {
    if (k == "topic" || k == "kafka_topic") {
      d.topic = v;
    } else if (k == "format" || k == "value_format" || k == "value.format") {
      std::string f = ascii_upper(v);
      if (f != "JSON") throw sql_error(loc, "format '" + v + "' is not supported yet (JSON is)");
    } else if (k == "timestamp") {
      d.timestamp_column = v;
    } else if (k == "watermark") {
      // 'col - INTERVAL ''5'' SECOND' or 'col'
      auto stmts = parse("SELECT " + v + " FROM x");
      const auto& e = *std::get<query_stmt>(stmts[0].body).query->items[0].e;
      if (e.k == expr::kind::column) {
        d.timestamp_column = d.timestamp_column.empty() ? e.name : d.timestamp_column;
      } else if (e.k == expr::kind::binary && e.op == "-" && e.args[0]->k == expr::kind::column &&
                 e.args[1]->k == expr::kind::interval) {
        if (d.timestamp_column.empty()) d.timestamp_column = e.args[0]->name;
        if (d.timestamp_column != e.args[0]->name)
          throw sql_error(loc, "the watermark must be on the timestamp column");
        d.watermark_delay_ms = e.args[1]->interval_ms;
      } else {
        throw sql_error(loc, "watermark must be 'column' or 'column - INTERVAL ''n'' unit'");
      }
    } else if (k == "idle_timeout" || k == "idle.timeout") {
      d.idle_timeout_ms = parse_duration(v, loc, "idle_timeout");
    } else {
      throw sql_error(loc, "unknown property '" + k +
                               "' (known: topic, format, timestamp, watermark, idle_timeout)");
    }
  }
  if (d.topic.empty()) d.topic = s.name;
  if (!d.timestamp_column.empty()) {
    bool ok = false;
    for (const auto& c : d.columns)
      if (c.name == d.timestamp_column) {
        if (c.type->id != type_id::timestamp)
          throw sql_error(loc, "timestamp column '" + c.name + "' must be TIMESTAMP, not " +
                                   c.type->to_string());
        ok = true;
      }
    if (!ok) throw sql_error(loc, "timestamp column '" + d.timestamp_column + "' is not declared");
  }
  return d;
}

plan plan_select(const select_stmt& s, const name_lookup& names, const plan_options& o) {
  planned f = plan_query(s, names, nullptr, o);
  if (f.used) {
    auto& src = f.p.source;
    if (src.time_column >= 0) (*f.used)[static_cast<size_t>(src.time_column)] = true;
    for (int k : src.key_columns)
      (*f.used)[static_cast<size_t>(k)] = true;
    src.needed = *f.used;
  }
  for (const auto& c : f.sc.cols) {
    f.p.names.push_back(c.name);
    f.p.types.push_back(c.type);
  }
  return std::move(f.p);
}

}  // namespace sluice::sql
