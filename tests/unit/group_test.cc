// The group coordinator's protocol state machine and offset storage, driven directly.

#include "group/coordinator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "group/transaction_coordinator.h"
#include "log/log.h"

namespace sluice::group {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

template <class T>
struct pending {
  std::shared_ptr<std::promise<T>> p = std::make_shared<std::promise<T>>();
  std::future<T> f = p->get_future();
  std::function<void(T)> cb() {
    return [p = p](T v) { p->set_value(std::move(v)); };
  }
  bool ready(std::chrono::milliseconds d = 0ms) {
    return f.wait_for(d) == std::future_status::ready;
  }
  T get() {
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  }
};

class GroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-group-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    open();
    ASSERT_TRUE(log_->create_topic("t", 4, {}).ok());
  }
  void TearDown() override {
    coord_.reset();
    log_.reset();
    fs::remove_all(dir_);
  }
  void open() {
    log::log_options o;
    o.data_dir = dir_;
    auto l = log::log::open(o);
    ASSERT_TRUE(l.ok());
    log_ = std::move(*l);
    coordinator_config c;
    c.initial_rebalance_delay_ms = 50;
    c.min_session_timeout_ms = 100;
    auto g = coordinator::open(*log_, c);
    ASSERT_TRUE(g.ok());
    coord_ = std::move(*g);
  }
  void reopen() {
    coord_.reset();
    log_.reset();
    open();
  }

  join_request join_req(const std::string& member_id, std::optional<std::string> instance = {},
                        int32_t session_ms = 10000) {
    join_request r;
    r.group_id = "g";
    r.who = {member_id, std::move(instance)};
    r.client_id = "c";
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = 2000;
    r.protocol_type = "consumer";
    r.protocols = {{"range", bytes{1, 2, 3}}};
    return r;
  }
  join_result join(join_request r) {
    pending<join_result> j;
    coord_->join(std::move(r), j.cb());
    return j.get();
  }
  sync_result sync(const std::string& id, int32_t gen,
                   std::vector<std::pair<std::string, bytes>> a = {}) {
    pending<sync_result> s;
    coord_->sync({"g", gen, {id, std::nullopt}, std::nullopt, std::nullopt, std::move(a)}, s.cb());
    return s.get();
  }

  fs::path dir_;
  std::unique_ptr<log::log> log_;
  std::unique_ptr<coordinator> coord_;
};

TEST_F(GroupTest, FirstJoinAsksForAMemberIdThenFormsGenerationOne) {
  auto r = join_req("");
  r.require_known_member_id = true;
  auto first = join(r);
  EXPECT_EQ(first.error, errc::member_id_required);
  ASSERT_FALSE(first.member_id.empty());
  auto second = join(join_req(first.member_id));
  EXPECT_EQ(second.error, errc::ok);
  EXPECT_EQ(second.generation, 1);
  EXPECT_EQ(second.leader, first.member_id);
  EXPECT_EQ(second.protocol_name, "range");
  ASSERT_EQ(second.members.size(), 1u);
  EXPECT_EQ(second.members[0].metadata, (bytes{1, 2, 3}));
  auto s = sync(first.member_id, 1, {{first.member_id, bytes{9}}});
  EXPECT_EQ(s.error, errc::ok);
  EXPECT_EQ(s.assignment, bytes{9});
  EXPECT_EQ(coord_->heartbeat("g", 1, {first.member_id, std::nullopt}), errc::ok);
  EXPECT_EQ(coord_->describe("g").state, "Stable");
}

TEST_F(GroupTest, SecondMemberRebalancesAndTheLeaderAssigns) {
  auto a = join(join_req(""));
  ASSERT_EQ(a.error, errc::ok);
  ASSERT_EQ(sync(a.member_id, 1, {{a.member_id, bytes{1}}}).error, errc::ok);

  pending<join_result> b;
  coord_->join(join_req(""), b.cb());
  EXPECT_FALSE(b.ready(100ms)) << "waits for the existing member to rejoin";
  EXPECT_EQ(coord_->heartbeat("g", 1, {a.member_id, std::nullopt}), errc::rebalance_in_progress);
  auto a2 = join(join_req(a.member_id));
  auto b2 = b.get();
  EXPECT_EQ(a2.generation, 2);
  EXPECT_EQ(b2.generation, 2);
  EXPECT_EQ(a2.leader, a.member_id) << "the leader stays";
  EXPECT_EQ(a2.members.size(), 2u);
  EXPECT_TRUE(b2.members.empty()) << "only the leader sees the members";

  pending<sync_result> bs;
  coord_->sync({"g", 2, {b2.member_id, std::nullopt}, std::nullopt, std::nullopt, {}}, bs.cb());
  EXPECT_FALSE(bs.ready(50ms)) << "a follower waits for the leader's assignment";
  auto as = sync(a.member_id, 2, {{a.member_id, bytes{1}}, {b2.member_id, bytes{2}}});
  EXPECT_EQ(as.assignment, bytes{1});
  EXPECT_EQ(bs.get().assignment, bytes{2});
  EXPECT_EQ(sync(b2.member_id, 1).error, errc::illegal_generation);
}

TEST_F(GroupTest, SilentMemberIsRemovedAfterItsSessionTimeout) {
  auto a = join(join_req("", std::nullopt, 300));
  sync(a.member_id, 1, {});
  pending<join_result> b;
  coord_->join(join_req("", std::nullopt, 300), b.cb());
  auto a2 = join(join_req(a.member_id, std::nullopt, 300));
  auto b2 = b.get();
  sync(a.member_id, 2, {});
  sync(b2.member_id, 2);
  // A heartbeats, B goes silent.
  errc seen = errc::ok;
  for (int i = 0; i < 20 && seen == errc::ok; ++i) {
    std::this_thread::sleep_for(50ms);
    seen = coord_->heartbeat("g", 2, {a.member_id, std::nullopt});
  }
  EXPECT_EQ(seen, errc::rebalance_in_progress);
  auto a3 = join(join_req(a.member_id, std::nullopt, 300));
  EXPECT_EQ(a3.generation, 3);
  EXPECT_EQ(a3.members.size(), 1u);
  EXPECT_EQ(coord_->heartbeat("g", 3, {b2.member_id, std::nullopt}), errc::unknown_member_id);
}

TEST_F(GroupTest, StaticMemberComesBackWithoutARebalance) {
  pending<join_result> a, b;
  coord_->join(join_req("", "instance-a"), a.cb());
  coord_->join(join_req("", "instance-b"), b.cb());
  auto ja = a.get(), jb = b.get();
  ASSERT_EQ(ja.generation, 1);
  const auto& leader = ja.leader == ja.member_id ? ja : jb;
  const auto& follower = ja.leader == ja.member_id ? jb : ja;
  std::string follower_instance = &follower == &ja ? "instance-a" : "instance-b";
  pending<sync_result> fs;
  coord_->sync({"g", 1, {follower.member_id, follower_instance}, std::nullopt, std::nullopt, {}},
               fs.cb());
  sync(leader.member_id, 1, {{leader.member_id, bytes{1}}, {follower.member_id, bytes{2}}});
  ASSERT_EQ(fs.get().assignment, bytes{2});

  // The follower restarts: a new join with no member id and the same instance id.
  auto back = join(join_req("", follower_instance));
  EXPECT_EQ(back.error, errc::ok);
  EXPECT_EQ(back.generation, 1) << "no new generation";
  EXPECT_NE(back.member_id, follower.member_id);
  pending<sync_result> again;
  coord_->sync({"g", 1, {back.member_id, follower_instance}, std::nullopt, std::nullopt, {}},
               again.cb());
  EXPECT_EQ(again.get().assignment, bytes{2}) << "the same assignment";
  EXPECT_EQ(coord_->heartbeat("g", 1, {leader.member_id, std::nullopt}), errc::ok);
  EXPECT_EQ(coord_->heartbeat("g", 1, {follower.member_id, follower_instance}),
            errc::fenced_instance_id)
      << "the old incarnation is fenced";
}

TEST_F(GroupTest, BadRequestsGetTheirErrors) {
  EXPECT_EQ(coord_->heartbeat("nope", 1, {"m", std::nullopt}), errc::unknown_member_id);
  auto r = join_req("");
  r.session_timeout_ms = 10;
  EXPECT_EQ(join(r).error, errc::invalid_session_timeout);
  auto a = join(join_req(""));
  auto other = join_req("");
  other.protocol_type = "connect";
  EXPECT_EQ(join(other).error, errc::inconsistent_group_protocol);
  EXPECT_EQ(join(join_req("made-up")).error, errc::unknown_member_id);
  EXPECT_EQ(coord_->delete_group("g"), errc::non_empty_group);
  EXPECT_EQ(coord_->delete_group("never"), errc::group_id_not_found);
  errc ge;
  auto left = coord_->leave("g", {{a.member_id, std::nullopt}, {"ghost", std::nullopt}}, ge);
  EXPECT_EQ(left[0], errc::ok);
  EXPECT_EQ(left[1], errc::unknown_member_id);
  EXPECT_EQ(coord_->describe("g").state, "Empty");
}

TEST_F(GroupTest, CommittedOffsetsAreDurableAndDeletable) {
  auto commit = [&](const std::string& group, std::vector<std::pair<topic_partition, int64_t>> o) {
    commit_request r;
    r.group_id = group;
    for (auto& [tp, off] : o)
      r.offsets.push_back({tp, {off, -1, "meta", 0}});
    pending<std::pair<errc, partition_errors>> p;
    coord_->commit(std::move(r), [cb = p.cb()](errc e, partition_errors pe) {
      cb({e, std::move(pe)});
    });
    return p.get();
  };
  auto r = commit("readers", {{{"t", 0}, 10}, {{"t", 3}, 42}, {{"missing", 0}, 1}});
  EXPECT_EQ(r.first, errc::ok);
  EXPECT_EQ(r.second[0].second, errc::ok);
  EXPECT_EQ(r.second[2].second, errc::unknown_topic);
  commit("readers", {{{"t", 0}, 11}});
  commit("other", {{{"t", 1}, 5}});

  reopen();
  auto got = coord_->fetch("readers", std::nullopt);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second.offset, 11) << "the latest commit wins";
  EXPECT_EQ(got[0].second.metadata, "meta");
  EXPECT_EQ(got[1].second.offset, 42);
  auto none = coord_->fetch("readers", std::vector<topic_partition>{{"t", 2}});
  EXPECT_EQ(none[0].second.offset, -1);
  auto lag = coord_->lag("readers");
  ASSERT_EQ(lag.size(), 2u);
  EXPECT_EQ(lag[0].end, 0);

  EXPECT_EQ(coord_->delete_group("readers"), errc::ok);
  errc ge;
  coord_->delete_offsets("other", {{"t", 1}}, ge);
  EXPECT_EQ(ge, errc::ok);
  reopen();
  EXPECT_TRUE(coord_->fetch("readers", std::nullopt).empty());
  EXPECT_TRUE(coord_->fetch("other", std::nullopt).empty());
}

// The transaction coordinator driven directly: an idle transactional id expires (and stays
// forgotten after a restart); one in use does not.
TEST_F(GroupTest, IdleTransactionalIdsExpire) {
  auto open_txns = [&] {
    transaction_config c;
    c.timeout_check_interval_ms = 10;
    c.id_expiration_ms = 300;
    auto t = transaction_coordinator::open(*log_, *coord_, c);
    EXPECT_TRUE(t.ok());
    return std::move(*t);
  };
  auto txns = open_txns();
  auto init = [&](const std::string& id) {
    pending<init_producer_result> p;
    txns->init_producer(id, 60000, {}, p.cb());
    return p.get();
  };
  auto idle = init("idle");
  ASSERT_EQ(idle.error, errc::ok);
  auto busy = init("busy");
  ASSERT_EQ(busy.error, errc::ok);
  ASSERT_TRUE(log_->create_topic("out", 1, {}).ok());
  pending<errc> added;
  txns->add_partitions("busy", busy.producer, {{"out", 0}}, added.cb());
  ASSERT_EQ(added.get(), errc::ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(txns->describe("idle").error, errc::transactional_id_not_found);
  EXPECT_EQ(txns->describe("busy").state, "Ongoing") << "an open transaction keeps its id";
  txns.reset();
  txns = open_txns();
  EXPECT_EQ(txns->describe("idle").error, errc::transactional_id_not_found)
      << "the tombstone is durable";
  auto again = init("idle");
  ASSERT_EQ(again.error, errc::ok);
  EXPECT_NE(again.producer.producer_id, idle.producer.producer_id) << "a new producer id";
  EXPECT_EQ(again.producer.epoch, 0);
}

// A state write that fails (here: its topic was deleted) is answered at once, on the thread
// that holds the coordinator's lock; the answer, which takes that lock, waits until it is
// released. Before the fix the coordinator deadlocked on itself.
TEST_F(GroupTest, FailedStateWriteIsAnsweredWithoutDeadlock) {
  auto opened = transaction_coordinator::open(*log_, *coord_, transaction_config{});
  ASSERT_TRUE(opened.ok());
  auto txns = std::move(*opened);
  auto first = std::async(std::launch::async, [&] {
    pending<init_producer_result> r;
    txns->init_producer("app", 60000, {}, r.cb());
    return r.get();
  });
  ASSERT_EQ(first.wait_for(30s), std::future_status::ready);
  auto p = first.get().producer;
  ASSERT_TRUE(log_->delete_topic(transaction_coordinator::k_topic).ok());

  auto failed = std::async(std::launch::async, [&] {
    pending<errc> r;
    txns->add_partitions("app", p, {{"t", 0}}, r.cb());
    return r.get();
  });
  if (failed.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "the transaction coordinator deadlocked";
    std::abort();  // its threads cannot be joined
  }
  EXPECT_EQ(failed.get(), errc::unknown_topic);
  // Not busy any more: the next request is answered, not refused as concurrent.
  pending<errc> again;
  txns->add_partitions("app", p, {{"t", 1}}, again.cb());
  EXPECT_EQ(again.get(), errc::unknown_topic);
  EXPECT_EQ(txns->describe("app").producer.producer_id, p.producer_id);
}

// A state write whose data is already durable when it asks (another thread's sync covered it)
// is answered at once, on the writing thread: the answer must not need the coordinator's lock,
// which the writer still holds. Here a thread keeps the state partition's flusher busy so that
// such syncs happen; before the fix the coordinator deadlocked on itself.
TEST_F(GroupTest, StateWritesAlreadyDurableDoNotDeadlock) {
  transaction_config c;
  auto opened = transaction_coordinator::open(*log_, *coord_, c);
  ASSERT_TRUE(opened.ok());
  auto txns = std::move(*opened);
  auto state = log_->find_topic(transaction_coordinator::k_topic);
  ASSERT_TRUE(state);
  auto p = state->get(0);
  std::atomic<bool> stop{false};
  std::thread poker([&] {  // waits for each next write to be on disk
    while (!stop.load()) {
      std::promise<void> synced;
      p->when_durable(p->high_watermark(), [&](result<void>) { synced.set_value(); });
      synced.get_future().wait();
    }
  });
  auto done = std::async(std::launch::async, [&] {
    int ok = 0;
    for (int i = 0; i < 1000; ++i) {
      pending<init_producer_result> r;
      txns->init_producer("id-" + std::to_string(i % 8), 60000, {}, r.cb());
      ok += r.get().error == errc::ok;
    }
    return ok;
  });
  if (done.wait_for(60s) != std::future_status::ready) {
    ADD_FAILURE() << "the transaction coordinator deadlocked";
    std::abort();  // its threads cannot be joined
  }
  EXPECT_EQ(done.get(), 1000);
  stop = true;
  pending<init_producer_result> last;  // what the poker waits for: the next write
  txns->init_producer("id-0", 60000, {}, last.cb());
  EXPECT_EQ(last.get().error, errc::ok);
  poker.join();
}

}  // namespace
}  // namespace sluice::group
