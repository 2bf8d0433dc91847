#include "sql/plan/lower.h"

#include "stream/operators/changelog.h"

namespace sluice::sql {

namespace {

using stream::outlet;

class lowering {
 public:
  lowering(stream::dataflow& f, const lowering_options& o) : f_(f), o_(o) {}

  outlet lower(const logical_node& n) {
    using k = logical_node::kind;
    switch (n.k) {
      case k::scan:
        return scan(n);
      case k::filter:
        return f_.then(lower(*n.inputs[0]),
                       stream::make_filter(n.predicate, n.inputs[0]->names(),
                                           n.inputs[0]->mode == changelog_mode::retract));
      case k::project:
        return f_.then(lower(*n.inputs[0]), stream::make_project(n.exprs, n.inputs[0]->names()));
      case k::window_assign:
        return f_.then(
            lower(*n.inputs[0]),
            stream::make_window_assign(n.window.time_column, n.window.size_ms, n.window.slide_ms));
      case k::window_aggregate:
        return f_.then(
            lower(*n.inputs[0]),
            stream::make_window_aggregate(n.window, n.group_keys, n.aggs, n.inputs[0]->names()));
      case k::aggregate: {
        auto in = retracting(*n.inputs[0]);
        auto aggs = n.aggs;
        for (auto& a : aggs)
          a.retracting = n.inputs[0]->mode != changelog_mode::append;
        return f_.then(in, stream::make_group_aggregate(n.group_keys, std::move(aggs),
                                                        n.inputs[0]->names(), o_.state_cache_rows));
      }
      case k::top_n:
        if (n.mode == changelog_mode::upsert)
          return f_.then(retracting(*n.inputs[0]),
                         stream::make_rank(n.top_n, n.inputs[0]->names(), o_.state_cache_rows));
        return f_.then(lower(*n.inputs[0]), stream::make_top_n(n.top_n, n.inputs[0]->names()));
      case k::join:
        return join(n);
      case k::over:
        return f_.then(lower(*n.inputs[0]),
                       stream::make_over_aggregate(n.over, n.inputs[0]->names()));
      case k::union_all: {
        // Over changelogs: every input as retractions, every row keyed by itself.
        bool changelog = n.mode != changelog_mode::append;
        std::vector<outlet> ins;
        for (const auto& in : n.inputs)
          ins.push_back(changelog ? retracting(*in) : lower(*in));
        return with_inputs(stream::make_union(static_cast<int>(ins.size()), changelog), ins);
      }
    }
    return {};
  }

 private:
  outlet scan(const logical_node& n) {
    auto src = n.source;
    if (n.used) {
      src.needed = *n.used;
      if (src.time_column >= 0) src.needed[static_cast<size_t>(src.time_column)] = true;
      for (int c : src.key_columns)
        src.needed[static_cast<size_t>(c)] = true;
    }
    return {f_.add_source(std::move(src)), nullptr};
  }

  // The node's output as a retracting (or append-only) changelog.
  outlet retracting(const logical_node& n) {
    auto out = lower(n);
    if (n.mode != changelog_mode::upsert) return out;
    return f_.then(out, stream::make_normalize(o_.state_cache_rows));
  }

  outlet join(const logical_node& n) {
    using jk = logical_node::join_kind;
    stream::operator_ptr op;
    bool temporal = n.join == jk::temporal || n.join == jk::lookup;
    if (n.join == jk::regular)
      op = stream::make_hash_join(n.join_spec, n.mode == changelog_mode::append,
                                  o_.state_cache_rows);
    else if (temporal)
      op = stream::make_temporal_join(n.join_spec, n.join == jk::temporal);
    else
      op = stream::make_bounded_join(n.bounded);
    auto left = retracting(*n.inputs[0]);
    // A temporal join reads the table's upserts and deletes as they are.
    auto right = temporal ? lower(*n.inputs[1]) : retracting(*n.inputs[1]);
    return with_inputs(std::move(op), {left, right});
  }

  // Adds an operator with several inputs (after them: upstream first) and connects input i
  // to its port i. REQUIRES: `op` is a multi_input_operator with ins.size() inputs.
  outlet with_inputs(stream::operator_ptr op, const std::vector<outlet>& ins) {
    auto* m = static_cast<stream::multi_input_operator*>(f_.add(std::move(op)));
    for (size_t i = 0; i < ins.size(); ++i)
      f_.connect(ins[i], m->port(static_cast<int>(i)));
    return {-1, m};
  }

  stream::dataflow& f_;
  const lowering_options& o_;
};

}  // namespace

stream::dataflow lower(const logical_node& root, const lowering_options& o) {
  stream::dataflow f;
  f.output = lowering(f, o).lower(root);
  if (o.state_ttl_ms > 0)
    for (auto& op : f.operators)
      op->set_state_ttl(o.state_ttl_ms);
  return f;
}

}  // namespace sluice::sql
