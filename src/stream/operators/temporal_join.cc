// Temporal (versioned-table) joins: each row of an append-only stream meets the row a table
// had for its key at one point in time:
//   event time  FOR SYSTEM_TIME AS OF s.ts: the version valid at the row's event time. Stream
//               rows wait until the watermark passes them (so that every version up to their
//               time is in); a key's versions older than the newest one at or before the
//               watermark are dropped.
//   processing  FOR SYSTEM_TIME AS OF PROCTIME(): the table's current row when the stream row
//               arrives (ksqlDB's stream-table join); nothing waits, one version per key.
// Output: append-only; a table change never retracts what was joined before.

#include <map>
#include <optional>
#include <unordered_map>

#include "stream/operators/join_rows.h"

namespace sluice::stream {

using namespace join_detail;

namespace {

class temporal_join_op final : public multi_input_operator {
 public:
  temporal_join_op(join_spec spec, bool event_time)
      : multi_input_operator(2), spec_(std::move(spec)), event_time_(event_time) {}

  std::string describe() const override {
    return std::string("TemporalJoin ") + join_type_name(spec_.type) +
           (event_time_ ? " AS OF event time (stream rows wait for the watermark)"
                        : " AS OF processing time (the table's current row)") +
           ", append-only";
  }

  size_t state_size() const override {
    size_t n = waiting_.size();
    for (const auto& [k, v] : versions_)
      n += v.size();
    return n;
  }
  size_t state_bytes() const override {
    return sampled_bytes(versions_,
                         [](const auto& e) {
                           size_t b = approx_bytes(e.first);
                           for (const auto& [t, r] : e.second)
                             b += k_node_bytes + 8 + (r ? approx_bytes(*r) : sizeof(row));
                           return b;
                         }) +
           sampled_bytes(waiting_,
                         [](const auto& e) { return 8 + join_detail::approx_bytes(e.second); });
  }

  void snapshot(state_writer& w) override {
    w.put_varint(static_cast<int64_t>(versions_.size()));
    for (const auto& [key, vs] : versions_) {
      w.put_row(key);
      w.put_varint(static_cast<int64_t>(vs.size()));
      for (const auto& [t, r] : vs) {
        w.put_varint(t);
        w.put_varint(r ? 1 : 0);
        if (r) w.put_row(*r);
      }
    }
    w.put_varint(static_cast<int64_t>(waiting_.size()));
    for (const auto& [t, k] : waiting_)
      put_kept(w, k);
  }

  void restore(state_reader& r) override {
    versions_.clear();
    waiting_.clear();
    for (int64_t n = r.varint(); n > 0; --n) {
      auto& vs = versions_[r.get_row()];
      for (int64_t m = r.varint(); m > 0; --m) {
        int64_t t = r.varint();
        std::optional<row> v;
        if (r.varint()) v = r.get_row();
        vs.emplace(t, std::move(v));
      }
    }
    for (int64_t n = r.varint(); n > 0; --n) {
      auto k = get_kept(r);
      waiting_.emplace(k.ts, std::move(k));
    }
  }

 protected:
  void process_input(int side, element_batch& batch) override {
    out_.clear();
    if (side == 1) {
      for (auto& e : batch)
        add_version(e);
    } else {
      for (auto& e : batch) {
        if (e.op != change_op::insert) continue;  // REQUIRES: append-only stream side
        kept_row k{std::move(e.r), std::move(e.key), e.ts, 0, 0, 0};
        if (!event_time_) {
          join_one(k);
        } else if (k.ts < watermark()) {
          if (ctx_) ctx_->late(k.r, names_(0), k.ts);
        } else {
          waiting_.emplace(k.ts, std::move(k));
        }
      }
    }
    emit(out_);
  }

  void on_watermark(int64_t wm) override {
    out_.clear();
    while (!waiting_.empty() && waiting_.begin()->first <= wm) {
      auto node = waiting_.extract(waiting_.begin());
      join_one(node.mapped());
    }
    emit(out_);
    if (next_) next_->advance_watermark(wm);
  }

 private:
  using versions = std::map<int64_t, std::optional<row>>;  // time -> row (nullopt: deleted)

  void add_version(element& e) {
    ev_.error.clear();
    row key;
    if (e.op == change_op::remove) {
      if (e.r.empty()) {
        key = e.key;  // a table's delete names its primary key, which is the join key
      } else if (!eval_key(spec_.right_keys, e.r, key, ev_)) {
        return;
      }
    } else if (!eval_key(spec_.right_keys, e.r, key, ev_)) {
      return;  // a NULL key is never looked up
    }
    if (!event_time_) {  // only the current row counts
      if (e.op == change_op::remove)
        versions_.erase(key);
      else
        versions_[key] = versions{{0, std::move(e.r)}};
      return;
    }
    auto& vs = versions_[key];
    if (e.op == change_op::remove)
      vs.insert_or_assign(e.ts, std::nullopt);
    else
      vs.insert_or_assign(e.ts, std::move(e.r));
    prune(key, vs);
  }

  // Versions older than the newest at or before the watermark can no longer be asked for.
  void prune(const row& key, versions& vs) {
    auto it = vs.upper_bound(watermark());
    if (it == vs.begin()) return;
    --it;  // the newest version at or before the watermark
    vs.erase(vs.begin(), it);
    if (vs.size() == 1 && !vs.begin()->second) versions_.erase(key);
  }

  void join_one(kept_row& k) {
    ev_.error.clear();
    const row* match = nullptr;
    if (eval_key(spec_.left_keys, k.r, key_, ev_)) {
      if (auto it = versions_.find(key_); it != versions_.end()) {
        auto& vs = it->second;
        auto v = vs.upper_bound(event_time_ ? k.ts : INT64_MAX);
        if (v != vs.begin()) {
          --v;
          if (v->second) match = &*v->second;
        }
      }
    } else if (!ev_.error.empty()) {
      if (ctx_) ctx_->dead_letter(ev_.error, k.r, names_(0), k.ts);
      return;
    }
    if (match) {
      // The joined row, built once: checked against the residual condition, then output.
      scratch_.assign(k.r.begin(), k.r.end());
      scratch_.insert(scratch_.end(), match->begin(), match->end());
      ev_.error.clear();
      if (!spec_.residual || (is_true(spec_.residual->eval(scratch_, ev_)) && ev_.error.empty())) {
        element e;
        e.r = std::move(scratch_);
        e.ts = k.ts;
        out_.push_back(std::move(e));
        return;
      }
    }
    if (spec_.type == join_type::left) {
      out_.push_back(joined(spec_, 0, k, nullptr, change_op::insert));
      out_.back().ts = k.ts;
    }
  }

  join_spec spec_;
  bool event_time_;
  std::unordered_map<row, versions, row_hash, row_equal> versions_;
  std::multimap<int64_t, kept_row> waiting_;  // event time -> stream row
  side_names names_{spec_};
  eval_context ev_;
  row key_, scratch_;
  element_batch out_;
};

}  // namespace

operator_ptr make_temporal_join(join_spec spec, bool event_time) {
  return std::make_unique<temporal_join_op>(std::move(spec), event_time);
}

}  // namespace sluice::stream
