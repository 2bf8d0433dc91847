#pragma once
// Errors of the SQL front end. The parser and planner throw them (the statement is rejected
// as a whole); the engine turns them into an HTTP 400 with the message.

#include <stdexcept>
#include <string>

#include "sql/ast.h"

namespace sluice::sql {

class sql_error : public std::runtime_error {
 public:
  // "line 2, column 14: <message>"
  sql_error(location loc, const std::string& message)
      : std::runtime_error("line " + std::to_string(loc.line) + ", column " +
                           std::to_string(loc.column) + ": " + message),
        loc_(loc) {}
  location where() const { return loc_; }

 private:
  location loc_;
};

// A statement that is well-formed but cannot run (unknown name, exists already, ...),
// without a position in the text.
class catalog_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sluice::sql
