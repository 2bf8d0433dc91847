#pragma once
// The one place where internal errors become Kafka error codes.

#include "base/result.h"
#include "kafka/protocol/error_code.h"

namespace sluice::kafka {

error_code to_kafka(errc e);

// For the transaction APIs: PRODUCER_FENCED only where the request version knows it (older
// clients get INVALID_PRODUCER_EPOCH, as Kafka answers them), and a storage failure of the
// coordinator as the retriable COORDINATOR_NOT_AVAILABLE.
error_code to_kafka_txn(errc e, bool fenced_known);

}  // namespace sluice::kafka
