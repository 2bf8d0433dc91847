#pragma once
// Builds uncompressed Kafka record batches v2 for tests, independently of the code under test
// (which never encodes records itself).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/crc32c.h"

namespace sluice::test {

struct batch_spec {
  std::vector<std::string> values;
  int64_t base_timestamp = 1'700'000'000'000;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool transactional = false;
};

inline void put_varint(bytes& out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}

inline bytes build_batch(const batch_spec& s) {
  bytes records;
  for (size_t i = 0; i < s.values.size(); ++i) {
    bytes r;
    r.push_back(0);                          // attributes
    put_varint(r, static_cast<int64_t>(i));  // timestamp delta
    put_varint(r, static_cast<int64_t>(i));  // offset delta
    put_varint(r, -1);                       // null key
    put_varint(r, static_cast<int64_t>(s.values[i].size()));
    r.insert(r.end(), s.values[i].begin(), s.values[i].end());
    put_varint(r, 0);  // no headers
    put_varint(records, static_cast<int64_t>(r.size()));
    records.insert(records.end(), r.begin(), r.end());
  }
  auto n = static_cast<int32_t>(s.values.size());
  bytes b(61 + records.size());
  std::copy(records.begin(), records.end(), b.begin() + 61);
  store_be64(&b[0], 0);
  store_be32(&b[8], static_cast<uint32_t>(49 + records.size()));
  store_be32(&b[12], 0);
  b[16] = 2;
  store_be16(&b[21], s.transactional ? 0x10 : 0);
  store_be32(&b[23], static_cast<uint32_t>(n - 1));
  store_be64(&b[27], static_cast<uint64_t>(s.base_timestamp));
  store_be64(&b[35], static_cast<uint64_t>(s.base_timestamp + n - 1));
  store_be64(&b[43], static_cast<uint64_t>(s.producer_id));
  store_be16(&b[51], static_cast<uint16_t>(s.producer_epoch));
  store_be32(&b[53], static_cast<uint32_t>(s.base_sequence));
  store_be32(&b[57], static_cast<uint32_t>(n));
  store_be32(&b[17], crc32c(b.data() + 21, b.size() - 21));
  return b;
}

inline bytes build_batch(std::vector<std::string> values, int64_t ts = 1'700'000'000'000) {
  batch_spec s;
  s.values = std::move(values);
  s.base_timestamp = ts;
  return build_batch(s);
}

}  // namespace sluice::test
