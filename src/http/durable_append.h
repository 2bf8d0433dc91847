#pragma once
// Appends record batches to a topic's partitions and waits, without blocking the event loop,
// until they are all on disk (the log's acks=all promise). Shared by the HTTP produce paths.

#include <boost/asio.hpp>
#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"
#include "log/records.h"

namespace sluice::log {
class topic;
}

namespace sluice::http {

struct durable_append_result {
  std::map<int32_t, int64_t> base_offsets;  // by partition
  errc append_error = errc::ok;             // the append itself failed (batch_too_large, ...)
  bool sync_failed = false;                 // written, but not made durable
  std::string message;
  bool ok() const { return append_error == errc::ok && !sync_failed; }
};

// `batches` by partition index; partitions must exist (else unknown_topic).
boost::asio::awaitable<durable_append_result> append_durably(
    log::topic& topic, std::map<int32_t, log::batch_builder>& batches, int64_t timestamp);

}  // namespace sluice::http
