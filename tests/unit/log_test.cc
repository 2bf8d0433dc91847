// Partition and log behaviour: offsets, segment roll, index lookup, retention, recovery.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include "base/clock.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "log/segment_format.h"
#include "log/space_guard.h"
#include "tests/unit/batch_builder.h"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-log-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  topic_config small_segments(int64_t segment_bytes = 1024, int32_t interval = 128) {
    topic_config c;
    c.segment_bytes = segment_bytes;
    c.index_interval_bytes = interval;
    return c;
  }

  std::shared_ptr<partition> open(const topic_config& c, bool clean = true, flusher* f = nullptr) {
    auto p = partition::open(dir_ / "p", model::partition_id(0), c, clean, f);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    return p.ok() ? *p : nullptr;
  }

  static append_result append(partition& p, std::vector<std::string> values,
                              int64_t ts = 1'700'000'000'000) {
    auto b = test::build_batch(std::move(values), ts);
    auto r = p.append(b, now_ms());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : append_result{};
  }

  // Reads every batch header from `from` to the end, following read() as a consumer would.
  static std::vector<batch_header> read_all(const partition& p, int64_t from = 0) {
    std::vector<batch_header> out;
    int64_t next = from;
    while (next < p.high_watermark().value()) {
      auto r = p.read(model::offset(next), 4096);
      EXPECT_TRUE(r.ok());
      if (!r.ok() || r->len == 0) break;
      bytes buf(r->len);
      EXPECT_TRUE(r->copy_to(buf.data()).ok());
      size_t pos = 0;
      while (pos + format::k_batch_header_size <= buf.size()) {
        auto h = parse_batch_header(buf.data() + pos);
        if (pos + h.size_bytes() > buf.size()) break;  // cut short by the byte limit
        EXPECT_TRUE(check_stored_batch(bytes_view(buf.data() + pos, h.size_bytes())).ok());
        if (h.last_offset() >= next) {
          out.push_back(h);
          next = h.last_offset() + 1;
        }
        pos += h.size_bytes();
      }
    }
    return out;
  }

  std::vector<fs::path> files_with(const std::string& suffix) {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(dir_ / "p"))
      if (e.path().string().ends_with(suffix)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
};

TEST_F(LogTest, AppendAssignsConsecutiveOffsets) {
  auto p = open(topic_config{});
  EXPECT_EQ(append(*p, {"a", "b", "c"}).base_offset.value(), 0);
  auto r = append(*p, {"d"});
  EXPECT_EQ(r.base_offset.value(), 3);
  EXPECT_EQ(r.last_offset.value(), 3);
  EXPECT_EQ(p->high_watermark().value(), 4);
  auto all = read_all(*p);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].base_offset, 0);
  EXPECT_EQ(all[1].base_offset, 3);
}

TEST_F(LogTest, SegmentRollsBySize) {
  auto p = open(small_segments(1024));
  for (int i = 0; i < 100; ++i)
    append(*p, {std::string(50, 'x')});
  EXPECT_GT(p->segment_count(), 5);
  EXPECT_EQ(read_all(*p).size(), 100u);
  EXPECT_EQ(files_with(format::k_log_suffix).size(), static_cast<size_t>(p->segment_count()));
  // Sealed segments have their index files on disk.
  EXPECT_EQ(files_with(format::k_index_suffix).size(), static_cast<size_t>(p->segment_count() - 1));
}

TEST_F(LogTest, IndexLookupFindsEveryOffset) {
  auto p = open(small_segments(64 * 1024, 100));
  for (int i = 0; i < 500; ++i)
    append(*p, {std::to_string(i) + "v", "w"});
  for (int64_t off : {0, 1, 2, 57, 500, 999}) {
    auto r = p->read(model::offset(off), 1);
    ASSERT_TRUE(r.ok());
    bytes buf(r->len);
    ASSERT_TRUE(r->copy_to(buf.data()).ok());
    auto h = parse_batch_header(buf.data());
    EXPECT_LE(h.base_offset, off);
    EXPECT_GE(h.last_offset(), off);
    EXPECT_EQ(r->len, h.size_bytes()) << "max_bytes=1 still returns the whole first batch";
  }
}

TEST_F(LogTest, ReadOutsideTheLogIsOutOfRange) {
  auto p = open(topic_config{});
  append(*p, {"a"});
  EXPECT_EQ(p->read(model::offset(5), 100).code(), errc::offset_out_of_range);
  EXPECT_EQ(p->read(model::offset(-1), 100).code(), errc::offset_out_of_range);
  auto at_end = p->read(model::offset(1), 100);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->len, 0u);
}

TEST_F(LogTest, RetentionBytesDeletesOldestSegments) {
  auto c = small_segments(1024);
  c.retention_bytes = 3000;
  c.retention_ms = -1;  // the records carry 2023 timestamps
  auto p = open(c);
  for (int i = 0; i < 100; ++i)
    append(*p, {std::string(50, 'x')});
  int before = p->segment_count();
  p->enforce_retention(now_ms());
  EXPECT_LT(p->segment_count(), before);
  EXPECT_LE(p->size_bytes(), 3000 + 1024);
  EXPECT_GT(p->log_start().value(), 0);
  EXPECT_EQ(p->high_watermark().value(), 100);
  EXPECT_EQ(p->read(model::offset(0), 100).code(), errc::offset_out_of_range);
  EXPECT_EQ(read_all(*p, p->log_start().value()).back().last_offset(), 99);
}

TEST_F(LogTest, RetentionTimeDeletesExpiredSegmentsButNotTheActiveOne) {
  auto c = small_segments(1024);
  c.retention_ms = 60'000;
  auto p = open(c);
  int64_t old = now_ms() - 3'600'000;
  for (int i = 0; i < 60; ++i)
    append(*p, {std::string(50, 'x')}, old);
  append(*p, {"fresh"}, now_ms());
  p->enforce_retention(now_ms());
  EXPECT_EQ(p->segment_count(), 1);
  EXPECT_EQ(p->high_watermark().value(), 61);
  EXPECT_EQ(read_all(*p, p->log_start().value()).back().last_offset(), 60);
}

TEST_F(LogTest, IdlePartitionAgesOutCompletely) {
  topic_config c;
  c.retention_ms = 60'000;
  auto p = open(c);
  int64_t old = now_ms() - 3'600'000;
  for (int i = 0; i < 10; ++i)
    append(*p, {"old"}, old);
  p->enforce_retention(now_ms());
  EXPECT_EQ(p->segment_count(), 1);
  EXPECT_EQ(p->log_start().value(), 10) << "every expired record is gone";
  EXPECT_EQ(p->high_watermark().value(), 10) << "offsets are never reused";
  EXPECT_EQ(append(*p, {"new"}).base_offset.value(), 10);
}

struct kv {
  int64_t offset;
  std::string key;
  std::optional<std::string> value;
};

// Every record of the partition, decoded, as a consumer would see it.
std::vector<kv> read_records(const partition& p) {
  std::vector<kv> out;
  int64_t next = p.log_start().value();
  while (next < p.high_watermark().value()) {
    auto r = p.read(model::offset(next), 1 << 20);
    EXPECT_TRUE(r.ok());
    if (!r.ok() || r->len == 0) break;
    bytes buf(r->len);
    EXPECT_TRUE(r->copy_to(buf.data()).ok());
    size_t pos = 0;
    int64_t before = next;
    while (pos + format::k_batch_header_size <= buf.size()) {
      auto h = parse_batch_header(buf.data() + pos);
      if (pos + h.size_bytes() > buf.size()) break;
      EXPECT_TRUE(check_stored_batch(bytes_view(buf.data() + pos, h.size_bytes())).ok());
      auto res =
          for_each_record(bytes_view(buf.data() + pos, h.size_bytes()), [&](const record_view& rv) {
            if (rv.offset < next) return;
            kv x{rv.offset, std::string(rv.key->begin(), rv.key->end()), std::nullopt};
            if (rv.value) x.value = std::string(rv.value->begin(), rv.value->end());
            out.push_back(x);
          });
      EXPECT_TRUE(res.ok());
      next = h.last_offset() + 1;
      pos += h.size_bytes();
    }
    if (next == before) break;
  }
  return out;
}

// prefix + n (written so that gcc 12 raises no false -Wrestrict).
std::string numbered(const char* prefix, int n) {
  std::string s(prefix);
  s.append(std::to_string(n));
  return s;
}

bytes keyed_batch(const std::string& key, std::optional<std::string> value, int64_t ts) {
  batch_builder b;
  bytes k(key.begin(), key.end());
  if (value) {
    bytes v(value->begin(), value->end());
    b.add(bytes_view(k), bytes_view(v), ts);
  } else {
    b.add(bytes_view(k), std::nullopt, ts);
  }
  return b.build();
}

TEST_F(LogTest, CompactionKeepsTheNewestRecordOfEveryKey) {
  topic_config c;
  c.cleanup_policy = "compact";
  c.segment_bytes = 780;  // ten of these batches (77-78 bytes): one round of keys a segment
  c.index_interval_bytes = 64;
  auto p = open(c);
  int64_t t = now_ms();
  for (int round = 0; round < 20; ++round)
    for (int k = 0; k < 10; ++k) {
      auto b = keyed_batch(numbered("k", k), numbered("round-", round), t);
      ASSERT_TRUE(p->append(b, t).ok());
    }
  ASSERT_EQ(p->segment_count(), 20);
  auto before = p->read(model::offset(0), 1 << 20);  // a reader in the middle of it all
  ASSERT_TRUE(before.ok());

  auto n = p->compact(t + 100'000);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 19) << "every sealed segment lost records";
  auto got = read_records(*p);
  // The active segment (round 19) is untouched; each sealed segment keeps only its last
  // record (k9 of its round), so that no segment ends in a gap.
  ASSERT_EQ(got.size(), 29u);
  std::map<std::string, std::string> last;
  int64_t prev = -1;
  for (const auto& r : got) {
    EXPECT_GT(r.offset, prev);
    prev = r.offset;
    if (r.key != "k9") {
      EXPECT_EQ(r.value, "round-19") << r.key << " at " << r.offset;
    }
    last[r.key] = *r.value;
  }
  ASSERT_EQ(last.size(), 10u);
  for (const auto& [k, v] : last)
    EXPECT_EQ(v, "round-19") << k;
  EXPECT_EQ(got.front().offset, 9) << "offsets never change";
  EXPECT_EQ(p->high_watermark().value(), 200);
  EXPECT_EQ(p->log_start().value(), 0);
  // A consumer positioned inside a compacted-away range gets a batch that moves it on.
  auto gap = p->read(model::offset(55), 1 << 20);
  ASSERT_TRUE(gap.ok());
  ASSERT_GT(gap->len, 0u);
  bytes gb(gap->len);
  ASSERT_TRUE(gap->copy_to(gb.data()).ok());
  EXPECT_EQ(parse_batch_header(gb.data()).base_offset, 59);
  bytes old(before->len);
  ASSERT_TRUE(before->copy_to(old.data()).ok()) << "a read taken before still reads";
  EXPECT_TRUE(
      check_stored_batch(bytes_view(old.data(), parse_batch_header(old.data()).size_bytes())).ok());

  ASSERT_TRUE(p->close().ok());
  p = open(c);
  EXPECT_EQ(read_records(*p).size(), 29u) << "the compacted segments reopen";
  EXPECT_EQ(append(*p, {"after"}).base_offset.value(), 200);
}

TEST_F(LogTest, CompactionDropsOldTombstonesAndKeepsNewOnes) {
  topic_config c;
  c.cleanup_policy = "compact";
  c.segment_ms = 1'000'000;
  c.delete_retention_ms = 60'000;
  auto p = open(c);
  int64_t t = now_ms();
  auto put = [&](const std::string& k, std::optional<std::string> v, int64_t ts, int64_t clock) {
    auto b = keyed_batch(k, std::move(v), ts);
    ASSERT_TRUE(p->append(b, clock).ok());
  };
  put("gone", "v1", t - 3'600'000, t);
  put("kept", "v1", t, t);
  put("gone", std::nullopt, t - 3'600'000, t);  // deleted long ago: the tombstone goes too
  put("fresh", "v1", t, t);
  put("fresh", std::nullopt, t, t);  // deleted just now: consumers must still see it
  put("kept", "v2", t, t);
  put("filler", "x", t, t);
  put("active", "y", t, t + 2'000'000);  // rolls: everything above is one sealed segment
  ASSERT_EQ(p->segment_count(), 2);
  ASSERT_TRUE(p->compact(t).ok());
  auto got = read_records(*p);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].key, "fresh");
  EXPECT_FALSE(got[0].value.has_value());
  EXPECT_EQ(got[1].key, "kept");
  EXPECT_EQ(got[1].value, "v2");
  EXPECT_EQ(got[2].key, "filler");
  EXPECT_EQ(got[3].key, "active");
}

TEST_F(LogTest, TruncatedTrailingBatchIsCutOnRecovery) {
  {
    auto p = open(topic_config{}, true);
    for (int i = 0; i < 10; ++i)
      append(*p, {std::to_string(i) + "-record"});
  }  // dropped without close(): an unclean stop
  auto log_file = files_with(format::k_log_suffix).front();
  auto size = fs::file_size(log_file);
  fs::resize_file(log_file, size - 5);  // a torn write of the last batch

  auto p = open(topic_config{}, /*clean=*/false);
  EXPECT_EQ(p->high_watermark().value(), 9);
  EXPECT_EQ(read_all(*p).size(), 9u);
  EXPECT_EQ(append(*p, {"after"}).base_offset.value(), 9);
  EXPECT_EQ(read_all(*p).size(), 10u);
}

TEST_F(LogTest, CorruptTrailingBatchIsCutOnRecovery) {
  {
    auto p = open(topic_config{}, true);
    for (int i = 0; i < 10; ++i)
      append(*p, {std::to_string(i) + "-record"});
  }
  auto log_file = files_with(format::k_log_suffix).front();
  {
    std::fstream f(log_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(log_file) - 3));
    f.put('\x7f');  // flip a byte inside the last record: CRC mismatch
  }
  auto p = open(topic_config{}, false);
  EXPECT_EQ(p->high_watermark().value(), 9);
  EXPECT_EQ(read_all(*p).size(), 9u);
}

TEST_F(LogTest, CorruptionInTheMiddleDropsEverythingAfterIt) {
  {
    auto p = open(small_segments(1024), true);
    for (int i = 0; i < 100; ++i)
      append(*p, {std::string(50, 'x')});
  }
  // Without a recovery point every segment is checked; damage the second one.
  fs::remove(dir_ / "p" / format::k_recovery_point_file);
  auto logs = files_with(format::k_log_suffix);
  ASSERT_GT(logs.size(), 3u);
  {
    std::fstream f(logs[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x00');
    f.put('\x01');
  }
  auto p = open(small_segments(1024), false);
  auto all = read_all(*p);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().last_offset() + 1, p->high_watermark().value());
  EXPECT_LT(p->high_watermark().value(), 100);
  EXPECT_EQ(p->segment_count(), 2);
}

TEST_F(LogTest, MissingIndexIsRebuilt) {
  {
    auto p = open(small_segments(1024, 64), true);
    for (int i = 0; i < 100; ++i)
      append(*p, {std::string(50, 'y')});
    ASSERT_TRUE(p->close().ok());
  }
  for (auto& f : files_with(format::k_index_suffix))
    fs::remove(f);
  auto p = open(small_segments(1024, 64), true);
  EXPECT_EQ(p->high_watermark().value(), 100);
  EXPECT_EQ(read_all(*p).size(), 100u);
}

TEST_F(LogTest, CleanReopenKeepsOffsetsAndTimestamps) {
  int64_t t0 = 1'700'000'000'000;
  {
    auto p = open(small_segments(2048, 64), true);
    for (int i = 0; i < 50; ++i)
      append(*p, {"v"}, t0 + i * 1000);
    ASSERT_TRUE(p->close().ok());
  }
  auto p = open(small_segments(2048, 64), true);
  EXPECT_EQ(p->high_watermark().value(), 50);
  auto o = p->offset_for_time(t0 + 20'500);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->value(), 21);
  EXPECT_EQ(p->offset_for_time(t0)->value(), 0);
  EXPECT_EQ(p->offset_for_time(t0 + 10'000'000)->value(), 50) << "none: the high watermark";
}

TEST_F(LogTest, TimeLookupFindsTheFirstRecordInsideABatch) {
  int64_t t0 = 1'700'000'000'000;
  auto p = open(small_segments(4096, 64), true);
  append(*p, {"a", "b", "c", "d", "e"}, t0);  // records at t0 .. t0+4 ms, offsets 0..4
  append(*p, {"f", "g"}, t0 + 100);           // offsets 5..6
  EXPECT_EQ(p->offset_for_time(t0 + 2)->value(), 2) << "the record, not its batch";
  EXPECT_EQ(p->offset_for_time(t0 + 5)->value(), 5);
  EXPECT_EQ(p->offset_for_time(t0 + 101)->value(), 6);
  auto m = p->max_timestamp_record();
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->first, 6);
  EXPECT_EQ((*m)->second, t0 + 101);
}

TEST_F(LogTest, DeleteRecordsMovesTheLogStartDurably) {
  {
    auto p = open(small_segments(512, 64), true);
    for (int i = 0; i < 40; ++i)
      append(*p, {std::string(60, 'x')});
    int segments = p->segment_count();
    ASSERT_GT(segments, 3);
    auto r = p->delete_records_before(model::offset(25));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), 25);
    EXPECT_LT(p->segment_count(), segments) << "whole segments below 25 are deleted";
    EXPECT_EQ(p->read(model::offset(24), 100).code(), errc::offset_out_of_range);
    EXPECT_TRUE(p->read(model::offset(25), 100).ok());
    EXPECT_EQ(p->delete_records_before(model::offset(10))->value(), 25) << "never moves back";
    EXPECT_EQ(p->delete_records_before(model::offset(41)).code(), errc::offset_out_of_range);
  }  // not closed: the start must be durable by itself
  auto p = open(small_segments(512, 64), false);
  EXPECT_EQ(p->log_start().value(), 25);
  EXPECT_EQ(p->delete_records_before(model::offset(-1))->value(), 40) << "-1: the high watermark";
  EXPECT_EQ(p->high_watermark().value(), 40);
}

TEST_F(LogTest, LogAppendTimeReplacesProducerTimestamps) {
  topic_config c;
  c.message_timestamp_type = timestamp_type::log_append_time;
  auto p = open(c);
  int64_t before = now_ms();
  auto r = append(*p, {"a"}, 1000);
  EXPECT_GE(r.log_append_time, before);
  auto all = read_all(*p);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].log_append_time());
  EXPECT_EQ(all[0].max_timestamp, r.log_append_time);
}

TEST_F(LogTest, OversizedBatchIsRejected) {
  topic_config c;
  c.max_message_bytes = 100;
  auto p = open(c);
  auto b = test::build_batch({std::string(200, 'z')});
  EXPECT_EQ(p->append(b, now_ms()).code(), errc::batch_too_large);
  EXPECT_EQ(p->high_watermark().value(), 0);
}

TEST_F(LogTest, GroupCommitCompletesWaiters) {
  flusher f(2, dir_);
  auto p = open(topic_config{}, true, &f);
  std::vector<std::future<bool>> done;
  for (int i = 0; i < 20; ++i) {
    auto r = append(*p, {"durable"});
    auto pr = std::make_shared<std::promise<bool>>();
    done.push_back(pr->get_future());
    p->when_durable(r.last_offset, [pr](result<void> ok) { pr->set_value(ok.ok()); });
  }
  for (auto& d : done) {
    ASSERT_EQ(d.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(d.get());
  }
}

TEST_F(LogTest, IdempotentRetryIsNotAppendedTwice) {
  auto p = open(topic_config{});
  test::batch_spec s;
  s.values = {"a", "b"};
  s.producer_id = 7;
  s.producer_epoch = 0;
  s.base_sequence = 0;
  auto b1 = test::build_batch(s);
  auto retry = b1;
  auto r1 = p->append(b1, now_ms());
  ASSERT_TRUE(r1.ok());
  auto r2 = p->append(retry, now_ms());
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->duplicate);
  EXPECT_EQ(r2->base_offset, r1->base_offset);
  EXPECT_EQ(p->high_watermark().value(), 2);

  s.base_sequence = 5;  // a gap: sequences 2..4 are missing
  auto gap = test::build_batch(s);
  EXPECT_EQ(p->append(gap, now_ms()).code(), errc::out_of_order_sequence);

  s.base_sequence = 2;
  auto next = test::build_batch(s);
  EXPECT_TRUE(p->append(next, now_ms()).ok());

  s.producer_epoch = 1;
  s.base_sequence = 0;
  auto bumped = test::build_batch(s);
  EXPECT_TRUE(p->append(bumped, now_ms()).ok());
  s.producer_epoch = 0;
  s.base_sequence = 4;
  auto fenced = test::build_batch(s);
  EXPECT_EQ(p->append(fenced, now_ms()).code(), errc::invalid_producer_epoch);
}

// An idempotent producer pipelines batches; when one is refused for lack of space, those
// behind it arrive with a gap. They are refused the same way (the client sends them all again,
// in order), not with OUT_OF_ORDER_SEQUENCE_NUMBER, which librdkafka's idempotent producer
// takes as fatal.
TEST_F(LogTest, BatchesBehindOneRefusedForSpaceAreRefusedForSpace) {
  auto p = open(topic_config{});
  space_guard full(dir_, space_limits{.min_free_bytes = uint64_t{1} << 62});
  test::batch_spec s;
  s.values = {"a", "b"};
  s.producer_id = 7;
  s.producer_epoch = 0;
  auto batch = [&](int32_t seq) {
    s.base_sequence = seq;
    return test::build_batch(s);
  };
  auto b0 = batch(0);
  ASSERT_TRUE(p->append(b0, now_ms()).ok());
  p->guard_space(&full);
  auto b2 = batch(2), b4 = batch(4), b6 = batch(6);
  EXPECT_EQ(p->append(b2, now_ms()).code(), errc::no_space);
  EXPECT_EQ(p->append(b4, now_ms()).code(), errc::no_space);
  p->guard_space(nullptr);  // space is back, and a batch from behind arrives first
  auto b6_early = batch(6);
  EXPECT_EQ(p->append(b6_early, now_ms()).code(), errc::no_space);
  auto r2 = p->append(b2, now_ms()), r4 = p->append(b4, now_ms()), r6 = p->append(b6, now_ms());
  ASSERT_TRUE(r2.ok() && r4.ok() && r6.ok());
  EXPECT_EQ(r6->base_offset.value(), 6);
  auto gap = batch(10);  // a real gap, nothing refused: the protocol's error
  EXPECT_EQ(p->append(gap, now_ms()).code(), errc::out_of_order_sequence);
}

TEST_F(LogTest, IdempotenceSurvivesUncleanRestartAcrossRolls) {
  test::batch_spec s;
  s.values = {std::string(100, 'q')};
  s.producer_id = 3;
  s.producer_epoch = 0;
  bytes last;
  {
    auto p = open(small_segments(1024), true);
    for (int i = 0; i < 30; ++i) {
      s.base_sequence = i;
      last = test::build_batch(s);
      auto copy = last;
      ASSERT_TRUE(p->append(copy, now_ms()).ok());
    }
    ASSERT_GT(p->segment_count(), 2);
  }  // unclean
  auto p = open(small_segments(1024), false);
  auto r = p->append(last, now_ms());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->duplicate);
  EXPECT_EQ(r->base_offset.value(), 29);
  EXPECT_EQ(p->high_watermark().value(), 30);
}

TEST_F(LogTest, TopicsSurviveRestartAndProducerIdsAreNeverReused) {
  log_options o;
  o.data_dir = dir_ / "data";
  int64_t pid = 0;
  {
    auto l = log::open(o);
    ASSERT_TRUE(l.ok());
    auto t = (*l)->create_topic("orders", 3, {{"retention.ms", "1000"}});
    ASSERT_TRUE(t.ok());
    auto b = test::build_batch({"x"});
    ASSERT_TRUE((*t)->get(2)->append(b, now_ms()).ok());
    pid = (*l)->allocate_producer_id();
    EXPECT_EQ((*l)->create_topic("orders", 1, {}).code(), errc::topic_exists);
    EXPECT_EQ((*l)->create_topic("bad/name", 1, {}).code(), errc::invalid_topic);
    EXPECT_EQ((*l)->create_topic("zero", 0, {}).code(), errc::invalid_partitions);
    EXPECT_EQ((*l)->create_topic("cfg", 1, {{"retention.ms", "soon"}}).code(),
              errc::invalid_config);
    EXPECT_EQ((*l)->create_topic("cfg", 1, {{"no.such.key", "1"}}).code(), errc::invalid_config);
    ASSERT_TRUE((*l)->create_partitions("orders", 4).ok());
    EXPECT_EQ((*l)->create_partitions("orders", 2).code(), errc::invalid_partitions);
  }
  auto l = log::open(o);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE((*l)->started_clean());
  auto t = (*l)->find_topic("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->partition_count(), 4);
  EXPECT_EQ(t->config().retention_ms, 1000);
  EXPECT_EQ(t->get(2)->high_watermark().value(), 1);
  EXPECT_GT((*l)->allocate_producer_id(), pid);
  ASSERT_TRUE((*l)->delete_topic("orders").ok());
  EXPECT_EQ((*l)->find_topic("orders"), nullptr);
  EXPECT_FALSE(fs::exists(o.data_dir / "topics" / "orders"));
}

}  // namespace
}  // namespace sluice::log
