#include "kafka/server/errors.h"

namespace sluice::kafka {

error_code to_kafka(errc e) {
  switch (e) {
    case errc::ok:
      return error_code::none;
    case errc::io_error:
    case errc::no_space:
      return error_code::kafka_storage_error;
    case errc::corrupt_batch:
      return error_code::corrupt_message;
    case errc::invalid_record:
      return error_code::invalid_record;
    case errc::batch_too_large:
      return error_code::message_too_large;
    case errc::unsupported_message_format:
      return error_code::unsupported_for_message_format;
    case errc::unknown_topic:
    case errc::unknown_partition:
      return error_code::unknown_topic_or_partition;
    case errc::offset_out_of_range:
      return error_code::offset_out_of_range;
    case errc::invalid_topic:
      return error_code::invalid_topic_exception;
    case errc::topic_exists:
      return error_code::topic_already_exists;
    case errc::invalid_partitions:
      return error_code::invalid_partitions;
    case errc::invalid_config:
      return error_code::invalid_config;
    case errc::out_of_order_sequence:
      return error_code::out_of_order_sequence_number;
    case errc::invalid_producer_epoch:
      return error_code::invalid_producer_epoch;
    case errc::invalid_timestamp:
      return error_code::invalid_timestamp;
    case errc::shutting_down:
      return error_code::not_leader_or_follower;
    case errc::coordinator_not_available:
      return error_code::coordinator_not_available;
    case errc::invalid_group_id:
      return error_code::invalid_group_id;
    case errc::unknown_member_id:
      return error_code::unknown_member_id;
    case errc::member_id_required:
      return error_code::member_id_required;
    case errc::illegal_generation:
      return error_code::illegal_generation;
    case errc::rebalance_in_progress:
      return error_code::rebalance_in_progress;
    case errc::inconsistent_group_protocol:
      return error_code::inconsistent_group_protocol;
    case errc::fenced_instance_id:
      return error_code::fenced_instance_id;
    case errc::invalid_session_timeout:
      return error_code::invalid_session_timeout;
    case errc::group_id_not_found:
      return error_code::group_id_not_found;
    case errc::non_empty_group:
      return error_code::non_empty_group;
    case errc::offset_metadata_too_large:
      return error_code::offset_metadata_too_large;
    case errc::group_subscribed_to_topic:
      return error_code::group_subscribed_to_topic;
    case errc::invalid_txn_state:
      return error_code::invalid_txn_state;
    case errc::producer_fenced:
      return error_code::producer_fenced;
    case errc::invalid_producer_id_mapping:
      return error_code::invalid_producer_id_mapping;
    case errc::invalid_transaction_timeout:
      return error_code::invalid_transaction_timeout;
    case errc::concurrent_transactions:
      return error_code::concurrent_transactions;
    case errc::transactional_id_not_found:
      return error_code::transactional_id_not_found;
    case errc::topic_authorization_failed:
      return error_code::topic_authorization_failed;
    case errc::group_authorization_failed:
      return error_code::group_authorization_failed;
    case errc::cluster_authorization_failed:
      return error_code::cluster_authorization_failed;
    case errc::transactional_id_authorization_failed:
      return error_code::transactional_id_authorization_failed;
    case errc::invalid_argument:
      return error_code::invalid_request;
    case errc::corrupt_file:
      return error_code::unknown_server_error;
  }
  return error_code::unknown_server_error;
}

error_code to_kafka_txn(errc e, bool fenced_known) {
  if (e == errc::producer_fenced && !fenced_known) return error_code::invalid_producer_epoch;
  if (e == errc::io_error) return error_code::coordinator_not_available;
  return to_kafka(e);
}

}  // namespace sluice::kafka
