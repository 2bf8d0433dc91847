// Regular (unbounded) join of two changelogs, by equality keys plus a residual condition.
// Each side keeps its rows grouped by join key in a keyed_state (memory up to the cache size,
// RocksDB beyond), so a change on one side finds the other side's rows of its key directly.

#include "stream/keyed_state.h"
#include "stream/operators/join_rows.h"

namespace sluice::stream {

using namespace join_detail;

const char* join_type_name(join_type t) {
  switch (t) {
    case join_type::inner:
      return "INNER";
    case join_type::left:
      return "LEFT";
    case join_type::right:
      return "RIGHT";
    case join_type::full:
      return "FULL";
    case join_type::semi:
      return "SEMI";
    case join_type::anti:
      return "ANTI";
  }
  return "?";
}

namespace {

struct bucket {
  std::vector<kept_row> rows;
};

void put_bucket(state_writer& w, const bucket& b) {
  w.put_varint(static_cast<int64_t>(b.rows.size()));
  for (const auto& k : b.rows)
    put_kept(w, k);
}

bucket get_bucket(state_reader& r) {
  bucket b;
  for (int64_t n = r.varint(); n > 0; --n)
    b.rows.push_back(get_kept(r));
  return b;
}

class hash_join_op final : public multi_input_operator {
 public:
  hash_join_op(join_spec spec, bool append_only, size_t cache_rows)
      : multi_input_operator(2),
        spec_(std::move(spec)),
        append_only_(append_only),
        sides_{keyed_state<bucket>(cache_rows, put_bucket, get_bucket),
               keyed_state<bucket>(cache_rows, put_bucket, get_bucket)} {}

  void set_state_ttl(int64_t ttl_ms) override {
    sides_[0].set_ttl(ttl_ms);
    sides_[1].set_ttl(ttl_ms);
  }
  result<void> open_state(const std::filesystem::path& dir) override {
    if (auto r = sides_[0].open(dir / "left"); !r) return r;
    return sides_[1].open(dir / "right");
  }

  void snapshot(state_writer& w) override {
    sides_[0].snapshot(w);
    sides_[1].snapshot(w);
  }
  void restore(state_reader& r) override {
    sides_[0].restore(r);
    sides_[1].restore(r);
  }

  std::string describe() const override {
    return std::string("HashJoin ") + join_type_name(spec_.type) + " on " +
           std::to_string(spec_.left_keys.size()) + " key(s)" +
           (spec_.residual ? " + condition" : "") +
           (append_only_ ? ", append-only" : ", retracting") + ", both sides kept by key (" +
           std::to_string(sides_[0].cache_rows()) + " keys cached per side" +
           (sides_[0].has_store() ? ", the rest in RocksDB)" : ")");
  }

  size_t state_size() const override { return sides_[0].size() + sides_[1].size(); }
  size_t state_bytes() const override {
    size_t n = 0;
    for (const auto& s : sides_)
      n += s.memory_bytes([](const bucket& b) {
        size_t bytes = sizeof(b);
        for (const auto& k : b.rows)
          bytes += approx_bytes(k);
        return bytes;
      });
    return n;
  }

 protected:
  void process_input(int side, element_batch& batch) override {
    out_.clear();
    for (auto& e : batch) {
      if (e.op == change_op::remove && e.r.empty()) continue;  // REQUIRES: normalized input
      ev_.error.clear();
      kept_row k{std::move(e.r), std::move(e.key), e.ts, 0, 0, 0};
      bool matchable = eval_key(side == 0 ? spec_.left_keys : spec_.right_keys, k.r, key_, ev_);
      if (!ev_.error.empty()) {
        if (e.op != change_op::remove && ctx_)
          ctx_->dead_letter(ev_.error, k.r, names_(side), e.ts);
        continue;
      }
      // A row with a NULL key matches nothing; an outer join still keeps it (under the NULL
      // key) so that its padded row can be retracted later.
      if (!matchable) {
        bool keep = preserves(spec_.type, side) || (side == 0 && spec_.type == join_type::anti);
        if (!keep) continue;
        key_.assign(1, value());
      }
      if (e.op == change_op::remove)
        retract(side, k, matchable);
      else
        add(side, std::move(k), matchable);
    }
    sides_[0].end_batch();
    sides_[1].end_batch();
    emit(out_);
  }

 private:
  bool filtering() const { return spec_.type == join_type::semi || spec_.type == join_type::anti; }

  // The left row alone (semi and anti joins).
  element left_row(const kept_row& a, change_op op) const {
    element e;
    e.op = op;
    e.r = a.r;
    e.ts = a.ts;
    e.key = spec_.output_key == join_spec::key_mode::whole_row ? a.r : a.key;
    return e;
  }

  // Semi and anti joins: whether a left row with `matches` matches is in the output.
  bool shown(int64_t matches) const {
    return spec_.type == join_type::semi ? matches > 0 : matches == 0;
  }

  void add_filtering(int side, kept_row k, bool matchable) {
    int other = 1 - side;
    bucket* theirs = matchable ? sides_[other].find(key_) : nullptr;
    if (side == 0) {
      if (theirs)
        for (auto& b : theirs->rows)
          if (residual_holds(spec_, 0, k, b, scratch_, ev_)) ++k.matches;
      if (shown(k.matches)) out_.push_back(left_row(k, change_op::insert));
    } else if (theirs) {
      for (auto& a : theirs->rows) {
        if (!residual_holds(spec_, 1, k, a, scratch_, ev_)) continue;
        bool before = shown(a.matches++);
        if (before != shown(a.matches))
          out_.push_back(left_row(a, before ? change_op::remove : change_op::insert));
      }
      sides_[other].touch(key_);
    }
    if (matchable || side == 0) sides_[side].get(key_).rows.push_back(std::move(k));
  }

  void retract_filtering(int side, const kept_row& gone, bool matchable) {
    int other = 1 - side;
    bucket* theirs = matchable ? sides_[other].find(key_) : nullptr;
    if (side == 0) {
      if (shown(gone.matches)) out_.push_back(left_row(gone, change_op::remove));
    } else if (theirs) {
      for (auto& a : theirs->rows) {
        if (!residual_holds(spec_, 1, gone, a, scratch_, ev_)) continue;
        bool before = shown(a.matches--);
        if (before != shown(a.matches))
          out_.push_back(left_row(a, before ? change_op::remove : change_op::insert));
      }
      sides_[other].touch(key_);
    }
  }

  void add(int side, kept_row k, bool matchable) {
    if (filtering()) return add_filtering(side, std::move(k), matchable);
    int other = 1 - side;
    bucket* theirs = matchable ? sides_[other].find(key_) : nullptr;
    if (theirs) {
      for (auto& b : theirs->rows) {
        if (!residual_holds(spec_, side, k, b, scratch_, ev_)) continue;
        if (b.matches++ == 0 && preserves(spec_.type, other))
          out_.push_back(joined(spec_, other, b, nullptr, change_op::remove));
        out_.push_back(
            joined(spec_, side, k, &b, change_op::insert, spec_.residual ? &scratch_ : nullptr));
        ++k.matches;
      }
      if (!theirs->rows.empty()) sides_[other].touch(key_);
    }
    if (k.matches == 0 && preserves(spec_.type, side))
      out_.push_back(joined(spec_, side, k, nullptr, change_op::insert));
    sides_[side].get(key_).rows.push_back(std::move(k));
  }

  void retract(int side, const kept_row& k, bool matchable) {
    bucket* mine = sides_[side].find(key_);
    if (!mine) return;  // never added (it failed, or state was lost)
    auto it = std::find_if(mine->rows.begin(), mine->rows.end(),
                           [&](const kept_row& x) { return row_equal()(x.r, k.r); });
    if (it == mine->rows.end()) return;
    kept_row gone = std::move(*it);
    mine->rows.erase(it);
    if (mine->rows.empty())
      sides_[side].erase(key_);
    else
      sides_[side].touch(key_);
    if (filtering()) return retract_filtering(side, gone, matchable);
    int other = 1 - side;
    bucket* theirs = matchable ? sides_[other].find(key_) : nullptr;
    if (theirs) {
      for (auto& b : theirs->rows) {
        if (!residual_holds(spec_, side, gone, b, scratch_, ev_)) continue;
        out_.push_back(
            joined(spec_, side, gone, &b, change_op::remove, spec_.residual ? &scratch_ : nullptr));
        if (--b.matches == 0 && preserves(spec_.type, other))
          out_.push_back(joined(spec_, other, b, nullptr, change_op::insert));
      }
      if (!theirs->rows.empty()) sides_[other].touch(key_);
    }
    if (gone.matches == 0 && preserves(spec_.type, side))
      out_.push_back(joined(spec_, side, gone, nullptr, change_op::remove));
  }

  join_spec spec_;
  bool append_only_;
  keyed_state<bucket> sides_[2];
  side_names names_{spec_};
  eval_context ev_;
  row key_, scratch_;
  element_batch out_;
};

}  // namespace

operator_ptr make_hash_join(join_spec spec, bool append_only, size_t cache_rows) {
  return std::make_unique<hash_join_op>(std::move(spec), append_only, cache_rows);
}

}  // namespace sluice::stream
