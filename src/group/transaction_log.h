#pragma once
// Records of the internal topic __transaction_state (one partition, compacted): the state of
// every transactional id, in Apache Kafka's own schemas. All integers big-endian; a string is
// an i16 length and its bytes.
//   key (TransactionLogKey, version 0): i16 version, string transactional id
//   value (TransactionLogValue, version 0): i16 version, i64 producer id, i16 producer epoch,
//          i32 transaction timeout (ms), i8 state, i32 topic count, then per topic: string
//          topic, i32 partition count, i32 partitions...; i64 last update time, i64 start
//          time (ms since the epoch; -1 when no transaction is open)
//   state: 0 Empty, 1 Ongoing, 2 PrepareCommit, 3 PrepareAbort, 4 CompleteCommit,
//          5 CompleteAbort, 6 Dead, 7 PrepareEpochFence
//   a null value (tombstone) forgets the transactional id.
// The newest record of a transactional id is its state. A Prepare* state is written (and made
// durable) before the markers; the Complete* state once every marker is durable, so a broker
// that stops in between finishes the transaction at start-up.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "base/bytes.h"
#include "group/coordinator.h"

namespace sluice::group {

enum class txn_state : int8_t {
  empty = 0,
  ongoing = 1,
  prepare_commit = 2,
  prepare_abort = 3,
  complete_commit = 4,
  complete_abort = 5,
  dead = 6,
  prepare_epoch_fence = 7,
};

// Kafka's name of a state ("Ongoing", ...), as DescribeTransactions and ListTransactions show.
const char* txn_state_name(txn_state s);

struct txn_record {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t timeout_ms = 0;
  txn_state state = txn_state::empty;
  std::set<topic_partition> partitions;
  int64_t update_ms = 0;
  int64_t start_ms = -1;
};

namespace transaction_log {

bytes encode_key(const std::string& transactional_id);
bytes encode_value(const txn_record& r);
std::optional<std::string> decode_key(bytes_view k);
std::optional<txn_record> decode_value(bytes_view v);

}  // namespace transaction_log

}  // namespace sluice::group
