#pragma once
// Whether a query gives the same results split by partition (cluster mode: one task per
// partition, each seeing only its partition of every source) as whole. Records are
// partitioned by their key; a source says which columns its records are keyed by (a
// table's primary key, a stream's WITH (key = '...')). Every operator that keeps state
// across rows (GROUP BY, joins, rankings, OVER) must then group by columns that carry that
// key, so that the rows it must see together are in one partition.

#include <string>

#include "sql/plan/logical_plan.h"

namespace sluice::sql {

// Empty when the plan is right split by partition; else why not, naming the first operator
// that would see only a partition's rows.
std::string partitioning_problem(const logical_node& root);

}  // namespace sluice::sql
