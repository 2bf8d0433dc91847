#include "kafka/server/errors.h"

namespace sluice::kafka {

error_code to_kafka(errc e) {
  switch (e) {
    case errc::ok:
      return error_code::none;
    case errc::io_error:
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
  }
  return error_code::unknown_server_error;
}

}  // namespace sluice::kafka
