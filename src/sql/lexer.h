#pragma once
// Splits SQL text into tokens. Keywords are not distinguished from identifiers here: the
// parser decides by context, so that column names like `timestamp` or `page` stay usable.

#include <string>
#include <string_view>
#include <vector>

#include "sql/ast.h"

namespace sluice::sql {

struct token {
  enum class kind { identifier, quoted_identifier, string, integer, number, symbol, end };
  kind k = kind::end;
  std::string text;  // identifier as written, string without quotes, symbol ("<=", "(")
  location loc;
  size_t offset = 0;  // byte offset in the text
};

// Throws sql_error for an unterminated string, quoted identifier or comment, or a character
// that starts no token.
std::vector<token> tokenize(std::string_view text);

}  // namespace sluice::sql
