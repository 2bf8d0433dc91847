#pragma once
// The SQL engine: the catalog of streams, tables, views, sinks and queries, and the statements
// that change it. The public entry point of src/sql/.
//
// The catalog is durable: every statement that changed it is kept (in order) in
// <data>/_sql/catalog.json, replayed at start, and each continuous query resumes from its
// checkpoint in <data>/_sql/checkpoints/. In cluster mode (engine_options::cluster) the
// statements are a log that every process of the cluster applies, and checkpoints live in the
// cluster.
//
// Thread safety: every member may be called from any thread; statements run one at a time.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "stream/io.h"
#include "stream/operator.h"
#include "stream/query.h"

namespace sluice::view {
class view;
}
namespace sluice::schema {
class registry;
}

namespace sluice::sql {

class connector_host;
class distribution;

struct engine_options {
  // Where the catalog and checkpoints live (<data_dir>/_sql).
  std::filesystem::path data_dir = "data";
  // How often each query checkpoints (a restart replays at most this much input; an
  // exactly-once sink commits its output this often). Default: 1 s.
  std::chrono::milliseconds checkpoint_interval{1'000};
  // Groups of an unwindowed GROUP BY each query keeps in memory; the rest live in RocksDB
  // under <data_dir>/_sql/state/. Default: 100,000.
  size_t state_cache_rows = 100'000;
  // Estimated bytes of operator state in memory (windows, top-N buffers, interval joins, the
  // groups a cache holds) beyond which a query fails with the reason; a query's own
  // WITH (max_state_bytes = '...') overrides it. Default: 1 GiB.
  size_t max_state_bytes = 1ULL << 30;
  // While a query catches up, a partition this far ahead in event time of the slowest one
  // with a backlog waits for it (stream::query_options::read_alignment_ms); 0: no alignment.
  // Default: 1 s.
  int64_t read_alignment_ms = 1'000;
  // The schema registry that format = 'avro' sources and sinks use (none: JSON only).
  std::shared_ptr<schema::registry> schemas;
  // Cluster mode (sql/distribution.h): the catalog is shared with the other processes of the
  // cluster and queries are split over them; data_dir holds nothing.
  std::shared_ptr<distribution> cluster;
};

// The answer to one statement.
struct statement_result {
  std::string statement;
  std::string message;               // for DDL: what was done
  std::vector<std::string> columns;  // for queries and SHOW/DESCRIBE
  std::vector<stream::row> rows;
  bool has_rows = false;
};

// A SELECT ... EMIT CHANGES running for one caller.
class push_query {
 public:
  virtual ~push_query() = default;
  virtual const std::vector<std::string>& columns() const = 0;
};

class engine {
 public:
  // Opens the catalog and starts its queries. Errors: io_error, or invalid_config when a
  // stored statement no longer plans (the message names it).
  static result<std::unique_ptr<engine>> open(engine_options options,
                                              std::shared_ptr<stream::topic_io> io);
  ~engine();  // stop()

  // Runs the statements of `text` in order. Throws sql_error (with line and column) or
  // catalog_error for the first one that fails; those before it stay done.
  std::vector<statement_result> execute(const std::string& text);

  // Starts `select` (a SELECT ... EMIT CHANGES) and calls `on_rows` from the query's thread
  // with every batch of result changes until the returned handle is destroyed. Throws like
  // execute().
  std::unique_ptr<push_query> subscribe(const std::string& select,
                                        std::function<void(const stream::element_batch&)> on_rows);

  // Where CREATE SOURCE|SINK CONNECTOR, DROP CONNECTOR and SHOW CONNECTORS go (none: they
  // are refused). Before execute() is called from other threads.
  void set_connectors(connector_host* host);

  std::shared_ptr<view::view> find_view(const std::string& name) const;
  // The topic a declared stream or table reads; nullopt for no such source.
  std::optional<std::string> topic_of(const std::string& source) const;
  // Every continuous query's counters (push queries included).
  std::vector<stream::query_stats> query_stats() const;
  std::vector<std::shared_ptr<view::view>> views() const;

  // Waits until every query has caught up with its source (see stream::query::
  // wait_caught_up). False on timeout or when a query failed. For tests and tools.
  bool sync(std::chrono::milliseconds timeout) const;

  // Stops every query, writing their last checkpoints.
  void stop();

 private:
  struct impl;
  explicit engine(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

// JSON of execute()'s answer: {"results":[{"statement":..,"message":..} or
// {"statement":..,"columns":[..],"rows":[[..],..]}]}
std::string to_json(const std::vector<statement_result>& results);

}  // namespace sluice::sql
