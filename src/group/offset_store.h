#pragma once
// Records of the internal topic __consumer_offsets, in Apache Kafka's own schemas so that
// tools which read that topic to follow lag work unchanged. All integers big-endian; a string
// is an i16 length and its bytes.
//   key (OffsetCommitKey, version 1): i16 version, string group, string topic, i32 partition
//   value (OffsetCommitValue, version 3): i16 version, i64 offset, i32 leader epoch,
//          string metadata, i64 commit timestamp (ms since the epoch)
//   a null value (tombstone) deletes the key: offsets of a deleted group or partition.
// Offsets committed inside a transaction are written in the producer's transactional batches
// and take effect at its commit marker (an abort marker drops them).
// Read too: sluice's earlier records (key: u8 1, u16-prefixed group and topic, i32
// partition; value: u8 1, i64 offset, i32 leader epoch, u16-prefixed metadata, i64 time).
// Other keys (Kafka's group metadata, version 2) are ignored.

#include <optional>
#include <string>

#include "base/bytes.h"
#include "group/coordinator.h"

namespace sluice::group::offset_store {

bytes encode_key(const std::string& group, const topic_partition& tp);
bytes encode_value(const committed_offset& o);
// std::nullopt for bytes that are not an offset key / value of a known version.
std::optional<std::pair<std::string, topic_partition>> decode_key(bytes_view k);
std::optional<committed_offset> decode_value(bytes_view v);

}  // namespace sluice::group::offset_store
