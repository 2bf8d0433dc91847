// A queue partition's delivery state (leases, acks, retries, recovery) and the journal that
// makes it durable.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "base/clock.h"
#include "log/log.h"
#include "log/partition.h"
#include "log/records.h"
#include "queue/journal.h"
#include "queue/offset_ranges.h"
#include "queue/partition_state.h"
#include "queue/queue.h"
#include "stream/state_codec.h"

namespace sluice::queue {
namespace {

TEST(OffsetRanges, MergesAndAdvancesTheFloor) {
  offset_ranges r;
  r.add(5);
  r.add(7);
  r.add(6);  // joins 5 and 7
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_TRUE(r.contains(6));
  EXPECT_FALSE(r.contains(8));
  r.add(10, 20);
  r.add(15, 25);
  EXPECT_EQ(r.range_count(), 2u);
  EXPECT_EQ(r.size(), 3 + 15);
  EXPECT_EQ(r.take_from(5), 8);
  EXPECT_EQ(r.take_from(8), 8);  // nothing starts at 8
  r.trim(12);
  EXPECT_FALSE(r.contains(11));
  EXPECT_TRUE(r.contains(12));
}

TEST(PartitionState, LeasesAcksAndRedeliversAfterRelease) {
  partition_state s(0);
  auto c = s.candidates(3, 0, 10);
  ASSERT_EQ(c, (std::vector<int64_t>{0, 1, 2}));
  auto l0 = s.take(0, 1000, "a");
  auto l1 = s.take(1, 1000, "a");
  auto l2 = s.take(2, 1000, "b");
  EXPECT_EQ(l0.attempt, 1u);
  EXPECT_EQ(s.cursor(), 3);
  EXPECT_EQ(s.in_flight(), 3u);
  EXPECT_EQ(s.ack(0, l0.id), partition_state::outcome::ok);
  EXPECT_EQ(s.ack(0, l0.id), partition_state::outcome::stale);  // already settled
  EXPECT_EQ(s.floor(), 1);
  EXPECT_EQ(s.ack(2, l2.id), partition_state::outcome::ok);
  EXPECT_EQ(s.floor(), 1);  // 1 is still leased
  EXPECT_EQ(s.settled_ranges(), 1u);
  // A nack with a backoff: not offered before it is over, then offered before new messages.
  EXPECT_EQ(s.release(1, l1.id, 500), partition_state::outcome::ok);
  EXPECT_EQ(s.delayed(100), 1u);
  EXPECT_EQ(s.candidates(2, 100, 10), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(s.candidates(2, 500, 10), (std::vector<int64_t>{1, 3}));
  auto again = s.take(1, 2000, "c");
  EXPECT_EQ(again.attempt, 2u);
  EXPECT_NE(again.id, l1.id);
  EXPECT_EQ(s.ack(1, l1.id), partition_state::outcome::stale);  // the old lease is gone
  EXPECT_EQ(s.ack(1, again.id), partition_state::outcome::ok);
  EXPECT_EQ(s.floor(), 3);
  EXPECT_EQ(s.settled_ranges(), 0u);  // everything settled is below the floor
}

TEST(PartitionState, ExpiredLeasesAndSkippedCandidatesStayDeliverable) {
  partition_state s(100);
  auto l = s.take(100, 50, "a");
  s.take(102, 50, "a");  // 101 was offered but not taken
  EXPECT_EQ(s.candidates(5, 0, 103), (std::vector<int64_t>{101}));
  auto exp = s.expired(60);
  ASSERT_EQ(exp.size(), 2u);
  EXPECT_EQ(exp[0].offset, 100);
  EXPECT_EQ(s.release(100, l.id, 60), partition_state::outcome::ok);
  EXPECT_EQ(s.candidates(5, 60, 103), (std::vector<int64_t>{100, 101}));
}

TEST(PartitionState, ExtendedLeasesExpireLaterAndNextDueFollows) {
  partition_state s(0);
  auto a = s.take(0, 50, "a");
  s.take(1, 70, "a");
  EXPECT_EQ(s.next_due(), 50);
  EXPECT_EQ(s.extend(0, a.id, 100), partition_state::outcome::ok);
  EXPECT_EQ(s.next_due(), 70);
  auto exp = s.expired(80);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].offset, 1);
  EXPECT_EQ(s.ack(0, a.id), partition_state::outcome::ok);
  EXPECT_EQ(s.expired(1000).size(), 1u);  // only 1 is left
}

TEST(PartitionState, SnapshotRestoresSettledRangesAttemptsAndDelays) {
  partition_state s(0);
  std::vector<lease> ls;
  for (int64_t o = 0; o < 10; ++o)
    ls.push_back(s.take(o, 1000, "a"));
  for (int64_t o : {0, 1, 2, 5, 6})
    s.ack(o, ls[static_cast<size_t>(o)].id);
  s.release(7, ls[7].id, 5000);
  stream::state_writer w;
  s.snapshot(w);
  partition_state r;
  stream::state_reader rd(w.data());
  r.restore(rd);
  EXPECT_EQ(r.floor(), 3);
  EXPECT_EQ(r.cursor(), 10);
  EXPECT_EQ(r.attempts(3), 1u);
  // Leases do not survive: 3, 4, 8, 9 are ready again; 7 waits for its backoff; 5, 6 settled.
  EXPECT_EQ(r.candidates(10, 0, 10), (std::vector<int64_t>{3, 4, 8, 9}));
  EXPECT_EQ(r.candidates(10, 5000, 12), (std::vector<int64_t>{3, 4, 7, 8, 9, 10, 11}));
}

TEST(PartitionState, RetentionBelowTheFloorSettles) {
  partition_state s(0);
  s.take(0, 10, "a");
  s.truncate_below(5);
  EXPECT_EQ(s.floor(), 5);
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.candidates(3, 0, 6), (std::vector<int64_t>{5}));
}

TEST(PartitionState, RetentionOfAWideRangeDropsWhatItHeld) {
  partition_state s(0);
  std::vector<lease> ls;
  for (int64_t o = 0; o < 100; ++o)
    ls.push_back(s.take(o, 1000, "a"));
  for (int64_t o : {10, 85})
    s.release(o, ls[static_cast<size_t>(o)].id, 5000);  // delayed
  s.ack(90, ls[90].id);
  s.truncate_below(80);  // wider than an ack: the range is handled by visiting what is held
  EXPECT_EQ(s.floor(), 80);
  EXPECT_EQ(s.in_flight(), 18u);  // 80..99 without 85 (delayed) and 90 (acked)
  EXPECT_EQ(s.delayed(0), 1u);    // 85; 10 went with the range
  EXPECT_EQ(s.attempts(10), 0u);
  EXPECT_EQ(s.attempts(81), 1u);
  EXPECT_EQ(s.expired(1000).size(), 18u);
  EXPECT_EQ(s.candidates(10, 5000, 100), (std::vector<int64_t>{85}));
}

TEST(PartitionState, ReplayDropsEventsPastTheLogEnd) {
  // A journal event about offset 2^40 (a damaged journal, or records lost with an unsynced
  // tail) must not make 2^40 offsets ready: it is dropped, quickly.
  partition_state s(0);
  s.replay({event::kind::delivered, 0, 3, 1}, 10);
  s.replay({event::kind::delivered, 0, int64_t{1} << 40, 1}, 10);
  s.replay({event::kind::delay, 0, int64_t{1} << 41, 5000}, 10);
  s.replay({event::kind::settle, 0, 8, int64_t{1} << 42}, 10);
  EXPECT_EQ(s.cursor(), 10);
  EXPECT_EQ(s.attempts(3), 1u);
  EXPECT_EQ(s.delayed(0), 0u);
  EXPECT_EQ(s.candidates(20, 0, 10), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-journal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<event> replay(std::string* snapshot = nullptr) {
    std::vector<event> out;
    auto j = journal::open(
        dir_,
        [&](std::string_view s) {
          if (snapshot) *snapshot = std::string(s);
        },
        [&](const event& e) { out.push_back(e); });
    EXPECT_TRUE(j) << j.error().message;
    return out;
  }
  void synced(journal& j) {
    std::promise<bool> p;
    j.sync([&](result<void> r) { p.set_value(static_cast<bool>(r)); });
    EXPECT_TRUE(p.get_future().get());
  }

  std::filesystem::path dir_;
};

TEST_F(Journal, SyncedEventsComeBackInOrder) {
  {
    auto j = journal::open(
        dir_, [](std::string_view) {}, [](const event&) {});
    ASSERT_TRUE(j);
    (*j)->append({event::kind::delivered, 0, 5, 1});
    (*j)->append({event::kind::settle, 0, 5, 6});
    (*j)->append({event::kind::delay, 3, 9, 123456789});
    synced(**j);
  }
  auto evs = replay();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].k, event::kind::delivered);
  EXPECT_EQ(evs[1].b, 6);
  EXPECT_EQ(evs[2].partition, 3);
  EXPECT_EQ(evs[2].b, 123456789);
}

TEST_F(Journal, TornTailIsCutAndCheckpointEmptiesTheJournal) {
  {
    auto j = journal::open(
        dir_, [](std::string_view) {}, [](const event&) {});
    ASSERT_TRUE(j);
    (*j)->append({event::kind::settle, 0, 0, 10});
    (*j)->append({event::kind::settle, 0, 10, 20});
    synced(**j);
  }
  // A crash in the middle of the next write: half a record at the end.
  std::filesystem::resize_file(dir_ / "journal", std::filesystem::file_size(dir_ / "journal") - 3);
  auto evs = replay();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].b, 10);
  {
    auto j = journal::open(
        dir_, [](std::string_view) {}, [](const event&) {});
    ASSERT_TRUE(j);
    (*j)->append({event::kind::settle, 0, 10, 30});
    synced(**j);
    EXPECT_GT((*j)->size(), 0);
    ASSERT_TRUE((*j)->checkpoint("state after 30"));
    EXPECT_EQ((*j)->size(), 0);
    (*j)->append({event::kind::settle, 0, 30, 31});
    synced(**j);
  }
  std::string snap;
  evs = replay(&snap);
  EXPECT_EQ(snap, "state after 30");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].a, 30);
}

TEST_F(Journal, CorruptSnapshotIsAnError) {
  {
    auto j = journal::open(
        dir_, [](std::string_view) {}, [](const event&) {});
    ASSERT_TRUE(j);
    ASSERT_TRUE((*j)->checkpoint("good"));
  }
  std::fstream f(dir_ / "snapshot", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(5);
  f.put('X');
  f.close();
  auto j = journal::open(
      dir_, [](std::string_view) {}, [](const event&) {});
  EXPECT_FALSE(j);
}

// A queue over a compacted topic: offsets whose records compaction removed are no messages,
// and must not linger as ready ones.
TEST(Queue, CompactedAwayOffsetsAreNotMessages) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sluice-queue-compact-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  log::log_options lo;
  lo.data_dir = dir / "data";
  auto lg = log::log::open(lo);
  ASSERT_TRUE(lg) << lg.error().message;
  auto t =
      (*lg)->create_topic("jobs", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "800"}});
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_TRUE((*lg)->create_topic("jobs.dlq", 1, {}));
  auto part = (*t)->get(0);
  int64_t now = now_ms();
  // Three rounds of the same ten keys, a segment each; compaction keeps the newest of each key.
  for (int round = 0; round < 3; ++round)
    for (int k = 0; k < 10; ++k) {
      log::batch_builder b;
      std::string key = "k" + std::to_string(k), value = "r" + std::to_string(round);
      b.add(bytes_view(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
            bytes_view(reinterpret_cast<const uint8_t*>(value.data()), value.size()), now);
      auto batch = b.build();
      ASSERT_TRUE(part->append(batch, now));
    }
  ASSERT_GE(part->segment_count(), 3);
  auto compacted = part->compact(now + 100'000);
  ASSERT_TRUE(compacted) << compacted.error().message;
  ASSERT_GT(*compacted, 0);

  queue_settings s;
  s.name = "jobs";
  auto q = queue::open(**lg, s, dir / "state");
  ASSERT_TRUE(q) << q.error().message;
  auto msgs = (*q)->receive(100, 1 << 20, 60'000, "c");
  // The newest record of every key survives (older ones only where a segment boundary kept
  // them); compaction removed the others.
  EXPECT_EQ(
      std::count_if(msgs.begin(), msgs.end(), [](const message& m) { return m.value == "r2"; }),
      10);
  EXPECT_LT(msgs.size(), 30u);
  auto st = (*q)->stats();
  EXPECT_EQ(st.ready, 0) << "offsets without a record are settled, not ready";
  EXPECT_EQ(st.in_flight, static_cast<int64_t>(msgs.size()));
  EXPECT_TRUE((*q)->receive(100, 1 << 20, 60'000, "c").empty());
  q->reset();
  lg->reset();
  std::filesystem::remove_all(dir);
}

// A dead-letter write is durable before its settle reaches the queue's journal: a crash in
// between must not dead-letter the message a second time. The record in the dead-letter topic
// is the proof a restart settles from.
TEST(Queue, DeadLetterRecordSettlesAfterACrashBeforeTheJournal) {
  auto dir =
      std::filesystem::temp_directory_path() / ("sluice-queue-dlq-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  log::log_options lo;
  lo.data_dir = dir / "data";
  auto lg = log::log::open(lo);
  ASSERT_TRUE(lg) << lg.error().message;
  auto t = (*lg)->create_topic("jobs", 1, {});
  ASSERT_TRUE(t);
  auto dlq = (*lg)->create_topic("jobs.dlq", 1, {});
  ASSERT_TRUE(dlq);
  int64_t now = now_ms();
  auto bv = [](std::string_view s) {  // REQUIRES: `s` outlives the view
    return bytes_view(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  for (int i = 0; i < 3; ++i) {
    log::batch_builder b;
    std::string v = "job" + std::to_string(i);
    b.add(std::nullopt, bv(v), now);
    auto batch = b.build();
    ASSERT_TRUE((*t)->get(0)->append(batch, now));
  }
  queue_settings s;
  s.name = "jobs";
  {
    auto q = queue::open(**lg, s, dir / "state");
    ASSERT_TRUE(q) << q.error().message;
    EXPECT_EQ((*q)->receive(10, 1 << 20, 60'000, "c").size(), 3u);
  }  // a snapshot: nothing settled, the dead-letter topic empty
  // The dead-letter write of offset 1 (another queue's record beside it), whose settle was lost.
  {
    log::batch_builder b;
    std::vector<std::pair<std::string_view, bytes_view>> ours = {
        {"sluice.queue", bv("jobs")}, {"sluice.partition", bv("0")}, {"sluice.offset", bv("1")}};
    std::vector<std::pair<std::string_view, bytes_view>> theirs = {
        {"sluice.queue", bv("other")}, {"sluice.partition", bv("0")}, {"sluice.offset", bv("2")}};
    b.add(std::nullopt, bv("job1"), now, ours);
    b.add(std::nullopt, bv("x"), now, theirs);
    auto batch = b.build();
    ASSERT_TRUE((*dlq)->get(0)->append(batch, now));
  }
  auto q = queue::open(**lg, s, dir / "state");
  ASSERT_TRUE(q) << q.error().message;
  auto msgs = (*q)->receive(10, 1 << 20, 60'000, "c");
  std::vector<int64_t> offsets;
  for (const auto& m : msgs)
    offsets.push_back(m.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 2})) << "offset 1 is settled by its dead letter";
  q->reset();
  lg->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::queue
