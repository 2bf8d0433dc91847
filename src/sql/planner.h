#pragma once
// Turns a SELECT into a dataflow: the binder (sql/binder/) resolves names and types against
// the catalog and builds a logical plan (sql/plan/logical_plan.h); lowering (sql/plan/lower.h)
// turns that into operators with several inputs where the query joins. Throws sql_error with
// the position of the offending part.

#include <map>
#include <string>
#include <vector>

#include "sql/ast.h"
#include "stream/dataflow.h"
#include "stream/operator.h"

namespace sluice::sql {

// A declared source: CREATE STREAM or CREATE TABLE.
struct source_def {
  std::string name;
  bool is_table = false;
  std::vector<stream::field_type> columns;
  std::vector<std::string> primary_key;
  // The columns each record's key holds (WITH (key = 'a, b')), so what the records are
  // partitioned by; a table's is its primary key.
  std::vector<std::string> partition_key;
  std::string topic;
  std::string timestamp_column;  // empty: the record timestamp
  int64_t watermark_delay_ms = 0;
  int64_t idle_timeout_ms = 5'000;
  // The values' format: "JSON" or "AVRO" (Confluent-framed, schemas in the registry under
  // `subject`, by default "<topic>-value").
  std::string format = "JSON";
  std::string subject;
  stream::decoder_factory make_decoder;  // empty: JSON
  // Declared without columns: the id of the schema they come from (0: declared).
  int32_t schema_id = 0;
  // A table's keys (tombstones): JSON (an object of the key columns, or a bare value) or a
  // registry format, whose records name their schema.
  std::string key_format = "JSON";
  stream::decoder_factory make_key_decoder;  // empty: JSON
};

// What a source's format needs from outside the SQL front end: for a format with a registry,
// the columns of a subject's latest schema and the decoders of its values. Throws sql_error
// (located at `loc`) when the subject has no usable schema.
class format_provider {
 public:
  virtual ~format_provider() = default;
  // The columns of `subject`'s latest schema (and its id in `id`), or of schema `id` when it
  // is given (non-zero).
  virtual std::vector<stream::field_type> columns_of(const std::string& format,
                                                     const std::string& subject, int32_t& id,
                                                     location loc) const = 0;
  // The schema a source named `name` was pinned to (0: none): a restart reads what it read.
  virtual int32_t pinned_schema(const std::string& name) const = 0;
  // The values' decoder; `schema_id` (non-zero): the schema the columns come from.
  virtual stream::decoder_factory decoder(const std::string& format, int32_t schema_id) const = 0;
};

// a * b milliseconds; throws sql_error "interval too large" at `loc` on overflow.
int64_t interval_times(int64_t a, int64_t b, location loc);

// "5000" (ms), "100 ms", "5 s", "2 minutes", "1 h" to milliseconds; throws sql_error
// naming `what` otherwise.
int64_t parse_duration(const std::string& v, location loc, const char* what);

// Builds a source_def from its statement; throws sql_error for bad properties. `formats`
// (may be null: JSON only) serves formats other than JSON.
source_def make_source_def(const create_source_stmt& s, location loc,
                           const format_provider* formats = nullptr);

// What the planner needs to know about names.
class name_lookup {
 public:
  virtual ~name_lookup() = default;
  virtual const source_def* find_source(const std::string& name) const = 0;
  // Columns of a view (for snapshot SELECTs), or nullptr.
  virtual const std::vector<stream::field_type>* find_view(const std::string& name) const = 0;
};

struct logical_node;
enum class changelog_mode;

struct plan {
  std::shared_ptr<logical_node> root;  // the logical plan (EXPLAIN)
  stream::dataflow flow;               // without a sink; a view scan's source has no topic
  std::string view_source;             // the view read by a snapshot SELECT
  std::vector<std::string> names;      // output columns
  std::vector<stream::type_ptr> types;
  std::vector<std::string> key_names;  // the element key's columns, when the output is keyed
  changelog_mode mode{};               // append, upsert or retract
  bool windowed = false;
};

struct plan_options {
  // Keys each unwindowed stateful operator (GROUP BY groups, join keys per side, a table's
  // rows) keeps in memory; the rest go to the operator's RocksDB store. Default: 100,000.
  size_t state_cache_rows = 100'000;
  // WITH (state_ttl = '1h'): keyed state (GROUP BY groups, regular join rows, Top-N per key)
  // not written for this long is dropped. 0: kept. Default: 0.
  int64_t state_ttl_ms = 0;
};

plan plan_select(const select_stmt& s, const name_lookup& names, const plan_options& o = {});

}  // namespace sluice::sql
