// Interval and window joins: two append-only inputs whose rows can only match within a
// bounded stretch of event time. Rows are kept in memory, by join key, until the watermark
// reaches their expiry; state is bounded by the watermark, not by the input's history.

#include <deque>
#include <functional>
#include <queue>
#include <unordered_map>

#include "base/bytes.h"
#include "stream/operators/join_rows.h"
#include "stream/state_store.h"

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
           s.by_expiry.size() * sizeof(expiring) + s.times.bytes();
    return n;
  }

  // With a state folder the kept rows are checkpointed incrementally: each row is written once,
  // in the segment of the checkpoint interval it arrived in (a RocksDB value), and a segment
  // is deleted once the watermark has passed every row in it. A full snapshot of this state
  // every interval cost more than the join itself (a backlog holds hundreds of thousands of
  // rows for tens of seconds). Without a folder the rows are written inline each time.
  result<void> open_state(const std::filesystem::path& dir) override {
    auto s = open_rocksdb_store(dir);
    if (!s) return s.error();
    store_ = std::move(*s);
    return store_->clear();
  }

  void snapshot(state_writer& w) override {
    if (store_) return snapshot_segments(w);
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
    for (auto& s : sides_)
      s = side{};
    int64_t first = r.varint();
    if (first == k_segmented) return restore_segments(r);
    next_id_ = static_cast<uint64_t>(first);
    for (int side_no = 0; side_no < 2; ++side_no)
      for (int64_t n = r.varint(); n > 0; --n) {
        row key = r.get_row();
        kept_row k = get_kept(r);
        k.id = static_cast<uint64_t>(r.varint());
        keep(sides_[side_no], key, std::move(k));
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
          if (b.matches++ == 0 && store_ && preserves(spec_.join.type, 1 - side_no))
            note_matched(1 - side_no, it->first, b);
          ++k.matches;
        }
      }
      k.id = next_id_++;
      if (store_) note_fresh(side_no, key_, k);
      keep(mine, key_, std::move(k));
    }
    emit(out_);
  }

  void on_watermark(int64_t wm) override {
    out_.clear();
    for (int s = 0; s < 2; ++s) {
      auto& sd = sides_[s];
      while (!sd.by_expiry.empty() && sd.by_expiry.top().expiry <= wm) {
        auto [expiry, entry, id] = sd.by_expiry.top();
        sd.by_expiry.pop();
        auto& b = entry->second;
        // Rows are in id order (appended as they come): a binary search finds it.
        auto r = std::lower_bound(b.rows.begin(), b.rows.end(), id,
                                  [](const kept_row& x, uint64_t v) { return x.id < v; });
        if (r->matches == 0 && preserves(spec_.join.type, s))
          out_.push_back(joined(spec_.join, s, *r, nullptr, change_op::insert));
        sd.times.erase(r->ts);
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
      if (!sd.times.empty()) out_wm = std::min(out_wm, sd.times.min());
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
  struct expiring {
    int64_t expiry;
    std::pair<const row, bucket>* entry;  // elements of an unordered_map stay put
    uint64_t id;
    bool operator>(const expiring& o) const {
      return expiry != o.expiry ? expiry > o.expiry : id > o.id;
    }
  };
  // The smallest of a multiset of numbers whose members leave in any order: a heap of those
  // kept and a heap of those gone, both popped while their tops agree.
  class min_multiset {
   public:
    void insert(int64_t t) { kept_.push(t); }
    void erase(int64_t t) { gone_.push(t); }
    bool empty() const { return kept_.size() == gone_.size(); }
    int64_t min() {  // REQUIRES: !empty()
      while (!gone_.empty() && gone_.top() == kept_.top()) {
        gone_.pop();
        kept_.pop();
      }
      return kept_.top();
    }
    size_t bytes() const { return (kept_.size() + gone_.size()) * sizeof(int64_t); }

   private:
    std::priority_queue<int64_t, std::vector<int64_t>, std::greater<>> kept_, gone_;
  };
  struct side {
    std::unordered_map<row, bucket, row_hash, row_equal> by_key;
    // Every kept row by expiry, then id: a heap in one array (no node to allocate per row).
    std::priority_queue<expiring, std::vector<expiring>, std::greater<>> by_expiry;
    min_multiset times;  // event times of the rows kept
    size_t count = 0;
  };

  // Segment n is the RocksDB value under key "k" + be64(n) (rows kept: { varint(side) row(key)
  // kept varint(id) }*) and, for outer joins, "m" + be64(n) (rows that found their first match
  // after they were written: { varint(side) row(key) varint(id) }*). Keys sort by kind, so a
  // restore keeps every row before it applies the matches.
  static constexpr int64_t k_segmented = -1;  // an inline state starts with next_id (>= 0)
  struct segment {
    uint64_t n;
    int64_t max_expiry;  // deleted once the watermark reaches it
  };
  static std::string segment_key(char kind, uint64_t n) {
    std::string k(9, kind);
    store_be64(reinterpret_cast<uint8_t*>(k.data() + 1), n);
    return k;
  }
  void note_fresh(int side_no, const row& key, const kept_row& k) {
    fresh_.put_varint(side_no);
    fresh_.put_row(key);
    put_kept(fresh_, k);
    fresh_.put_varint(static_cast<int64_t>(k.id));
    fresh_expiry_ = std::max(fresh_expiry_, k.expiry);
  }
  void note_matched(int side_no, const row& key, const kept_row& k) {
    matched_.put_varint(side_no);
    matched_.put_row(key);
    matched_.put_varint(static_cast<int64_t>(k.id));
    fresh_expiry_ = std::max(fresh_expiry_, k.expiry);
  }

  void snapshot_segments(state_writer& w) {
    int64_t wm = watermark();
    while (!segments_.empty() && segments_.front().max_expiry <= wm) {
      store_->erase(segment_key('k', segments_.front().n));
      store_->erase(segment_key('m', segments_.front().n));
      segments_.pop_front();
    }
    if (!fresh_.data().empty() || !matched_.data().empty()) {
      uint64_t n = ++segment_no_;
      if (!fresh_.data().empty()) store_->put(segment_key('k', n), fresh_.data());
      if (!matched_.data().empty()) store_->put(segment_key('m', n), matched_.data());
      segments_.push_back({n, fresh_expiry_});
      fresh_.data().clear();
      matched_.data().clear();
      fresh_expiry_ = INT64_MIN;
    }
    if (auto r = store_->checkpoint(++checkpoint_); !r) throw std::runtime_error(r.error().message);
    w.put_varint(k_segmented);
    w.put_varint(static_cast<int64_t>(next_id_));
    w.put_varint(static_cast<int64_t>(checkpoint_));
    w.put_varint(wm);
    w.put_varint(static_cast<int64_t>(segment_no_));
    w.put_varint(static_cast<int64_t>(segments_.size()));
    for (const auto& g : segments_) {
      w.put_varint(static_cast<int64_t>(g.n));
      w.put_varint(g.max_expiry);
    }
  }

  void restore_segments(state_reader& r) {
    next_id_ = static_cast<uint64_t>(r.varint());
    checkpoint_ = static_cast<uint64_t>(r.varint());
    int64_t wm = r.varint();
    segment_no_ = static_cast<uint64_t>(r.varint());
    segments_.clear();
    for (int64_t n = r.varint(); n > 0; --n) {
      auto g = static_cast<uint64_t>(r.varint());
      segments_.push_back({g, r.varint()});
    }
    fresh_.data().clear();
    matched_.data().clear();
    fresh_expiry_ = INT64_MIN;
    if (!store_) throw corrupt_state("the checkpoint has a state store, the query none");
    if (auto x = store_->restore(checkpoint_); !x) throw corrupt_state(x.error().message);
    store_->for_each([&](std::string_view key, std::string_view bytes) {
      state_reader in(bytes);
      while (!in.at_end()) {
        auto side_no = static_cast<size_t>(in.varint());
        if (side_no > 1) throw corrupt_state("interval join: bad side");
        row k = in.get_row();
        if (key.front() == 'm') {
          auto id = static_cast<uint64_t>(in.varint());
          if (auto* x = find_kept(sides_[side_no], k, id))
            x->matches = std::max<int64_t>(x->matches, 1);
          continue;
        }
        kept_row kr = get_kept(in);
        kr.id = static_cast<uint64_t>(in.varint());
        // What the watermark had passed was gone from the state checkpointed.
        if (kr.expiry > wm) keep(sides_[side_no], k, std::move(kr));
      }
    });
  }

  static kept_row* find_kept(side& s, const row& key, uint64_t id) {
    auto it = s.by_key.find(key);
    if (it == s.by_key.end()) return nullptr;
    auto& rows = it->second.rows;
    auto r = std::lower_bound(rows.begin(), rows.end(), id,
                              [](const kept_row& x, uint64_t v) { return x.id < v; });
    return r != rows.end() && r->id == id ? &*r : nullptr;
  }

  void keep(side& s, const row& key, kept_row k) {
    auto& entry = *s.by_key.try_emplace(key).first;
    s.by_expiry.push({k.expiry, &entry, k.id});
    s.times.insert(k.ts);
    entry.second.rows.push_back(std::move(k));
    ++s.count;
  }

  bounded_join_spec spec_;
  side sides_[2];
  uint64_t next_id_ = 0;
  int64_t forwarded_ = INT64_MIN;
  side_names names_{spec_.join};
  std::unique_ptr<state_store> store_;  // null: checkpoints inline
  std::deque<segment> segments_;        // in the store, oldest first
  uint64_t segment_no_ = 0, checkpoint_ = 0;
  state_writer fresh_, matched_;  // since the last checkpoint
  int64_t fresh_expiry_ = INT64_MIN;
  eval_context ev_;
  row key_, scratch_;
  element_batch out_;
};

}  // namespace

operator_ptr make_bounded_join(bounded_join_spec spec) {
  return std::make_unique<bounded_join_op>(std::move(spec));
}

}  // namespace sluice::stream
