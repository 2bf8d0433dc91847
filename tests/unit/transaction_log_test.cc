// Transactions in the log: markers, the last stable offset, read_committed reads and the
// aborted-transaction list, across restarts.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/clock.h"
#include "log/partition.h"
#include "log/producer_state.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "tests/unit/batch_builder.h"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;

class TransactionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-txn-log-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<partition> open(bool clean = true) {
    topic_config c;
    c.segment_bytes = 2048;
    c.index_interval_bytes = 128;
    auto p = partition::open(dir_ / "p", model::partition_id(0), c, clean, nullptr);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    return p.ok() ? *p : nullptr;
  }

  // Appends `n` records from producer `pid` (epoch 0); returns the batch's base offset.
  int64_t write(partition& p, int64_t pid, int n, bool transactional) {
    test::batch_spec s;
    for (int i = 0; i < n; ++i)
      s.values.push_back("v" + std::to_string(i));
    s.producer_id = pid;
    s.producer_epoch = 0;
    s.base_sequence = seq_[pid];
    s.transactional = transactional;
    seq_[pid] += n;
    auto b = test::build_batch(s);
    auto r = p.append(b, now_ms());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->base_offset.value() : -1;
  }

  // Every value readable from offset 0 with `level`, markers skipped.
  static int count_records(const partition& p, isolation level) {
    int n = 0;
    int64_t next = 0;
    for (;;) {
      auto r = p.read(model::offset(next), 1 << 20, level);
      EXPECT_TRUE(r.ok());
      if (!r.ok() || r->len == 0) return n;
      bytes buf(r->len);
      EXPECT_TRUE(r->copy_to(buf.data()).ok());
      auto end = for_each_record_from(buf, next, [&](const record_view&) { ++n; });
      EXPECT_TRUE(end.ok());
      if (!end.ok() || *end == next) return n;
      next = *end;
    }
  }

  fs::path dir_;
  std::map<int64_t, int32_t> seq_;
};

TEST_F(TransactionLogTest, OpenTransactionHoldsBackTheLastStableOffset) {
  auto p = open();
  write(*p, 1, 3, false);                 // 0..2 idempotent, not transactional
  int64_t first = write(*p, 7, 2, true);  // 3..4 open
  write(*p, 1, 3, false);                 // 5..7
  EXPECT_EQ(first, 3);
  EXPECT_EQ(p->last_stable_offset().value(), 3);
  EXPECT_EQ(p->high_watermark().value(), 8);
  EXPECT_EQ(count_records(*p, isolation::read_uncommitted), 8);
  EXPECT_EQ(count_records(*p, isolation::read_committed), 3);  // stops before offset 3

  auto m = p->append_marker(7, 0, control_type::commit, 0, now_ms());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->base_offset.value(), 8);
  EXPECT_EQ(p->last_stable_offset().value(), 9);
  EXPECT_EQ(count_records(*p, isolation::read_committed), 8);  // the marker is not a record
  EXPECT_TRUE(p->aborted_transactions(model::offset(0), model::offset(9)).empty());
}

TEST_F(TransactionLogTest, AbortedTransactionIsListedForReadCommittedReaders) {
  auto p = open();
  write(*p, 7, 2, true);  // 0..1
  write(*p, 8, 1, true);  // 2 (another producer, committed later)
  write(*p, 7, 2, true);  // 3..4
  ASSERT_TRUE(p->append_marker(7, 0, control_type::abort, 0, now_ms()).ok());  // 5
  EXPECT_EQ(p->last_stable_offset().value(), 2);  // producer 8 is still open
  ASSERT_TRUE(p->append_marker(8, 0, control_type::commit, 0, now_ms()).ok());  // 6
  EXPECT_EQ(p->last_stable_offset().value(), 7);
  auto aborted = p->aborted_transactions(model::offset(0), model::offset(7));
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (aborted_transaction{7, 0, 5}));
  // Only aborts that overlap the range asked for.
  EXPECT_TRUE(p->aborted_transactions(model::offset(6), model::offset(7)).empty());
}

TEST_F(TransactionLogTest, MarkerWithANewerEpochFencesTheOldOne) {
  auto p = open();
  write(*p, 7, 1, true);
  ASSERT_TRUE(p->append_marker(7, 1, control_type::abort, 0, now_ms()).ok());
  test::batch_spec s;
  s.values = {"late"};
  s.producer_id = 7;
  s.producer_epoch = 0;
  s.base_sequence = 1;
  s.transactional = true;
  auto b = test::build_batch(s);
  EXPECT_EQ(p->append(b, now_ms()).code(), errc::invalid_producer_epoch);
  EXPECT_EQ(p->append_marker(7, 0, control_type::commit, 0, now_ms()).code(),
            errc::invalid_producer_epoch);
}

TEST_F(TransactionLogTest, ClientsCannotWriteControlBatches) {
  auto p = open();
  auto marker = build_control_batch(7, 0, control_type::commit, 0, now_ms());
  EXPECT_EQ(p->append(marker, now_ms()).code(), errc::invalid_record);
  EXPECT_EQ(control_marker(marker), control_type::commit);
}

TEST_F(TransactionLogTest, PlainBatchInsideAnOpenTransactionIsRefused) {
  auto p = open();
  write(*p, 7, 1, true);
  test::batch_spec s;
  s.values = {"plain"};
  s.producer_id = 7;
  s.producer_epoch = 0;
  s.base_sequence = 1;
  auto b = test::build_batch(s);
  EXPECT_EQ(p->append(b, now_ms()).code(), errc::invalid_txn_state);
}

TEST_F(TransactionLogTest, TransactionStateSurvivesCleanAndUncleanRestarts) {
  {
    auto p = open();
    write(*p, 7, 2, true);                                                       // 0..1
    ASSERT_TRUE(p->append_marker(7, 0, control_type::abort, 0, now_ms()).ok());  // 2
    for (int i = 0; i < 40; ++i)
      write(*p, 1, 1, false);  // rolls segments: snapshots are written along the way
    write(*p, 9, 1, true);     // 43, open
    ASSERT_TRUE(p->close().ok());
  }
  for (bool clean : {true, false}) {
    auto p = open(clean);
    EXPECT_EQ(p->last_stable_offset().value(), 43) << "clean=" << clean;
    auto aborted = p->aborted_transactions(model::offset(0), model::offset(44));
    ASSERT_EQ(aborted.size(), 1u) << "clean=" << clean;
    EXPECT_EQ(aborted[0], (aborted_transaction{7, 0, 2}));
    EXPECT_EQ(count_records(*p, isolation::read_committed), 42);
  }
}

TEST(ProducerStateSnapshot, VersionTwoKeepsOpenAndAbortedTransactions) {
  producer_state s;
  batch_header h;
  h.producer_id = 5;
  h.producer_epoch = 0;
  h.base_sequence = 0;
  h.base_offset = 10;
  h.attributes = 0x10;
  s.record(h);
  batch_header m = h;
  m.base_offset = 11;
  m.attributes = 0x30;
  m.base_sequence = -1;
  s.record(m, control_type::abort);
  h.base_offset = 12;
  h.base_sequence = 1;
  s.record(h);
  auto back = producer_state::deserialize(s.serialize());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->first_unstable_offset(), 12);
  auto aborted = back->aborted_between(0, 100);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (aborted_transaction{5, 10, 11}));
}

}  // namespace
}  // namespace sluice::log
