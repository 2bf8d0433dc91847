// Interval and window joins: two append-only inputs whose rows can only match within a
// bounded stretch of event time. Rows are kept in memory, by join key, until the watermark
// reaches their expiry; state is bounded by the watermark, not by the input's history.

#include <map>
#include <set>
#include <unordered_map>

#include "stream/operators/join_rows.h"

namespace sluice::stream {

using namespace join_detail;

namespace {

class bounded_join_op final : public multi_input_operator {
 public:
  explicit bounded_join_op(bounded_join_spec spec)
      : multi_input_operator(2), spec_(std::move(spec)) {}

  std::string describe() const override {
    return spec_.what + " " + join_type_name(spec_.join.type) + " on " +
           std::to_string(spec_.join.left_keys.size()) + " key(s)" +
           (spec_.join.residual ? " + condition" : "") +
           ", append-only, rows kept until the watermark passes them";
  }

  size_t state_size() const override { return sides_[0].count + sides_[1].count; }
  size_t state_bytes() const override {
    size_t n = 0;
    for (const auto& s : sides_)
      n += sampled_bytes(s.by_key,
                         [](const auto& e) {
                           size_t b = approx_bytes(e.first);
                           for (const auto& k : e.second.rows)
                             b += join_detail::approx_bytes(k);
                           return b;
                         }) +
           s.by_expiry.size() * (k_node_bytes + 24);
    return n;
  }

  void snapshot(state_writer& w) override {
    w.put_varint(static_cast<int64_t>(next_id_));
    for (auto& s : sides_) {
      w.put_varint(static_cast<int64_t>(s.count));
      for (const auto& [key, b] : s.by_key)
        for (const auto& k : b.rows) {
          if (k.expired) continue;
          w.put_row(key);
          put_kept(w, k);
          w.put_varint(static_cast<int64_t>(k.id));
        }
    }
  }

  void restore(state_reader& r) override {
    next_id_ = static_cast<uint64_t>(r.varint());
    for (auto& s : sides_) {
      s = side{};
      for (int64_t n = r.varint(); n > 0; --n) {
        row key = r.get_row();
        kept_row k = get_kept(r);
        k.id = static_cast<uint64_t>(r.varint());
        keep(s, key, std::move(k));
      }
    }
  }

 protected:
  void process_input(int side_no, element_batch& batch) override {
    out_.clear();
    auto& mine = sides_[side_no];
    auto& theirs = sides_[1 - side_no];
    int time_col = side_no == 0 ? spec_.left_expiry_column : spec_.right_expiry_column;
    int64_t offset = side_no == 0 ? spec_.left_offset_ms : spec_.right_offset_ms;
    for (auto& e : batch) {
      if (e.op != change_op::insert) continue;  // REQUIRES: append-only inputs
      ev_.error.clear();
      kept_row k{std::move(e.r), std::move(e.key), e.ts, 0, 0, 0};
      const value& t = time_col >= 0 ? k.r[static_cast<size_t>(time_col)] : value();
      int64_t time = time_col >= 0 ? (t.is_null() ? INT64_MIN : t.i) : k.ts;
      if (time == INT64_MIN) {
        if (ctx_) ctx_->dead_letter("NULL time in a time-bounded join", k.r, names_(side_no), k.ts);
        continue;
      }
      k.expiry = time + offset;
      if (k.expiry <= watermark()) {
        if (ctx_) ctx_->late(k.r, names_(side_no), k.ts);
        continue;
      }
      bool matchable =
          eval_key(side_no == 0 ? spec_.join.left_keys : spec_.join.right_keys, k.r, key_, ev_);
      if (!ev_.error.empty()) {
        if (ctx_) ctx_->dead_letter(ev_.error, k.r, names_(side_no), k.ts);
        continue;
      }
      if (!matchable) {
        if (!preserves(spec_.join.type, side_no)) continue;
        key_.assign(1, value());
      } else if (auto it = theirs.by_key.find(key_); it != theirs.by_key.end()) {
        for (auto& b : it->second.rows) {
          if (b.expired || !residual_holds(spec_.join, side_no, k, b, scratch_, ev_)) continue;
          out_.push_back(joined(spec_.join, side_no, k, &b, change_op::insert,
                                spec_.join.residual ? &scratch_ : nullptr));
          ++b.matches;
          ++k.matches;
        }
      }
      k.id = next_id_++;
      keep(mine, key_, std::move(k));
    }
    emit(out_);
  }

  void on_watermark(int64_t wm) override {
    out_.clear();
    for (int s = 0; s < 2; ++s) {
      auto& sd = sides_[s];
      while (!sd.by_expiry.empty() && sd.by_expiry.begin()->first <= wm) {
        auto [entry, id] = sd.by_expiry.begin()->second;
        sd.by_expiry.erase(sd.by_expiry.begin());
        auto& b = entry->second;
        // Rows are in id order (appended as they come): a binary search finds it.
        auto r = std::lower_bound(b.rows.begin(), b.rows.end(), id,
                                  [](const kept_row& x, uint64_t v) { return x.id < v; });
        if (r->matches == 0 && preserves(spec_.join.type, s))
          out_.push_back(joined(spec_.join, s, *r, nullptr, change_op::insert));
        sd.times.erase(sd.times.find(r->ts));
        // Expired rows are only marked: a hot key's bucket is compacted when half of it is
        // gone, not shifted once per row.
        r->expired = true;
        r->r.clear();
        --sd.count;
        if (++b.expired * 2 > b.rows.size()) {
          std::erase_if(b.rows, [](const kept_row& x) { return x.expired; });
          b.expired = 0;
        }
        if (b.rows.empty()) sd.by_key.erase(entry->first);  // no expiry names it any more
      }
    }
    emit(out_);
    // Rows still kept may yet be joined: hold the watermark back to the oldest of them.
    int64_t out_wm = wm;
    for (auto& sd : sides_)
      if (!sd.times.empty()) out_wm = std::min(out_wm, *sd.times.begin());
    if (out_wm > forwarded_ && next_) {
      forwarded_ = out_wm;
      next_->advance_watermark(out_wm);
    }
  }

 private:
  struct bucket {
    std::vector<kept_row> rows;  // in id order; expired ones marked until compacted
    size_t expired = 0;
  };
  struct side {
    std::unordered_map<row, bucket, row_hash, row_equal> by_key;
    // Expiry -> the row's bucket (elements of an unordered_map stay put) and id.
    std::multimap<int64_t, std::pair<std::pair<const row, bucket>*, uint64_t>> by_expiry;
    std::multiset<int64_t> times;  // event times of the rows kept
    size_t count = 0;
  };

  void keep(side& s, const row& key, kept_row k) {
    auto& entry = *s.by_key.try_emplace(key).first;
    // Times mostly grow: the end is the right place, found without a search.
    s.by_expiry.emplace_hint(s.by_expiry.end(), k.expiry, std::make_pair(&entry, k.id));
    s.times.insert(s.times.end(), k.ts);
    entry.second.rows.push_back(std::move(k));
    ++s.count;
  }

  bounded_join_spec spec_;
  side sides_[2];
  uint64_t next_id_ = 0;
  int64_t forwarded_ = INT64_MIN;
  side_names names_{spec_.join};
  eval_context ev_;
  row key_, scratch_;
  element_batch out_;
};

}  // namespace

operator_ptr make_bounded_join(bounded_join_spec spec) {
  return std::make_unique<bounded_join_op>(std::move(spec));
}

}  // namespace sluice::stream
