// Consumer groups with real librdkafka high-level consumers against a started server:
// balanced assignment, a member killed mid-stream, committed offsets across restarts,
// static membership and cooperative-sticky rebalancing.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <thread>

#include "tests/integration/client_util.h"
#include "tests/integration/sluice_process.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// A high-level consumer polling on its own thread, recording what it gets and its rebalances.
class group_consumer {
 public:
  group_consumer(const std::string& brokers, const std::string& group, const std::string& topic,
                 const props& extra = {}) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    props p = {{"bootstrap.servers", brokers},     {"group.id", group},
               {"auto.offset.reset", "earliest"},  {"session.timeout.ms", "2000"},
               {"heartbeat.interval.ms", "300"},   {"enable.auto.commit", "true"},
               {"auto.commit.interval.ms", "100"}, {"log_level", "2"}};
    p.insert(p.end(), extra.begin(), extra.end());
    for (auto& [k, v] : p)
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(err);
    rd_kafka_conf_set_rebalance_cb(conf, &group_consumer::on_rebalance);
    rd_kafka_conf_set_opaque(conf, this);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    rd_kafka_poll_set_consumer(rk_);
    auto* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    thread_ = std::thread([this] { loop(); });
  }
  ~group_consumer() { close(); }

  // Leaves the group properly (LeaveGroup, final commit).
  void close() {
    if (!rk_) return;
    stop_ = true;
    thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }
  // Dies without a word: no LeaveGroup, no final commit.
  void kill() {
    if (!rk_) return;
    stop_ = true;
    thread_.join();
    rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rk_ = nullptr;
  }

  std::set<int32_t> assignment() const {
    std::lock_guard lk(mu_);
    return assigned_;
  }
  std::vector<std::string> values() const {
    std::lock_guard lk(mu_);
    return values_;
  }
  int rebalances() const { return rebalances_; }
  size_t largest_revoke() const { return largest_revoke_; }
  rd_kafka_t* handle() { return rk_; }

 private:
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<group_consumer*>(opaque);
    bool cooperative = std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    std::lock_guard lk(self->mu_);
    ++self->rebalances_;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
      } else {
        rd_kafka_assign(rk, parts);
        self->assigned_.clear();
      }
      for (int i = 0; i < parts->cnt; ++i)
        self->assigned_.insert(parts->elems[i].partition);
    } else {
      self->largest_revoke_ = std::max(self->largest_revoke_, static_cast<size_t>(parts->cnt));
      if (cooperative) {
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
        for (int i = 0; i < parts->cnt; ++i)
          self->assigned_.erase(parts->elems[i].partition);
      } else {
        rd_kafka_assign(rk, nullptr);
        self->assigned_.clear();
      }
    }
  }

  void loop() {
    while (!stop_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 50);
      if (!m) continue;
      if (!m->err) {
        std::lock_guard lk(mu_);
        values_.emplace_back(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_message_destroy(m);
    }
  }

  rd_kafka_t* rk_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::set<int32_t> assigned_;
  std::vector<std::string> values_;
  std::atomic<int> rebalances_{0};
  size_t largest_revoke_ = 0;
};

// Polls `cond` every 50 ms for up to `limit`.
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

std::vector<std::string> produce_values(const std::string& brokers, const std::string& topic,
                                        size_t n, const std::string& tag) {
  auto msgs = make_messages(n, tag, 40);
  delivery_log dl;
  produce(brokers, topic, msgs, {{"acks", "all"}}, dl);
  EXPECT_TRUE(dl.errors.empty());
  std::vector<std::string> out;
  for (auto& m : msgs)
    out.push_back(m.value);
  return out;
}

bool balanced(const std::vector<group_consumer*>& cs, size_t partitions) {
  std::set<int32_t> all;
  size_t each = partitions / cs.size();
  for (auto* c : cs) {
    auto a = c->assignment();
    if (a.size() != each) return false;
    all.insert(a.begin(), a.end());
  }
  return all.size() == partitions;
}

class ConsumerGroupTest : public ::testing::Test {
 protected:
  sluice_process server_;
};

TEST_F(ConsumerGroupTest, ThreeMembersShareSixPartitionsAndReadEverythingOnce) {
  create_topic(server_.brokers(), "shared", 6);
  group_consumer a(server_.brokers(), "three", "shared"), b(server_.brokers(), "three", "shared"),
      c(server_.brokers(), "three", "shared");
  ASSERT_TRUE(eventually([&] {
    return balanced({&a, &b, &c}, 6);
  })) << "each of the three members owns two partitions";
  auto sent = produce_values(server_.brokers(), "shared", 6000, "shared");
  ASSERT_TRUE(eventually(
      [&] { return a.values().size() + b.values().size() + c.values().size() >= sent.size(); }));
  std::this_thread::sleep_for(300ms);
  std::multiset<std::string> got;
  for (auto* x : {&a, &b, &c})
    for (auto& v : x->values())
      got.insert(v);
  EXPECT_EQ(got.size(), sent.size()) << "no record twice";
  for (auto& v : sent)
    ASSERT_EQ(got.count(v), 1u);
  for (auto* x : {&a, &b, &c})
    EXPECT_FALSE(x->values().empty()) << "every member did work";
}

TEST_F(ConsumerGroupTest, KilledMemberIsRebalancedAwayAndNothingIsLost) {
  create_topic(server_.brokers(), "work", 6);
  auto a = std::make_unique<group_consumer>(server_.brokers(), "survivors", "work");
  auto b = std::make_unique<group_consumer>(server_.brokers(), "survivors", "work");
  auto c = std::make_unique<group_consumer>(server_.brokers(), "survivors", "work");
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get(), c.get()}, 6); }));
  auto first = produce_values(server_.brokers(), "work", 3000, "before");
  ASSERT_TRUE(eventually([&] {
    return a->values().size() + b->values().size() + c->values().size() >= first.size();
  }));
  auto victim_seen = c->values();
  c->kill();
  auto second = produce_values(server_.brokers(), "work", 3000, "after");
  ASSERT_TRUE(eventually([&] {
    return balanced({a.get(), b.get()}, 6);
  })) << "the two survivors take over the dead member's partitions (session timeout)";
  std::set<std::string> got(victim_seen.begin(), victim_seen.end());
  ASSERT_TRUE(eventually([&] {
    for (auto* x : {a.get(), b.get()})
      for (auto& v : x->values())
        got.insert(v);
    return got.size() >= first.size() + second.size();
  })) << "every record is read at least once";
  for (auto& v : first)
    ASSERT_TRUE(got.contains(v));
  for (auto& v : second)
    ASSERT_TRUE(got.contains(v));
}

TEST_F(ConsumerGroupTest, CommittedOffsetsResumeAfterConsumerAndBrokerRestart) {
  create_topic(server_.brokers(), "resume", 3);
  auto first = produce_values(server_.brokers(), "resume", 900, "first");
  {
    group_consumer c(server_.brokers(), "resumers", "resume");
    ASSERT_TRUE(eventually([&] { return c.values().size() >= first.size(); }));
    // _NO_OFFSET: the auto-commit timer got there first (a slow run), nothing left to commit.
    auto committed = rd_kafka_commit(c.handle(), nullptr, 0);
    ASSERT_TRUE(committed == RD_KAFKA_RESP_ERR_NO_ERROR ||
                committed == RD_KAFKA_RESP_ERR__NO_OFFSET)
        << rd_kafka_err2str(committed);
    c.close();
  }
  server_.stop(SIGKILL);  // the commit was answered, so it must survive this
  server_.start();
  auto second = produce_values(server_.brokers(), "resume", 300, "second");
  group_consumer c(server_.brokers(), "resumers", "resume");
  ASSERT_TRUE(eventually([&] { return c.values().size() >= second.size(); }));
  std::this_thread::sleep_for(500ms);
  auto got = c.values();
  EXPECT_EQ(got.size(), second.size()) << "nothing before the committed offsets again";
  std::set<std::string> want(second.begin(), second.end());
  for (auto& v : got)
    EXPECT_TRUE(want.contains(v)) << v;
}

TEST_F(ConsumerGroupTest, StaticMemberRestartKeepsItsPartitionsWithoutRebalance) {
  create_topic(server_.brokers(), "static", 6);
  props sa = {{"group.instance.id", "member-a"}, {"session.timeout.ms", "6000"}};
  props sb = {{"group.instance.id", "member-b"}, {"session.timeout.ms", "6000"}};
  // b joins first and leads: librdkafka 2.0 speaks JoinGroup v5, so a restarted static
  // *leader* would still cause a rebalance (KIP-814's skip-assignment needs v9).
  group_consumer b(server_.brokers(), "statics", "static", sb);
  std::this_thread::sleep_for(100ms);
  auto a = std::make_unique<group_consumer>(server_.brokers(), "statics", "static", sa);
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), &b}, 6); }));
  std::this_thread::sleep_for(500ms);
  auto before = a->assignment();
  int b_rebalances = b.rebalances();
  a->close();  // a static member does not leave the group on close
  a = std::make_unique<group_consumer>(server_.brokers(), "statics", "static", sa);
  ASSERT_TRUE(eventually([&] { return a->assignment().size() == 3; }, 10s));
  EXPECT_EQ(a->assignment(), before) << "the restarted member gets its partitions back";
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(b.rebalances(), b_rebalances) << "the other member saw no rebalance";
  EXPECT_EQ(b.assignment().size(), 3u);
}

TEST_F(ConsumerGroupTest, CooperativeStickyRebalancesIncrementally) {
  create_topic(server_.brokers(), "coop", 6);
  props coop = {{"partition.assignment.strategy", "cooperative-sticky"}};
  group_consumer a(server_.brokers(), "cooperative", "coop", coop);
  ASSERT_TRUE(eventually([&] { return a.assignment().size() == 6; }));
  group_consumer b(server_.brokers(), "cooperative", "coop", coop);
  ASSERT_TRUE(eventually([&] { return balanced({&a, &b}, 6); }));
  EXPECT_LE(a.largest_revoke(), 3u) << "only the partitions that move are revoked";
  auto sent = produce_values(server_.brokers(), "coop", 600, "coop");
  ASSERT_TRUE(eventually([&] { return a.values().size() + b.values().size() >= sent.size(); }));
}

}  // namespace
}  // namespace sluice::test
