#pragma once
// What running some SQL touches, for authorization before it runs: the objects each
// statement reads, creates, writes or drops. Only the text is looked at (no catalog), so a
// name is reported as written; the caller decides whether it names a view or a stream's topic.

#include <string>
#include <string_view>
#include <vector>

namespace sluice::sql {

struct access_need {
  enum class action { read, create, write, drop, describe, describe_all, manage_queries };
  enum class object { source, view, topic, none };
  action what = action::read;
  object kind = object::source;  // source: a stream, table or view named in FROM
  std::string name;
  bool operator==(const access_need&) const = default;
};

// Throws sql_error (with its location) for text that does not parse, as execution would.
std::vector<access_need> access_needs(std::string_view text);

}  // namespace sluice::sql
