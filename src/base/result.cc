#include "base/result.h"

namespace sluice {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::io_error:
      return "I/O error";
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
  }
  return "unknown error";
}

}  // namespace sluice
