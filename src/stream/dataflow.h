#pragma once
// A query's dataflow: the topics it reads (sources) and a DAG of operators. Each source's
// batches enter one or more head operators; an operator passes its output to exactly one
// next operator, which for a join is one of the join's input ports. The planner builds it,
// the engine attaches the sink to `output`, and stream::query runs it on one thread.

#include <cstdint>
#include <string>
#include <vector>

#include "stream/operator.h"
#include "stream/record_decoder.h"

namespace sluice::stream {

struct source_spec {
  std::string topic;
  std::vector<field_type> schema;  // the row decoded from each record's JSON value
  int time_column = -1;            // event time: this TIMESTAMP column; -1: the record timestamp
  int64_t watermark_delay_ms = 0;
  int64_t idle_timeout_ms = 5'000;
  // CREATE TABLE: each record upserts the row of its key columns; a tombstone deletes it.
  bool upsert = false;
  std::vector<int> key_columns;
  // The columns the records are keyed by, so partitioned by (a table's primary key, a
  // stream's declared key); empty: not known.
  std::vector<int> partition_columns;
  // Columns the query reads (empty: all); the others are left NULL without being decoded.
  std::vector<bool> needed;
  // The values' decoder (empty: JSON).
  decoder_factory make_decoder;
  // A table's keys' decoder (tombstones), into the same columns (empty: a JSON object of the
  // key columns, or the bare value of a single key column).
  decoder_factory make_key_decoder;
  std::string format = "JSON";  // its name, for EXPLAIN
};

// Where a part of the dataflow delivers its output: an operator (whose next it becomes) or,
// for a part that is a bare source, that source.
struct outlet {
  int source = -1;
  operator_node* op = nullptr;
};

struct dataflow {
  std::vector<source_spec> sources;
  std::vector<std::vector<operator_node*>> heads;  // per source: where its batches go
  // Every operator, upstream before downstream; checkpoints store their states in this order.
  std::vector<operator_ptr> operators;
  outlet output;  // the result, before any sink

  int add_source(source_spec s) {
    sources.push_back(std::move(s));
    heads.emplace_back();
    return static_cast<int>(sources.size()) - 1;
  }
  // Takes ownership of `op` and returns it.
  operator_node* add(operator_ptr op) {
    operators.push_back(std::move(op));
    return operators.back().get();
  }
  // Makes `to` receive what `from` delivers.
  void connect(outlet from, operator_node* to) {
    if (from.op)
      from.op->set_next(to);
    else
      heads[static_cast<size_t>(from.source)].push_back(to);
  }
  // Appends `op` after `from` and returns the new outlet.
  outlet then(outlet from, operator_ptr op) {
    auto* n = add(std::move(op));
    connect(from, n);
    return {-1, n};
  }
};

}  // namespace sluice::stream
