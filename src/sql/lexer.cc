#include "sql/lexer.h"

#include <cctype>

#include "sql/error.h"

namespace sluice::sql {

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> out;
  size_t i = 0;
  int line = 1;
  size_t line_start = 0;
  auto here = [&](size_t at) { return location{line, static_cast<int>(at - line_start) + 1}; };
  auto advance_lines = [&](size_t from, size_t to) {
    for (size_t j = from; j < to; ++j)
      if (s[j] == '\n') {
        ++line;
        line_start = j + 1;
      }
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n')
        ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      auto end = s.find("*/", i + 2);
      if (end == std::string_view::npos) throw sql_error(here(i), "unterminated comment");
      advance_lines(i, end);
      i = end + 2;
      continue;
    }
    token t;
    t.loc = here(i);
    t.offset = i;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() &&
             (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '$'))
        ++j;
      t.k = token::kind::identifier;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < s.size() &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      bool real = false;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j;
      if (j < s.size() && s[j] == '.') {
        real = true;
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
          ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          real = true;
          j = k;
          while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
            ++j;
        }
      }
      t.k = real ? token::kind::number : token::kind::integer;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else if (c == '\'' || c == '"' || c == '`') {
      // '' (or "" / ``) inside doubles the quote character.
      std::string v;
      size_t j = i + 1;
      for (;;) {
        if (j >= s.size())
          throw sql_error(
              t.loc, c == '\'' ? "unterminated string literal" : "unterminated quoted identifier");
        if (s[j] == c) {
          if (j + 1 < s.size() && s[j + 1] == c) {
            v.push_back(c);
            j += 2;
            continue;
          }
          break;
        }
        v.push_back(s[j]);
        ++j;
      }
      advance_lines(i, j);
      t.k = c == '\'' ? token::kind::string : token::kind::quoted_identifier;
      t.text = std::move(v);
      i = j + 1;
    } else {
      t.k = token::kind::symbol;
      std::string_view pair = s.substr(i, 2);
      size_t width = 1;
      if (pair == "<=" || pair == ">=" || pair == "<>" || pair == "||") {
        t.text.assign(pair.data(), 2);
        width = 2;
      } else if (pair == "!=") {
        t.text.assign("<>");
        width = 2;
      } else if (pair == "==") {
        t.text.assign("=");
        width = 2;
      } else if (std::string_view("()[],.;*+-/%=<>:").find(c) != std::string_view::npos) {
        t.text.assign(1, c);
      } else {
        std::string msg("unexpected character '");
        msg.push_back(c);
        msg.push_back('\'');
        throw sql_error(t.loc, msg);
      }
      i += width;
    }
    out.push_back(std::move(t));
  }
  token end;
  end.loc = here(s.size());
  end.offset = s.size();
  out.push_back(end);
  return out;
}

}  // namespace sluice::sql
