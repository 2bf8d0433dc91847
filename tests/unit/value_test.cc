// The 16-byte value: inline and shared strings, shared nested values, and the copies, moves
// and assignments that must keep what they share alive exactly as long as it is held.

#include "stream/value.h"

#include <gtest/gtest.h>

#include <thread>

namespace sluice::stream {
namespace {

TEST(Value, StringsUpTo14BytesAreInlineAndLongerOnesOnTheHeap) {
  for (size_t n : {0, 1, 13, 14, 15, 16, 100, 5000}) {
    std::string text(n, 'x');
    for (size_t i = 0; i < n; ++i)
      text[i] = static_cast<char>('a' + i % 26);
    value v = value::string(text);
    EXPECT_EQ(v.k, value::kind::string);
    EXPECT_EQ(v.str(), text) << n;
    EXPECT_EQ(v.heap_bytes() == 0, n <= 14) << n;
  }
  EXPECT_EQ(value::integer(7).str(), "");  // not a string: no text
  EXPECT_EQ(value().nest(), nullptr);
}

TEST(Value, CopiesShareALongStringAndOutliveTheOriginal) {
  std::string text(200, 'q');
  auto original = std::make_unique<value>(value::string(text));
  value copy = *original;
  EXPECT_EQ(copy.str().data(), original->str().data());  // shared, not copied
  row r(3, copy);
  original.reset();
  EXPECT_EQ(copy.str(), text);
  for (const auto& v : r)
    EXPECT_EQ(v.str(), text);
}

TEST(Value, MovesLeaveNullAndSelfAssignmentKeepsTheValue) {
  value a = value::string(std::string(40, 'm'));
  value b = std::move(a);
  EXPECT_TRUE(a.is_null());  // NOLINT(bugprone-use-after-move): pinned behaviour
  EXPECT_EQ(a.str(), "");
  EXPECT_EQ(b.str(), std::string(40, 'm'));
  value& same = b;
  b = same;
  EXPECT_EQ(b.str(), std::string(40, 'm'));
  b = std::move(same);
  EXPECT_EQ(b.str(), std::string(40, 'm'));
  b = value::integer(3);  // lets go of the string
  EXPECT_EQ(b.i, 3);
}

TEST(Value, AssigningAnItemOfItsOwnNestedValueKeepsTheItem) {
  auto n = std::make_shared<nested>();
  n->is_array = true;
  n->items = {value::string(std::string(64, 'i')), value::integer(2)};
  value v = value::make_nested(std::move(n));
  // The nested value (and the item) is held only through `v`.
  v = v.nest()->items[0];
  EXPECT_EQ(v.k, value::kind::string);
  EXPECT_EQ(v.str(), std::string(64, 'i'));
}

TEST(Value, NestedValuesAreSharedByTheirCopies) {
  auto n = std::make_shared<nested>();
  n->names = {"a"};
  n->items = {value::integer(1)};
  value v = value::make_nested(std::move(n));
  value c = v;
  EXPECT_EQ(c.nest(), v.nest());
  EXPECT_TRUE(equal(c, v));
  EXPECT_EQ(hash_value(c), hash_value(v));
}

TEST(Value, OrderAndHashAcrossTheInlineBoundary) {
  value shorter = value::string("abcdefghijklmn");  // 14: inline
  value longer = value::string("abcdefghijklmno");  // 15: heap
  EXPECT_LT(compare(shorter, longer), 0);
  EXPECT_GT(compare(longer, shorter), 0);
  EXPECT_TRUE(equal(longer, value::string(std::string("abcdefghijklmno"))));
  EXPECT_EQ(hash_value(longer), hash_value(value::string("abcdefghijklmno")));
  EXPECT_NE(hash_value(shorter), hash_value(longer));
}

TEST(Value, CopiesOnSeveralThreadsReleaseTheStringOnce) {
  // Views hand rows to HTTP threads: the reference count must be atomic. Under ASan a lost
  // update shows as a use after free or a leak.
  value shared = value::string(std::string(100, 's'));
  auto churn = [&] {
    for (int i = 0; i < 200000; ++i) {
      value c = shared;
      ASSERT_EQ(c.str().size(), 100u);
    }
  };
  std::thread t1(churn), t2(churn);
  t1.join();
  t2.join();
  EXPECT_EQ(shared.str(), std::string(100, 's'));
}

}  // namespace
}  // namespace sluice::stream
