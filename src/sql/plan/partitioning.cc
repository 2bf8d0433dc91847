#include "sql/plan/partitioning.h"

#include <algorithm>
#include <optional>

namespace sluice::sql {

namespace {

// The output columns that together hold the record key a node's rows are partitioned by;
// nullopt when that is not known.
using key_columns = std::optional<std::vector<int>>;

// Where in `exprs` each of `key` is referred to as a plain column; nullopt when one is not.
key_columns positions(const std::vector<stream::expression_ptr>& exprs,
                      const std::vector<int>& key) {
  std::vector<int> at;
  for (int k : key) {
    auto it = std::find_if(exprs.begin(), exprs.end(),
                           [&](const auto& e) { return e && e->column_index() == k; });
    if (it == exprs.end()) return std::nullopt;
    at.push_back(static_cast<int>(it - exprs.begin()));
  }
  return at;
}

class checker {
 public:
  std::string problem;

  key_columns visit(const logical_node& n) {
    using k = logical_node::kind;
    switch (n.k) {
      case k::scan:
        if (!n.view.empty() || n.source.partition_columns.empty()) return std::nullopt;
        return n.source.partition_columns;
      case k::filter:
      case k::window_assign:
        return visit(*n.inputs[0]);
      case k::project: {
        auto in = visit(*n.inputs[0]);
        if (!in) return std::nullopt;
        return positions(n.exprs, *in);
      }
      case k::window_aggregate:
      case k::aggregate: {
        auto in = visit(*n.inputs[0]);
        auto at = in ? positions(n.group_keys, *in) : std::nullopt;
        if (!at) return fail(n, "GROUP BY");
        // The output: [window_start, window_end,] the group keys, then the aggregates.
        int base = n.k == k::window_aggregate ? 2 : 0;
        for (int& c : *at)
          c += base;
        return at;
      }
      case k::top_n: {
        auto in = visit(*n.inputs[0]);
        if (!in || !positions(n.top_n.partition, *in)) return fail(n, "the ranking's PARTITION BY");
        return in;
      }
      case k::over: {
        auto in = visit(*n.inputs[0]);
        if (!in || !positions(n.over.partition, *in)) return fail(n, "OVER's PARTITION BY");
        return in;
      }
      case k::join: {
        auto l = visit(*n.inputs[0]);
        auto r = visit(*n.inputs[1]);
        const auto& spec =
            n.join == logical_node::join_kind::interval || n.join == logical_node::join_kind::window
                ? n.bounded.join
                : n.join_spec;
        // Each key column of the left side must be matched with the same key column of the
        // right side: then matching rows are in partitions of the same number.
        if (!l || !r || l->size() != r->size()) return fail(n, "the join");
        for (size_t i = 0; i < l->size(); ++i) {
          bool paired = false;
          for (size_t j = 0; j < spec.left_keys.size() && j < spec.right_keys.size(); ++j)
            paired |= spec.left_keys[j]->column_index() == (*l)[i] &&
                      spec.right_keys[j]->column_index() == (*r)[i];
          if (!paired) return fail(n, "the join");
        }
        return l;  // the joined row: the left side's columns first
      }
      case k::union_all: {
        key_columns first;
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          auto in = visit(*n.inputs[i]);
          if (i == 0) first = in;
          if (in != first) first = std::nullopt;
        }
        return first;
      }
    }
    return std::nullopt;
  }

 private:
  key_columns fail(const logical_node& n, const std::string& what) {
    if (problem.empty())
      problem = what + " (" + explain_line(n) +
                ") does not follow the key the records are partitioned by, so each task would "
                "see only its partition's rows";
    return std::nullopt;
  }
  static std::string explain_line(const logical_node& n) {
    auto text = explain(n);
    auto end = text.find('\n');
    text = text.substr(0, end);
    auto start = text.find_first_not_of(' ');
    return start == std::string::npos ? text : text.substr(start);
  }
};

}  // namespace

std::string partitioning_problem(const logical_node& root) {
  checker c;
  c.visit(root);
  return c.problem;
}

}  // namespace sluice::sql
