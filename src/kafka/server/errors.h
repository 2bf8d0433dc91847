#pragma once
// The one place where internal errors become Kafka error codes.

#include "base/result.h"
#include "kafka/protocol/error_code.h"

namespace sluice::kafka {

error_code to_kafka(errc e);

}  // namespace sluice::kafka
