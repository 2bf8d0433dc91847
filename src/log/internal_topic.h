#pragma once
// The internal topics that hold a coordinator's state (__consumer_offsets,
// __transaction_state): one partition, compacted, kept forever, with small segments so that
// compaction reaches old records soon.

#include <memory>
#include <string_view>

#include "base/result.h"

namespace sluice::log {

class log;
class partition;

// The topic's partition, creating the topic (or making it compacted) if needed.
// Errors: those of log::create_topic and log::set_topic_config.
result<std::shared_ptr<partition>> open_internal_topic(log& l, std::string_view name);

}  // namespace sluice::log
