#pragma once
// Lowering: a logical plan to the dataflow that runs it (stream/dataflow.h). One operator per
// node, plus a changelog normalizer in front of every operator that needs retractions but
// reads an upserting input.

#include "sql/plan/logical_plan.h"

namespace sluice::sql {

struct lowering_options {
  // Keys each stateful unwindowed operator (GROUP BY, joins, normalizers) keeps in memory; the
  // rest go to its RocksDB store. Default: 100,000.
  size_t state_cache_rows = 100'000;
  // Keyed state not written for this long is dropped (state_ttl); 0: kept. Default: 0.
  int64_t state_ttl_ms = 0;
};

// The dataflow of `root`; its `output` is where a sink attaches. A view scan becomes a source
// with an empty topic, which the caller feeds itself (snapshot SELECTs).
stream::dataflow lower(const logical_node& root, const lowering_options& o);

}  // namespace sluice::sql
