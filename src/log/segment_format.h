#pragma once
// On-disk format of the log. Every constant a reader and a writer share lives here.
//
// Directory layout under --data-dir:
//
//   clean_shutdown                    present only between a clean stop and the next start
//   producer_ids                      8 bytes BE: the first producer id not yet handed out
//   topics/<topic>/topic.meta         text, one `key=value` a line (see topic.cc)
//   topics/<topic>/<partition>/
//     <base>.log                      record batches, exactly as Kafka's record batch v2
//     <base>.index                    sparse offset index of that segment
//     <base>.timeindex                sparse time index of that segment
//     <base>.producers                idempotent-producer state as of offset <base>
//     recovery_point                  8 bytes BE: base of the oldest segment that may hold data
//                                     not yet fdatasync'ed; recovery scans from there
//     log_start                       8 bytes BE: the log start set by DeleteRecords, when it
//                                     lies inside the first segment (absent: that segment's base)
//
// <base> is the segment's first offset, 20 decimal digits, zero-padded (as Kafka names them).
//
// Segment file (.log): a concatenation of record batches. Each is stored as the producer sent
// it except for the fields the broker owns: baseOffset (assigned; not covered by the CRC) and,
// for topics with message.timestamp.type=LogAppendTime, the timestamp-type attribute bit and
// maxTimestamp (then the CRC is recomputed). Record batch v2, all integers big-endian:
//
//   offset  size  field
//        0     8  baseOffset
//        8     4  batchLength          bytes after this field
//       12     4  partitionLeaderEpoch
//       16     1  magic                always 2
//       17     4  crc                  CRC32C of bytes [21, 12 + batchLength)
//       21     2  attributes           bits 0-2 codec, 3 timestamp type, 4 transactional,
//                                      5 control, 6 delete horizon
//       23     4  lastOffsetDelta
//       27     8  baseTimestamp
//       35     8  maxTimestamp
//       43     8  producerId
//       51     2  producerEpoch
//       53     4  baseSequence
//       57     4  recordCount
//       61     -  records              (compressed as a whole when codec != 0)
//
// Offset index (.index): entries of 8 bytes, {u32 offset - base, u32 file position} of the
// first byte of a batch, one every index.interval.bytes of segment data, ascending in both.
// Time index (.timeindex): entries of 12 bytes, {i64 max timestamp so far, u32 file position
// of the batch that raised it}; the last entry always holds the segment's max timestamp.
// An index file that is torn, unsorted or points past the segment's end is discarded and
// rebuilt by scanning the segment.
//
// Producer snapshot (.producers), version 2 (written):
//   u32 magic 'SLP2', u32 crc32c of the rest, u32 entry count, then per producer:
//   i64 producer id, i16 epoch, i64 first offset of its open transaction (-1: none),
//   u8 batch count (<= 5), then per batch (oldest first): i32 first sequence,
//   i32 last sequence, i64 base offset; then u32 aborted-transaction count and per aborted
//   transaction (ascending by marker offset): i64 producer id, i64 first offset,
//   i64 marker offset.
// Version 1 (read): magic 'SLPS', no open-transaction offset, no aborted transactions.
//
// Transaction markers are control batches (attributes bits 4 and 5), one record each, as
// Kafka writes them: key i16 version 0, i16 type (0 abort, 1 commit); value i16 version 0,
// i32 coordinator epoch.

#include <cstddef>
#include <cstdint>

namespace sluice::log::format {

inline constexpr size_t k_batch_header_size = 61;
inline constexpr size_t k_batch_length_prefix = 12;  // baseOffset + batchLength
inline constexpr size_t k_crc_offset = 17;
inline constexpr size_t k_crc_covered_from = 21;
inline constexpr size_t k_min_batch_length = k_batch_header_size - k_batch_length_prefix;

inline constexpr size_t k_base_offset_at = 0;
inline constexpr size_t k_batch_length_at = 8;
inline constexpr size_t k_leader_epoch_at = 12;
inline constexpr size_t k_magic_at = 16;
inline constexpr size_t k_attributes_at = 21;
inline constexpr size_t k_last_offset_delta_at = 23;
inline constexpr size_t k_base_timestamp_at = 27;
inline constexpr size_t k_max_timestamp_at = 35;
inline constexpr size_t k_producer_id_at = 43;
inline constexpr size_t k_producer_epoch_at = 51;
inline constexpr size_t k_base_sequence_at = 53;
inline constexpr size_t k_record_count_at = 57;

inline constexpr uint16_t k_codec_mask = 0x07;
inline constexpr uint16_t k_timestamp_type_bit = 0x08;
inline constexpr uint16_t k_transactional_bit = 0x10;
inline constexpr uint16_t k_control_bit = 0x20;

inline constexpr size_t k_index_entry_size = 8;
inline constexpr size_t k_time_index_entry_size = 12;

inline constexpr uint32_t k_producer_snapshot_magic = 0x534c5053;     // "SLPS"
inline constexpr uint32_t k_producer_snapshot_magic_v2 = 0x534c5032;  // "SLP2"
inline constexpr size_t k_producer_window = 5;  // batches remembered per producer, as Kafka

inline constexpr const char* k_log_suffix = ".log";
inline constexpr const char* k_index_suffix = ".index";
inline constexpr const char* k_time_index_suffix = ".timeindex";
inline constexpr const char* k_producers_suffix = ".producers";
inline constexpr const char* k_recovery_point_file = "recovery_point";
inline constexpr const char* k_log_start_file = "log_start";
inline constexpr const char* k_clean_shutdown_file = "clean_shutdown";
inline constexpr const char* k_producer_ids_file = "producer_ids";
inline constexpr const char* k_topic_meta_file = "topic.meta";

}  // namespace sluice::log::format
