#include "stream/expression.h"

#include <charconv>
#include <cmath>

namespace sluice::stream {

namespace {

using K = value::kind;

bool is_string(const type_ptr& t) {
  return t->id == type_id::varchar;
}
bool is_null_type(const type_ptr& t) {
  return t->id == type_id::null;
}
bool is_ts(const type_ptr& t) {
  return t->id == type_id::timestamp;
}
bool is_bool(const type_ptr& t) {
  return t->id == type_id::boolean;
}

class literal_expr final : public expression {
 public:
  literal_expr(value v, type_ptr t) : expression(std::move(t)), v_(std::move(v)) {}
  value eval(const row&, eval_context&) const override { return v_; }
  bool constant() const override { return true; }

 private:
  value v_;
};

class column_expr final : public expression {
 public:
  column_expr(int i, type_ptr t) : expression(std::move(t)), i_(i) {}
  value eval(const row& r, eval_context&) const override {
    return static_cast<size_t>(i_) < r.size() ? r[static_cast<size_t>(i_)] : value();
  }
  int column_index() const override { return i_; }

 private:
  int i_;
};

// --- arithmetic -------------------------------------------------------------------------

enum class arith { add, sub, mul, div, mod };

class arith_expr final : public expression {
 public:
  arith_expr(arith op, expression_ptr a, expression_ptr b, type_ptr t, bool integral)
      : expression(std::move(t)),
        op_(op),
        a_(std::move(a)),
        b_(std::move(b)),
        integral_(integral) {}

  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.is_null()) return {};
    value y = b_->eval(r, ctx);
    if (y.is_null()) return {};
    if (integral_) {
      int64_t out = 0;
      bool overflow = false;
      switch (op_) {
        case arith::add:
          overflow = __builtin_add_overflow(x.i, y.i, &out);
          break;
        case arith::sub:
          overflow = __builtin_sub_overflow(x.i, y.i, &out);
          break;
        case arith::mul:
          overflow = __builtin_mul_overflow(x.i, y.i, &out);
          break;
        case arith::div:
        case arith::mod:
          if (y.i == 0) {
            ctx.fail("division by zero");
            return {};
          }
          if (x.i == INT64_MIN && y.i == -1) {
            overflow = op_ == arith::div;  // INT64_MIN % -1 is 0
          } else {
            out = op_ == arith::div ? x.i / y.i : x.i % y.i;
          }
          break;
      }
      if (overflow) {
        ctx.fail("integer overflow");
        return {};
      }
      return type()->id == type_id::timestamp ? value::timestamp(out) : value::integer(out);
    }
    double a = x.as_double(), b = y.as_double();
    double out = 0;
    switch (op_) {
      case arith::add:
        out = a + b;
        break;
      case arith::sub:
        out = a - b;
        break;
      case arith::mul:
        out = a * b;
        break;
      case arith::div:
        if (b == 0) {
          ctx.fail("division by zero");
          return {};
        }
        out = a / b;
        break;
      case arith::mod:
        if (b == 0) {
          ctx.fail("division by zero");
          return {};
        }
        out = std::fmod(a, b);
        break;
    }
    return value::real(out);
  }

 private:
  arith op_;
  expression_ptr a_, b_;
  bool integral_;
};

class concat_expr final : public expression {
 public:
  concat_expr(expression_ptr a, expression_ptr b)
      : expression(data_type::of(type_id::varchar)), a_(std::move(a)), b_(std::move(b)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.is_null()) return {};
    value y = b_->eval(r, ctx);
    if (y.is_null()) return {};
    std::string s = x.k == K::string ? std::string(x.str()) : to_display(x);
    if (y.k == K::string)
      s += y.str();
    else
      s += to_display(y);
    return value::string(std::move(s));
  }

 private:
  expression_ptr a_, b_;
};

// --- comparison and logic -----------------------------------------------------------------

enum class cmp { eq, ne, lt, le, gt, ge };

class compare_expr final : public expression {
 public:
  compare_expr(cmp op, expression_ptr a, expression_ptr b)
      : expression(data_type::of(type_id::boolean)), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.is_null()) return {};
    value y = b_->eval(r, ctx);
    if (y.is_null()) return {};
    int c;
    if (x.k == K::integer && y.k == K::integer)
      c = x.i < y.i ? -1 : (x.i > y.i ? 1 : 0);
    else if (x.k == K::string && y.k == K::string)
      c = x.str().compare(y.str());
    else
      c = compare(x, y);
    bool out = false;
    switch (op_) {
      case cmp::eq:
        out = c == 0;
        break;
      case cmp::ne:
        out = c != 0;
        break;
      case cmp::lt:
        out = c < 0;
        break;
      case cmp::le:
        out = c <= 0;
        break;
      case cmp::gt:
        out = c > 0;
        break;
      case cmp::ge:
        out = c >= 0;
        break;
    }
    return value::boolean(out);
  }

 private:
  cmp op_;
  expression_ptr a_, b_;
};

class logic_expr final : public expression {
 public:
  logic_expr(bool is_and, expression_ptr a, expression_ptr b)
      : expression(data_type::of(type_id::boolean)),
        and_(is_and),
        a_(std::move(a)),
        b_(std::move(b)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (!x.is_null() && x.b != and_) return value::boolean(!and_);  // short circuit
    value y = b_->eval(r, ctx);
    if (!y.is_null() && y.b != and_) return value::boolean(!and_);
    if (x.is_null() || y.is_null()) return {};
    return value::boolean(and_);
  }

 private:
  bool and_;
  expression_ptr a_, b_;
};

class not_expr final : public expression {
 public:
  explicit not_expr(expression_ptr a)
      : expression(data_type::of(type_id::boolean)), a_(std::move(a)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.is_null()) return {};
    return value::boolean(!x.b);
  }

 private:
  expression_ptr a_;
};

class negate_expr final : public expression {
 public:
  explicit negate_expr(expression_ptr a) : expression(a->type()), a_(std::move(a)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.k == K::integer) {
      if (x.i == INT64_MIN) {
        ctx.fail("integer overflow");
        return {};
      }
      x.i = -x.i;
    } else if (x.k == K::real) {
      x.d = -x.d;
    }
    return x;
  }

 private:
  expression_ptr a_;
};

class is_null_expr final : public expression {
 public:
  is_null_expr(expression_ptr a, bool negated)
      : expression(data_type::of(type_id::boolean)), a_(std::move(a)), negated_(negated) {}
  value eval(const row& r, eval_context& ctx) const override {
    return value::boolean(a_->eval(r, ctx).is_null() != negated_);
  }

 private:
  expression_ptr a_;
  bool negated_;
};

class in_expr final : public expression {
 public:
  in_expr(expression_ptr a, std::vector<expression_ptr> list, bool negated)
      : expression(data_type::of(type_id::boolean)),
        a_(std::move(a)),
        list_(std::move(list)),
        negated_(negated) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.is_null()) return {};
    bool saw_null = false;
    for (const auto& e : list_) {
      value y = e->eval(r, ctx);
      if (y.is_null()) {
        saw_null = true;
      } else if (equal(x, y)) {
        return value::boolean(!negated_);
      }
    }
    if (saw_null) return {};
    return value::boolean(negated_);
  }

 private:
  expression_ptr a_;
  std::vector<expression_ptr> list_;
  bool negated_;
};

class like_expr final : public expression {
 public:
  like_expr(expression_ptr a, expression_ptr pattern, bool negated)
      : expression(data_type::of(type_id::boolean)),
        a_(std::move(a)),
        p_(std::move(pattern)),
        negated_(negated) {}
  value eval(const row& r, eval_context& ctx) const override {
    value x = a_->eval(r, ctx);
    if (x.is_null()) return {};
    value p = p_->eval(r, ctx);
    if (p.is_null()) return {};
    return value::boolean(match(x.str(), p.str()) != negated_);
  }

  // % matches any run of characters, _ exactly one; iterative with backtracking to the
  // last %, linear in practice.
  static bool match(std::string_view s, std::string_view p) {
    size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
      if (pi < p.size() && (p[pi] == '_' || p[pi] == s[si])) {
        ++si;
        ++pi;
      } else if (pi < p.size() && p[pi] == '%') {
        star = pi++;
        mark = si;
      } else if (star != std::string_view::npos) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.size() && p[pi] == '%')
      ++pi;
    return pi == p.size();
  }

 private:
  expression_ptr a_, p_;
  bool negated_;
};

class case_expr final : public expression {
 public:
  case_expr(type_ptr t, expression_ptr operand, std::vector<expression_ptr> whens,
            std::vector<expression_ptr> thens, expression_ptr otherwise)
      : expression(std::move(t)),
        operand_(std::move(operand)),
        whens_(std::move(whens)),
        thens_(std::move(thens)),
        else_(std::move(otherwise)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value op;
    if (operand_) op = operand_->eval(r, ctx);
    for (size_t i = 0; i < whens_.size(); ++i) {
      value w = whens_[i]->eval(r, ctx);
      bool hit = operand_ ? (!op.is_null() && !w.is_null() && equal(op, w)) : is_true(w);
      if (hit) return convert(thens_[i]->eval(r, ctx), ctx);
    }
    return else_ ? convert(else_->eval(r, ctx), ctx) : value();
  }

 private:
  value convert(value v, eval_context& ctx) const {
    std::string err;
    if (!coerce(v, *type(), err)) {
      ctx.fail(err);
      return {};
    }
    return v;
  }
  expression_ptr operand_;
  std::vector<expression_ptr> whens_, thens_;
  expression_ptr else_;
};

class cast_expr final : public expression {
 public:
  cast_expr(expression_ptr a, type_ptr to) : expression(std::move(to)), a_(std::move(a)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value v = a_->eval(r, ctx);
    std::string err;
    if (!coerce(v, *type(), err)) {
      ctx.fail(err);
      return {};
    }
    return v;
  }

 private:
  expression_ptr a_;
};

class field_expr final : public expression {
 public:
  field_expr(expression_ptr a, std::string name, type_ptr t)
      : expression(std::move(t)), a_(std::move(a)), name_(std::move(name)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value v = a_->eval(r, ctx);
    if (v.k != K::nested) return {};
    const value* f = v.nest()->find(name_);
    return f ? *f : value();
  }

 private:
  expression_ptr a_;
  std::string name_;
};

class index_expr final : public expression {
 public:
  index_expr(expression_ptr a, expression_ptr i, type_ptr t)
      : expression(std::move(t)), a_(std::move(a)), i_(std::move(i)) {}
  value eval(const row& r, eval_context& ctx) const override {
    value v = a_->eval(r, ctx);
    if (v.k != K::nested) return {};
    value i = i_->eval(r, ctx);
    if (i.is_null()) return {};
    const nested& n = *v.nest();
    if (n.is_array) {
      // SQL arrays are 1-based; out of range is NULL.
      if (i.k != K::integer || i.i < 1 || static_cast<size_t>(i.i) > n.items.size()) return {};
      return n.items[static_cast<size_t>(i.i - 1)];
    }
    if (i.k != K::string) return {};
    const value* f = n.find(i.str());
    return f ? *f : value();
  }

 private:
  expression_ptr a_, i_;
};

type_ptr numeric_result(const type_ptr& a, const type_ptr& b) {
  if (a->integral() && b->integral())
    return data_type::of(a->id == type_id::int64 || b->id == type_id::int64 ? type_id::int64
                                                                            : type_id::int32);
  if (a->id == type_id::decimal && (b->id == type_id::decimal || b->integral()))
    return data_type::of(type_id::decimal);
  if (b->id == type_id::decimal && a->integral()) return data_type::of(type_id::decimal);
  return data_type::of(type_id::float64);
}

bool comparable(const type_ptr& a, const type_ptr& b) {
  if (is_null_type(a) || is_null_type(b)) return true;
  if (a->numeric() && b->numeric()) return true;
  return a->id == b->id;
}

}  // namespace

expression_ptr make_literal(value v, type_ptr t) {
  return std::make_shared<literal_expr>(std::move(v), std::move(t));
}

expression_ptr make_column(int index, type_ptr t) {
  return std::make_shared<column_expr>(index, std::move(t));
}

expression_ptr make_binary(const std::string& op, expression_ptr a, expression_ptr b) {
  const auto& ta = a->type();
  const auto& tb = b->type();
  auto mismatch = [&] {
    return type_error("cannot apply '" + op + "' to " + ta->to_string() + " and " +
                      tb->to_string());
  };
  if (op == "AND" || op == "OR") {
    if ((!is_bool(ta) && !is_null_type(ta)) || (!is_bool(tb) && !is_null_type(tb)))
      throw mismatch();
    return std::make_shared<logic_expr>(op == "AND", std::move(a), std::move(b));
  }
  if (op == "||") return std::make_shared<concat_expr>(std::move(a), std::move(b));
  static const std::pair<const char*, cmp> cmps[] = {{"=", cmp::eq}, {"<>", cmp::ne},
                                                     {"<", cmp::lt}, {"<=", cmp::le},
                                                     {">", cmp::gt}, {">=", cmp::ge}};
  for (auto [name, c] : cmps)
    if (op == name) {
      // A string literal compared with a timestamp is read as a timestamp.
      if (is_ts(ta) && is_string(tb) && b->constant()) {
        eval_context ctx;
        value v = b->eval({}, ctx);
        std::string err;
        if (!coerce(v, *ta, err)) throw type_error(err);
        b = make_literal(std::move(v), ta);
      } else if (is_ts(tb) && is_string(ta) && a->constant()) {
        eval_context ctx;
        value v = a->eval({}, ctx);
        std::string err;
        if (!coerce(v, *tb, err)) throw type_error(err);
        a = make_literal(std::move(v), tb);
      } else if (!comparable(ta, tb)) {
        throw mismatch();
      }
      return std::make_shared<compare_expr>(c, std::move(a), std::move(b));
    }
  arith k;
  if (op == "+")
    k = arith::add;
  else if (op == "-")
    k = arith::sub;
  else if (op == "*")
    k = arith::mul;
  else if (op == "/")
    k = arith::div;
  else if (op == "%")
    k = arith::mod;
  else
    throw type_error("unknown operator '" + op + "'");
  if (is_null_type(ta) || is_null_type(tb)) {
    auto t = is_null_type(ta) ? tb : ta;
    if (is_null_type(t)) t = data_type::of(type_id::int64);
    return make_literal(value(), t);
  }
  // TIMESTAMP +/- INTERVAL (milliseconds), TIMESTAMP - TIMESTAMP (milliseconds).
  if (is_ts(ta) && tb->integral() && (k == arith::add || k == arith::sub))
    return std::make_shared<arith_expr>(k, std::move(a), std::move(b), ta, true);
  if (ta->integral() && is_ts(tb) && k == arith::add)
    return std::make_shared<arith_expr>(k, std::move(b), std::move(a), tb, true);
  if (is_ts(ta) && is_ts(tb) && k == arith::sub)
    return std::make_shared<arith_expr>(k, std::move(a), std::move(b),
                                        data_type::of(type_id::int64), true);
  if (!ta->numeric() || !tb->numeric()) throw mismatch();
  auto t = numeric_result(ta, tb);
  bool integral = t->integral();
  return std::make_shared<arith_expr>(k, std::move(a), std::move(b), t, integral);
}

expression_ptr make_unary(const std::string& op, expression_ptr a) {
  if (op == "NOT") {
    if (!is_bool(a->type()) && !is_null_type(a->type()))
      throw type_error("NOT needs a BOOLEAN, got " + a->type()->to_string());
    return std::make_shared<not_expr>(std::move(a));
  }
  if (!a->type()->numeric() && !is_null_type(a->type()))
    throw type_error("cannot negate " + a->type()->to_string());
  return std::make_shared<negate_expr>(std::move(a));
}

expression_ptr make_is_null(expression_ptr a, bool negated) {
  return std::make_shared<is_null_expr>(std::move(a), negated);
}

expression_ptr make_in(expression_ptr a, std::vector<expression_ptr> list, bool negated) {
  for (const auto& e : list)
    if (!comparable(a->type(), e->type()))
      throw type_error("IN list value of type " + e->type()->to_string() + " does not match " +
                       a->type()->to_string());
  return std::make_shared<in_expr>(std::move(a), std::move(list), negated);
}

expression_ptr make_between(expression_ptr a, expression_ptr lo, expression_ptr hi, bool negated) {
  auto e =
      make_binary("AND", make_binary(">=", a, std::move(lo)), make_binary("<=", a, std::move(hi)));
  return negated ? make_unary("NOT", std::move(e)) : e;
}

expression_ptr make_like(expression_ptr a, expression_ptr pattern, bool negated) {
  if ((!is_string(a->type()) && !is_null_type(a->type())) ||
      (!is_string(pattern->type()) && !is_null_type(pattern->type())))
    throw type_error("LIKE needs VARCHAR operands");
  return std::make_shared<like_expr>(std::move(a), std::move(pattern), negated);
}

expression_ptr make_case(expression_ptr operand, std::vector<expression_ptr> whens,
                         std::vector<expression_ptr> thens, expression_ptr otherwise) {
  type_ptr t;
  auto unify = [&](const type_ptr& x) {
    if (is_null_type(x)) return;
    if (!t || is_null_type(t)) {
      t = x;
    } else if (t->numeric() && x->numeric()) {
      t = numeric_result(t, x);
    } else if (t->id != x->id) {
      throw type_error("CASE branches have different types: " + t->to_string() + " and " +
                       x->to_string());
    }
  };
  for (const auto& e : thens)
    unify(e->type());
  if (otherwise) unify(otherwise->type());
  if (!t) t = data_type::of(type_id::null);
  for (const auto& w : whens) {
    if (operand ? !comparable(operand->type(), w->type())
                : (!is_bool(w->type()) && !is_null_type(w->type())))
      throw type_error("CASE WHEN of type " + w->type()->to_string() + " does not fit");
  }
  return std::make_shared<case_expr>(t, std::move(operand), std::move(whens), std::move(thens),
                                     std::move(otherwise));
}

expression_ptr make_cast(expression_ptr a, type_ptr to) {
  return std::make_shared<cast_expr>(std::move(a), std::move(to));
}

expression_ptr make_field(expression_ptr a, const std::string& name) {
  const auto& t = a->type();
  if (t->id == type_id::row) {
    for (const auto& f : t->fields)
      if (f.name == name) return std::make_shared<field_expr>(std::move(a), name, f.type);
    throw type_error("no field '" + name + "' in " + t->to_string());
  }
  if (t->id == type_id::map) return std::make_shared<field_expr>(std::move(a), name, t->element);
  throw type_error("cannot take field '" + name + "' of " + t->to_string());
}

expression_ptr make_index(expression_ptr a, expression_ptr index) {
  const auto& t = a->type();
  if (t->id == type_id::array) {
    if (!index->type()->integral()) throw type_error("an ARRAY index must be an integer");
    return std::make_shared<index_expr>(std::move(a), std::move(index), t->element);
  }
  if (t->id == type_id::map) {
    if (!is_string(index->type())) throw type_error("a MAP key must be VARCHAR");
    return std::make_shared<index_expr>(std::move(a), std::move(index), t->element);
  }
  throw type_error("cannot index " + t->to_string());
}

bool coerce(value& v, const data_type& t, std::string& err) {
  if (v.is_null()) return true;
  auto fail = [&](const char* what) {
    err = "cannot convert " + to_display(v) + " to " + t.to_string() + (what ? what : "");
    return false;
  };
  switch (t.id) {
    case type_id::null:
      return true;
    case type_id::boolean:
      if (v.k == K::boolean) return true;
      if (v.k == K::string) {
        std::string s(v.str());
        for (auto& c : s)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (s == "true" || s == "1") {
          v = value::boolean(true);
          return true;
        }
        if (s == "false" || s == "0") {
          v = value::boolean(false);
          return true;
        }
      }
      if (v.k == K::integer) {
        v = value::boolean(v.i != 0);
        return true;
      }
      return fail(nullptr);
    case type_id::int32:
    case type_id::int64: {
      int64_t out;
      if (v.k == K::integer || v.k == K::timestamp) {
        out = v.i;
      } else if (v.k == K::real) {
        if (!std::isfinite(v.d) || std::fabs(v.d) >= 9.2e18) return fail(" (out of range)");
        out = static_cast<int64_t>(v.d);
      } else if (v.k == K::string) {
        std::string_view text = v.str();
        const char* b = text.data();
        const char* e = b + text.size();
        while (b < e && *b == ' ')
          ++b;
        while (e > b && e[-1] == ' ')
          --e;
        auto r = std::from_chars(b, e, out);
        if (r.ec != std::errc() || r.ptr != e) return fail(nullptr);
      } else if (v.k == K::boolean) {
        out = v.b ? 1 : 0;
      } else {
        return fail(nullptr);
      }
      if (t.id == type_id::int32 && (out < INT32_MIN || out > INT32_MAX))
        return fail(" (out of range for INT)");
      v = value::integer(out);
      return true;
    }
    case type_id::float64:
    case type_id::decimal: {
      if (v.k == K::real) return true;
      if (v.k == K::integer) {
        v = value::real(static_cast<double>(v.i));
        return true;
      }
      if (v.k == K::string) {
        double d;
        std::string_view text = v.str();
        const char* b = text.data();
        const char* e = b + text.size();
        auto r = std::from_chars(b, e, d);
        if (r.ec != std::errc() || r.ptr != e) return fail(nullptr);
        v = value::real(d);
        return true;
      }
      return fail(nullptr);
    }
    case type_id::varchar:
      if (v.k == K::string) return true;
      v = value::string(to_display(v));
      return true;
    case type_id::timestamp: {
      if (v.k == K::timestamp) return true;
      if (v.k == K::integer) {
        v = value::timestamp(v.i);
        return true;
      }
      if (v.k == K::real && std::isfinite(v.d)) {
        v = value::timestamp(static_cast<int64_t>(v.d));
        return true;
      }
      int64_t ms;
      if (v.k == K::string && parse_timestamp(v.str(), ms)) {
        v = value::timestamp(ms);
        return true;
      }
      return fail(nullptr);
    }
    case type_id::row:
    case type_id::map:
      if (v.k == K::nested && !v.nest()->is_array) return true;
      return fail(nullptr);
    case type_id::array:
      if (v.k == K::nested && v.nest()->is_array) return true;
      return fail(nullptr);
  }
  return fail(nullptr);
}

}  // namespace sluice::stream
