#include "base/loop_watch.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <thread>

namespace sluice {
namespace {

using namespace std::chrono_literals;

struct running_loop {
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  ~running_loop() {
    work.reset();
    io.stop();
    thread.join();
  }
};

bool eventually(const std::function<bool()>& what) {
  for (int i = 0; i < 200; ++i) {
    if (what()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(LoopWatch, ABlockedLoopIsCountedOnceWithItsLength) {
  loop_watch w({.threshold = 50ms, .tick = 10ms});
  running_loop busy, idle;
  auto e1 = w.watch("busy", busy.io);
  auto e2 = w.watch("idle", idle.io);
  std::this_thread::sleep_for(50ms);  // both answer a first ping
  boost::asio::post(busy.io, [] {
    loop_watch::doing("Fetch");
    std::this_thread::sleep_for(300ms);
  });
  ASSERT_TRUE(eventually([&] { return w.snapshot()[0].stalled_now; }));
  ASSERT_TRUE(eventually([&] { return !w.snapshot()[0].stalled_now; }));
  auto s = w.snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "busy");
  EXPECT_EQ(s[0].stalls, 1u);
  EXPECT_GE(s[0].longest_seconds, 0.2);
  EXPECT_LT(s[0].longest_seconds, 5.0);
  EXPECT_EQ(s[1].name, "idle");
  EXPECT_EQ(s[1].stalls, 0u);
}

TEST(LoopWatch, AStoppedLoopIsNotReportedOnceItsEntryIsGone) {
  loop_watch w({.threshold = 30ms, .tick = 10ms});
  {
    running_loop l;
    auto e = w.watch("gone", l.io);
    std::this_thread::sleep_for(30ms);
  }  // the entry goes before the loop stops
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(w.snapshot().empty());
}

}  // namespace
}  // namespace sluice
