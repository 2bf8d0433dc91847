#include <algorithm>
#include <map>
#include <unordered_map>

#include "stream/memory.h"
#include "stream/operators/aggregates.h"
#include "stream/windows.h"

namespace sluice::stream {

namespace {

using accumulators = std::vector<agg_state>;
// A group key with its hash computed once: a record of a hopping window updates several
// windows with the same key.
struct hashed_row {
  row r;
  size_t h = 0;
  bool operator==(const hashed_row& o) const { return h == o.h && row_equal()(r, o.r); }
};
struct hashed_row_hash {
  size_t operator()(const hashed_row& k) const { return k.h; }
};
using group_map = std::unordered_map<hashed_row, accumulators, hashed_row_hash>;

class window_aggregate_op final : public operator_node {
 public:
  window_aggregate_op(window_spec w, std::vector<expression_ptr> keys, std::vector<agg_spec> aggs,
                      std::vector<std::string> names)
      : w_(w), keys_(std::move(keys)), aggs_(std::move(aggs)), names_(std::move(names)) {
    if (w_.k == window_spec::kind::tumble) w_.slide_ms = w_.size_ms;
  }

  void process(element_batch& batch) override {
    hashed_row key;
    std::vector<value> args(aggs_.size());
    for (auto& e : batch) {
      int64_t t = e.ts;
      if (w_.time_column >= 0) {
        const auto& v = e.r[static_cast<size_t>(w_.time_column)];
        if (v.is_null()) {
          if (ctx_) ctx_->dead_letter("NULL event time", e.r, names_, e.ts);
          continue;
        }
        t = v.i;
      }
      ev_.error.clear();
      key.r.clear();
      for (const auto& k : keys_)
        key.r.push_back(k->eval(e.r, ev_));
      key.h = row_hash()(key.r);
      for (size_t i = 0; i < aggs_.size(); ++i)
        args[i] = aggs_[i].arg ? aggs_[i].arg->eval(e.r, ev_) : value();
      if (!ev_.error.empty()) {
        if (ctx_) ctx_->dead_letter(ev_.error, e.r, names_, e.ts);
        continue;
      }
      if (w_.k == window_spec::kind::session) {
        add_session(key.r, args, t, e);
        continue;
      }
      bool placed = false;
      auto place = [&](int64_t start) {
        if (start + w_.size_ms <= wm_) return;  // that window has been emitted
        placed = true;
        auto [w, fresh] = windows_.try_emplace(start);
        auto& groups = w->second;
        if (fresh) groups.reserve(expected_groups_);
        auto it = groups.find(key);
        if (it == groups.end()) it = groups.emplace(key, accumulators(aggs_.size())).first;
        for (size_t i = 0; i < aggs_.size(); ++i)
          agg_add(aggs_[i], it->second[i], args[i]);
      };
      if (w_.start_column >= 0) {
        const auto& s = e.r[static_cast<size_t>(w_.start_column)];
        if (!s.is_null()) place(s.i);  // the window the row was assigned upstream
      } else {
        for (int64_t start = window_first_start(t, w_.size_ms, w_.slide_ms); start <= t;
             start += w_.slide_ms)
          place(start);
      }
      if (!placed && ctx_) ctx_->late(e.r, names_, t);
    }
  }

  void advance_watermark(int64_t wm) override {
    if (wm > wm_) {
      wm_ = wm;
      out_.clear();
      if (w_.k == window_spec::kind::session) {
        close_sessions();
      } else {
        while (!windows_.empty() && windows_.begin()->first + w_.size_ms <= wm_) {
          auto node = windows_.extract(windows_.begin());
          int64_t start = node.key();
          expected_groups_ = node.mapped().size();
          for (auto& [k, accs] : node.mapped())
            emit_group(start, start + w_.size_ms, k.r, accs);
        }
      }
      emit(out_);
    }
    if (next_) next_->advance_watermark(wm);
  }

  void snapshot(state_writer& w) override {
    w.put_varint(wm_);
    auto put_groups = [&](const group_map& g) {
      w.put_varint(static_cast<int64_t>(g.size()));
      for (const auto& [k, accs] : g) {
        w.put_row(k.r);
        for (const auto& a : accs)
          agg_snapshot(w, a);
      }
    };
    w.put_varint(static_cast<int64_t>(windows_.size()));
    for (const auto& [start, g] : windows_) {
      w.put_varint(start);
      put_groups(g);
    }
    w.put_varint(static_cast<int64_t>(sessions_.size()));
    for (const auto& [k, list] : sessions_) {
      w.put_row(k);
      w.put_varint(static_cast<int64_t>(list.size()));
      for (const auto& s : list) {
        w.put_varint(s.start);
        w.put_varint(s.end);
        for (const auto& a : s.accs)
          agg_snapshot(w, a);
      }
    }
  }

  void restore(state_reader& r) override {
    wm_ = r.varint();
    auto read_accs = [&] {
      accumulators accs;
      for (size_t i = 0; i < aggs_.size(); ++i)
        accs.push_back(agg_restore(r));
      return accs;
    };
    windows_.clear();
    for (int64_t n = r.varint(); n > 0; --n) {
      int64_t start = r.varint();
      auto& g = windows_[start];
      for (int64_t m = r.varint(); m > 0; --m) {
        hashed_row k;
        k.r = r.get_row();
        k.h = row_hash()(k.r);
        g.emplace(std::move(k), read_accs());
      }
    }
    sessions_.clear();
    min_end_ = INT64_MAX;
    for (int64_t n = r.varint(); n > 0; --n) {
      row k = r.get_row();
      auto& list = sessions_[k];
      for (int64_t m = r.varint(); m > 0; --m) {
        session s;
        s.start = r.varint();
        s.end = r.varint();
        s.accs = read_accs();
        min_end_ = std::min(min_end_, s.end);
        list.push_back(std::move(s));
      }
    }
  }

  std::string describe() const override {
    std::string w;
    switch (w_.k) {
      case window_spec::kind::tumble:
        w = "TUMBLE(" + std::to_string(w_.size_ms) + " ms)";
        break;
      case window_spec::kind::hop:
        w = "HOP(size " + std::to_string(w_.size_ms) + " ms, slide " + std::to_string(w_.slide_ms) +
            " ms)";
        break;
      case window_spec::kind::session:
        w = "SESSION(gap " + std::to_string(w_.gap_ms) + " ms)";
        break;
    }
    std::string a;
    for (const auto& s : aggs_)
      a += (a.empty() ? "" : ", ") + s.text;
    return "WindowAggregate " + w + " keys=" + std::to_string(keys_.size()) + " [" + a +
           "], emits when the watermark passes window_end";
  }

  size_t state_size() const override {
    size_t n = 0;
    for (const auto& [s, g] : windows_)
      n += g.size();
    for (const auto& [k, l] : sessions_)
      n += l.size();
    return n;
  }
  size_t state_bytes() const override {
    size_t n = 0;
    for (const auto& [s, g] : windows_)
      n += k_node_bytes + sampled_bytes(g, [](const auto& e) {
             return approx_bytes(e.first.r) + approx_bytes(e.second);
           });
    return n + sampled_bytes(sessions_, [](const auto& e) {
             size_t b = approx_bytes(e.first);
             for (const auto& s : e.second)
               b += sizeof(session) + approx_bytes(s.accs);
             return b;
           });
  }

 private:
  struct session {
    int64_t start = 0, end = 0;  // end = last event time + gap
    accumulators accs;
  };

  void emit_group(int64_t start, int64_t end, const row& k, const accumulators& accs) {
    element x;
    x.r.reserve(2 + k.size() + accs.size());
    x.r.push_back(value::timestamp(start));
    x.r.push_back(value::timestamp(end));
    x.r.insert(x.r.end(), k.begin(), k.end());
    x.key = row(x.r.begin(), x.r.end());
    for (size_t i = 0; i < aggs_.size(); ++i)
      x.r.push_back(agg_result(aggs_[i], accs[i]));
    x.ts = end - 1;
    out_.push_back(std::move(x));
  }

  void add_session(const row& key, const std::vector<value>& args, int64_t t, const element& e) {
    if (t + w_.gap_ms <= wm_) {
      if (ctx_) ctx_->late(e.r, names_, t);
      return;
    }
    auto& list = sessions_[key];
    session s;
    s.start = t;
    s.end = t + w_.gap_ms;
    s.accs.resize(aggs_.size());
    for (size_t i = 0; i < aggs_.size(); ++i)
      agg_add(aggs_[i], s.accs[i], args[i]);
    // Merge every session this one overlaps.
    for (size_t i = 0; i < list.size();) {
      auto& o = list[i];
      if (o.start < s.end && s.start < o.end) {
        s.start = std::min(s.start, o.start);
        s.end = std::max(s.end, o.end);
        for (size_t j = 0; j < aggs_.size(); ++j)
          agg_merge(aggs_[j], o.accs[j], s.accs[j]);
        s.accs = std::move(o.accs);
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
        i = 0;
        continue;
      }
      ++i;
    }
    min_end_ = std::min(min_end_, s.end);
    list.push_back(std::move(s));
  }

  void close_sessions() {
    if (wm_ < min_end_) return;
    min_end_ = INT64_MAX;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto& list = it->second;
      for (size_t i = 0; i < list.size();) {
        if (list[i].end <= wm_) {
          emit_group(list[i].start, list[i].end, it->first, list[i].accs);
          list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          min_end_ = std::min(min_end_, list[i].end);
          ++i;
        }
      }
      if (list.empty())
        it = sessions_.erase(it);
      else
        ++it;
    }
  }

  window_spec w_;
  std::vector<expression_ptr> keys_;
  std::vector<agg_spec> aggs_;
  std::vector<std::string> names_;
  eval_context ev_;
  int64_t wm_ = INT64_MIN;
  std::map<int64_t, group_map> windows_;  // by window start
  size_t expected_groups_ = 0;            // groups of the last closed window
  std::unordered_map<row, std::vector<session>, row_hash, row_equal> sessions_;
  int64_t min_end_ = INT64_MAX;
  element_batch out_;
};

}  // namespace

operator_ptr make_window_aggregate(window_spec w, std::vector<expression_ptr> keys,
                                   std::vector<agg_spec> aggs, std::vector<std::string> names) {
  return std::make_unique<window_aggregate_op>(w, std::move(keys), std::move(aggs),
                                               std::move(names));
}

}  // namespace sluice::stream
