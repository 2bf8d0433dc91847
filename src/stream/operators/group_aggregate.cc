#include <unordered_map>
#include <unordered_set>

#include "stream/operators/aggregates.h"

namespace sluice::stream {

namespace {

using accumulators = std::vector<agg_state>;

class group_aggregate_op final : public operator_node {
 public:
  group_aggregate_op(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                     std::vector<std::string> names)
      : keys_(std::move(keys)), aggs_(std::move(aggs)), names_(std::move(names)) {}

  void process(element_batch& batch) override {
    row key;
    std::vector<value> args(aggs_.size());
    changed_.clear();
    order_.clear();
    for (auto& e : batch) {
      ev_.error.clear();
      key.clear();
      for (const auto& k : keys_)
        key.push_back(k->eval(e.r, ev_));
      for (size_t i = 0; i < aggs_.size(); ++i)
        args[i] = aggs_[i].arg ? aggs_[i].arg->eval(e.r, ev_) : value();
      if (!ev_.error.empty()) {
        if (ctx_) ctx_->dead_letter(ev_.error, e.r, names_, e.ts);
        continue;
      }
      auto it = groups_.find(key);
      if (it == groups_.end())
        it = groups_.emplace(key, group{accumulators(aggs_.size()), 0}).first;
      for (size_t i = 0; i < aggs_.size(); ++i)
        agg_add(aggs_[i], it->second.accs[i], args[i]);
      it->second.ts = std::max(it->second.ts, e.ts);
      if (changed_.insert(&it->first).second) order_.push_back(&*it);
    }
    out_.clear();
    for (auto* g : order_) {
      element x;
      x.r = g->first;
      x.key = g->first;
      for (size_t i = 0; i < aggs_.size(); ++i)
        x.r.push_back(agg_result(aggs_[i], g->second.accs[i]));
      x.ts = g->second.ts;
      x.op = change_op::upsert;
      out_.push_back(std::move(x));
    }
    emit(out_);
  }

  void snapshot(state_writer& w) const override {
    w.put_varint(static_cast<int64_t>(groups_.size()));
    for (const auto& [k, g] : groups_) {
      w.put_row(k);
      w.put_varint(g.ts);
      for (const auto& a : g.accs)
        agg_snapshot(w, a);
    }
  }

  void restore(state_reader& r) override {
    groups_.clear();
    for (int64_t n = r.varint(); n > 0; --n) {
      row k = r.get_row();
      group g;
      g.ts = r.varint();
      for (size_t i = 0; i < aggs_.size(); ++i)
        g.accs.push_back(agg_restore(r));
      groups_.emplace(std::move(k), std::move(g));
    }
  }

  std::string describe() const override {
    std::string a;
    for (const auto& s : aggs_)
      a += (a.empty() ? "" : ", ") + s.text;
    return "GroupAggregate keys=" + std::to_string(keys_.size()) + " [" + a +
           "], updating (one upsert per changed group per batch)";
  }

  size_t state_size() const override { return groups_.size(); }

 private:
  struct group {
    accumulators accs;
    int64_t ts = 0;
  };
  using map = std::unordered_map<row, group, row_hash, row_equal>;

  std::vector<expression_ptr> keys_;
  std::vector<agg_spec> aggs_;
  std::vector<std::string> names_;
  eval_context ev_;
  map groups_;
  std::unordered_set<const row*> changed_;
  std::vector<map::value_type*> order_;
  element_batch out_;
};

}  // namespace

operator_ptr make_group_aggregate(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                                  std::vector<std::string> names) {
  return std::make_unique<group_aggregate_op>(std::move(keys), std::move(aggs), std::move(names));
}

}  // namespace sluice::stream
