#include "log/record_batch.h"

#include <gtest/gtest.h>

#include "base/crc32c.h"
#include "tests/unit/batch_builder.h"

namespace sluice::log {
namespace {

TEST(Crc32c, KnownVectors) {
  const char* digits = "123456789";
  EXPECT_EQ(crc32c(digits, 9), 0xE3069283u);
  bytes zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  // Extending in pieces equals one pass.
  uint32_t c = crc32c_extend(0, digits, 4);
  EXPECT_EQ(crc32c_extend(c, digits + 4, 5), 0xE3069283u);
}

TEST(RecordBatch, ValidBatchParses) {
  auto b = test::build_batch({"a", "bb", "ccc"});
  auto h = validate_batch(b);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->record_count, 3);
  EXPECT_EQ(h->last_offset_delta, 2);
  EXPECT_EQ(h->size_bytes(), b.size());
  EXPECT_EQ(h->compression(), codec::none);
}

TEST(RecordBatch, ChecksumMismatchIsCorrupt) {
  auto b = test::build_batch({"hello"});
  b.back() ^= 0x01;
  EXPECT_EQ(validate_batch(b).code(), errc::corrupt_batch);
}

TEST(RecordBatch, TruncatedBatchIsCorrupt) {
  auto b = test::build_batch({"hello"});
  b.pop_back();
  EXPECT_EQ(validate_batch(b).code(), errc::corrupt_batch);
  EXPECT_EQ(validate_batch(bytes_view(b.data(), 20)).code(), errc::corrupt_batch);
}

TEST(RecordBatch, TwoBatchesInOneProduceAreRejected) {
  auto b = test::build_batch({"x"});
  auto two = b;
  two.insert(two.end(), b.begin(), b.end());
  EXPECT_EQ(validate_batch(two).code(), errc::invalid_record);
}

TEST(RecordBatch, OldMagicIsUnsupported) {
  auto b = test::build_batch({"x"});
  b[16] = 1;
  EXPECT_EQ(validate_batch(b).code(), errc::unsupported_message_format);
}

TEST(RecordBatch, CountMustMatchLastOffsetDelta) {
  auto b = test::build_batch({"x", "y"});
  store_be32(&b[57], 5);  // record count
  store_be32(&b[17], crc32c(b.data() + 21, b.size() - 21));
  EXPECT_EQ(validate_batch(b).code(), errc::invalid_record);
}

TEST(RecordBatch, LogAppendTimeRewriteKeepsCrcValid) {
  auto b = test::build_batch({"x"});
  set_base_offset(b, 42);
  set_log_append_time(b, 123456);
  auto h = validate_batch(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->base_offset, 42);
  EXPECT_EQ(h->max_timestamp, 123456);
  EXPECT_TRUE(h->log_append_time());
}

}  // namespace
}  // namespace sluice::log
