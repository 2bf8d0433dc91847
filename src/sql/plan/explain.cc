#include "sql/plan/logical_plan.h"

namespace sluice::sql {

const char* mode_name(changelog_mode m) {
  switch (m) {
    case changelog_mode::append:
      return "append";
    case changelog_mode::upsert:
      return "upsert";
    case changelog_mode::retract:
      return "retract";
  }
  return "?";
}

namespace {

std::string join_list(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v)
    s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string window_text(const stream::window_spec& w) {
  switch (w.k) {
    case stream::window_spec::kind::tumble:
      return "TUMBLE " + std::to_string(w.size_ms) + " ms";
    case stream::window_spec::kind::hop:
      return "HOP " + std::to_string(w.size_ms) + " ms every " + std::to_string(w.slide_ms) + " ms";
    case stream::window_spec::kind::session:
      return "SESSION gap " + std::to_string(w.gap_ms) + " ms";
  }
  return "";
}

std::string describe(const logical_node& n) {
  using k = logical_node::kind;
  switch (n.k) {
    case k::scan:
      if (!n.view.empty()) return "ViewScan " + n.view;
      return std::string(n.source.upsert ? "TableScan " : "StreamScan ") + n.name + " (topic '" +
             n.source.topic + "'" +
             (n.source.time_column >= 0
                  ? ", event time " +
                        n.source.schema[static_cast<size_t>(n.source.time_column)].name
                  : "") +
             (n.source.format != "JSON" ? ", " + n.source.format : "") + ")";
    case k::filter:
      return "Filter";
    case k::union_all:
      return "UnionAll";
    case k::over: {
      std::string a;
      for (const auto& s : n.over.aggs)
        a += (a.empty() ? "" : ", ") + s.text;
      return "OverAggregate [" + a + "]";
    }
    case k::project:
      return "Project [" + join_list(n.names()) + "]";
    case k::window_assign:
      return "WindowAssign " + window_text(n.window);
    case k::window_aggregate: {
      std::string a;
      for (const auto& s : n.aggs)
        a += (a.empty() ? "" : ", ") + s.text;
      return "WindowAggregate " + window_text(n.window) + " [" + a + "]";
    }
    case k::aggregate: {
      std::string a;
      for (const auto& s : n.aggs)
        a += (a.empty() ? "" : ", ") + s.text;
      if (n.aggs.empty()) return "Distinct keys=" + std::to_string(n.group_keys.size());
      return "Aggregate keys=" + std::to_string(n.group_keys.size()) + " [" + a + "]";
    }
    case k::top_n:
      return std::string(n.mode == changelog_mode::upsert ? "TopN " : "WindowTopN ") +
             (n.top_n.dense_ties ? "RANK" : "ROW_NUMBER") + " <= " + std::to_string(n.top_n.n);
    case k::join: {
      using j = logical_node::join_kind;
      const char* what = n.join == j::regular    ? "Join"
                         : n.join == j::interval ? "IntervalJoin"
                         : n.join == j::window   ? "WindowJoin"
                         : n.join == j::temporal ? "TemporalJoin (event time)"
                                                 : "LookupJoin (processing time)";
      return std::string(what) + " " + stream::join_type_name(n.join_spec.type) + " ON " +
             n.condition;
    }
  }
  return "?";
}

void print(const logical_node& n, int depth, std::string& out) {
  out.append(static_cast<size_t>(depth) * 2, ' ');
  out += describe(n);
  out += " [";
  out += mode_name(n.mode);
  bool whole_row = (n.k == logical_node::kind::join &&
                    n.join_spec.output_key == stream::join_spec::key_mode::whole_row) ||
                   (n.k == logical_node::kind::union_all && n.mode == changelog_mode::retract);
  if (whole_row)
    out += ", key the whole row";
  else if (n.mode != changelog_mode::append && !n.key_names.empty())
    out += ", key " + join_list(n.key_names);
  out += "]\n";
  for (const auto& in : n.inputs)
    print(*in, depth + 1, out);
}

}  // namespace

std::string explain(const logical_node& root) {
  std::string out;
  print(root, 0, out);
  return out;
}

}  // namespace sluice::sql
