#include <algorithm>
#include <map>
#include <unordered_map>

#include "stream/memory.h"
#include "stream/operators/aggregates.h"

namespace sluice::stream {

namespace {

class top_n_op final : public operator_node {
 public:
  top_n_op(top_n_spec s, std::vector<std::string> names)
      : s_(std::move(s)), names_(std::move(names)) {}

  void process(element_batch& batch) override {
    for (auto& e : batch) {
      ev_.error.clear();
      entry en;
      en.order.reserve(s_.order.size());
      for (const auto& o : s_.order)
        en.order.push_back(o->eval(e.r, ev_));
      row part;
      for (const auto& p : s_.partition)
        part.push_back(p->eval(e.r, ev_));
      if (!ev_.error.empty()) {
        if (ctx_) ctx_->dead_letter(ev_.error, e.r, names_, e.ts);
        continue;
      }
      const auto& wend = e.r[static_cast<size_t>(s_.window_end_column)];
      int64_t end = wend.is_null() ? INT64_MIN : wend.i;
      if (end <= wm_) {
        if (ctx_) ctx_->late(e.r, names_, e.ts);
        continue;
      }
      auto& bucket = by_end_[end][part];
      offer(bucket, std::move(en), e);
    }
  }

  void advance_watermark(int64_t wm) override {
    if (wm > wm_) {
      wm_ = wm;
      out_.clear();
      while (!by_end_.empty() && by_end_.begin()->first <= wm_) {
        auto node = by_end_.extract(by_end_.begin());
        for (auto& [part, bucket] : node.mapped()) {
          int64_t rank = 0;
          for (size_t i = 0; i < bucket.size(); ++i) {
            if (!s_.dense_ties || i == 0 || better(bucket[i - 1], bucket[i]))
              rank = static_cast<int64_t>(i) + 1;
            element x;
            x.r = std::move(bucket[i].r);
            x.r.push_back(value::integer(rank));
            x.key = part;
            x.key.push_back(value::integer(static_cast<int64_t>(i) + 1));
            x.ts = bucket[i].ts;
            out_.push_back(std::move(x));
          }
        }
      }
      emit(out_);
    }
    if (next_) next_->advance_watermark(wm);
  }

  void snapshot(state_writer& w) override {
    w.put_varint(wm_);
    w.put_varint(static_cast<int64_t>(by_end_.size()));
    for (const auto& [end, parts] : by_end_) {
      w.put_varint(end);
      w.put_varint(static_cast<int64_t>(parts.size()));
      for (const auto& [p, bucket] : parts) {
        w.put_row(p);
        w.put_varint(static_cast<int64_t>(bucket.size()));
        for (const auto& en : bucket) {
          w.put_row(en.order);
          w.put_row(en.r);
          w.put_varint(en.ts);
        }
      }
    }
  }

  void restore(state_reader& r) override {
    wm_ = r.varint();
    by_end_.clear();
    for (int64_t n = r.varint(); n > 0; --n) {
      auto& parts = by_end_[r.varint()];
      for (int64_t m = r.varint(); m > 0; --m) {
        auto& bucket = parts[r.get_row()];
        for (int64_t k = r.varint(); k > 0; --k) {
          entry en;
          en.order = r.get_row();
          en.r = r.get_row();
          en.ts = r.varint();
          bucket.push_back(std::move(en));
        }
      }
    }
  }

  std::string describe() const override {
    return std::string("WindowTopN ") + (s_.dense_ties ? "RANK" : "ROW_NUMBER") +
           " <= " + std::to_string(s_.n) + ", emits when the watermark passes window_end";
  }

  size_t state_size() const override {
    size_t n = 0;
    for (const auto& [e, parts] : by_end_)
      for (const auto& [p, b] : parts)
        n += b.size();
    return n;
  }
  size_t state_bytes() const override {
    size_t n = 0;
    for (const auto& [e, parts] : by_end_)
      n += k_node_bytes + sampled_bytes(parts, [](const auto& p) {
             size_t b = approx_bytes(p.first);
             for (const auto& en : p.second)
               b += sizeof(entry) + approx_bytes(en.order) + approx_bytes(en.r) - 2 * sizeof(row);
             return b;
           });
    return n;
  }

 private:
  struct entry {
    row order;
    row r;
    int64_t ts = 0;
  };

  // a strictly before b in the ORDER BY.
  bool better(const entry& a, const entry& b) const { return ranks_before(s_, a.order, b.order); }

  void offer(std::vector<entry>& bucket, entry en, element& e) {
    auto n = static_cast<size_t>(s_.n);
    // Fast path: worse than the n-th kept row (or tied with it under ROW_NUMBER).
    if (bucket.size() >= n) {
      const auto& last = bucket[n - 1];
      if (better(last, en) || (!s_.dense_ties && !better(en, last))) return;
    }
    en.r = std::move(e.r);
    en.ts = e.ts;
    auto pos = std::upper_bound(bucket.begin(), bucket.end(), en,
                                [&](const entry& a, const entry& b) { return better(a, b); });
    bucket.insert(pos, std::move(en));
    // Keep the first n, plus (RANK) whatever ties with the n-th.
    if (bucket.size() > n) {
      size_t keep = n;
      if (s_.dense_ties)
        while (keep < bucket.size() && !better(bucket[n - 1], bucket[keep]))
          ++keep;
      bucket.resize(keep);
    }
  }

  top_n_spec s_;
  std::vector<std::string> names_;
  eval_context ev_;
  int64_t wm_ = INT64_MIN;
  std::map<int64_t, std::unordered_map<row, std::vector<entry>, row_hash, row_equal>> by_end_;
  element_batch out_;
};

}  // namespace

operator_ptr make_top_n(top_n_spec spec, std::vector<std::string> names) {
  return std::make_unique<top_n_op>(std::move(spec), std::move(names));
}

}  // namespace sluice::stream
