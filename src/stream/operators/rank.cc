// Top-N per partition key without a window (ROW_NUMBER() or RANK() OVER (PARTITION BY ..
// ORDER BY ..) <= N over an append-only input): keeps the best rows of each partition
// (keyed_state: memory, RocksDB beyond the cache) and emits an upsert for every position whose
// row changed. ROW_NUMBER keeps N rows (a tie keeps the earlier row); RANK keeps every row
// whose rank (1 + the rows strictly before it) is at most N, so rows tied with the N-th stay
// and a better row can push several tied ones out at once (a delete for each position gone).
// Output key: the partition values, then the position (1, 2, ...); the rank is the last
// column.

#include <algorithm>

#include "stream/keyed_state.h"
#include "stream/operators/aggregates.h"

namespace sluice::stream {

namespace {

struct ranked {
  row order;  // the ORDER BY values
  row r;
  int64_t ts = 0;
};

struct partition_rows {
  std::vector<ranked> best;  // at most n, best first
};

void put_partition(state_writer& w, const partition_rows& p) {
  w.put_varint(static_cast<int64_t>(p.best.size()));
  for (const auto& x : p.best) {
    w.put_row(x.order);
    w.put_row(x.r);
    w.put_varint(x.ts);
  }
}

partition_rows get_partition(state_reader& r) {
  partition_rows p;
  for (int64_t n = r.varint(); n > 0; --n) {
    ranked x;
    x.order = r.get_row();
    x.r = r.get_row();
    x.ts = r.varint();
    p.best.push_back(std::move(x));
  }
  return p;
}

class rank_op final : public operator_node {
 public:
  rank_op(top_n_spec s, std::vector<std::string> names, size_t cache_rows)
      : s_(std::move(s)),
        names_(std::move(names)),
        parts_(cache_rows, put_partition, get_partition) {}

  void set_state_ttl(int64_t ttl_ms) override { parts_.set_ttl(ttl_ms); }
  result<void> open_state(const std::filesystem::path& dir) override { return parts_.open(dir); }

  void process(element_batch& batch) override {
    out_.clear();
    auto n = static_cast<size_t>(s_.n);
    for (auto& e : batch) {
      if (e.op != change_op::insert) continue;  // REQUIRES: append-only input
      ev_.error.clear();
      ranked x;
      for (const auto& o : s_.order)
        x.order.push_back(o->eval(e.r, ev_));
      part_.clear();
      for (const auto& p : s_.partition)
        part_.push_back(p->eval(e.r, ev_));
      if (!ev_.error.empty()) {
        if (ctx_) ctx_->dead_letter(ev_.error, e.r, names_, e.ts);
        continue;
      }
      auto* have = parts_.find(part_);
      // Fast path: no better than the n-th kept row (ROW_NUMBER: a tie keeps the earlier row;
      // RANK: a tie has the n-th's rank and stays).
      if (have && have->best.size() >= n &&
          (s_.dense_ties ? better(have->best[n - 1], x) : !better(x, have->best[n - 1])))
        continue;
      if (have) parts_.touch(part_);
      auto& p = have ? *have : parts_.get(part_);
      x.r = std::move(e.r);
      x.ts = e.ts;
      auto pos = std::upper_bound(p.best.begin(), p.best.end(), x,
                                  [&](const ranked& a, const ranked& b) { return better(a, b); });
      size_t from = static_cast<size_t>(pos - p.best.begin());
      size_t before = p.best.size();
      p.best.insert(pos, std::move(x));
      if (p.best.size() > n) {
        size_t keep = n;
        if (s_.dense_ties)  // and whatever ties with the n-th
          while (keep < p.best.size() && !better(p.best[n - 1], p.best[keep]))
            ++keep;
        p.best.resize(keep);
      }
      int64_t rank = 0;
      for (size_t i = 0; i < p.best.size(); ++i) {
        if (!s_.dense_ties || i == 0 || better(p.best[i - 1], p.best[i]))
          rank = static_cast<int64_t>(i) + 1;
        if (i < from) continue;
        element o;
        o.r = p.best[i].r;
        o.r.push_back(value::integer(rank));
        o.key = part_;
        o.key.push_back(value::integer(static_cast<int64_t>(i) + 1));
        o.op = change_op::upsert;
        o.ts = p.best[i].ts;
        out_.push_back(std::move(o));
      }
      for (size_t i = p.best.size(); i < before; ++i) {  // positions pushed out (RANK)
        element o;
        o.key = part_;
        o.key.push_back(value::integer(static_cast<int64_t>(i) + 1));
        o.op = change_op::remove;
        o.ts = e.ts;
        out_.push_back(std::move(o));
      }
    }
    parts_.end_batch();
    emit(out_);
  }

  void snapshot(state_writer& w) override { parts_.snapshot(w); }
  void restore(state_reader& r) override { parts_.restore(r); }
  std::string describe() const override {
    return std::string("TopN ") + (s_.dense_ties ? "RANK" : "ROW_NUMBER") +
           " <= " + std::to_string(s_.n) + " per partition, an upsert per changed rank, " +
           std::to_string(parts_.cache_rows()) + " partitions cached" +
           (parts_.has_store() ? ", the rest in RocksDB" : "");
  }
  size_t state_size() const override { return parts_.size(); }
  size_t state_bytes() const override {
    return parts_.memory_bytes([](const partition_rows& p) {
      size_t b = sizeof(p);
      for (const auto& x : p.best)
        b += sizeof(ranked) + approx_bytes(x.order) + approx_bytes(x.r) - 2 * sizeof(row);
      return b;
    });
  }

 private:
  // a strictly before b in the ORDER BY.
  bool better(const ranked& a, const ranked& b) const { return ranks_before(s_, a.order, b.order); }

  top_n_spec s_;
  std::vector<std::string> names_;
  keyed_state<partition_rows> parts_;
  eval_context ev_;
  row part_;
  element_batch out_;
};

}  // namespace

operator_ptr make_rank(top_n_spec spec, std::vector<std::string> names, size_t cache_rows) {
  return std::make_unique<rank_op>(std::move(spec), std::move(names), cache_rows);
}

}  // namespace sluice::stream
