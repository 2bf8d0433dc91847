#pragma once
// Records of the internal topic __consumer_offsets (one partition, uncompressed batches
// written by the coordinator). All integers big-endian.
//   key:   u8 kind (1 = committed offset), u16 group length, group, u16 topic length, topic,
//          i32 partition
//   value: u8 version (1), i64 offset, i32 leader epoch, u16 metadata length, metadata,
//          i64 commit time (ms since the epoch)
//   a null value (tombstone) deletes the key: offsets of a deleted group or partition.

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
