// Feeds arbitrary text to the SQL parser and planner (against a fixed catalog). Any outcome
// but a plan or a sql_error (a crash, a sanitizer report, another exception) is a bug.

#include <cstddef>
#include <cstdint>
#include <string>

#include "sql/error.h"
#include "sql/parser.h"
#include "sql/planner.h"

namespace {

using namespace sluice;

class catalog final : public sql::name_lookup {
 public:
  catalog() {
    auto stmts = sql::parse(
        "CREATE STREAM s (a BIGINT, b DOUBLE, c VARCHAR, d BOOLEAN, ts TIMESTAMP, "
        "r ROW<x INT, y ARRAY<VARCHAR>>, m MAP<VARCHAR, DOUBLE>) "
        "WITH (topic = 's', timestamp = 'ts', watermark = 'ts - INTERVAL ''1'' SECOND')");
    s_ = sql::make_source_def(std::get<sql::create_source_stmt>(stmts[0].body), {});
    t_ = s_;
    t_.name = "t";
    t_.is_table = true;
    t_.primary_key = {"a"};
    view_ = {{"k", stream::data_type::of(stream::type_id::varchar)},
             {"n", stream::data_type::of(stream::type_id::int64)}};
  }
  const sql::source_def* find_source(const std::string& n) const override {
    return n == "s" ? &s_ : n == "t" ? &t_ : nullptr;
  }
  const std::vector<stream::field_type>* find_view(const std::string& n) const override {
    return n == "v" ? &view_ : nullptr;
  }

 private:
  sql::source_def s_, t_;
  std::vector<stream::field_type> view_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static catalog cat;
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& st : sql::parse(text)) {
      const sql::select_stmt* q = nullptr;
      if (auto* x = std::get_if<sql::query_stmt>(&st.body)) q = x->query.get();
      if (auto* x = std::get_if<sql::create_view_stmt>(&st.body)) q = x->query.get();
      if (auto* x = std::get_if<sql::create_source_stmt>(&st.body))
        sql::make_source_def(*x, st.loc);
      if (q) sql::plan_select(*q, cat);
    }
  } catch (const sql::sql_error&) {
  }
  return 0;
}
