// Real librdkafka clients against a started `sluice server`: every codec and acks level,
// reads from the middle, many partitions, restarts, kill -9, and bad input.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/client_util.h"
#include "tests/integration/sluice_process.h"

namespace sluice::test {
namespace {

class KafkaClientTest : public ::testing::Test {
 protected:
  sluice_process server_;
};

TEST_F(KafkaClientTest, EveryCodecAndAcksLevelRoundTripsByteIdentical) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    for (const char* acks : {"0", "1", "all"}) {
      std::string topic = std::string("codec-") + codec + "-acks-" + acks;
      create_topic(server_.brokers(), topic, 1);
      auto msgs = make_messages(2000, topic);
      delivery_log dl;
      produce(server_.brokers(), topic, msgs,
              {{"compression.type", codec}, {"acks", acks}, {"linger.ms", "5"}}, dl, 0);
      EXPECT_TRUE(dl.errors.empty()) << topic << ": " << dl.errors.front();
      auto got = consume_all(server_.brokers(), topic, 1);
      ASSERT_EQ(got.size(), msgs.size()) << topic;
      for (size_t i = 0; i < msgs.size(); ++i) {
        ASSERT_EQ(got[i].offset, static_cast<int64_t>(i)) << topic;
        ASSERT_EQ(got[i].m.value, msgs[i].value) << topic << " at " << i;
        ASSERT_EQ(got[i].m.key, msgs[i].key) << topic;
        ASSERT_EQ(got[i].m.header, msgs[i].header) << topic;
      }
    }
  }
}

// SIGTERM and SIGINT are taken by the main thread's sigwait only. A thread that leaves them
// unblocked (one started before the mask was set) receives them while the main thread is
// busy, at start-up for instance, and the default action kills the process uncleanly.
TEST_F(KafkaClientTest, OnlyTheMainThreadTakesTerminationSignals) {
  namespace fs = std::filesystem;
  const auto task_dir = fs::path("/proc") / std::to_string(server_.pid()) / "task";
  int threads = 0;
  for (const auto& t : fs::directory_iterator(task_dir)) {
    if (t.path().filename() == std::to_string(server_.pid())) continue;  // in sigwait
    std::ifstream status(t.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      uint64_t blocked = std::stoull(line.substr(7), nullptr, 16);
      std::string name;
      std::ifstream(t.path() / "comm") >> name;
      EXPECT_TRUE(blocked & (uint64_t{1} << (SIGTERM - 1))) << "thread " << name;
      EXPECT_TRUE(blocked & (uint64_t{1} << (SIGINT - 1))) << "thread " << name;
      ++threads;
    }
  }
  EXPECT_GT(threads, 3);  // loops, flusher, watchdog, query threads
}

TEST_F(KafkaClientTest, FetchFromTheMiddle) {
  create_topic(server_.brokers(), "middle", 1);
  auto msgs = make_messages(5000, "mid", 300);
  delivery_log dl;
  produce(server_.brokers(), "middle", msgs, {{"acks", "1"}, {"batch.size", "4096"}}, dl, 0);
  for (int64_t start : {1, 2499, 4999}) {
    auto got = consume_all(server_.brokers(), "middle", 1, start);
    ASSERT_EQ(got.size(), msgs.size() - static_cast<size_t>(start));
    EXPECT_EQ(got.front().offset, start);
    EXPECT_EQ(got.front().m.value, msgs[static_cast<size_t>(start)].value);
    EXPECT_EQ(got.back().m.value, msgs.back().value);
  }
}

TEST_F(KafkaClientTest, ManyPartitionsKeepPerKeyOrder) {
  const int partitions = 48;
  create_topic(server_.brokers(), "wide", partitions);
  auto msgs = make_messages(9600, "wide");
  delivery_log dl;
  produce(server_.brokers(), "wide", msgs, {{"acks", "all"}, {"linger.ms", "2"}}, dl);
  EXPECT_TRUE(dl.errors.empty());
  auto got = consume_all(server_.brokers(), "wide", partitions);
  ASSERT_EQ(got.size(), msgs.size());
  std::set<int32_t> used;
  std::map<std::string, size_t> last_index;  // per key, messages must come in produce order
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < msgs.size(); ++i)
    index_of[msgs[i].value] = i;
  for (const auto& r : got) {
    used.insert(r.partition);
    ASSERT_TRUE(index_of.contains(r.m.value));
    size_t idx = index_of[r.m.value];
    if (last_index.contains(r.m.key)) {
      ASSERT_GT(idx, last_index[r.m.key]);
    }
    last_index[r.m.key] = idx;
  }
  EXPECT_GT(used.size(), 10u) << "keys spread over partitions";
}

TEST_F(KafkaClientTest, RestartsLoseNothing) {
  create_topic(server_.brokers(), "restart", 3);
  auto msgs = make_messages(3000, "restart");
  delivery_log dl;
  produce(server_.brokers(), "restart", msgs, {{"acks", "all"}}, dl);
  ASSERT_TRUE(dl.errors.empty());
  auto before = consume_all(server_.brokers(), "restart", 3);
  ASSERT_EQ(before.size(), msgs.size());

  server_.restart();  // clean stop
  auto after_clean = consume_all(server_.brokers(), "restart", 3);
  server_.stop(SIGKILL);
  server_.start();  // recovery
  auto after_kill = consume_all(server_.brokers(), "restart", 3);
  for (const auto* again : {&after_clean, &after_kill}) {
    ASSERT_EQ(again->size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) {
      EXPECT_EQ((*again)[i].m.value, before[i].m.value);
      EXPECT_EQ((*again)[i].offset, before[i].offset);
      EXPECT_EQ((*again)[i].timestamp, before[i].timestamp);
    }
  }
  // The log goes on where it stopped.
  delivery_log dl2;
  produce(server_.brokers(), "restart", make_messages(10, "more"), {{"acks", "all"}}, dl2, 0);
  EXPECT_TRUE(dl2.errors.empty());
  EXPECT_EQ(consume_all(server_.brokers(), "restart", 3).size(), msgs.size() + 10);
}

TEST_F(KafkaClientTest, KillNineLosesNoAcknowledgedRecordAndDuplicatesNone) {
  create_topic(server_.brokers(), "durable", 4);
  delivery_log dl;
  auto rk = make_client(RD_KAFKA_PRODUCER, server_.brokers(),
                        {{"acks", "all"},
                         {"enable.idempotence", "true"},
                         {"linger.ms", "2"},
                         {"message.timeout.ms", "60000"},
                         {"retry.backoff.ms", "50"},
                         {"reconnect.backoff.ms", "20"},
                         {"reconnect.backoff.max.ms", "200"}},
                        &dl);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> produced{0};
  std::thread producer([&] {
    for (int64_t id = 0; !stop && id < 300000; ++id) {
      std::string v = "id-" + std::to_string(id);
      for (;;) {
        auto e = rd_kafka_producev(
            rk.get(), RD_KAFKA_V_TOPIC("durable"), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(v.data(), v.size()), RD_KAFKA_V_VALUE(v.data(), v.size()),
            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(id)), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(rk.get(), 5);
          continue;
        }
        break;
      }
      produced = id + 1;
      if (id % 200 == 0) rd_kafka_poll(rk.get(), 1);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int64_t acked_before_kill = dl.ok;
  server_.stop(SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server_.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  producer.join();
  EXPECT_EQ(rd_kafka_flush(rk.get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_GT(acked_before_kill, 1000) << "the producer was running when the server died";
  {
    std::lock_guard lk(dl.mu);
    EXPECT_TRUE(dl.errors.empty()) << dl.errors.size() << " failed, first: " << dl.errors.front();
  }
  auto got = consume_all(server_.brokers(), "durable", 4);
  std::map<int64_t, int> seen;
  for (const auto& r : got)
    seen[std::stoll(r.m.value.substr(3))]++;
  std::lock_guard lk(dl.mu);
  for (int64_t id : dl.acked) {
    ASSERT_TRUE(seen.contains(id)) << "acknowledged record " << id << " is missing";
  }
  for (const auto& [id, n] : seen)
    ASSERT_EQ(n, 1) << "record " << id << " appears " << n << "x";
  EXPECT_EQ(static_cast<int64_t>(dl.acked.size()), produced.load());
}

TEST_F(KafkaClientTest, OffsetsForTimesAndWatermarks) {
  create_topic(server_.brokers(), "times", 1);
  auto rk =
      make_client(RD_KAFKA_PRODUCER, server_.brokers(), {{"acks", "all"}, {"linger.ms", "0"}});
  int64_t t0 = 1'600'000'000'000;
  for (int i = 0; i < 100; ++i) {
    std::string v = "t" + std::to_string(i);
    ASSERT_EQ(rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC("times"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(v.data(), v.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_TIMESTAMP(t0 + i * 1000), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_flush(rk.get(), 5000);  // one batch per record: exact timestamp lookups
  }
  int64_t lo = -1, hi = -1;
  ASSERT_EQ(rd_kafka_query_watermark_offsets(rk.get(), "times", 0, &lo, &hi, 5000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 100);
  auto* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, "times", 0)->offset = t0 + 42'500;
  ASSERT_EQ(rd_kafka_offsets_for_times(rk.get(), list, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(list->elems[0].offset, 43);
  rd_kafka_topic_partition_list_destroy(list);
}

TEST_F(KafkaClientTest, OversizedMessageGetsMessageTooLarge) {
  create_topic(server_.brokers(), "small", 1, {{"max.message.bytes", "10000"}});
  delivery_log dl;
  produce(server_.brokers(), "small", {{"k", std::string(50000, 'x'), "h"}},
          {{"acks", "1"}, {"message.max.bytes", "1000000"}, {"compression.type", "none"}}, dl, 0);
  ASSERT_EQ(dl.errors.size(), 1u);
  EXPECT_EQ(dl.errors[0], rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
  // Small messages still go through.
  delivery_log ok;
  produce(server_.brokers(), "small", {{"k", "fits", "h"}}, {{"acks", "1"}}, ok, 0);
  EXPECT_TRUE(ok.errors.empty());
}

int raw_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// True when the server closed the connection (read returns 0 or a reset).
bool closed_by_server(int fd) {
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

TEST_F(KafkaClientTest, MalformedFramesCloseOnlyThatConnection) {
  create_topic(server_.brokers(), "safe", 1);
  // A frame claiming 2 GiB.
  int a = raw_connect(server_.port());
  uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
  ASSERT_EQ(::write(a, huge, 4), 4);
  EXPECT_TRUE(closed_by_server(a));
  ::close(a);
  // An unknown API key with junk after it.
  int b = raw_connect(server_.port());
  uint8_t junk[] = {0, 0, 0, 12, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 1, 2};
  ASSERT_EQ(::write(b, junk, sizeof junk), static_cast<ssize_t>(sizeof junk));
  EXPECT_TRUE(closed_by_server(b));
  ::close(b);
  // A Metadata request whose topic array claims a billion entries.
  int c = raw_connect(server_.port());
  uint8_t meta[] = {0, 0, 0, 16, 0, 3, 0, 1, 0, 0, 0, 7, 0, 0, 0x40, 0, 0, 0, 0, 0};
  ASSERT_EQ(::write(c, meta, sizeof meta), static_cast<ssize_t>(sizeof meta));
  EXPECT_TRUE(closed_by_server(c));
  ::close(c);
  // Everyone else is still served.
  delivery_log dl;
  produce(server_.brokers(), "safe", make_messages(100, "safe"), {{"acks", "all"}}, dl, 0);
  EXPECT_TRUE(dl.errors.empty());
  EXPECT_EQ(consume_all(server_.brokers(), "safe", 1).size(), 100u);
}

class CompactionTest : public ::testing::Test {
 protected:
  sluice_process server_{{"--retention-check-ms", "200"}};
};

TEST_F(CompactionTest, KeyedTopicCompactsToTheLatestValuePerKeyWithEveryCodec) {
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    std::string topic = std::string("latest-") + codec;
    create_topic(server_.brokers(), topic, 1,
                 {{"cleanup.policy", "compact"}, {"segment.bytes", "512"}});
    std::vector<message> msgs;
    for (int round = 0; round < 50; ++round)
      for (int k = 0; k < 20; ++k)
        msgs.push_back({"key-" + std::to_string(k), "round-" + std::to_string(round), ""});
    delivery_log dl;
    produce(server_.brokers(), topic, msgs,
            {{"acks", "all"},
             {"compression.type", codec},
             {"linger.ms", "1"},
             {"batch.num.messages", "40"}},
            dl, 0);
    ASSERT_TRUE(dl.errors.empty()) << codec;
    std::vector<record> got;
    for (int i = 0; i < 30; ++i) {  // the compactor runs every 200 ms
      got = consume_all(server_.brokers(), topic, 1);
      if (got.size() < 500) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Only the active segment keeps overwritten values.
    ASSERT_LT(got.size(), 500u) << codec << ": most of the 1000 overwrites are gone";
    std::map<std::string, std::string> last;
    int64_t prev = -1;
    for (const auto& r : got) {
      EXPECT_GT(r.offset, prev) << "offset order holds";
      prev = r.offset;
      last[r.m.key] = r.m.value;
    }
    ASSERT_EQ(last.size(), 20u) << codec;
    for (const auto& [k, v] : last)
      EXPECT_EQ(v, "round-49") << codec << " " << k;
  }
}

class NoAutoCreateTest : public ::testing::Test {
 protected:
  sluice_process server_{{"--auto-create-topics", "false"}};
};

TEST_F(NoAutoCreateTest, UnknownTopicIsReported) {
  delivery_log dl;
  produce(server_.brokers(), "nope", {{"k", "v", "h"}},
          {{"acks", "1"}, {"message.timeout.ms", "3000"}}, dl, 0);
  ASSERT_EQ(dl.errors.size(), 1u);
  EXPECT_TRUE(dl.errors[0] == rd_kafka_err2str(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) ||
              dl.errors[0] == rd_kafka_err2str(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) ||
              dl.errors[0] == rd_kafka_err2str(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT))
      << dl.errors[0];
}

}  // namespace
}  // namespace sluice::test
