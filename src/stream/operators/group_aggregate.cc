// Unwindowed GROUP BY. Groups are cached in memory; beyond the cache's size, and at every
// checkpoint, changed groups are written to the operator's RocksDB store (when it has one), so
// that the number of groups is bounded by disk rather than memory.

#include <unordered_map>
#include <unordered_set>

#include "stream/operators/aggregates.h"
#include "stream/state_store.h"

namespace sluice::stream {

namespace {

using accumulators = std::vector<agg_state>;

class group_aggregate_op final : public operator_node {
 public:
  group_aggregate_op(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                     std::vector<std::string> names, size_t cache_rows)
      : keys_(std::move(keys)),
        aggs_(std::move(aggs)),
        names_(std::move(names)),
        cache_rows_(std::max<size_t>(cache_rows, 1)) {}

  result<void> open_state(const std::filesystem::path& dir) override {
    auto s = open_rocksdb_store(dir);
    if (!s) return s.error();
    store_ = std::move(*s);
    // A query without a checkpoint starts over: whatever an earlier run left is stale.
    return store_->clear();
  }

  void process(element_batch& batch) override {
    row key;
    std::vector<value> args(aggs_.size());
    ++batch_no_;
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
      auto& g = find(key);
      for (size_t i = 0; i < aggs_.size(); ++i)
        agg_add(aggs_[i], g.second.accs[i], args[i]);
      g.second.ts = std::max(g.second.ts, e.ts);
      g.second.dirty = true;
      if (g.second.batch != batch_no_) {
        g.second.batch = batch_no_;
        order_.push_back(g.first);
      }
    }
    out_.clear();
    for (const auto& k : order_) {
      const auto& g = cache_.at(k);
      element x;
      x.r = k;
      x.key = k;
      for (size_t i = 0; i < aggs_.size(); ++i)
        x.r.push_back(agg_result(aggs_[i], g.accs[i]));
      x.ts = g.ts;
      x.op = change_op::upsert;
      out_.push_back(std::move(x));
    }
    if (cache_.size() > cache_rows_) spill();
    emit(out_);
  }

  void snapshot(state_writer& w) override {
    if (!store_) {
      w.put_varint(0);  // groups inline
      w.put_varint(static_cast<int64_t>(cache_.size()));
      for (const auto& [k, g] : cache_) {
        w.put_row(k);
        put_group(w, g);
      }
      return;
    }
    write_dirty();
    if (auto r = store_->checkpoint(++checkpoint_); !r) throw std::runtime_error(r.error().message);
    w.put_varint(1);  // groups in the store's checkpoint n
    w.put_varint(static_cast<int64_t>(checkpoint_));
  }

  void restore(state_reader& r) override {
    cache_.clear();
    if (r.varint() == 1) {
      checkpoint_ = static_cast<uint64_t>(r.varint());
      if (!store_) throw corrupt_state("the checkpoint has a state store, the query none");
      if (auto x = store_->restore(checkpoint_); !x) throw corrupt_state(x.error().message);
      return;
    }
    for (int64_t n = r.varint(); n > 0; --n) {
      row k = r.get_row();
      auto g = get_group(r);
      g.dirty = true;
      cache_.emplace(std::move(k), std::move(g));
    }
  }

  std::string describe() const override {
    std::string a;
    for (const auto& s : aggs_)
      a += (a.empty() ? "" : ", ") + s.text;
    return "GroupAggregate keys=" + std::to_string(keys_.size()) + " [" + a +
           "], updating (one upsert per changed group per batch), " + std::to_string(cache_rows_) +
           " groups cached" + (store_ ? ", the rest in RocksDB" : "");
  }

  // Cached groups, or RocksDB's estimate of its keys when larger (it holds every group that
  // was ever spilled or checkpointed).
  size_t state_size() const override {
    return std::max(cache_.size(), store_ ? static_cast<size_t>(store_->approximate_keys()) : 0);
  }

 private:
  struct group {
    accumulators accs;
    int64_t ts = 0;
    bool dirty = false;
    uint64_t batch = 0;  // the last batch that changed it
  };
  using map = std::unordered_map<row, group, row_hash, row_equal>;

  void put_group(state_writer& w, const group& g) const {
    w.put_varint(g.ts);
    for (const auto& a : g.accs)
      agg_snapshot(w, a);
  }
  group get_group(state_reader& r) const {
    group g;
    g.ts = r.varint();
    for (size_t i = 0; i < aggs_.size(); ++i)
      g.accs.push_back(agg_restore(r));
    return g;
  }
  static std::string encode_key(const row& k) {
    state_writer w;
    w.put_row(k);
    return std::move(w.data());
  }

  // The cached group of `key`, loaded from the store or created.
  map::value_type& find(const row& key) {
    auto it = cache_.find(key);
    if (it != cache_.end()) return *it;
    group g;
    std::string bytes;
    if (store_ && store_->get(encode_key(key), bytes)) {
      state_reader r(bytes);
      g = get_group(r);
    } else {
      g.accs.resize(aggs_.size());
    }
    return *cache_.emplace(key, std::move(g)).first;
  }

  void write_dirty() {
    if (!store_) return;
    state_writer w;
    for (auto& [k, g] : cache_) {
      if (!g.dirty) continue;
      w.data().clear();
      put_group(w, g);
      store_->put(encode_key(k), w.data());
      g.dirty = false;
    }
    if (auto r = store_->commit(); !r) throw std::runtime_error(r.error().message);
  }

  // Over the cache's size: write changed groups to the store and keep half of the cache,
  // those changed by the latest batch first.
  void spill() {
    if (!store_) return;  // no store (a one-off query): memory is the only place
    write_dirty();
    size_t target = cache_rows_ / 2;
    for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;) {
      if (it->second.batch != batch_no_)
        it = cache_.erase(it);
      else
        ++it;
    }
    for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;)
      it = cache_.erase(it);
  }

  std::vector<expression_ptr> keys_;
  std::vector<agg_spec> aggs_;
  std::vector<std::string> names_;
  size_t cache_rows_;
  eval_context ev_;
  map cache_;
  std::unique_ptr<state_store> store_;
  uint64_t checkpoint_ = 0;
  uint64_t batch_no_ = 0;
  std::vector<row> order_;
  element_batch out_;
};

}  // namespace

operator_ptr make_group_aggregate(std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                                  std::vector<std::string> names, size_t cache_rows) {
  return std::make_unique<group_aggregate_op>(std::move(keys), std::move(aggs), std::move(names),
                                              cache_rows);
}

}  // namespace sluice::stream
