#pragma once
// ASCII case helpers (SQL keywords and names, JSON field matching), and comma lists.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The items of "a, b,c": split at commas, spaces around each trimmed, empty ones dropped.
inline std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= s.size();) {
    size_t comma = std::min(s.find(',', at), s.size());
    auto item = s.substr(at, comma - at);
    at = comma + 1;
    item.remove_prefix(std::min(item.find_first_not_of(' '), item.size()));
    item.remove_suffix(item.size() - (item.find_last_not_of(' ') + 1));
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

}  // namespace sluice
