#include "log/record_batch.h"

#include "base/crc32c.h"
#include "log/segment_format.h"

namespace sluice::log {

using namespace format;

codec batch_header::compression() const {
  return static_cast<codec>(attributes & k_codec_mask);
}
bool batch_header::log_append_time() const {
  return attributes & k_timestamp_type_bit;
}
bool batch_header::transactional() const {
  return attributes & k_transactional_bit;
}
bool batch_header::control() const {
  return attributes & k_control_bit;
}
int32_t batch_header::last_sequence() const {
  int64_t s = static_cast<int64_t>(base_sequence) + last_offset_delta;
  return static_cast<int32_t>(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

batch_header parse_batch_header(const uint8_t* p) {
  batch_header h;
  h.base_offset = static_cast<int64_t>(load_be64(p + k_base_offset_at));
  h.batch_length = static_cast<int32_t>(load_be32(p + k_batch_length_at));
  h.leader_epoch = static_cast<int32_t>(load_be32(p + k_leader_epoch_at));
  h.magic = static_cast<int8_t>(p[k_magic_at]);
  h.crc = load_be32(p + k_crc_offset);
  h.attributes = load_be16(p + k_attributes_at);
  h.last_offset_delta = static_cast<int32_t>(load_be32(p + k_last_offset_delta_at));
  h.base_timestamp = static_cast<int64_t>(load_be64(p + k_base_timestamp_at));
  h.max_timestamp = static_cast<int64_t>(load_be64(p + k_max_timestamp_at));
  h.producer_id = static_cast<int64_t>(load_be64(p + k_producer_id_at));
  h.producer_epoch = static_cast<int16_t>(load_be16(p + k_producer_epoch_at));
  h.base_sequence = static_cast<int32_t>(load_be32(p + k_base_sequence_at));
  h.record_count = static_cast<int32_t>(load_be32(p + k_record_count_at));
  return h;
}

result<batch_header> check_stored_batch(bytes_view b) {
  if (b.size() < k_batch_header_size)
    return make_error(errc::corrupt_batch, "record batch shorter than its header");
  auto h = parse_batch_header(b.data());
  if (h.magic != 2) {
    if (h.magic == 0 || h.magic == 1)
      return make_error(errc::unsupported_message_format,
                        "message format v" + std::to_string(h.magic) + " is not supported");
    return make_error(errc::corrupt_batch, "unknown magic byte " + std::to_string(h.magic));
  }
  if (h.batch_length < static_cast<int32_t>(k_min_batch_length) || h.size_bytes() > b.size())
    return make_error(errc::corrupt_batch, "record batch length " + std::to_string(h.batch_length) +
                                               " does not fit the data");
  uint32_t crc = crc32c(b.data() + k_crc_covered_from, h.size_bytes() - k_crc_covered_from);
  if (crc != h.crc) return make_error(errc::corrupt_batch, "record batch CRC mismatch");
  return h;
}

result<batch_header> validate_batch(bytes_view b) {
  auto h = check_stored_batch(b);
  if (!h) return h;
  if (h->size_bytes() != b.size())
    return make_error(errc::invalid_record,
                      "exactly one record batch is allowed per partition in a produce request");
  if (h->record_count <= 0 || h->last_offset_delta != h->record_count - 1)
    return make_error(errc::invalid_record, "record count " + std::to_string(h->record_count) +
                                                " does not match last offset delta " +
                                                std::to_string(h->last_offset_delta));
  if (h->compression() > codec::zstd)
    return make_error(errc::invalid_record, "unknown compression codec");
  return h;
}

void set_base_offset(std::span<uint8_t> b, int64_t base_offset) {
  store_be64(b.data() + k_base_offset_at, static_cast<uint64_t>(base_offset));
}

void set_log_append_time(std::span<uint8_t> b, int64_t ts) {
  uint16_t attrs = load_be16(b.data() + k_attributes_at) | k_timestamp_type_bit;
  store_be16(b.data() + k_attributes_at, attrs);
  store_be64(b.data() + k_max_timestamp_at, static_cast<uint64_t>(ts));
  store_be32(b.data() + k_crc_offset,
             crc32c(b.data() + k_crc_covered_from, b.size() - k_crc_covered_from));
}

}  // namespace sluice::log
