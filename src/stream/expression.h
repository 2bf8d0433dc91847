#pragma once
// Compiled scalar expressions: a tree of typed nodes evaluated against one row.
//
// Builders check types and throw type_error with a message (the SQL planner adds the
// position). Evaluation never throws: a runtime error in one row (division by zero, a bad
// CAST, an integer overflow) records a message in the eval_context and yields NULL; the
// operator that evaluated it then sends the row to the dead-letter topic instead of the output.
// NULL follows SQL's three-valued logic.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stream/value.h"

namespace sluice::stream {

class type_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct eval_context {
  std::string error;  // the first runtime error since it was last cleared
  void fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
};

class expression {
 public:
  explicit expression(type_ptr t) : type_(std::move(t)) {}
  virtual ~expression() = default;
  virtual value eval(const row& r, eval_context& ctx) const = 0;
  const type_ptr& type() const { return type_; }
  // The column index when this is a plain column reference, else -1.
  virtual int column_index() const { return -1; }
  // Whether the value is the same for every row (literals and functions of literals).
  virtual bool constant() const { return false; }

 private:
  type_ptr type_;
};

using expression_ptr = std::shared_ptr<const expression>;

expression_ptr make_literal(value v, type_ptr t);
expression_ptr make_column(int index, type_ptr t);
// op: + - * / % || = <> < <= > >= AND OR
expression_ptr make_binary(const std::string& op, expression_ptr a, expression_ptr b);
// op: - NOT
expression_ptr make_unary(const std::string& op, expression_ptr a);
expression_ptr make_is_null(expression_ptr a, bool negated);
expression_ptr make_in(expression_ptr a, std::vector<expression_ptr> list, bool negated);
expression_ptr make_between(expression_ptr a, expression_ptr lo, expression_ptr hi, bool negated);
expression_ptr make_like(expression_ptr a, expression_ptr pattern, bool negated);
// whens/thens pairs; operand (simple CASE) and otherwise may be null.
expression_ptr make_case(expression_ptr operand, std::vector<expression_ptr> whens,
                         std::vector<expression_ptr> thens, expression_ptr otherwise);
expression_ptr make_cast(expression_ptr a, type_ptr to);
expression_ptr make_field(expression_ptr a, const std::string& name);
expression_ptr make_index(expression_ptr a, expression_ptr index);
// Scalar functions by upper-case name (docs/sql.md lists them). Throws type_error for an
// unknown name or wrong arguments.
expression_ptr make_function(const std::string& name, std::vector<expression_ptr> args);
bool is_scalar_function(const std::string& name);

// The value converted to `t` for a column of that type; false (and `err`) when it cannot be.
bool coerce(value& v, const data_type& t, std::string& err);

// Truth of a predicate result: only TRUE passes (NULL and FALSE do not).
inline bool is_true(const value& v) {
  return v.k == value::kind::boolean && v.b;
}

}  // namespace sluice::stream
