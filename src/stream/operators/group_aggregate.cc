// Unwindowed GROUP BY over an append-only or a retracting input. Groups live in a
// keyed_state: cached in memory, the rest (and, at every checkpoint, the changed ones) in the
// operator's RocksDB store, so that the number of groups is bounded by disk, not memory.

#include "stream/keyed_state.h"
#include "stream/operators/aggregates.h"

namespace sluice::stream {

namespace {

class group_aggregate_op final : public operator_node {
 public:
  group_aggregate_op(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                     std::vector<std::string> names, size_t cache_rows)
      : keys_(std::move(keys)),
        aggs_(std::move(aggs)),
        names_(std::move(names)),
        groups_(
            cache_rows, [this](state_writer& w, const group& g) { put_group(w, g); },
            [this](state_reader& r) { return get_group(r); }) {}

  void set_state_ttl(int64_t ttl_ms) override {
    groups_.set_ttl(ttl_ms);
    ttl_ = ttl_ms > 0;
  }
  result<void> open_state(const std::filesystem::path& dir) override { return groups_.open(dir); }

  void process(element_batch& batch) override {
    row key;
    std::vector<value> args(aggs_.size());
    ++batch_no_;
    order_.clear();
    before_.clear();
    for (auto& e : batch) {
      bool retract = e.op == change_op::remove;
      if (retract && e.r.empty()) continue;  // REQUIRES: no deletes by key alone (normalized)
      ev_.error.clear();
      key.clear();
      for (const auto& k : keys_)
        key.push_back(k->eval(e.r, ev_));
      for (size_t i = 0; i < aggs_.size(); ++i)
        args[i] = aggs_[i].arg ? aggs_[i].arg->eval(e.r, ev_) : value();
      if (!ev_.error.empty()) {
        // The insert of a retracted row failed the same way and was dead-lettered then.
        if (!retract && ctx_) ctx_->dead_letter(ev_.error, e.r, names_, e.ts);
        continue;
      }
      group* g = retract ? groups_.find(key) : &groups_.get(key);
      if (!g) continue;  // a retraction of a row never counted
      if (g->batch != batch_no_) {
        g->batch = batch_no_;
        order_.push_back(key);
        // With a TTL every change is sent (below): no result to compare with.
        before_.push_back(ttl_ || g->accs.empty() ? row{} : results(*g));
      }
      if (retract) {
        for (size_t i = 0; i < aggs_.size(); ++i)
          agg_retract(aggs_[i], g->accs[i], args[i]);
        --g->rows;
        groups_.touch(key);
      } else {
        if (g->accs.empty()) g->accs.resize(aggs_.size());
        for (size_t i = 0; i < aggs_.size(); ++i)
          agg_add(aggs_[i], g->accs[i], args[i]);
        ++g->rows;
      }
      g->ts = std::max(g->ts, e.ts);
    }
    out_.clear();
    for (size_t o = 0; o < order_.size(); ++o) {
      const row& k = order_[o];
      auto* g = groups_.find(k);
      element x;
      x.key = k;
      x.ts = g->ts;
      if (g->rows <= 0 && !keys_.empty()) {
        // Every row of the group was retracted: the group is gone.
        x.op = change_op::remove;
        groups_.erase(k);
      } else {
        x.r = k;
        for (size_t i = 0; i < aggs_.size(); ++i)
          x.r.push_back(agg_result(aggs_[i], g->accs[i]));
        // Flink's rule: a group whose result did not change sends nothing (downstream would
        // retract and insert the same row), unless a state TTL needs the row refreshed.
        if (!before_[o].empty() &&
            std::equal(x.r.begin() + static_cast<ptrdiff_t>(k.size()), x.r.end(),
                       before_[o].begin(), before_[o].end(), equal))
          continue;
        x.op = change_op::upsert;
      }
      out_.push_back(std::move(x));
    }
    groups_.end_batch();
    emit(out_);
  }

  void snapshot(state_writer& w) override { groups_.snapshot(w); }
  void restore(state_reader& r) override { groups_.restore(r); }

  std::string describe() const override {
    std::string a;
    for (const auto& s : aggs_)
      a += (a.empty() ? "" : ", ") + s.text;
    bool retracting = !aggs_.empty() && aggs_.front().retracting;
    return "GroupAggregate keys=" + std::to_string(keys_.size()) + " [" + a + "]" +
           (retracting ? " over a retracting input" : "") +
           ", one upsert per changed group per batch, " + std::to_string(groups_.cache_rows()) +
           " groups cached" + (groups_.has_store() ? ", the rest in RocksDB" : "");
  }

  size_t state_size() const override { return groups_.size(); }
  size_t state_bytes() const override {
    return groups_.memory_bytes([](const group& g) { return sizeof(g) + approx_bytes(g.accs); });
  }

 private:
  struct group {
    std::vector<agg_state> accs;
    int64_t ts = 0;
    int64_t rows = 0;    // input rows counted (inserts minus retractions)
    uint64_t batch = 0;  // the last batch that changed it (not stored)
  };

  row results(const group& g) const {
    row r;
    r.reserve(aggs_.size());
    for (size_t i = 0; i < aggs_.size(); ++i)
      r.push_back(agg_result(aggs_[i], g.accs[i]));
    return r;
  }

  void put_group(state_writer& w, const group& g) const {
    w.put_varint(g.ts);
    w.put_varint(g.rows);
    for (const auto& a : g.accs)
      agg_snapshot(w, a);
  }
  group get_group(state_reader& r) const {
    group g;
    g.ts = r.varint();
    g.rows = r.varint();
    for (size_t i = 0; i < aggs_.size(); ++i)
      g.accs.push_back(agg_restore(r));
    return g;
  }

  std::vector<expression_ptr> keys_;
  std::vector<agg_spec> aggs_;
  std::vector<std::string> names_;
  keyed_state<group> groups_;
  eval_context ev_;
  uint64_t batch_no_ = 0;
  std::vector<row> order_;   // the groups this batch changed, in the order it did
  std::vector<row> before_;  // their results before it (empty: a new group, or a TTL is set)
  bool ttl_ = false;
  element_batch out_;
};

}  // namespace

operator_ptr make_group_aggregate(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                                  std::vector<std::string> names, size_t cache_rows) {
  return std::make_unique<group_aggregate_op>(std::move(keys), std::move(aggs), std::move(names),
                                              cache_rows);
}

}  // namespace sluice::stream
