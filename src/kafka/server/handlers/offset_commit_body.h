#pragma once
// What OffsetCommit and TxnOffsetCommit share: the topics and partitions of the request, read
// in order, and the response's per-partition errors in that same order.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "group/coordinator.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"

namespace sluice::kafka {

using topic_order = std::vector<std::pair<std::string, std::vector<int32_t>>>;
using committed_offsets = std::vector<std::pair<group::topic_partition, group::committed_offset>>;

// [topic, [partition, offset, (leader epoch), (commit timestamp), metadata]]: the offsets into
// `out`, the order (for the response) returned.
topic_order read_committed_offsets(reader& in, bool leader_epoch, bool commit_timestamp,
                                   committed_offsets& out);

// [topic, [partition, error]] in request order (none where `errors` has no entry).
void write_partition_errors(writer& out, const topic_order& order,
                            const std::map<group::topic_partition, error_code>& errors);

}  // namespace sluice::kafka
