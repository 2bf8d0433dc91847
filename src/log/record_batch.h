#pragma once
// Kafka record batch v2 headers: parsing, validation, and the broker-owned field rewrites.
// The byte layout is in log/segment_format.h.

#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "base/result.h"

namespace sluice::log {

enum class codec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// The type of a control record (a transaction marker), from its key.
enum class control_type : int16_t { abort = 0, commit = 1 };

struct batch_header {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  uint16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  size_t size_bytes() const { return 12 + static_cast<size_t>(batch_length); }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  codec compression() const;
  bool log_append_time() const;
  bool transactional() const;
  bool control() const;
  int32_t last_sequence() const;  // base_sequence + last_offset_delta, wrapping at INT32_MAX
};

// REQUIRES: at least format::k_batch_header_size readable bytes at p.
batch_header parse_batch_header(const uint8_t* p);

// Validates that `b` holds exactly one well-formed v2 batch whose CRC matches.
// errc::corrupt_batch for framing or CRC problems, errc::invalid_record for a batch a producer
// must not send (offsets not 0..n-1, no records), errc::unsupported_message_format for magic < 2.
result<batch_header> validate_batch(bytes_view b);

// Checks only the framing and CRC of the batch at the front of `b` (used by recovery).
// Returns the header, or an error if the bytes do not start with a complete valid batch.
result<batch_header> check_stored_batch(bytes_view b);

// Broker-owned rewrites (REQUIRES: `b` is one validated batch).
void set_base_offset(std::span<uint8_t> b, int64_t base_offset);
// Marks the batch as LogAppendTime with `ts` as max timestamp and recomputes its CRC.
void set_log_append_time(std::span<uint8_t> b, int64_t ts);

}  // namespace sluice::log
