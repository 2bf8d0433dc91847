// Top-N per partition key without a window (ROW_NUMBER() or RANK() OVER (PARTITION BY ..
// ORDER BY ..) <= N): keeps the best rows of each partition (keyed_state: memory, RocksDB
// beyond the cache) and emits an upsert for every position whose row changed. Over a
// retracting changelog (the Top-N of an aggregate) it keeps every row of a partition, as
// Flink's retractable Top-N does: a retracted top row is replaced by the next one.
// ROW_NUMBER shows N rows (a tie keeps the earlier row); RANK shows every row whose rank (1 +
// the rows strictly before it) is at most N, so rows tied with the N-th stay and a better row
// can push several tied ones out at once (a delete for each position gone). Output key: the
// partition values, then the position (1, 2, ...); the rank is the last column.

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
      // REQUIRES: an append-only input, or a retracting one when s_.retracting.
      if (e.op == change_op::upsert || (e.op == change_op::remove && !s_.retracting)) continue;
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
      if (e.op == change_op::remove) {
        retract(x, e);
        continue;
      }
      auto* have = parts_.find(part_);
      // Fast path: no better than the n-th kept row (ROW_NUMBER: a tie keeps the earlier row;
      // RANK: a tie has the n-th's rank and stays). Over a changelog every row is kept.
      if (!s_.retracting && have && have->best.size() >= n &&
          (s_.dense_ties ? better(have->best[n - 1], x) : !better(x, have->best[n - 1])))
        continue;
      if (have) parts_.touch(part_);
      auto& p = have ? *have : parts_.get(part_);
      x.r = std::move(e.r);
      x.ts = e.ts;
      auto pos = std::upper_bound(p.best.begin(), p.best.end(), x,
                                  [&](const ranked& a, const ranked& b) { return better(a, b); });
      size_t from = static_cast<size_t>(pos - p.best.begin());
      size_t before = visible(p);
      p.best.insert(pos, std::move(x));
      if (!s_.retracting) p.best.resize(visible(p));
      emit_positions(p, from, before, e.ts);
    }
    parts_.end_batch();
    emit(out_);
  }

  void snapshot(state_writer& w) override { parts_.snapshot(w); }
  void restore(state_reader& r) override { parts_.restore(r); }
  std::string describe() const override {
    return std::string("TopN ") + (s_.dense_ties ? "RANK" : "ROW_NUMBER") +
           " <= " + std::to_string(s_.n) + " per partition, an upsert per changed rank, " +
           (s_.retracting ? "every row of a partition kept (a retracting input), " : "") +
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

  // How many of the partition's rows are in the output: n (ROW_NUMBER), or n and whatever ties
  // with the n-th (RANK).
  size_t visible(const partition_rows& p) const {
    auto n = static_cast<size_t>(s_.n);
    if (p.best.size() <= n) return p.best.size();
    size_t keep = n;
    if (s_.dense_ties)
      while (keep < p.best.size() && !better(p.best[n - 1], p.best[keep]))
        ++keep;
    return keep;
  }

  // A retracted row leaves its partition: the rows after it move up a position.
  void retract(const ranked& x, const element& e) {
    auto* p = parts_.find(part_);
    if (!p) return;
    auto [lo, hi] =
        std::equal_range(p->best.begin(), p->best.end(), x,
                         [&](const ranked& a, const ranked& b) { return better(a, b); });
    auto it = std::find_if(lo, hi, [&](const ranked& y) { return row_equal()(y.r, e.r); });
    if (it == hi) return;  // not kept (an earlier retraction, or never inserted)
    size_t at = static_cast<size_t>(it - p->best.begin());
    size_t before = visible(*p);
    parts_.touch(part_);
    p->best.erase(it);
    emit_positions(*p, at, before, e.ts);
    if (p->best.empty()) parts_.erase(part_);
  }

  // Upserts for the visible positions from `from` on, deletes for positions no longer shown
  // (there were `before`).
  void emit_positions(const partition_rows& p, size_t from, size_t before, int64_t ts) {
    size_t shown = visible(p);
    int64_t rank = 0;
    for (size_t i = 0; i < shown; ++i) {
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
    for (size_t i = shown; i < before; ++i) {  // positions no longer shown
      element o;
      o.key = part_;
      o.key.push_back(value::integer(static_cast<int64_t>(i) + 1));
      o.op = change_op::remove;
      o.ts = ts;
      out_.push_back(std::move(o));
    }
  }

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
