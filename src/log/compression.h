#pragma once
// The four codecs of Kafka record batches, for the few places that must look inside a
// compressed batch (compaction). Produce and fetch never decompress: batches are stored and
// served as the producer sent them.
//   gzip: a gzip stream; snappy: xerial framing (Java clients) or a raw block (librdkafka);
//   lz4: the LZ4 frame format; zstd: a zstd frame.

#include "base/bytes.h"
#include "base/result.h"
#include "log/record_batch.h"

namespace sluice::log {

// Decompressed records of a batch. errc::corrupt_batch if the data does not decode, or would
// decode to more than `max_size` bytes.
result<bytes> decompress(codec c, bytes_view data, size_t max_size = 256u << 20);

}  // namespace sluice::log
