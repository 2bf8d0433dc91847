// OVER aggregates: for every row of an append-only stream, the aggregates over the rows of
// its partition in a frame that ends at the row itself (by event time: RANGE INTERVAL ..
// PRECEDING, or by count: ROWS n PRECEDING, or from the first row). Rows wait until the
// watermark passes them, then are taken in event-time order, so that the result does not
// depend on arrival order; rows of one partition with the same time (RANGE peers) see each
// other. State per partition: the rows in its frame (none for an unbounded frame) and the
// accumulators; partitions are kept in memory and not expired yet (their number grows with
// the keys seen).

#include <deque>
#include <map>
#include <unordered_map>

#include "stream/memory.h"
#include "stream/operators/aggregates.h"

namespace sluice::stream {

namespace {

class over_aggregate_op final : public operator_node {
 public:
  over_aggregate_op(over_spec s, std::vector<std::string> names)
      : s_(std::move(s)), names_(std::move(names)) {
    for (auto& a : s_.aggs)
      a.retracting = s_.preceding >= 0;  // a bounded frame takes rows back out
  }

  void process(element_batch& batch) override {
    for (auto& e : batch) {
      if (e.op != change_op::insert) continue;  // REQUIRES: append-only input
      // Ordered by the ORDER BY column (the input's event-time column).
      const auto& tv = e.r[static_cast<size_t>(s_.time_column)];
      int64_t t = tv.is_null() ? e.ts : tv.i;
      if (t <= wm_) {
        if (ctx_) ctx_->late(e.r, names_, t);
        continue;
      }
      waiting_.emplace(t, std::move(e.r));
    }
  }

  void advance_watermark(int64_t wm) override {
    if (wm <= wm_) return;
    wm_ = wm;
    out_.clear();
    while (!waiting_.empty() && waiting_.begin()->first <= wm) {
      // All rows of the earliest time: added first, then emitted (RANGE peers see each other).
      int64_t t = waiting_.begin()->first;
      auto end = waiting_.upper_bound(t);
      peers_.clear();
      for (auto it = waiting_.begin(); it != end; ++it)
        take(t, it->second);
      if (!s_.rows)
        for (auto& [part, r] : peers_)
          out_.push_back(result(*part, std::move(r), t));
      waiting_.erase(waiting_.begin(), end);
    }
    emit(out_);
    if (next_) next_->advance_watermark(wm);
  }

  void snapshot(state_writer& w) override {
    w.put_varint(wm_);
    w.put_varint(static_cast<int64_t>(waiting_.size()));
    for (const auto& [t, r] : waiting_) {
      w.put_varint(t);
      w.put_row(r);
    }
    w.put_varint(static_cast<int64_t>(parts_.size()));
    for (const auto& [k, p] : parts_) {
      w.put_row(k);
      w.put_varint(static_cast<int64_t>(p.frame.size()));
      for (const auto& f : p.frame) {
        w.put_varint(f.ts);
        w.put_row(f.args);
      }
      for (const auto& a : p.accs)
        agg_snapshot(w, a);
    }
  }

  void restore(state_reader& r) override {
    wm_ = r.varint();
    waiting_.clear();
    parts_.clear();
    for (int64_t n = r.varint(); n > 0; --n) {
      int64_t t = r.varint();
      waiting_.emplace(t, r.get_row());
    }
    for (int64_t n = r.varint(); n > 0; --n) {
      auto& p = parts_[r.get_row()];
      for (int64_t m = r.varint(); m > 0; --m) {
        framed f;
        f.ts = r.varint();
        f.args = r.get_row();
        p.frame.push_back(std::move(f));
      }
      for (size_t i = 0; i < s_.aggs.size(); ++i)
        p.accs.push_back(agg_restore(r));
    }
  }

  std::string describe() const override {
    std::string a;
    for (const auto& x : s_.aggs)
      a += (a.empty() ? "" : ", ") + x.text;
    std::string frame = s_.preceding < 0 ? "UNBOUNDED"
                        : s_.rows        ? std::to_string(s_.preceding) + " rows"
                                         : std::to_string(s_.preceding) + " ms";
    return "OverAggregate [" + a + "] over " + frame +
           " preceding, rows emitted as the watermark passes them";
  }

  size_t state_size() const override {
    size_t n = waiting_.size();
    for (const auto& [k, p] : parts_)
      n += std::max<size_t>(p.frame.size(), 1);
    return n;
  }
  size_t state_bytes() const override {
    return sampled_bytes(parts_,
                         [](const auto& e) {
                           size_t b = approx_bytes(e.first) + approx_bytes(e.second.accs);
                           for (const auto& f : e.second.frame)
                             b += sizeof(framed) + approx_bytes(f.args) - sizeof(row);
                           return b;
                         }) +
           sampled_bytes(waiting_, [](const auto& e) { return 8 + approx_bytes(e.second); });
  }

 private:
  struct framed {
    int64_t ts = 0;
    row args;  // the aggregates' argument values
  };
  struct partition {
    std::deque<framed> frame;
    std::vector<agg_state> accs;
  };
  using parts_map = std::unordered_map<row, partition, row_hash, row_equal>;

  // Adds the row to its partition's frame; ROWS frames emit it at once.
  void take(int64_t t, row& r) {
    ev_.error.clear();
    row part;
    for (const auto& p : s_.partition)
      part.push_back(p->eval(r, ev_));
    framed f{t, {}};
    for (const auto& a : s_.aggs)
      f.args.push_back(a.arg ? a.arg->eval(r, ev_) : value());
    if (!ev_.error.empty()) {
      if (ctx_) ctx_->dead_letter(ev_.error, r, names_, t);
      return;
    }
    auto it = parts_.try_emplace(std::move(part)).first;
    auto& p = it->second;
    if (p.accs.empty()) p.accs.resize(s_.aggs.size());
    for (size_t i = 0; i < s_.aggs.size(); ++i)
      agg_add(s_.aggs[i], p.accs[i], f.args[i]);
    if (s_.preceding >= 0) p.frame.push_back(std::move(f));
    // Out of the frame: rows older than the interval, or beyond the row count.
    while (!p.frame.empty() && (s_.rows ? static_cast<int64_t>(p.frame.size()) > s_.preceding + 1
                                        : p.frame.front().ts < t - s_.preceding)) {
      for (size_t i = 0; i < s_.aggs.size(); ++i)
        agg_retract(s_.aggs[i], p.accs[i], p.frame.front().args[i]);
      p.frame.pop_front();
    }
    if (s_.rows)
      out_.push_back(result(p, std::move(r), t));
    else
      peers_.emplace_back(&p, std::move(r));
  }

  element result(const partition& p, row r, int64_t t) {
    element e;
    e.r = std::move(r);
    for (size_t i = 0; i < s_.aggs.size(); ++i)
      e.r.push_back(agg_result(s_.aggs[i], p.accs[i]));
    e.ts = t;
    return e;
  }

  over_spec s_;
  std::vector<std::string> names_;
  int64_t wm_ = INT64_MIN;
  std::multimap<int64_t, row> waiting_;
  parts_map parts_;
  std::vector<std::pair<const partition*, row>> peers_;  // a RANGE frame's rows of one time
  eval_context ev_;
  element_batch out_;
};

}  // namespace

operator_ptr make_over_aggregate(over_spec spec, std::vector<std::string> input_names) {
  return std::make_unique<over_aggregate_op>(std::move(spec), std::move(input_names));
}

}  // namespace sluice::stream
