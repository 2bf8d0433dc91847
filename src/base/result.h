#pragma once
// Errors by layer: storage and codec code returns result<T>, an expected-like type carrying
// either a value or an `error_info` (an errc plus a human-readable message). Kafka error codes are
// derived from errc in exactly one place (kafka/server/errors.cc).

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class errc {
  ok = 0,
  io_error,         // a system call on a data file failed
  no_space,         // the data folder is below its free-space limit (log/space_guard.h)
  corrupt_batch,    // CRC mismatch or inconsistent record batch header
  invalid_record,   // a batch that is well-formed but not acceptable (count, magic, offsets)
  batch_too_large,  // larger than the topic's max.message.bytes
  unsupported_message_format,
  unknown_topic,        // no such topic
  unknown_partition,    // topic exists, partition index does not
  offset_out_of_range,  // fetch or lookup offset outside [log start, high watermark]
  invalid_topic,        // illegal topic name
  topic_exists,
  invalid_partitions,      // partition count <= 0 or not larger than the current count
  invalid_config,          // unknown config key or unparsable value
  out_of_order_sequence,   // idempotent producer: gap or reorder in sequence numbers
  invalid_producer_epoch,  // idempotent producer: fenced by a newer epoch
  invalid_timestamp,
  shutting_down,
  // consumer groups
  coordinator_not_available,  // no group coordinator in this process (tests, fuzzing)
  invalid_group_id,
  unknown_member_id,
  member_id_required,  // first join of a dynamic member: rejoin with the id given
  illegal_generation,
  rebalance_in_progress,
  inconsistent_group_protocol,
  fenced_instance_id,  // a newer member took over this group.instance.id
  invalid_session_timeout,
  group_id_not_found,
  non_empty_group,
  offset_metadata_too_large,
  group_subscribed_to_topic,
  // transactions
  invalid_txn_state,            // the request does not fit the transaction's state
  producer_fenced,              // a newer producer epoch owns the transactional id
  invalid_producer_id_mapping,  // the producer id is not the transactional id's
  invalid_transaction_timeout,  // outside (0, transaction.max.timeout.ms]
  concurrent_transactions,      // the previous transaction is still being completed
  transactional_id_not_found,
  // security and general
  topic_authorization_failed,             // the principal may not do that to the topic
  group_authorization_failed,             // ... to the consumer group
  cluster_authorization_failed,           // ... to the cluster
  transactional_id_authorization_failed,  // ... with the transactional id
  invalid_argument,  // a value outside what the call accepts (the message says which)
  corrupt_file,      // a file of ours that cannot be read as what it should hold
};

std::string_view to_string(errc code);

struct error_info {
  errc code = errc::ok;
  std::string message;
};

inline error_info make_error(errc code, std::string message = {}) {
  return error_info{code, std::move(message)};
}

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}   // NOLINT: implicit by design
  result(error_info e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error_info& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  errc code() const { return ok() ? errc::ok : error().code; }

 private:
  std::variant<T, error_info> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error_info e) : e_(std::move(e)) {}  // NOLINT
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const error_info& error() const {
    assert(!ok());
    return *e_;
  }
  errc code() const { return ok() ? errc::ok : e_->code; }

 private:
  std::optional<error_info> e_;
};

}  // namespace sluice
