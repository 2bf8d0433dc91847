#include "log/producer_state.h"

#include <gtest/gtest.h>

namespace sluice::log {
namespace {

batch_header batch(int64_t pid, int16_t epoch, int32_t seq, int32_t n, int64_t base) {
  batch_header h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = n - 1;
  h.record_count = n;
  h.base_offset = base;
  return h;
}

TEST(ProducerState, RemembersOnlyTheLastFiveBatches) {
  producer_state s;
  for (int i = 0; i < 8; ++i)
    s.record(batch(1, 0, i, 1, i));
  EXPECT_EQ(s.check(batch(1, 0, 7, 1, 0))->v, producer_state::verdict::duplicate);
  EXPECT_EQ(s.check(batch(1, 0, 3, 1, 0))->v, producer_state::verdict::duplicate);
  // Sequence 2 is older than the window: not a known duplicate, and not the next one either.
  EXPECT_EQ(s.check(batch(1, 0, 2, 1, 0)).code(), errc::out_of_order_sequence);
  EXPECT_EQ(s.check(batch(1, 0, 8, 1, 0))->v, producer_state::verdict::append);
}

TEST(ProducerState, SequenceWrapsAroundAtIntMax) {
  producer_state s;
  s.record(batch(1, 0, INT32_MAX - 1, 2, 0));  // covers INT32_MAX-1 and INT32_MAX
  EXPECT_EQ(s.check(batch(1, 0, 0, 1, 2))->v, producer_state::verdict::append);
}

TEST(ProducerState, SnapshotRoundTrips) {
  producer_state s;
  s.record(batch(1, 0, 0, 3, 0));
  s.record(batch(2, 4, 10, 1, 3));
  auto data = s.serialize();
  auto back = producer_state::deserialize(data);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->size(), 2u);
  auto d = back->check(batch(2, 4, 10, 1, 0));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->v, producer_state::verdict::duplicate);
  EXPECT_EQ(d->duplicate_base_offset, 3);
  data[20] ^= 1;
  EXPECT_FALSE(producer_state::deserialize(data).ok());
}

}  // namespace
}  // namespace sluice::log
