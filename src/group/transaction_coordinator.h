#pragma once
// The transaction coordinator: Kafka's transactions (KIP-98) for transactional producers.
// Sibling of the group coordinator, whose offset cache it uses for offsets committed inside a
// transaction. Public entry point for the Kafka handlers.
//
// Each transactional id has a producer id and epoch, a state (transaction_log.h) and the
// partitions of its open transaction. InitProducerId bumps the epoch, which fences older
// instances and aborts what they left open. EndTxn writes the Prepare state, then a commit or
// abort marker (a control batch) to every partition of the transaction (the group's offsets
// partition included), and answers once all of them are durable (one group-commit round);
// the Complete state follows. A transaction open longer than its timeout is aborted with a
// bumped epoch, so its producer is fenced. State is the compacted topic __transaction_state,
// replayed at start-up, where a transaction found in a Prepare state is completed.
//
// Thread safety: every member may be called from any thread. Completion callbacks run on the
// calling thread, the coordinator's timer thread or the log's flusher thread, and must only
// hand work off.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "group/coordinator.h"

namespace sluice::log {
class log;
}

namespace sluice::group {

struct transaction_config {
  // transaction.max.timeout.ms: the largest transaction.timeout.ms a producer may ask for.
  // Default: 900000 (15 minutes, as Kafka).
  int32_t max_timeout_ms = 900'000;
  // How often open transactions are checked against their timeout. Default: 200 ms.
  int32_t timeout_check_interval_ms = 200;
  // transactional.id.expiration.ms: a transactional id with no transaction open and no
  // request for this long is forgotten (a later InitProducerId starts it anew). Default:
  // 604800000 (7 days, as Kafka).
  int64_t id_expiration_ms = 604'800'000;
};

struct producer_identity {
  int64_t producer_id = -1;
  int16_t epoch = -1;
};

struct init_producer_result {
  errc error = errc::ok;
  producer_identity producer;
};

struct transaction_description {
  errc error = errc::ok;
  std::string transactional_id;
  std::string state;  // Kafka's names: Empty, Ongoing, PrepareCommit, ...
  int32_t timeout_ms = 0;
  int64_t start_ms = -1;
  producer_identity producer;
  std::vector<topic_partition> partitions;
};

struct transaction_overview {
  std::string transactional_id;
  int64_t producer_id = -1;
  std::string state;
};

class transaction_coordinator {
 public:
  // Replays __transaction_state (creating it if needed), completes transactions found in a
  // Prepare state, and starts the timer thread.
  static result<std::unique_ptr<transaction_coordinator>> open(log::log& log, coordinator& groups,
                                                               transaction_config config);
  ~transaction_coordinator();  // stop()
  transaction_coordinator(const transaction_coordinator&) = delete;
  transaction_coordinator& operator=(const transaction_coordinator&) = delete;

  using done_fn = std::function<void(errc)>;

  // InitProducerId with a transactional id. `expected` (InitProducerId v3+) is the producer
  // the client had, or -1/-1. Errors: invalid_transaction_timeout, concurrent_transactions,
  // producer_fenced (expected is not the current producer), io_error.
  void init_producer(const std::string& transactional_id, int32_t timeout_ms,
                     producer_identity expected, std::function<void(init_producer_result)> done);
  // AddPartitionsToTxn: one error for all (the request is all or nothing; the caller checks
  // that the partitions exist). Answers once the transaction's new partitions are durable.
  void add_partitions(const std::string& transactional_id, producer_identity who,
                      std::vector<topic_partition> partitions, done_fn done);
  // AddOffsetsToTxn: the group's offsets partition joins the transaction.
  void add_offsets(const std::string& transactional_id, producer_identity who,
                   const std::string& group_id, done_fn done);
  // TxnOffsetCommit: offsets visible to the group once the transaction commits.
  // `generation` -1 with an empty member skips the membership check (TxnOffsetCommit < v3).
  void commit_offsets(const std::string& transactional_id, producer_identity who,
                      const std::string& group_id, int32_t generation, member_identity member,
                      std::vector<std::pair<topic_partition, committed_offset>> offsets,
                      std::function<void(errc, partition_errors)> done);
  // EndTxn. A retry of a commit or abort that already completed answers ok.
  void end_transaction(const std::string& transactional_id, producer_identity who, bool commit,
                       done_fn done);

  // Whether a transactional produce of `who` to `tp` belongs to its open transaction.
  // Errors: invalid_producer_id_mapping, producer_fenced, invalid_txn_state.
  errc check_produce(producer_identity who, const topic_partition& tp) const;

  // DescribeTransactions (error transactional_id_not_found for an unknown id).
  transaction_description describe(const std::string& transactional_id) const;
  // ListTransactions, filtered by state names and producer ids (empty: all).
  std::vector<transaction_overview> list(const std::vector<std::string>& states,
                                         const std::vector<int64_t>& producer_ids) const;

  void stop();

  // transaction.max.timeout.ms of this coordinator.
  int32_t max_timeout_ms() const;

  static constexpr const char* k_topic = "__transaction_state";

 private:
  struct impl;
  explicit transaction_coordinator(std::shared_ptr<impl> i);
  std::shared_ptr<impl> impl_;
};

}  // namespace sluice::group
