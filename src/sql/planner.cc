// plan_select: parser output -> binder (logical plan) -> lowering (dataflow).

#include "sql/planner.h"

#include "sql/binder/binder.h"
#include "sql/plan/lower.h"

namespace sluice::sql {

namespace {

std::string view_of(const logical_node& n) {
  if (n.k == logical_node::kind::scan) return n.view;
  for (const auto& in : n.inputs)
    if (auto v = view_of(*in); !v.empty()) return v;
  return {};
}

}  // namespace

plan plan_select(const select_stmt& s, const name_lookup& names, const plan_options& o) {
  binder::binder b(names);
  auto bound = b.bind_select(s, nullptr);
  plan p;
  p.root = bound.node;
  p.view_source = view_of(*p.root);
  for (const auto& c : p.root->columns) {
    p.names.push_back(c.name);
    p.types.push_back(c.type);
  }
  p.key_names = p.root->key_names;
  p.mode = p.root->mode;
  p.windowed = p.root->windowed;
  lowering_options lo;
  lo.state_cache_rows = o.state_cache_rows;
  lo.state_ttl_ms = o.state_ttl_ms;
  p.flow = lower(*p.root, lo);
  return p;
}

}  // namespace sluice::sql
