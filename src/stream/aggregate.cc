#include "stream/aggregate.h"

#include <cmath>

namespace sluice::stream {

bool is_aggregate_function(const std::string& n) {
  return n == "COUNT" || n == "SUM" || n == "AVG" || n == "MIN" || n == "MAX" || n == "STDDEV" ||
         n == "STDDEV_SAMP" || n == "STDDEV_POP";
}

agg_spec make_aggregate(const std::string& name, expression_ptr arg, bool distinct,
                        std::string text) {
  agg_spec s;
  s.arg = arg;
  s.distinct = distinct;
  s.text = std::move(text);
  auto numeric = [&] {
    if (!arg || !(arg->type()->numeric() || arg->type()->id == type_id::null))
      throw type_error(name + " needs a numeric argument");
  };
  if (name == "COUNT") {
    s.kind = arg ? agg_kind::count : agg_kind::count_star;
    s.result = data_type::of(type_id::int64);
  } else if (name == "SUM") {
    numeric();
    s.kind = agg_kind::sum;
    s.result = arg->type()->integral() ? data_type::of(type_id::int64) : arg->type();
  } else if (name == "AVG") {
    numeric();
    s.kind = agg_kind::avg;
    s.result = data_type::of(type_id::float64);
  } else if (name == "MIN" || name == "MAX") {
    if (!arg) throw type_error(name + " needs an argument");
    if (arg->type()->id == type_id::row || arg->type()->id == type_id::array ||
        arg->type()->id == type_id::map)
      throw type_error(name + " needs a comparable argument");
    s.kind = name == "MIN" ? agg_kind::min : agg_kind::max;
    s.result = arg->type();
  } else if (name == "STDDEV" || name == "STDDEV_SAMP" || name == "STDDEV_POP") {
    numeric();
    s.kind = name == "STDDEV_POP" ? agg_kind::stddev_pop : agg_kind::stddev_samp;
    s.result = data_type::of(type_id::float64);
  } else {
    throw type_error("unknown aggregate " + name);
  }
  if (distinct && !arg) throw type_error("COUNT(DISTINCT *) is not valid");
  return s;
}

namespace {

// Retracting MIN/MAX/DISTINCT: counts `v` once more; true when it is new.
bool count_value(agg_state& st, const value& v) {
  if (!st.values) st.values = std::make_shared<value_counts>();
  return ++(*st.values)[v] == 1;
}

void set_extreme(const agg_spec& s, agg_state& st) {
  if (!st.values || st.values->empty()) {
    st.extreme = value();
    return;
  }
  st.extreme = s.kind == agg_kind::min ? st.values->begin()->first : st.values->rbegin()->first;
}

}  // namespace

void agg_retract(const agg_spec& s, agg_state& st, const value& v) {
  if (s.kind == agg_kind::count_star) {
    --st.count;
    return;
  }
  if (v.is_null()) return;
  bool tracked = s.distinct || s.kind == agg_kind::min || s.kind == agg_kind::max;
  if (tracked && st.values) {
    auto it = st.values->find(v);
    if (it == st.values->end()) return;  // never added: nothing to take back
    if (--it->second == 0)
      st.values->erase(it);
    else if (s.distinct)
      return;  // still held: DISTINCT counts it once
  }
  if (st.count == 0) return;
  --st.count;
  switch (s.kind) {
    case agg_kind::count_star:
    case agg_kind::count:
      break;
    case agg_kind::sum:
    case agg_kind::avg:
      if (v.k == value::kind::integer) {
        if (__builtin_sub_overflow(st.isum, v.i, &st.isum)) st.overflow = true;
      }
      st.dsum -= v.as_double();
      if (st.count == 0) st.dsum = 0, st.isum = 0, st.overflow = false;
      break;
    case agg_kind::min:
    case agg_kind::max:
      set_extreme(s, st);
      break;
    case agg_kind::stddev_samp:
    case agg_kind::stddev_pop: {
      // Welford's update run backwards.
      if (st.count == 0) {
        st.dsum = st.m2 = 0;
        break;
      }
      double x = v.as_double();
      double mean = st.dsum;
      double old_mean =
          (mean * static_cast<double>(st.count + 1) - x) / static_cast<double>(st.count);
      st.m2 = std::max(0.0, st.m2 - (x - old_mean) * (x - mean));
      st.dsum = old_mean;
      break;
    }
  }
}

void agg_add(const agg_spec& s, agg_state& st, const value& v) {
  if (s.kind == agg_kind::count_star) {
    ++st.count;
    return;
  }
  if (v.is_null()) return;
  if (s.retracting && (s.distinct || s.kind == agg_kind::min || s.kind == agg_kind::max)) {
    bool fresh = count_value(st, v);
    if (s.distinct && !fresh) return;
  } else if (s.distinct) {
    if (!st.seen) st.seen = std::make_shared<std::unordered_set<value, value_hash, value_equal>>();
    if (!st.seen->insert(v).second) return;
  }
  ++st.count;
  switch (s.kind) {
    case agg_kind::count_star:
    case agg_kind::count:
      break;
    case agg_kind::sum:
    case agg_kind::avg:
      if (v.k == value::kind::integer) {
        if (__builtin_add_overflow(st.isum, v.i, &st.isum)) st.overflow = true;
      }
      st.dsum += v.as_double();
      break;
    case agg_kind::min:
      if (st.count == 1 || compare(v, st.extreme) < 0) st.extreme = v;
      break;
    case agg_kind::max:
      if (st.count == 1 || compare(v, st.extreme) > 0) st.extreme = v;
      break;
    case agg_kind::stddev_samp:
    case agg_kind::stddev_pop: {
      double x = v.as_double();
      double delta = x - st.dsum;
      st.dsum += delta / static_cast<double>(st.count);
      st.m2 += delta * (x - st.dsum);
      break;
    }
  }
}

void agg_merge(const agg_spec& s, agg_state& into, const agg_state& from) {
  if (s.distinct && from.seen) {
    for (const auto& v : *from.seen)
      agg_add(s, into, v);
    return;
  }
  if (from.count == 0) return;
  if (into.count == 0) {
    into = from;
    return;
  }
  switch (s.kind) {
    case agg_kind::count_star:
    case agg_kind::count:
      break;
    case agg_kind::sum:
    case agg_kind::avg:
      if (__builtin_add_overflow(into.isum, from.isum, &into.isum)) into.overflow = true;
      into.overflow |= from.overflow;
      into.dsum += from.dsum;
      break;
    case agg_kind::min:
      if (compare(from.extreme, into.extreme) < 0) into.extreme = from.extreme;
      break;
    case agg_kind::max:
      if (compare(from.extreme, into.extreme) > 0) into.extreme = from.extreme;
      break;
    case agg_kind::stddev_samp:
    case agg_kind::stddev_pop: {
      // Chan et al.: combine two (count, mean, M2) triples.
      double n1 = static_cast<double>(into.count), n2 = static_cast<double>(from.count);
      double delta = from.dsum - into.dsum;
      double n = n1 + n2;
      into.m2 += from.m2 + delta * delta * n1 * n2 / n;
      into.dsum += delta * n2 / n;
      break;
    }
  }
  into.count += from.count;
}

value agg_result(const agg_spec& s, const agg_state& st) {
  switch (s.kind) {
    case agg_kind::count_star:
    case agg_kind::count:
      return value::integer(st.count);
    case agg_kind::sum:
      if (st.count == 0) return {};
      if (s.result->integral()) {
        if (st.overflow) return {};
        return value::integer(st.isum);
      }
      return value::real(st.dsum);
    case agg_kind::avg:
      if (st.count == 0) return {};
      return value::real(st.dsum / static_cast<double>(st.count));
    case agg_kind::min:
    case agg_kind::max:
      return st.count ? st.extreme : value();
    case agg_kind::stddev_samp:
      if (st.count < 2) return {};
      return value::real(std::sqrt(st.m2 / static_cast<double>(st.count - 1)));
    case agg_kind::stddev_pop:
      if (st.count < 1) return {};
      return value::real(std::sqrt(st.m2 / static_cast<double>(st.count)));
  }
  return {};
}

void agg_snapshot(state_writer& w, const agg_state& st) {
  w.put_varint(st.count);
  w.put_varint(st.isum);
  w.put_double(st.dsum);
  w.put_double(st.m2);
  // Bit 0: overflow; bit 1: value counts follow the DISTINCT set (absent before they existed).
  w.put_varint((st.overflow ? 1 : 0) | (st.values ? 2 : 0));
  w.put_value(st.extreme);
  w.put_varint(st.seen ? static_cast<int64_t>(st.seen->size()) : -1);
  if (st.seen)
    for (const auto& v : *st.seen)
      w.put_value(v);
  if (st.values) {
    w.put_varint(static_cast<int64_t>(st.values->size()));
    for (const auto& [v, n] : *st.values) {
      w.put_value(v);
      w.put_varint(n);
    }
  }
}

agg_state agg_restore(state_reader& r) {
  agg_state st;
  st.count = r.varint();
  st.isum = r.varint();
  st.dsum = r.real();
  st.m2 = r.real();
  auto flags = r.varint();
  st.overflow = (flags & 1) != 0;
  st.extreme = r.get_value();
  auto n = r.varint();
  if (n >= 0) {
    st.seen = std::make_shared<std::unordered_set<value, value_hash, value_equal>>();
    for (int64_t i = 0; i < n; ++i)
      st.seen->insert(r.get_value());
  }
  if (flags & 2) {
    st.values = std::make_shared<value_counts>();
    for (int64_t m = r.varint(); m > 0; --m) {
      auto v = r.get_value();
      (*st.values)[v] = r.varint();
    }
  }
  return st;
}

}  // namespace sluice::stream
