// Built-in scalar functions: string, math, NULL handling and time.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>

#include "stream/expression.h"

namespace sluice::stream {

namespace {

using K = value::kind;
using impl = std::function<value(std::vector<value>&, eval_context&)>;

class function_expr final : public expression {
 public:
  function_expr(type_ptr t, std::vector<expression_ptr> args, impl f, bool null_in_null_out)
      : expression(std::move(t)),
        args_(std::move(args)),
        f_(std::move(f)),
        strict_(null_in_null_out) {}
  value eval(const row& r, eval_context& ctx) const override {
    std::vector<value> vs;
    vs.reserve(args_.size());
    for (const auto& a : args_) {
      vs.push_back(a->eval(r, ctx));
      if (strict_ && vs.back().is_null()) return {};
    }
    return f_(vs, ctx);
  }
  bool constant() const override {
    return std::all_of(args_.begin(), args_.end(), [](const auto& a) { return a->constant(); });
  }

 private:
  std::vector<expression_ptr> args_;
  impl f_;
  bool strict_;
};

struct signature {
  size_t min_args, max_args;
  // Result type from the argument types; throws type_error for wrong ones.
  std::function<type_ptr(const std::vector<expression_ptr>&)> result;
  impl f;
  bool strict = true;  // NULL in any argument gives NULL without calling f
};

void need(bool ok, const std::string& name, const char* what) {
  if (!ok) throw type_error(name + " needs " + what);
}

type_ptr numeric_arg(const std::string& name, const std::vector<expression_ptr>& a) {
  need(a[0]->type()->numeric() || a[0]->type()->id == type_id::null, name, "a number");
  return a[0]->type()->id == type_id::null ? data_type::of(type_id::float64) : a[0]->type();
}

type_ptr string_fn(const std::string& name, const std::vector<expression_ptr>& a) {
  need(a[0]->type()->id == type_id::varchar || a[0]->type()->id == type_id::null, name,
       "a VARCHAR");
  return data_type::of(type_id::varchar);
}

type_ptr ts_part(const std::string& name, const std::vector<expression_ptr>& a) {
  need(a[0]->type()->id == type_id::timestamp, name, "a TIMESTAMP");
  return data_type::of(type_id::int64);
}

// Number of UTF-8 code points.
int64_t char_length(std::string_view s) {
  int64_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

const std::map<std::string, signature>& registry() {
  static const std::map<std::string, signature> r = [] {
    std::map<std::string, signature> m;
    auto str_map = [&](const char* name, std::function<std::string(std::string)> f) {
      m[name] = {1, 1, [n = std::string(name)](const auto& a) { return string_fn(n, a); },
                 [f](std::vector<value>& v, eval_context&) {
                   return value::string(f(std::string(v[0].str())));
                 }};
    };
    str_map("UPPER", [](std::string s) {
      for (auto& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    });
    str_map("LOWER", [](std::string s) {
      for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    });
    str_map("TRIM", [](std::string s) {
      auto b = s.find_first_not_of(' ');
      if (b == std::string::npos) return std::string();
      return s.substr(b, s.find_last_not_of(' ') - b + 1);
    });
    str_map("LTRIM", [](std::string s) {
      auto b = s.find_first_not_of(' ');
      return b == std::string::npos ? std::string() : s.substr(b);
    });
    str_map("RTRIM", [](std::string s) {
      auto e = s.find_last_not_of(' ');
      return e == std::string::npos ? std::string() : s.substr(0, e + 1);
    });
    auto length = signature{
        1, 1, [](const auto& a) { return (string_fn("LENGTH", a), data_type::of(type_id::int64)); },
        [](std::vector<value>& v, eval_context&) {
          return value::integer(char_length(v[0].str()));
        }};
    m["LENGTH"] = length;
    m["CHAR_LENGTH"] = length;
    auto substring = signature{2, 3,
                               [](const auto& a) {
                                 string_fn("SUBSTRING", a);
                                 for (size_t i = 1; i < a.size(); ++i)
                                   need(a[i]->type()->integral(), "SUBSTRING", "integer positions");
                                 return data_type::of(type_id::varchar);
                               },
                               [](std::vector<value>& v, eval_context&) {
                                 // 1-based start, as SQL; byte positions (ASCII data).
                                 int64_t start = std::max<int64_t>(v[1].i, 1) - 1;
                                 std::string_view s = v[0].str();
                                 if (static_cast<size_t>(start) >= s.size())
                                   return value::string("");
                                 size_t len = std::string::npos;
                                 if (v.size() == 3) {
                                   int64_t end = v[1].i - 1 + v[2].i;
                                   if (end <= start) return value::string("");
                                   len = static_cast<size_t>(end - start);
                                 }
                                 return value::string(s.substr(static_cast<size_t>(start), len));
                               }};
    m["SUBSTRING"] = substring;
    m["SUBSTR"] = substring;
    m["CONCAT"] = {1, 64, [](const auto&) { return data_type::of(type_id::varchar); },
                   [](std::vector<value>& v, eval_context&) {
                     std::string s;
                     for (auto& x : v) {
                       if (x.k == K::string)
                         s += x.str();
                       else if (!x.is_null())
                         s += to_display(x);
                     }
                     return value::string(std::move(s));
                   },
                   false};
    m["REPLACE"] = {3, 3, [](const auto& a) { return string_fn("REPLACE", a); },
                    [](std::vector<value>& v, eval_context&) {
                      std::string_view s = v[0].str();
                      std::string_view from = v[1].str();
                      if (from.empty()) return v[0];
                      std::string out;
                      size_t p = 0;
                      for (size_t q; (q = s.find(from, p)) != std::string::npos;
                           p = q + from.size()) {
                        out.append(s, p, q - p);
                        out += v[2].str();
                      }
                      out.append(s, p);
                      return value::string(std::move(out));
                    }};
    m["POSITION"] = {
        2, 2, [](const auto&) { return data_type::of(type_id::int64); },
        [](std::vector<value>& v, eval_context&) {
          auto p = v[1].str().find(v[0].str());
          return value::integer(p == std::string::npos ? 0 : static_cast<int64_t>(p) + 1);
        }};
    // math
    auto math1 = [&](const char* name, double (*f)(double), bool keep_int) {
      m[name] = {1, 1,
                 [n = std::string(name), keep_int](const auto& a) {
                   auto t = numeric_arg(n, a);
                   return keep_int ? t : data_type::of(type_id::float64);
                 },
                 [f](std::vector<value>& v, eval_context& ctx) {
                   if (v[0].k == K::integer) return value::integer(v[0].i);
                   double r = f(v[0].as_double());
                   if (std::isnan(r)) {
                     ctx.fail("math domain error");
                     return value();
                   }
                   return value::real(r);
                 }};
    };
    math1(
        "FLOOR", [](double x) { return std::floor(x); }, true);
    math1(
        "CEIL", [](double x) { return std::ceil(x); }, true);
    math1(
        "CEILING", [](double x) { return std::ceil(x); }, true);
    m["ABS"] = {1, 1, [](const auto& a) { return numeric_arg("ABS", a); },
                [](std::vector<value>& v, eval_context& ctx) {
                  if (v[0].k == K::integer) {
                    if (v[0].i == INT64_MIN) {
                      ctx.fail("integer overflow");
                      return value();
                    }
                    return value::integer(v[0].i < 0 ? -v[0].i : v[0].i);
                  }
                  return value::real(std::fabs(v[0].d));
                }};
    auto real_fn = [&](const char* name, double (*f)(double)) {
      m[name] = {1, 1,
                 [n = std::string(name)](const auto& a) {
                   numeric_arg(n, a);
                   return data_type::of(type_id::float64);
                 },
                 [f](std::vector<value>& v, eval_context& ctx) {
                   double r = f(v[0].as_double());
                   if (std::isnan(r) || std::isinf(r)) {
                     ctx.fail("math domain error");
                     return value();
                   }
                   return value::real(r);
                 }};
    };
    real_fn("SQRT", [](double x) { return std::sqrt(x); });
    real_fn("LN", [](double x) { return std::log(x); });
    real_fn("LOG10", [](double x) { return std::log10(x); });
    real_fn("EXP", [](double x) { return std::exp(x); });
    m["SIGN"] = {1, 1, [](const auto& a) { return numeric_arg("SIGN", a); },
                 [](std::vector<value>& v, eval_context&) {
                   double d = v[0].as_double();
                   int s = d > 0 ? 1 : (d < 0 ? -1 : 0);
                   return v[0].k == K::integer ? value::integer(s) : value::real(s);
                 }};
    m["POWER"] = {2, 2,
                  [](const auto& a) {
                    numeric_arg("POWER", a);
                    need(a[1]->type()->numeric(), "POWER", "numbers");
                    return data_type::of(type_id::float64);
                  },
                  [](std::vector<value>& v, eval_context& ctx) {
                    double r = std::pow(v[0].as_double(), v[1].as_double());
                    if (std::isnan(r)) {
                      ctx.fail("math domain error");
                      return value();
                    }
                    return value::real(r);
                  }};
    m["MOD"] = {2, 2,
                [](const auto& a) {
                  need(a[0]->type()->integral() && a[1]->type()->integral(), "MOD", "integers");
                  return data_type::of(type_id::int64);
                },
                [](std::vector<value>& v, eval_context& ctx) {
                  if (v[1].i == 0) {
                    ctx.fail("division by zero");
                    return value();
                  }
                  if (v[1].i == -1) return value::integer(0);
                  return value::integer(v[0].i % v[1].i);
                }};
    m["ROUND"] = {1, 2, [](const auto& a) { return numeric_arg("ROUND", a); },
                  [](std::vector<value>& v, eval_context&) {
                    if (v[0].k == K::integer) return value::integer(v[0].i);
                    double scale = std::pow(10.0, v.size() > 1 ? v[1].as_double() : 0.0);
                    return value::real(std::round(v[0].d * scale) / scale);
                  }};
    // NULL handling
    auto first_type = [](const std::vector<expression_ptr>& a) {
      for (const auto& e : a)
        if (e->type()->id != type_id::null) return e->type();
      return data_type::of(type_id::null);
    };
    m["COALESCE"] = {1, 64, first_type,
                     [](std::vector<value>& v, eval_context&) {
                       for (auto& x : v)
                         if (!x.is_null()) return std::move(x);
                       return value();
                     },
                     false};
    m["IFNULL"] = {2, 2, first_type, m["COALESCE"].f, false};
    m["NULLIF"] = {2, 2, [](const auto& a) { return a[0]->type(); },
                   [](std::vector<value>& v, eval_context&) {
                     if (!v[0].is_null() && !v[1].is_null() && equal(v[0], v[1])) return value();
                     return std::move(v[0]);
                   },
                   false};
    auto extreme = [&](const char* name, bool greatest) {
      m[name] = {1, 64, first_type, [greatest](std::vector<value>& v, eval_context&) {
                   value best = v[0];
                   for (auto& x : v)
                     if (greatest ? compare(x, best) > 0 : compare(x, best) < 0) best = x;
                   return best;
                 }};
    };
    extreme("GREATEST", true);
    extreme("LEAST", false);
    // time
    m["TO_TIMESTAMP"] = {1, 1, [](const auto&) { return data_type::of(type_id::timestamp); },
                         [](std::vector<value>& v, eval_context& ctx) {
                           std::string err;
                           if (!coerce(v[0], *data_type::of(type_id::timestamp), err)) {
                             ctx.fail(err);
                             return value();
                           }
                           return v[0];
                         }};
    m["EPOCH_MS"] = {1, 1, [](const auto& a) { return ts_part("EPOCH_MS", a); },
                     [](std::vector<value>& v, eval_context&) { return value::integer(v[0].i); }};
    m["NOW"] = {0, 0, [](const auto&) { return data_type::of(type_id::timestamp); },
                [](std::vector<value>&, eval_context&) {
                  return value::timestamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
                }};
    m["CURRENT_TIMESTAMP"] = m["NOW"];
    auto part = [&](const char* name, int64_t (*f)(const civil_time&)) {
      m[name] = {1, 1, [n = std::string(name)](const auto& a) { return ts_part(n, a); },
                 [f](std::vector<value>& v, eval_context&) {
                   return value::integer(f(to_civil(v[0].i)));
                 }};
    };
    part("YEAR", [](const civil_time& c) { return c.year; });
    part("MONTH", [](const civil_time& c) { return static_cast<int64_t>(c.month); });
    part("DAY", [](const civil_time& c) { return static_cast<int64_t>(c.day); });
    part("HOUR", [](const civil_time& c) { return static_cast<int64_t>(c.hour); });
    part("MINUTE", [](const civil_time& c) { return static_cast<int64_t>(c.minute); });
    part("SECOND", [](const civil_time& c) { return static_cast<int64_t>(c.second); });
    return m;
  }();
  return r;
}

}  // namespace

bool is_scalar_function(const std::string& name) {
  return registry().count(name) != 0;
}

expression_ptr make_function(const std::string& name, std::vector<expression_ptr> args) {
  auto it = registry().find(name);
  if (it == registry().end()) throw type_error("unknown function " + name);
  const auto& sig = it->second;
  if (args.size() < sig.min_args || args.size() > sig.max_args)
    throw type_error(name + " takes " + std::to_string(sig.min_args) +
                     (sig.max_args != sig.min_args
                          ? (sig.max_args == 64 ? " or more" : "-" + std::to_string(sig.max_args))
                          : "") +
                     " argument" + (sig.max_args == 1 ? "" : "s"));
  auto t = sig.result(args);
  auto e = std::make_shared<function_expr>(t, std::move(args), sig.f, sig.strict);
  // Fold calls on constants once (NOW() stays per row).
  if (e->constant() && name != "NOW" && name != "CURRENT_TIMESTAMP") {
    eval_context ctx;
    value v = e->eval({}, ctx);
    if (ctx.error.empty()) return make_literal(std::move(v), t);
  }
  return e;
}

}  // namespace sluice::stream
