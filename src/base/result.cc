#include "base/result.h"

namespace sluice {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::io_error:
      return "I/O error";
    case errc::no_space:
      return "not enough free space";
    case errc::corrupt_batch:
      return "corrupt record batch";
    case errc::invalid_record:
      return "invalid record batch";
    case errc::batch_too_large:
      return "record batch too large";
    case errc::unsupported_message_format:
      return "unsupported message format";
    case errc::unknown_topic:
      return "unknown topic";
    case errc::unknown_partition:
      return "unknown partition";
    case errc::offset_out_of_range:
      return "offset out of range";
    case errc::invalid_topic:
      return "invalid topic name";
    case errc::topic_exists:
      return "topic already exists";
    case errc::invalid_partitions:
      return "invalid partition count";
    case errc::invalid_config:
      return "invalid config";
    case errc::out_of_order_sequence:
      return "out of order sequence number";
    case errc::invalid_producer_epoch:
      return "invalid producer epoch";
    case errc::invalid_timestamp:
      return "invalid timestamp";
    case errc::shutting_down:
      return "shutting down";
    case errc::coordinator_not_available:
      return "coordinator not available";
    case errc::invalid_group_id:
      return "invalid group id";
    case errc::unknown_member_id:
      return "unknown member id";
    case errc::member_id_required:
      return "member id required";
    case errc::illegal_generation:
      return "illegal generation";
    case errc::rebalance_in_progress:
      return "rebalance in progress";
    case errc::inconsistent_group_protocol:
      return "inconsistent group protocol";
    case errc::fenced_instance_id:
      return "fenced instance id";
    case errc::invalid_session_timeout:
      return "invalid session timeout";
    case errc::group_id_not_found:
      return "group id not found";
    case errc::non_empty_group:
      return "non empty group";
    case errc::offset_metadata_too_large:
      return "offset metadata too large";
    case errc::group_subscribed_to_topic:
      return "group subscribed to topic";
    case errc::invalid_txn_state:
      return "invalid transaction state";
    case errc::producer_fenced:
      return "producer fenced";
    case errc::invalid_producer_id_mapping:
      return "invalid producer id mapping";
    case errc::invalid_transaction_timeout:
      return "invalid transaction timeout";
    case errc::concurrent_transactions:
      return "concurrent transactions";
    case errc::transactional_id_not_found:
      return "transactional id not found";
    case errc::topic_authorization_failed:
      return "topic authorization failed";
    case errc::group_authorization_failed:
      return "group authorization failed";
    case errc::cluster_authorization_failed:
      return "cluster authorization failed";
    case errc::transactional_id_authorization_failed:
      return "transactional id authorization failed";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::corrupt_file:
      return "corrupt file";
  }
  return "unknown error";
}

}  // namespace sluice
