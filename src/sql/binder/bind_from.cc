// FROM: streams, tables and views by name, subqueries, window table functions.

#include "base/strings.h"
#include "sql/binder/binder.h"
#include "sql/error.h"

namespace sluice::sql::binder {

using stream::type_id;

bound binder::bind_named(const std::string& name, const std::string& alias, location loc) {
  const std::string qual = alias.empty() ? name : alias;
  bound b;
  auto n = std::make_shared<logical_node>();
  n->k = logical_node::kind::scan;
  n->name = name;
  if (const auto* def = names_.find_source(name)) {
    auto& src = n->source;
    src.topic = def->topic;
    src.schema = def->columns;
    src.watermark_delay_ms = def->watermark_delay_ms;
    src.idle_timeout_ms = def->idle_timeout_ms;
    src.upsert = def->is_table;
    src.make_decoder = def->make_decoder;
    src.make_key_decoder = def->make_key_decoder;
    src.format = def->format;
    n->used = std::make_shared<std::vector<bool>>(def->columns.size(), false);
    for (size_t i = 0; i < def->columns.size(); ++i) {
      b.sc.cols.push_back(
          {def->columns[i].name, qual, def->columns[i].type, n->used, static_cast<int>(i)});
      if (!def->timestamp_column.empty() && def->columns[i].name == def->timestamp_column)
        src.time_column = static_cast<int>(i);
      for (const auto& k : def->primary_key)
        if (k == def->columns[i].name) src.key_columns.push_back(static_cast<int>(i));
    }
    for (const auto& k : def->partition_key)
      for (size_t i = 0; i < def->columns.size(); ++i)
        if (k == def->columns[i].name) src.partition_columns.push_back(static_cast<int>(i));
    n->time_column = src.time_column;
    if (def->is_table) {
      n->mode = changelog_mode::upsert;
      n->has_key = true;
      // In the order of the key's values (column order), which sinks name their keys by.
      for (int c : src.key_columns)
        n->key_names.push_back(def->columns[static_cast<size_t>(c)].name);
    }
  } else if (const auto* cols = names_.find_view(name)) {
    n->view = name;
    for (const auto& c : *cols)
      b.sc.cols.push_back({c.name, qual, c.type});
  } else {
    throw sql_error(loc, "unknown stream, table or view '" + name + "'");
  }
  n->columns = b.sc.logical();
  b.node = n;
  return b;
}

bound binder::bind_from(const table_ref& t, const rank_limit* lim, expr_ptr where) {
  switch (t.k) {
    case table_ref::kind::named: {
      auto b = bind_named(t.name, t.alias, t.loc);
      if (!t.timestamp_by.empty()) {
        int c = b.sc.find(t.timestamp_by, "", t.loc);
        if (c < 0)
          throw sql_error(t.loc, "unknown column '" + t.timestamp_by + "' in TIMESTAMP BY");
        if (b.sc.cols[static_cast<size_t>(c)].type->id != type_id::timestamp)
          throw sql_error(t.loc, "TIMESTAMP BY needs a TIMESTAMP column");
        if (!b.node->view.empty()) throw sql_error(t.loc, "a view has no event time");
        b.node->source.time_column = c;
        b.node->time_column = c;
      }
      return b;
    }
    case table_ref::kind::subquery: {
      auto b = bind_select(*t.subquery, lim);
      for (auto& c : b.sc.cols)
        c.qualifier = t.alias;
      return b;
    }
    case table_ref::kind::window_function: {
      auto b = bind_named(t.input->name, t.alias.empty() ? t.input->name : t.alias, t.input->loc);
      if (b.node->mode != changelog_mode::append)
        throw sql_error(t.loc, "window functions need a stream, not a table");
      if (!b.node->view.empty()) throw sql_error(t.loc, "a view has no event time to window on");
      int c = b.sc.find(t.descriptor, "", t.loc);
      if (c < 0) throw sql_error(t.loc, "unknown column '" + t.descriptor + "' in DESCRIPTOR");
      if (b.sc.cols[static_cast<size_t>(c)].type->id != type_id::timestamp)
        throw sql_error(t.loc, "DESCRIPTOR needs a TIMESTAMP column");
      // The descriptor column is the query's event time (and drives its watermark).
      b.node->source.time_column = c;
      b.node->time_column = c;
      b.window = table_function_window(t, c);
      return b;
    }
    case table_ref::kind::join: {
      // An inner join's WHERE is part of its condition (so that what reads one side is
      // filtered before the join).
      auto parts = conjuncts(t.on);
      for (auto& w : conjuncts(where))
        parts.push_back(w);
      return bind_join(t, lim, conjunction(parts));
    }
  }
  throw sql_error(t.loc, "unsupported FROM item");
}

}  // namespace sluice::sql::binder
