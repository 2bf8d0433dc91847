#pragma once
// Aggregate functions: COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM, AVG, MIN, MAX, STDDEV
// (sample standard deviation; STDDEV_POP for the population one). Their states merge, which
// session windows need when two sessions join, and, over a retracting input, take values
// back: MIN, MAX and DISTINCT then keep a count per value (state grows with the distinct
// values of a group), the others stay constant-size.

#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "stream/expression.h"
#include "stream/state_codec.h"

namespace sluice::stream {

enum class agg_kind { count_star, count, sum, avg, min, max, stddev_samp, stddev_pop };

struct agg_spec {
  agg_kind kind = agg_kind::count_star;
  expression_ptr arg;  // null for COUNT(*)
  bool distinct = false;
  bool retracting = false;  // the input retracts rows: keep what agg_retract needs
  type_ptr result;
  std::string text;  // e.g. "COUNT(*)" for EXPLAIN
};

// Returns the spec for an aggregate call, or throws type_error.
agg_spec make_aggregate(const std::string& name, expression_ptr arg, bool distinct,
                        std::string text);
bool is_aggregate_function(const std::string& name);

struct value_hash {
  size_t operator()(const value& v) const { return hash_value(v); }
};
struct value_equal {
  bool operator()(const value& a, const value& b) const { return equal(a, b); }
};

struct value_less {
  bool operator()(const value& a, const value& b) const { return compare(a, b) < 0; }
};
using value_counts = std::map<value, int64_t, value_less>;

struct agg_state {
  int64_t count = 0;
  int64_t isum = 0;
  double dsum = 0;  // also the running mean for STDDEV (Welford)
  double m2 = 0;
  bool overflow = false;
  value extreme;
  std::shared_ptr<std::unordered_set<value, value_hash, value_equal>> seen;  // DISTINCT
  // Retracting MIN, MAX and DISTINCT: how many times each value is held.
  std::shared_ptr<value_counts> values;
};

// Folds one input value (ignored when NULL, except by COUNT(*)).
void agg_add(const agg_spec& s, agg_state& st, const value& v);
// Takes back one earlier agg_add of `v`. REQUIRES: s.retracting.
void agg_retract(const agg_spec& s, agg_state& st, const value& v);
void agg_merge(const agg_spec& s, agg_state& into, const agg_state& from);
value agg_result(const agg_spec& s, const agg_state& st);
void agg_snapshot(state_writer& w, const agg_state& st);
agg_state agg_restore(state_reader& r);

}  // namespace sluice::stream
