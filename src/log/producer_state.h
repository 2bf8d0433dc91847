#pragma once
// Producer bookkeeping for one partition.
//
// Idempotence: per producer id, its epoch and the last five batches it wrote (Kafka's
// max.in.flight limit for idempotence), so that a retried batch is answered with its original
// offset instead of being appended twice, and a gap in sequence numbers is reported.
//
// Transactions: per producer, the first offset of its open transaction in this partition (from
// its first transactional batch to the commit or abort marker). The smallest of those is the
// partition's first unstable offset: read_committed readers stop before it (the last stable
// offset). Aborted transactions are remembered (producer, first offset, marker offset) so that
// read_committed fetches can tell clients which batches to drop.
//
// Thread safety: none; owned by a partition and used under its lock.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/record_batch.h"

namespace sluice::log {

struct aborted_transaction {
  int64_t producer_id = -1;
  int64_t first_offset = -1;  // the transaction's first batch in this partition
  int64_t last_offset = -1;   // its abort marker
  auto operator<=>(const aborted_transaction&) const = default;
};

// Whether the batch belongs to one of the `aborted` transactions (its records are garbage:
// read_committed readers drop it).
bool in_aborted_transaction(const batch_header& h, const std::vector<aborted_transaction>& aborted);

class producer_state {
 public:
  struct batch_meta {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
  };

  enum class verdict { append, duplicate };
  struct check_result {
    verdict v = verdict::append;
    int64_t duplicate_base_offset = -1;  // when v == duplicate
  };

  // Decides what to do with a batch from a producer with an id (producer_id >= 0), control
  // batches (transaction markers) included.
  // Errors: errc::invalid_producer_epoch (fenced), errc::out_of_order_sequence (gap/reorder),
  // errc::invalid_txn_state (a plain batch while the producer's transaction is open here).
  result<check_result> check(const batch_header& h) const;

  // Records an appended batch (REQUIRES: the header carries its assigned base offset).
  // `marker` is the type of a control batch (std::nullopt for data, or an unreadable marker).
  void record(const batch_header& h, std::optional<control_type> marker = std::nullopt);

  // The first offset of the oldest open transaction, if any.
  std::optional<int64_t> first_unstable_offset() const;
  // Aborted transactions whose range overlaps [from, to), ordered by marker offset.
  std::vector<aborted_transaction> aborted_between(int64_t from, int64_t to) const;
  // Forgets aborted transactions whose marker is below `log_start` (deleted by retention).
  void trim(int64_t log_start);
  // Every producer known here (DescribeProducers).
  struct producer_info {
    int64_t producer_id;
    int16_t epoch;
    int32_t last_sequence;          // -1: none
    int64_t open_txn_first_offset;  // -1: no open transaction
  };
  std::vector<producer_info> producers() const;

  size_t size() const { return producers_.size(); }

  bytes serialize() const;
  // Reads both snapshot versions (format in log/segment_format.h).
  static result<producer_state> deserialize(bytes_view data);

 private:
  struct entry {
    int16_t epoch = -1;
    std::deque<batch_meta> batches;  // oldest first, at most format::k_producer_window
    int64_t txn_first_offset = -1;   // the open transaction's first offset here, or -1
  };
  std::unordered_map<int64_t, entry> producers_;
  std::map<int64_t, int64_t> open_;           // first offset -> producer id
  std::vector<aborted_transaction> aborted_;  // ascending by last_offset
};

}  // namespace sluice::log
