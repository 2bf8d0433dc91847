#include "view/view.h"

#include <charconv>

#include "stream/memory.h"

namespace sluice::view {

bool row_less::operator()(const stream::row& a, const stream::row& b) const {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (int c = stream::compare(a[i], b[i])) return c < 0;
  return a.size() < b.size();
}

view::view(std::string name, std::vector<std::string> columns, size_t max_rows,
           size_t feed_capacity, bool keyed, size_t max_bytes)
    : name_(std::move(name)),
      columns_(std::move(columns)),
      max_rows_(std::max<size_t>(max_rows, 1)),
      max_bytes_(max_bytes),
      feed_capacity_(std::max<size_t>(feed_capacity, 1)),
      keyed_(keyed) {}

namespace {

// A row's share of rows_ and by_seq_.
size_t entry_bytes(const stream::row& key, const stream::row& r) {
  return stream::approx_bytes(key) + stream::approx_bytes(r) + 2 * stream::k_node_bytes + 8;
}

size_t change_bytes(const change& c) {
  return sizeof(change) + stream::approx_bytes(c.key) + stream::approx_bytes(c.r) -
         2 * sizeof(stream::row);
}

}  // namespace

void view::record(change c, std::vector<change>& fresh) {
  changes_.fetch_add(1, std::memory_order_relaxed);
  if (feed_.size() < feed_capacity_) {
    feed_.push_back(c);
  } else {
    feed_[feed_head_] = c;
    feed_head_ = (feed_head_ + 1) % feed_capacity_;
  }
  fresh.push_back(std::move(c));
}

void view::remember_delete(const change& c) {
  auto [it, fresh] = tombstone_of_.emplace(c.key, c.seq);
  if (!fresh) {
    tombstones_.erase(it->second);
    it->second = c.seq;
  }
  tombstones_.emplace(c.seq, c);
  if (tombstones_.size() > feed_capacity_) {
    auto oldest = tombstones_.begin();
    forgotten_ = oldest->first;
    tombstone_of_.erase(oldest->second.key);
    tombstones_.erase(oldest);
  }
}

void view::apply(const stream::element_batch& batch) {
  std::vector<change> fresh;
  {
    std::unique_lock lk(mu_);
    for (const auto& e : batch) {
      // A keyed view's key may be empty: the one row of an aggregate without GROUP BY keys.
      stream::row key = e.key.empty() && !keyed_
                            ? stream::row{stream::value::integer(static_cast<int64_t>(seq_ + 1))}
                            : e.key;
      auto it = rows_.find(key);
      if (e.op == stream::change_op::remove) {
        if (it == rows_.end()) continue;
        rows_bytes_ -= entry_bytes(it->first, it->second.r);
        change c{++seq_, change::kind::remove, it->first, std::move(it->second.r)};
        by_seq_.erase(it->second.seq);
        rows_.erase(it);
        remember_delete(c);
        record(std::move(c), fresh);
        continue;
      }
      uint64_t s = ++seq_;
      if (it == rows_.end()) {
        // A key back after its delete: its row now says more than its tombstone.
        if (auto t = tombstone_of_.find(key); t != tombstone_of_.end()) {
          tombstones_.erase(t->second);
          tombstone_of_.erase(t);
        }
        rows_bytes_ += entry_bytes(key, e.r);
        rows_.emplace(key, entry{e.r, s});
        by_seq_.emplace(s, key);
        record(change{s, change::kind::insert, key, e.r}, fresh);
      } else {
        by_seq_.erase(it->second.seq);
        rows_bytes_ += entry_bytes(key, e.r) - entry_bytes(key, it->second.r);
        it->second.r = e.r;
        it->second.seq = s;
        by_seq_.emplace(s, key);
        record(change{s, change::kind::update, key, e.r}, fresh);
      }
      while (rows_.size() > max_rows_ || (rows_bytes_ > max_bytes_ && !rows_.empty())) {
        auto oldest = by_seq_.begin();
        auto victim = rows_.find(oldest->second);
        rows_bytes_ -= entry_bytes(victim->first, victim->second.r);
        change c{++seq_, change::kind::remove, victim->first, std::move(victim->second.r)};
        rows_.erase(victim);
        by_seq_.erase(oldest);
        remember_delete(c);
        record(std::move(c), fresh);
      }
    }
  }
  if (fresh.empty()) return;
  std::lock_guard lk(sub_mu_);
  for (auto& [id, fn] : subs_)
    fn(fresh);
}

std::vector<stream::row> view::rows(uint64_t* seq, std::vector<stream::row>* keys) const {
  std::shared_lock lk(mu_);
  std::vector<stream::row> out;
  out.reserve(rows_.size());
  if (keys) keys->reserve(rows_.size());
  for (const auto& [k, e] : rows_) {
    out.push_back(e.r);
    if (keys) keys->push_back(k);
  }
  if (seq) *seq = seq_;
  return out;
}

std::optional<stream::row> view::lookup(std::string_view text) const {
  std::vector<stream::row> keys{{stream::value::string(text)}};
  int64_t i = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), i);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size())
    keys.push_back({stream::value::integer(i)});
  double d = 0;
  auto rd = std::from_chars(text.data(), text.data() + text.size(), d);
  if (rd.ec == std::errc() && rd.ptr == text.data() + text.size())
    keys.push_back({stream::value::real(d)});
  std::shared_lock lk(mu_);
  for (const auto& k : keys)
    if (auto it = rows_.find(k); it != rows_.end()) return it->second.r;
  return std::nullopt;
}

size_t view::size() const {
  std::shared_lock lk(mu_);
  return rows_.size();
}

size_t view::bytes() const {
  std::shared_lock lk(mu_);
  return rows_bytes_ + stream::sampled_bytes(feed_, change_bytes) +
         stream::sampled_bytes(tombstones_, [](const auto& t) { return change_bytes(t.second); });
}

uint64_t view::sequence() const {
  std::shared_lock lk(mu_);
  return seq_;
}

bool view::changes_since(uint64_t after, std::vector<change>& out, size_t max) const {
  std::shared_lock lk(mu_);
  if (after >= seq_) return true;
  uint64_t oldest = seq_ - feed_.size() + 1;  // the feed holds seq_-size+1 .. seq_
  if (after + 1 < oldest) return false;
  for (uint64_t s = after + 1; s <= seq_ && out.size() < max; ++s) {
    size_t idx = (feed_head_ + static_cast<size_t>(s - oldest)) % feed_.size();
    out.push_back(feed_[idx]);
  }
  return true;
}

bool view::latest_since(uint64_t after, std::vector<change>& out, size_t max,
                        uint64_t* upto) const {
  std::shared_lock lk(mu_);
  *upto = std::max(after, seq_);
  if (after >= seq_) return true;
  if (after < forgotten_) return false;
  // Two seq-ordered walks merged: live rows by their last change, deletes by theirs.
  auto live = by_seq_.upper_bound(after);
  auto dead = tombstones_.upper_bound(after);
  while (live != by_seq_.end() || dead != tombstones_.end()) {
    if (out.size() == max) {
      *upto = out.back().seq;
      return true;
    }
    if (dead == tombstones_.end() || (live != by_seq_.end() && live->first < dead->first)) {
      out.push_back(
          change{live->first, change::kind::update, live->second, rows_.at(live->second).r});
      ++live;
    } else {
      out.push_back(dead->second);
      ++dead;
    }
  }
  return true;
}

uint64_t view::subscribe(std::function<void(const std::vector<change>&)> fn) {
  std::lock_guard lk(sub_mu_);
  uint64_t id = next_sub_++;
  subs_.emplace(id, std::move(fn));
  return id;
}

void view::unsubscribe(uint64_t id) {
  std::lock_guard lk(sub_mu_);
  subs_.erase(id);
}

void view::end(std::string reason) {
  std::lock_guard lk(sub_mu_);
  ended_ = std::move(reason);
  for (const auto& [id, fn] : subs_)
    fn({});
}

std::optional<std::string> view::ended() const {
  std::lock_guard lk(sub_mu_);
  return ended_;
}

void view::snapshot(stream::state_writer& w) const {
  std::shared_lock lk(mu_);
  w.put_varint(static_cast<int64_t>(seq_));
  w.put_varint(static_cast<int64_t>(rows_.size()));
  for (const auto& [k, e] : rows_) {
    w.put_row(k);
    w.put_row(e.r);
    w.put_varint(static_cast<int64_t>(e.seq));
  }
}

void view::restore(stream::state_reader& r) {
  std::unique_lock lk(mu_);
  rows_.clear();
  by_seq_.clear();
  feed_.clear();
  feed_head_ = 0;
  tombstones_.clear();
  tombstone_of_.clear();
  rows_bytes_ = 0;
  // The changes made after the checkpoint are made again, but not necessarily in the same
  // steps, so their sequence numbers mean other changes now. A reader's position from before
  // must not resume in the new ones: numbering goes on past anything the previous run can
  // have given out (2^36 changes between two checkpoints; 2^17 restarts before 2^53, where
  // JavaScript readers would lose precision), and such a position gets a snapshot.
  seq_ = static_cast<uint64_t>(r.varint()) + k_restart_gap;
  forgotten_ = seq_;  // deletes before the checkpoint are not known
  for (int64_t n = r.varint(); n > 0; --n) {
    auto k = r.get_row();
    entry e;
    e.r = r.get_row();
    if (e.r.size() < columns_.size()) e.r.resize(columns_.size());
    e.seq = static_cast<uint64_t>(r.varint());
    by_seq_.emplace(e.seq, k);
    rows_bytes_ += entry_bytes(k, e.r);
    rows_.emplace(std::move(k), std::move(e));
  }
}

}  // namespace sluice::view

namespace sluice::view {

namespace {

class view_writer final : public stream::operator_node {
 public:
  explicit view_writer(std::shared_ptr<view> v) : v_(std::move(v)) {}
  void process(stream::element_batch& batch) override {
    v_->apply(batch);
    if (ctx_) ctx_->output(batch.size());
  }
  void snapshot(stream::state_writer& w) override { v_->snapshot(w); }
  void restore(stream::state_reader& r) override { v_->restore(r); }
  std::string describe() const override { return "ViewSink '" + v_->name() + "'"; }
  size_t state_size() const override { return v_->size(); }

 private:
  std::shared_ptr<view> v_;
};

}  // namespace

stream::operator_ptr make_view_writer(std::shared_ptr<view> v) {
  return std::make_unique<view_writer>(std::move(v));
}

}  // namespace sluice::view
