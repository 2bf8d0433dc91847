#pragma once
// Records inside an uncompressed record batch v2: encoding (for sluice's own internal
// topics) and decoding. Layout of one record (varints are zig-zag, as Kafka's):
//   varint length, i8 attributes, varlong timestamp delta, varint offset delta,
//   varint key length (-1: null), key, varint value length (-1: null), value,
//   varint header count, headers (varint key length, key, varint value length, value)

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/record_batch.h"

namespace sluice::log {

struct record_view {
  bytes_view raw;  // the whole encoded record, its length prefix included
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<bytes_view> key;
  std::optional<bytes_view> value;  // nullopt: a tombstone
  int64_t header_count = 0;
  bytes_view headers;  // the encoded headers; read them with for_each_header()
};

// Calls `fn` for every record at or after `from` in `chunk`: whole record batches, as
// partition::read returns them (a batch cut short by the byte limit at the end is left out;
// control batches are skipped). Returns the offset after the last batch seen (`from` if none),
// where the next read continues. Errors: corrupt_batch.
result<int64_t> for_each_record_from(bytes_view chunk, int64_t from,
                                     const std::function<void(const record_view&)>& fn);

// Calls `fn(key, value)` for each header of `r` (value nullopt for a null one). Errors:
// corrupt_batch.
result<void> for_each_header(
    const record_view& r,
    const std::function<void(std::string_view, std::optional<bytes_view>)>& fn);

// Calls `fn` for every record of the batch at the front of `batch`, in order, decompressing
// it first if needed (views passed to `fn` live only during the call). Errors: corrupt_batch
// for malformed or undecodable records.
result<void> for_each_record(bytes_view batch, const std::function<void(const record_view&)>& fn);

// The marker type of the control batch at the front of `batch` (std::nullopt if it is not a
// readable transaction marker).
std::optional<control_type> control_marker(bytes_view batch);

// Builds one uncompressed batch (base offset 0, CreateTime; no producer id unless set).
class batch_builder {
 public:
  // Producer fields of the batch: id, epoch, first sequence (-1 for none), and whether it is
  // transactional.
  void set_producer(int64_t id, int16_t epoch, int32_t base_sequence, bool transactional);
  void add(std::optional<bytes_view> key, std::optional<bytes_view> value, int64_t timestamp,
           std::span<const std::pair<std::string_view, bytes_view>> headers = {});
  bool empty() const { return count_ == 0; }
  bytes build() const;

 private:
  bytes records_;
  bytes scratch_;  // one record while it is encoded
  int32_t count_ = 0;
  int64_t first_ts_ = 0;
  int64_t max_ts_ = 0;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  uint16_t attributes_ = 0;
  friend bytes build_control_batch(int64_t, int16_t, control_type, int32_t, int64_t);
};

// A transaction marker of `producer_id` at `epoch` (format in log/segment_format.h).
bytes build_control_batch(int64_t producer_id, int16_t epoch, control_type type,
                          int32_t coordinator_epoch, int64_t timestamp);

}  // namespace sluice::log
