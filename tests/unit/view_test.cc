// The materialized view's rows, change feed and bounds.

#include "view/view.h"

#include <gtest/gtest.h>

namespace sluice::view {
namespace {

using stream::change_op;
using stream::element;
using stream::value;

element keyed(const std::string& k, int64_t v, change_op op = change_op::upsert) {
  element e;
  e.key = {value::string(k)};
  e.r = {value::string(k), value::integer(v)};
  e.op = op;
  return e;
}

TEST(View, UpsertsReplaceAndRemovesDeleteByKey) {
  view v("v", {"k", "n"});
  v.apply({keyed("a", 1), keyed("b", 2), keyed("a", 3)});
  v.apply({keyed("b", 0, change_op::remove)});
  auto rows = v.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1].i, 3);
  std::vector<change> feed;
  ASSERT_TRUE(v.changes_since(0, feed));
  ASSERT_EQ(feed.size(), 4u);
  EXPECT_EQ(feed[0].k, change::kind::insert);
  EXPECT_EQ(feed[2].k, change::kind::update);
  EXPECT_EQ(feed[3].k, change::kind::remove);
  EXPECT_EQ(feed[3].seq, 4u);
  EXPECT_EQ(v.sequence(), 4u);
  // Every change names its row's key, so that subscribers can apply updates and deletes.
  ASSERT_EQ(feed[2].key.size(), 1u);
  EXPECT_EQ(feed[2].key[0].str(), "a");
  ASSERT_EQ(feed[3].key.size(), 1u);
  EXPECT_EQ(feed[3].key[0].str(), "b");
  std::vector<stream::row> keys;
  v.rows(nullptr, &keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0][0].str(), "a");
}

TEST(View, ReaderBehindTheFeedMustTakeASnapshot) {
  view v("v", {"k", "n"}, 100, 3);
  for (int i = 0; i < 5; ++i)
    v.apply({keyed("k" + std::to_string(i), i)});
  std::vector<change> feed;
  EXPECT_FALSE(v.changes_since(1, feed));  // changes 2 and 3 are gone
  feed.clear();
  ASSERT_TRUE(v.changes_since(2, feed));  // 3, 4, 5 are still there
  ASSERT_EQ(feed.size(), 3u);
  EXPECT_EQ(feed.front().seq, 3u);
  EXPECT_EQ(feed.back().seq, 5u);
}

TEST(View, LatestSinceGivesEachKeysNewestChangeInSequenceOrder) {
  view v("v", {"k", "n"}, 100, 1000);
  v.apply({keyed("a", 1), keyed("b", 2), keyed("c", 3)});                     // 1..3
  v.apply({keyed("a", 4), keyed("b", 0, change_op::remove), keyed("a", 5)});  // 4..6
  std::vector<change> out;
  uint64_t upto = 0;
  ASSERT_TRUE(v.latest_since(1, out, 100, &upto));
  // c@3, b deleted @5, a@6: one change per key, whatever happened in between.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].seq, 3u);
  EXPECT_EQ(out[0].key[0].str(), "c");
  EXPECT_EQ(out[1].seq, 5u);
  EXPECT_EQ(out[1].k, change::kind::remove);
  EXPECT_EQ(out[1].key[0].str(), "b");
  EXPECT_EQ(out[2].seq, 6u);
  EXPECT_EQ(out[2].r[1].i, 5);
  EXPECT_EQ(upto, 6u);
  // A bounded read says how far it got; the next one goes on from there.
  out.clear();
  ASSERT_TRUE(v.latest_since(0, out, 2, &upto));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(upto, 5u);
  out.clear();
  ASSERT_TRUE(v.latest_since(upto, out, 2, &upto));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key[0].str(), "a");
  EXPECT_EQ(upto, 6u);
  // A key back after its delete is a row again, not a tombstone.
  v.apply({keyed("b", 7)});  // 7
  out.clear();
  ASSERT_TRUE(v.latest_since(4, out, 100, &upto));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key[0].str(), "a");
  EXPECT_EQ(out[1].key[0].str(), "b");
  EXPECT_EQ(out[1].k, change::kind::update);
  EXPECT_EQ(out[1].r[1].i, 7);
}

TEST(View, LatestSinceNeedsASnapshotOnceADeleteIsForgotten) {
  view v("v", {"k", "n"}, 100, 2);                                        // at most 2 tombstones
  v.apply({keyed("a", 1), keyed("b", 2), keyed("c", 3), keyed("d", 4)});  // 1..4
  v.apply({keyed("a", 0, change_op::remove)});                            // 5
  v.apply({keyed("b", 0, change_op::remove)});                            // 6
  v.apply({keyed("c", 0, change_op::remove)});                            // 7: forgets a's
  std::vector<change> out;
  uint64_t upto = 0;
  EXPECT_FALSE(v.latest_since(4, out, 100, &upto));
  ASSERT_TRUE(v.latest_since(5, out, 100, &upto));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key[0].str(), "b");
  EXPECT_EQ(out[1].key[0].str(), "c");
  // After a restore the deletes before the checkpoint are unknown.
  stream::state_writer w;
  v.snapshot(w);
  view restored("v", {"k", "n"}, 100, 2);
  stream::state_reader r(w.data());
  restored.restore(r);
  out.clear();
  EXPECT_FALSE(restored.latest_since(6, out, 100, &upto));
  EXPECT_FALSE(restored.latest_since(7, out, 100, &upto));  // a position of the previous run
  EXPECT_TRUE(restored.latest_since(7 + k_restart_gap, out, 100, &upto));
  EXPECT_TRUE(out.empty());
}

TEST(View, RowsBeyondMaxRowsEvictTheLeastRecentlyChanged) {
  view v("v", {"k", "n"}, 2);
  v.apply({keyed("a", 1), keyed("b", 1)});
  v.apply({keyed("a", 2)});  // a is now newer than b
  v.apply({keyed("c", 1)});  // b goes
  auto rows = v.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].str(), "a");
  EXPECT_EQ(rows[1][0].str(), "c");
  std::vector<change> feed;
  ASSERT_TRUE(v.changes_since(3, feed));
  ASSERT_EQ(feed.size(), 2u);  // insert c, then the eviction of b
  EXPECT_EQ(feed[1].k, change::kind::remove);
  EXPECT_EQ(feed[1].r[0].str(), "b");
  ASSERT_EQ(feed[1].key.size(), 1u);
  EXPECT_EQ(feed[1].key[0].str(), "b");
}

TEST(View, RowsBeyondMaxBytesEvictTheLeastRecentlyChanged) {
  view v("v", {"k", "n"}, 1'000'000, 10, true, 4096);
  for (int i = 0; i < 100; ++i)
    v.apply({keyed("key-" + std::to_string(i), i)});
  EXPECT_LT(v.size(), 100u);
  EXPECT_GT(v.size(), 3u);
  auto rows = v.rows();
  EXPECT_EQ(rows.back()[0].str(), "key-99");  // the newest stay
  size_t small = v.bytes();
  view big("v", {"k", "n"}, 1'000'000, 10, true);
  for (int i = 0; i < 100; ++i)
    big.apply({keyed("key-" + std::to_string(i), i)});
  EXPECT_EQ(big.size(), 100u);
  EXPECT_GT(big.bytes(), small);
  for (int i = 0; i < 100; ++i)
    big.apply({keyed("key-" + std::to_string(i), 0, change_op::remove)});
  EXPECT_EQ(big.size(), 0u);
  EXPECT_LT(big.bytes(), small + 4096);  // only the feed and tombstones (10 each) are left
}

TEST(View, UnkeyedRowsAppendInArrivalOrder) {
  view v("v", {"x"}, 100'000, 10'000, /*keyed=*/false);
  element a, b;
  a.r = {value::integer(2)};
  b.r = {value::integer(1)};
  v.apply({a, b});
  auto rows = v.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].i, 2);
  EXPECT_EQ(rows[1][0].i, 1);
}

TEST(View, AKeyedViewsEmptyKeyIsOneRow) {
  // An aggregate without GROUP BY keys: each change replaces the one row.
  view v("v", {"n"});
  element a, b;
  a.r = {value::integer(1)};
  b.r = {value::integer(2)};
  a.op = b.op = change_op::upsert;
  v.apply({a});
  v.apply({b});
  auto rows = v.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].i, 2);
}

TEST(View, SnapshotRestoresRowsAndSequence) {
  view v("v", {"k", "n"});
  v.apply({keyed("a", 1), keyed("b", 2)});
  stream::state_writer w;
  v.snapshot(w);
  view copy("v", {"k", "n"});
  stream::state_reader r(w.data());
  copy.restore(r);
  EXPECT_EQ(copy.sequence(), 2u + k_restart_gap);
  EXPECT_EQ(copy.rows().size(), 2u);
  copy.apply({keyed("a", 5)});
  std::vector<change> feed;
  ASSERT_TRUE(copy.changes_since(2 + k_restart_gap, feed));
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].k, change::kind::update);  // the restored row is known by key
  feed.clear();
  EXPECT_FALSE(copy.changes_since(0, feed));  // older changes were not kept across restore
}

TEST(View, RowsRestoredIntoWiderColumnsGetNulls) {
  // A view re-created with a column its stream gained takes the old rows from the checkpoint.
  view v("v", {"k", "n"});
  v.apply({keyed("a", 1)});
  stream::state_writer w;
  v.snapshot(w);
  view wider("v", {"k", "n", "added"});
  stream::state_reader r(w.data());
  wider.restore(r);
  auto rows = wider.rows();
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].size(), 3u);
  EXPECT_EQ(rows[0][1].i, 1);
  EXPECT_EQ(rows[0][2].k, value::kind::null);
}

TEST(View, EndingWakesSubscribersWithTheReason) {
  view v("v", {"k", "n"});
  int woken = 0;
  size_t changes = 1;
  v.subscribe([&](const std::vector<change>& cs) {
    ++woken;
    changes = cs.size();
  });
  EXPECT_FALSE(v.ended());
  v.end("view 'v' was dropped");
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(changes, 0u);
  EXPECT_EQ(v.ended().value_or(""), "view 'v' was dropped");
}

// The run before a crash gave out positions past the checkpoint; after the restore the same
// numbers would name other changes (the input is read again in other steps). A reader holding
// one must get a snapshot, not a resume that skips what it never saw.
TEST(View, PositionsOfThePreviousRunAreNotResumedAfterARestore) {
  view v("v", {"k", "n"});
  v.apply({keyed("a", 1), keyed("b", 1)});  // 1, 2: checkpointed
  stream::state_writer w;
  v.snapshot(w);
  v.apply({keyed("a", 2)});  // 3: given to a reader, then the server dies
  v.apply({keyed("b", 2)});  // 4
  view again("v", {"k", "n"});
  stream::state_reader r(w.data());
  again.restore(r);
  again.apply({keyed("a", 2), keyed("b", 2)});  // the same input in one step
  again.apply({keyed("a", 3)});
  std::vector<change> out;
  EXPECT_FALSE(again.changes_since(3, out));
  uint64_t upto = 0;
  EXPECT_FALSE(again.latest_since(3, out, 100, &upto));
  ASSERT_TRUE(again.changes_since(2 + k_restart_gap, out));
  EXPECT_EQ(out.size(), 3u);
}

TEST(View, SubscribersSeeEachBatchOfChanges) {
  view v("v", {"k", "n"});
  std::vector<uint64_t> seen;
  auto id = v.subscribe([&](const std::vector<change>& cs) {
    for (const auto& c : cs)
      seen.push_back(c.seq);
  });
  v.apply({keyed("a", 1), keyed("a", 2)});
  v.unsubscribe(id);
  v.apply({keyed("a", 3)});
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
}

// A checkpoint whose values nest far deeper than any JSON could is corrupt, not a stack
// overflow on restart.
TEST(View, CheckpointWithValuesNestedTooDeepIsCorrupt) {
  stream::state_writer one;
  one.put_varint(1);
  stream::state_writer w;
  w.put_varint(1);  // sequence
  w.put_varint(1);  // rows
  w.put_row({value::string("k")});
  w.put_varint(1);  // the row's one value, then 100,000 levels of one-element arrays
  for (int i = 0; i < 100'000; ++i) {
    w.data() += static_cast<char>(value::kind::nested);
    w.data() += '\1';
    w.data() += one.data();
  }
  w.data() += static_cast<char>(value::kind::null);
  view v("v", {"k", "n"});
  stream::state_reader r(w.data());
  EXPECT_THROW(v.restore(r), stream::corrupt_state);
}

}  // namespace
}  // namespace sluice::view
