// Scopes and expressions: names resolved to column indexes, types checked, AST expressions
// compiled to stream expressions.

#include "base/strings.h"
#include "sql/binder/binder.h"
#include "sql/error.h"

namespace sluice::sql::binder {

using stream::data_type;
using stream::expression_ptr;
using stream::type_id;
using stream::type_ptr;

std::vector<std::string> scope::names() const {
  std::vector<std::string> n;
  for (const auto& c : cols)
    n.push_back(c.name);
  return n;
}

std::vector<logical_column> scope::logical() const {
  std::vector<logical_column> out;
  for (const auto& c : cols)
    out.push_back({c.name, c.qualifier, c.type});
  return out;
}

int scope::find(const std::string& name, const std::string& qualifier, location loc) const {
  int found = -1;
  auto scan = [&](bool exact) {
    for (size_t i = 0; i < cols.size(); ++i) {
      const auto& c = cols[i];
      if (!qualifier.empty() && !iequals(c.qualifier, qualifier)) continue;
      if (exact ? c.name == name : iequals(c.name, name)) {
        if (found >= 0)
          throw sql_error(loc, "column name '" + name + "' is ambiguous (qualify it: " +
                                   cols[static_cast<size_t>(found)].qualifier + "." + name +
                                   " or " + c.qualifier + "." + name + ")");
        found = static_cast<int>(i);
      }
    }
  };
  scan(true);
  if (found < 0) scan(false);
  return found;
}

bool comparable(const data_type& a, const data_type& b) {
  return a.id == b.id || (a.numeric() && b.numeric()) || a.id == type_id::null ||
         b.id == type_id::null;
}

void unify_join_keys(expression_ptr& a, expression_ptr& b, location loc) {
  const auto& ta = *a->type();
  const auto& tb = *b->type();
  if (!comparable(ta, tb))
    throw sql_error(
        loc, "cannot join " + ta.to_string() + " with " + tb.to_string() + " (CAST one side)");
  if (ta.id != tb.id && ta.numeric() && tb.numeric()) {
    a = stream::make_cast(a, data_type::of(type_id::float64));
    b = stream::make_cast(b, data_type::of(type_id::float64));
  }
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

expr_ptr conjunction(const std::vector<expr_ptr>& parts) {
  expr_ptr out;
  for (const auto& r : parts) {
    if (!out) {
      out = r;
      continue;
    }
    auto b = std::make_shared<expr>();
    b->k = expr::kind::binary;
    b->op = "AND";
    b->loc = r->loc;
    b->args = {out, r};
    out = b;
  }
  return out;
}

namespace {

[[noreturn]] void rethrow_typed(location loc, const std::exception& e) {
  throw sql_error(loc, e.what());
}

expression_ptr bind_column(const expr& e, const scope& sc) {
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

type_ptr literal_type(const stream::value& v) {
  switch (v.k) {
    case stream::value::kind::null:
    case stream::value::kind::nested:
      return data_type::of(type_id::null);
    case stream::value::kind::boolean:
      return data_type::of(type_id::boolean);
    case stream::value::kind::integer:
      return data_type::of(type_id::int64);
    case stream::value::kind::real:
      return data_type::of(type_id::float64);
    case stream::value::kind::string:
      return data_type::of(type_id::varchar);
    case stream::value::kind::timestamp:
      return data_type::of(type_id::timestamp);
  }
  return data_type::of(type_id::null);
}

}  // namespace

expression_ptr bind_expression(const expr& e, const scope& sc, const hook& h) {
  if (h)
    if (auto r = h(e)) return r;
  auto sub = [&](size_t i) { return bind_expression(*e.args[i], sc, h); };
  try {
    switch (e.k) {
      case expr::kind::literal:
        return stream::make_literal(e.lit, literal_type(e.lit));
      case expr::kind::interval:
        return stream::make_literal(stream::value::integer(e.interval_ms),
                                    data_type::of(type_id::int64));
      case expr::kind::column:
        return bind_column(e, sc);
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
      case expr::kind::in_select:
        throw sql_error(e.loc,
                        "IN (SELECT ...) is supported as a condition of WHERE, joined "
                        "by AND (a semi or anti join)");
      case expr::kind::exists:
        throw sql_error(e.loc,
                        "EXISTS (SELECT ...) is supported as a condition of WHERE, joined "
                        "by AND (a semi or anti join)");
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

logical_ptr make_node(logical_node::kind k, const logical_ptr& input) {
  auto n = std::make_shared<logical_node>();
  n->k = k;
  n->inputs = {input};
  n->columns = input->columns;
  n->mode = input->mode;
  n->key_names = input->key_names;
  n->has_key = input->has_key;
  n->time_column = input->time_column;
  n->windowed = input->windowed;
  n->window_start_column = input->window_start_column;
  n->window = input->window;
  n->window_end_column = input->window_end_column;
  return n;
}

}  // namespace sluice::sql::binder
