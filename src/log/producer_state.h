#pragma once
// Idempotent-producer bookkeeping for one partition: per producer id, its epoch and the last
// five batches it wrote (Kafka's max.in.flight limit for idempotence), so that a retried batch
// is answered with its original offset instead of being appended twice, and a gap in sequence
// numbers is reported.
//
// Thread safety: none; owned by a partition and used under its lock.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <unordered_map>

#include "base/bytes.h"
#include "base/result.h"
#include "log/record_batch.h"

namespace sluice::log {

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

  // Decides what to do with a batch from an idempotent producer (producer_id >= 0).
  // Errors: errc::invalid_producer_epoch (fenced), errc::out_of_order_sequence (gap/reorder).
  result<check_result> check(const batch_header& h) const;

  // Records an appended batch (REQUIRES: the header carries its assigned base offset).
  void record(const batch_header& h);

  size_t size() const { return producers_.size(); }

  bytes serialize() const;
  static result<producer_state> deserialize(bytes_view data);

 private:
  struct entry {
    int16_t epoch = -1;
    std::deque<batch_meta> batches;  // oldest first, at most format::k_producer_window
  };
  std::unordered_map<int64_t, entry> producers_;
};

}  // namespace sluice::log
