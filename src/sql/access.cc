#include "sql/access.h"

#include <algorithm>

#include "sql/parser.h"

namespace sluice::sql {

namespace {

using action = access_need::action;
using object = access_need::object;

struct collector {
  std::vector<access_need> out;

  void add(action a, object k, std::string name) {
    access_need n{a, k, std::move(name)};
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  }

  void expr(const expr_ptr& e, action a) {
    if (!e) return;
    for (const auto& arg : e->args)
      expr(arg, a);
    for (const auto& p : e->partition)
      expr(p, a);
    if (e->subquery) select(*e->subquery, a);
  }

  void table(const std::shared_ptr<table_ref>& t, action a) {
    if (!t) return;
    switch (t->k) {
      case table_ref::kind::named:
        add(a, object::source, t->name);
        break;
      case table_ref::kind::subquery:
        if (t->subquery) select(*t->subquery, a);
        break;
      case table_ref::kind::window_function:
        table(t->input, a);
        break;
      case table_ref::kind::join:
        table(t->left, a);
        table(t->right, a);
        expr(t->on, a);
        break;
    }
  }

  void select(const select_stmt& s, action a) {
    table(s.from, a);
    for (const auto& i : s.items)
      expr(i.e, a);
    expr(s.where, a);
    expr(s.having, a);
    if (!s.into.empty()) add(action::write, object::source, s.into);
    if (s.union_all) select(*s.union_all, a);
  }

  void statement(const sql::statement& st, bool explain) {
    // EXPLAIN only describes: whatever it would read or write, it needs to see.
    action read = explain ? action::describe : action::read;
    auto change = [&](action a) { return explain ? action::describe : a; };
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, create_source_stmt>) {
            auto topic = s.with.find("topic");
            add(change(action::create), object::topic,
                topic != s.with.end() ? topic->second : s.name);
          } else if constexpr (std::is_same_v<T, create_view_stmt>) {
            add(change(action::create), object::view, s.name);
            if (s.query) select(*s.query, read);
          } else if constexpr (std::is_same_v<T, create_sink_stmt>) {
            add(change(action::write), object::topic, s.topic.empty() ? s.name : s.topic);
            if (s.query) select(*s.query, read);
          } else if constexpr (std::is_same_v<T, create_connector_stmt>) {
            // Connectors are the cluster's (as in Kafka Connect's REST API); a sink also reads.
            add(change(action::manage_queries), object::none, s.name);
            if (!s.from.empty()) add(read, object::source, s.from);
          } else if constexpr (std::is_same_v<T, insert_stmt>) {
            add(change(action::write), object::source, s.target);
            if (s.query) select(*s.query, read);
          } else if constexpr (std::is_same_v<T, query_stmt>) {
            if (s.query) select(*s.query, read);
          } else if constexpr (std::is_same_v<T, show_stmt>) {
            add(action::describe_all, object::none, {});
          } else if constexpr (std::is_same_v<T, describe_stmt>) {
            add(action::describe, object::source, s.name);
          } else if constexpr (std::is_same_v<T, drop_stmt>) {
            if (s.what == "VIEW")
              add(change(action::drop), object::view, s.name);
            else if (s.what == "STREAM" || s.what == "TABLE")
              add(change(action::drop), object::source, s.name);
            else
              add(change(action::manage_queries), object::none, s.name);
          } else if constexpr (std::is_same_v<T, explain_stmt>) {
            if (s.inner) statement(*s.inner, true);
          }
        },
        st.body);
  }
};

}  // namespace

std::vector<access_need> access_needs(std::string_view text) {
  collector c;
  for (const auto& st : parse(text))
    c.statement(st, false);
  return std::move(c.out);
}

}  // namespace sluice::sql
