#pragma once
// Parses sluice SQL text (one or more statements separated by ';') into syntax trees.
// Throws sql_error with the line, column and what was expected.

#include <string_view>
#include <vector>

#include "sql/ast.h"

namespace sluice::sql {

std::vector<statement> parse(std::string_view text);

// Whether `word` is reserved (cannot be an unquoted column or alias name).
bool is_reserved(std::string_view word);

}  // namespace sluice::sql
