#pragma once
// CRC32C (Castagnoli), the checksum of Kafka record batch v2. Uses the SSE4.2 crc32
// instruction when the CPU has it, a slicing-by-8 table otherwise.

#include <cstddef>
#include <cstdint>

namespace sluice {

// Extends `crc` (0 for a fresh checksum) over `n` bytes at `data`.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) {
  return crc32c_extend(0, data, n);
}

}  // namespace sluice
