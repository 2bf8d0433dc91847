#pragma once
// What the join operators share: a side's kept row, joined-row construction, key evaluation.
// Private to stream/operators.

#include "stream/memory.h"
#include "stream/operators/joins.h"

namespace sluice::stream::join_detail {

// A row kept by one side of a join.
struct kept_row {
  row r;
  row key;  // the element's key (a keyed input), else empty
  int64_t ts = 0;
  int64_t matches = 0;   // rows of the other side it is joined with (outer joins)
  int64_t expiry = 0;    // bounded joins: when the watermark reaches it, the row goes
  uint64_t id = 0;       // bounded joins: identity within the side
  bool expired = false;  // bounded joins: gone, not yet compacted away
};

inline size_t approx_bytes(const kept_row& k) {
  return sizeof(kept_row) + approx_bytes(k.r) + approx_bytes(k.key) - 2 * sizeof(row);
}

// The column names of one side's rows (dead letters), cut from the joined row's names once.
class side_names {
 public:
  explicit side_names(const join_spec& s) {
    for (size_t i = 0; i < s.names.size(); ++i)
      names_[i < s.left_width ? 0 : 1].push_back(s.names[i]);
  }
  const std::vector<std::string>& operator()(int side) const {
    return names_[static_cast<size_t>(side)];
  }

 private:
  std::vector<std::string> names_[2];
};

inline bool preserves(join_type t, int side) {
  return t == join_type::full || (side == 0 ? t == join_type::left : t == join_type::right);
}

// Evaluates the side's equality keys; false when one is NULL (it matches nothing) or fails.
inline bool eval_key(const std::vector<expression_ptr>& keys, const row& r, row& out,
                     eval_context& ev) {
  out.clear();
  for (const auto& k : keys) {
    out.push_back(k->eval(r, ev));
    if (out.back().is_null()) return false;
  }
  return ev.error.empty();
}

// The joined element of `a` (side `side`) and `b` (the other side, or null for NULL padding).
// `built`: the joined row already made (by residual_holds), moved from.
inline element joined(const join_spec& s, int side, const kept_row& a, const kept_row* b,
                      change_op op, row* built = nullptr) {
  const kept_row* l = side == 0 ? &a : b;
  const kept_row* r = side == 0 ? b : &a;
  element e;
  e.op = op;
  if (built) {
    e.r = std::move(*built);
  } else {
    e.r.reserve(s.left_width + s.right_width);
    if (l)
      e.r.insert(e.r.end(), l->r.begin(), l->r.end());
    else
      e.r.resize(s.left_width);
    if (r)
      e.r.insert(e.r.end(), r->r.begin(), r->r.end());
    else
      e.r.resize(s.left_width + s.right_width);
  }
  e.ts = std::max(l ? l->ts : INT64_MIN, r ? r->ts : INT64_MIN);
  switch (s.output_key) {
    case join_spec::key_mode::none:
      break;
    case join_spec::key_mode::both_keys: {
      size_t lk = 0, rk = 0;
      if (l) lk = l->key.size();
      if (r) rk = r->key.size();
      // A missing side's key is a single NULL, so that (k, NULL) and (k, k2) differ.
      if (l) e.key.insert(e.key.end(), l->key.begin(), l->key.end());
      if (!l || lk == 0) e.key.emplace_back();
      if (r) e.key.insert(e.key.end(), r->key.begin(), r->key.end());
      if (!r || rk == 0) e.key.emplace_back();
      break;
    }
    case join_spec::key_mode::whole_row:
      e.key = e.r;
      break;
  }
  return e;
}

// Whether the residual condition holds for the joined row of `a` and `b`.
inline bool residual_holds(const join_spec& s, int side, const kept_row& a, const kept_row& b,
                           row& scratch, eval_context& ev) {
  if (!s.residual) return true;
  const row& l = side == 0 ? a.r : b.r;
  const row& r = side == 0 ? b.r : a.r;
  scratch.clear();
  scratch.insert(scratch.end(), l.begin(), l.end());
  scratch.insert(scratch.end(), r.begin(), r.end());
  ev.error.clear();
  bool ok = is_true(s.residual->eval(scratch, ev));
  return ok && ev.error.empty();
}

inline void put_kept(state_writer& w, const kept_row& k) {
  w.put_row(k.r);
  w.put_row(k.key);
  w.put_varint(k.ts);
  w.put_varint(k.matches);
  w.put_varint(k.expiry);
}

inline kept_row get_kept(state_reader& r) {
  kept_row k;
  k.r = r.get_row();
  k.key = r.get_row();
  k.ts = r.varint();
  k.matches = r.varint();
  k.expiry = r.varint();
  return k;
}

}  // namespace sluice::stream::join_detail
