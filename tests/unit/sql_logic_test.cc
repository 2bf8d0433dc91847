// Runs the declarative SQL tests in tests/sql/*.test against an engine over a real log in a
// temporary folder (no network). Directives, each ended by a blank line:
//
//   statement ok                 the SQL on the next lines succeeds
//   statement error <text>       it fails with a message containing <text>
//   produce <topic> [<partition>]  each following line is one record value (JSON or not),
//                                or "<tombstone> KEY" for a tombstone
//   sync                         waits until every query has caught up and applied its watermark
//   query                        the SQL on the next lines, then "----", then the expected rows,
//                                one JSON object per line, in order
//   count <query> <field> <n>    a SHOW QUERIES column of one query equals n
//   restart                      closes and reopens the log and the engine (same folder)
//   sleep <ms>                   waits (wall-clock state TTLs)
//
// Lines starting with '#' are comments.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "log/log.h"
#include "log/records.h"
#include "sql/engine.h"
#include "sql/error.h"
#include "stream/io.h"

namespace sluice {
namespace {

// tests/sql, from CTest's environment (or next to this file when run by hand).
std::filesystem::path sql_dir() {
  if (const char* d = std::getenv("SLUICE_SQL_TESTS")) return d;
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "sql";
}

class sql_script {
 public:
  explicit sql_script(std::filesystem::path file) : file_(std::move(file)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-sqltest-" + file_.stem().string() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    open();
  }
  ~sql_script() {
    close();
    std::filesystem::remove_all(dir_);
  }

  void run() {
    std::ifstream in(file_);
    ASSERT_TRUE(in) << file_;
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
      lines.push_back(l);
    size_t i = 0;
    auto block = [&](size_t& at) {
      std::vector<std::string> b;
      while (at < lines.size() && !lines[at].empty())
        b.push_back(lines[at++]);
      return b;
    };
    while (i < lines.size()) {
      const std::string line = lines[i];
      size_t line_no = i + 1;
      ++i;
      if (line.empty() || line[0] == '#') continue;
      std::string where = file_.filename().string() + ":" + std::to_string(line_no);
      SCOPED_TRACE(where);
      auto body = block(i);
      std::string text;
      for (const auto& b : body)
        text += b + "\n";
      if (line == "statement ok") {
        try {
          engine_->execute(text);
        } catch (const std::exception& e) {
          ADD_FAILURE() << where << ": " << e.what();
        }
      } else if (line.rfind("statement error ", 0) == 0) {
        std::string want = line.substr(16);
        try {
          engine_->execute(text);
          ADD_FAILURE() << where << ": expected an error containing '" << want << "'";
        } catch (const std::exception& e) {
          EXPECT_NE(std::string(e.what()).find(want), std::string::npos)
              << where << ": got '" << e.what() << "', wanted '" << want << "'";
        }
      } else if (line.rfind("produce ", 0) == 0) {
        std::istringstream args(line.substr(8));
        std::string topic;
        int partition = 0;
        args >> topic >> partition;
        produce(topic, partition, body);
      } else if (line == "sync") {
        ASSERT_TRUE(engine_->sync(std::chrono::seconds(20)))
            << where << ": queries did not catch up";
      } else if (line.rfind("sleep ", 0) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoll(line.substr(6))));
      } else if (line == "query") {
        auto sep = std::find(body.begin(), body.end(), "----");
        ASSERT_NE(sep, body.end()) << where << ": query without ----";
        std::string sql;
        for (auto it = body.begin(); it != sep; ++it)
          sql += *it + "\n";
        std::vector<std::string> want(sep + 1, body.end());
        std::vector<std::string> got;
        try {
          auto res = engine_->execute(sql);
          for (const auto& row : res.back().rows) {
            std::string s;
            stream::append_json_row(s, res.back().columns, row);
            got.push_back(s);
          }
        } catch (const std::exception& e) {
          ADD_FAILURE() << where << ": " << e.what();
          continue;
        }
        EXPECT_EQ(want, got) << where;
      } else if (line.rfind("count ", 0) == 0) {
        std::istringstream args(line.substr(6));
        std::string q, field;
        int64_t n = 0;
        args >> q >> field >> n;
        auto res = engine_->execute("SHOW QUERIES");
        const auto& r = res.back();
        bool found = false;
        for (const auto& row : r.rows) {
          if (row[0].str() != q) continue;
          found = true;
          for (size_t c = 0; c < r.columns.size(); ++c) {
            if (r.columns[c] == field) {
              EXPECT_EQ(row[c].k, stream::value::kind::integer) << where << ": " << field;
              EXPECT_EQ(row[c].i, n) << where << ": " << q << "." << field;
            }
          }
        }
        EXPECT_TRUE(found) << where << ": no query " << q;
      } else if (line == "restart") {
        close();
        open();
      } else {
        FAIL() << where << ": unknown directive '" << line << "'";
      }
    }
  }

 private:
  void open() {
    log::log_options lo;
    lo.data_dir = dir_;
    lo.default_partitions = 1;
    auto l = log::log::open(lo);
    ASSERT_TRUE(l) << l.error().message;
    log_ = std::move(*l);
    sql::engine_options eo;
    eo.data_dir = dir_;
    eo.checkpoint_interval = std::chrono::milliseconds(50);
    // Two groups in memory: every GROUP BY of the scripts also runs through RocksDB.
    eo.state_cache_rows = 2;
    auto e = sql::engine::open(eo, stream::make_log_io(*log_));
    ASSERT_TRUE(e) << e.error().message;
    engine_ = std::move(*e);
  }
  void close() {
    if (engine_) engine_->stop();
    engine_.reset();
    if (log_) log_->close();
    log_.reset();
  }

  void produce(const std::string& topic, int partition, const std::vector<std::string>& values) {
    auto t = log_->find_topic(topic);
    if (!t) {
      ASSERT_TRUE(log_->create_topic(topic, partition + 1, {}));
      t = log_->find_topic(topic);
    }
    if (t->partition_count() <= partition) {
      ASSERT_TRUE(log_->create_partitions(topic, partition + 1));
    }
    log::batch_builder b;
    auto view = [](const std::string& x) {
      return bytes_view(reinterpret_cast<const uint8_t*>(x.data()), x.size());
    };
    for (const auto& v : values) {
      if (v.rfind("<tombstone> ", 0) == 0) {
        std::string key = v.substr(12);
        b.add(view(key), std::nullopt, 1000);
      } else {
        b.add(std::nullopt, view(v), 1000);
      }
    }
    auto bytes = b.build();
    auto r = t->get(partition)->append(bytes, 1000);
    ASSERT_TRUE(r) << r.error().message;
  }

  std::filesystem::path file_;
  std::filesystem::path dir_;
  std::unique_ptr<log::log> log_;
  std::unique_ptr<sql::engine> engine_;
};

class SqlLogic : public ::testing::TestWithParam<std::string> {};

TEST_P(SqlLogic, Script) {
  sql_script s(sql_dir() / GetParam());
  s.run();
}

std::vector<std::string> scripts() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(sql_dir()))
    if (e.path().extension() == ".test") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Files, SqlLogic, ::testing::ValuesIn(scripts()), [](const auto& info) {
  auto n = info.param.substr(0, info.param.size() - 5);
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

}  // namespace
}  // namespace sluice
