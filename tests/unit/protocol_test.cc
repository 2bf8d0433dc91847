// Request decoding and response encoding, driven through the same entry point connections use.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "group/coordinator.h"
#include "group/transaction_coordinator.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"
#include "kafka/server.h"
#include "log/log.h"
#include "tests/unit/batch_builder.h"

namespace sluice::kafka {
namespace {

namespace fs = std::filesystem;

class ProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-proto-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log::log_options o;
    o.data_dir = dir_;
    auto l = log::log::open(o);
    ASSERT_TRUE(l.ok());
    log_ = std::move(*l);
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(dir_);
  }

  // A request frame: header v1 (or v2 when `flexible`), then the body written by `body`.
  template <class F>
  bytes request(int16_t key, int16_t version, bool flexible, F body) {
    bytes out;
    writer w(out);
    w.i16(key);
    w.i16(version);
    w.i32(1234);
    w.string("test-client");
    if (flexible) {
      w.set_flexible(true);
      w.tagged_fields();
    }
    body(w);
    return out;
  }

  bytes send(bytes frame) {
    return handle_frame_for_test(server_config{}, *log_, std::move(frame));
  }

  fs::path dir_;
  std::unique_ptr<log::log> log_;
};

TEST(Codec, VarintsAndCompactTypesRoundTrip) {
  bytes out;
  writer w(out, true);
  for (uint32_t v : {0u, 1u, 127u, 128u, 16383u, 16384u, 0xFFFFFFFFu})
    w.uvarint(v);
  w.string("héllo");
  w.nullable_string(std::nullopt);
  w.array_len(3);
  reader r(out, true);
  for (uint32_t v : {0u, 1u, 127u, 128u, 16383u, 16384u, 0xFFFFFFFFu})
    EXPECT_EQ(r.uvarint(), v);
  EXPECT_EQ(r.string(), "héllo");
  EXPECT_FALSE(r.nullable_string().has_value());
  EXPECT_THROW(r.array_len(), decode_error) << "3 elements cannot fit in 0 bytes";
}

TEST(Codec, OverlongVarintIsRejected) {
  bytes b(6, 0xFF);
  reader r(b, true);
  EXPECT_THROW(r.uvarint(), decode_error);
}

TEST_F(ProtocolTest, ApiVersionsListsWhatClientsNeed) {
  auto resp = send(request(18, 3, true, [](writer& w) {
    w.string("librdkafka");
    w.string("2.0.2");
    w.tagged_fields();
  }));
  reader r(resp);
  EXPECT_EQ(r.i32(), static_cast<int32_t>(resp.size() - 4));
  EXPECT_EQ(r.i32(), 1234);
  r.set_flexible(true);  // ApiVersions: response header v0, flexible body
  EXPECT_EQ(r.i16(), 0);
  int32_t n = r.array_len();
  std::map<int16_t, std::pair<int16_t, int16_t>> apis;
  for (int32_t i = 0; i < n; ++i) {
    int16_t k = r.i16(), lo = r.i16(), hi = r.i16();
    r.tagged_fields();
    apis[k] = {lo, hi};
  }
  ASSERT_TRUE(apis.contains(0));
  EXPECT_LE(apis[0].first, 3);  // Produce v3 (record batch v2)
  ASSERT_TRUE(apis.contains(1));
  EXPECT_LE(apis[1].first, 4);  // Fetch v4
  ASSERT_TRUE(apis.contains(10));
  EXPECT_EQ(apis[10].first, 0);  // FindCoordinator v0
  EXPECT_EQ(r.i32(), 0);         // throttle
  r.tagged_fields();
  EXPECT_EQ(r.remaining(), 0u);
}

TEST_F(ProtocolTest, TooNewApiVersionsGetsUnsupportedVersionWithTheList) {
  auto resp = send(request(18, 42, true, [](writer&) {}));
  reader r(resp);
  r.i32();
  EXPECT_EQ(r.i32(), 1234);
  EXPECT_EQ(r.i16(), code(error_code::unsupported_version));
  EXPECT_GT(r.array_len(), 5);
}

TEST_F(ProtocolTest, UnknownApiOrVersionIsRejected) {
  EXPECT_THROW(send(request(999, 0, false, [](writer&) {})), decode_error);
  EXPECT_THROW(send(request(3, 99, false, [](writer&) {})), decode_error);
  EXPECT_THROW(send(request(0, 2, false, [](writer&) {})), decode_error)
      << "Produce v2 (old message format) is below the supported range";
}

TEST_F(ProtocolTest, TruncatedAndHostileRequestsAreDecodeErrors) {
  // Metadata v1 with an array count far beyond the bytes present.
  EXPECT_THROW(send(request(3, 1, false, [](writer& w) { w.i32(1 << 30); })), decode_error);
  // Metadata v4 that ends before allow_auto_topic_creation.
  EXPECT_THROW(send(request(3, 4, false, [](writer& w) { w.i32(0); })), decode_error);
  // Trailing bytes are tolerated (Kafka does; some clients send them).
  EXPECT_NO_THROW(send(request(3, 1, false, [](writer& w) {
    w.i32(0);
    w.i32(7);
  })));
  // A header that ends inside the client id.
  bytes short_header = {0, 3, 0, 1, 0, 0, 0, 1, 0, 9, 'a'};
  EXPECT_THROW(send(short_header), decode_error);
}

TEST_F(ProtocolTest, MetadataAutoCreatesAndRejectsIllegalNames) {
  auto resp = send(request(3, 12, true, [](writer& w) {
    w.array_len(2);
    w.write_uuid({});
    w.nullable_string("fresh-topic");
    w.tagged_fields();
    w.write_uuid({});
    w.nullable_string("no/slashes");
    w.tagged_fields();
    w.boolean(true);  // allow auto create
    w.boolean(false);
    w.tagged_fields();
  }));
  ASSERT_NE(log_->find_topic("fresh-topic"), nullptr);
  reader r(resp, true);
  r.i32();
  r.i32();
  r.tagged_fields();
  r.i32();                      // throttle
  EXPECT_EQ(r.array_len(), 1);  // brokers
  r.i32();
  r.string();
  r.i32();
  r.nullable_string();
  r.tagged_fields();
  EXPECT_EQ(r.nullable_string(), "sluice");
  r.i32();
  EXPECT_EQ(r.array_len(), 2);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_EQ(r.nullable_string(), "fresh-topic");
  r.read_uuid();
  r.boolean();
  EXPECT_EQ(r.array_len(), 1);  // one partition by default
  for (int i = 0; i < 2; ++i) {
    r.i16();
    r.i32();
    r.i32();
    r.i32();
    for (int k = 0; k < 3; ++k) {
      int32_t n = r.array_len();
      for (int j = 0; j < n; ++j)
        r.i32();
    }
    r.tagged_fields();
    if (i == 0) {
      r.i32();
      r.tagged_fields();
      EXPECT_EQ(r.i16(), code(error_code::invalid_topic_exception));
      EXPECT_EQ(r.nullable_string(), "no/slashes");
      r.read_uuid();
      r.boolean();
      EXPECT_EQ(r.array_len(), 0);
      break;
    }
  }
}

TEST_F(ProtocolTest, ProduceAnswersCorruptMessageForABadCrc) {
  ASSERT_TRUE(log_->create_topic("t", 1, {}).ok());
  auto batch = test::build_batch({"payload"});
  batch[batch.size() - 2] ^= 0x40;
  auto resp = send(request(0, 7, false, [&](writer& w) {
    w.nullable_string(std::nullopt);
    w.i16(1);
    w.i32(1000);
    w.array_len(1);
    w.string("t");
    w.array_len(1);
    w.i32(0);
    w.bytes_len(batch.size());
    std::copy(batch.begin(), batch.end(), w.grow(batch.size()));
  }));
  reader r(resp);
  r.i32();
  r.i32();
  EXPECT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "t");
  EXPECT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i16(), code(error_code::corrupt_message));
  EXPECT_EQ(log_->find_topic("t")->get(0)->high_watermark().value(), 0);
}

TEST_F(ProtocolTest, ProduceAcksZeroHasNoResponseButAppends) {
  ASSERT_TRUE(log_->create_topic("t", 1, {}).ok());
  auto batch = test::build_batch({"fire", "and", "forget"});
  auto resp = send(request(0, 9, true, [&](writer& w) {
    w.nullable_string(std::nullopt);
    w.i16(0);
    w.i32(1000);
    w.array_len(1);
    w.string("t");
    w.array_len(1);
    w.i32(0);
    w.bytes_len(batch.size());
    std::copy(batch.begin(), batch.end(), w.grow(batch.size()));
    w.tagged_fields();
    w.tagged_fields();
    w.tagged_fields();
  }));
  EXPECT_TRUE(resp.empty());
  EXPECT_EQ(log_->find_topic("t")->get(0)->high_watermark().value(), 3);
}

TEST_F(ProtocolTest, GroupApisWithoutACoordinatorSayCoordinatorNotAvailable) {
  auto resp = send(request(11, 0, false, [](writer& w) {
    w.string("g");
    w.i32(10000);
    w.string("");
    w.string("consumer");
    w.array_len(1);
    w.string("range");
    w.bytes_field(bytes{0, 1});
  }));
  reader r(resp);
  r.i32();
  r.i32();
  EXPECT_EQ(r.i16(), code(error_code::coordinator_not_available));
}

// The transaction APIs and the admin APIs beside them, byte for byte, against real coordinators.
class TransactionProtocolTest : public ProtocolTest {
 protected:
  void SetUp() override {
    ProtocolTest::SetUp();
    auto g = group::coordinator::open(*log_, {});
    ASSERT_TRUE(g.ok());
    groups_ = std::move(*g);
    auto t = group::transaction_coordinator::open(*log_, *groups_, {});
    ASSERT_TRUE(t.ok());
    txns_ = std::move(*t);
    ASSERT_TRUE(log_->create_topic("t", 2, {}).ok());
  }
  void TearDown() override {
    txns_.reset();
    groups_.reset();
    ProtocolTest::TearDown();
  }
  // The response body after its header (v1 when `flexible`).
  reader call(bytes frame, bool flexible) {
    last_ = handle_frame_for_test(server_config{}, *log_, std::move(frame), 5000,
                                  {groups_.get(), txns_.get()});
    reader r(last_, flexible);
    r.i32();                   // size
    EXPECT_EQ(r.i32(), 1234);  // correlation id
    if (flexible) r.tagged_fields();
    return r;
  }

  std::unique_ptr<group::coordinator> groups_;
  std::unique_ptr<group::transaction_coordinator> txns_;
  bytes last_;
};

TEST_F(TransactionProtocolTest, TransactionLifecycleOverTheWire) {
  // InitProducerId v4 (flexible) with a transactional id.
  auto r = call(request(22, 4, true,
                        [](writer& w) {
                          w.nullable_string("tx-a");
                          w.i32(60000);
                          w.i64(-1);
                          w.i16(-1);
                          w.tagged_fields();
                        }),
                true);
  EXPECT_EQ(r.i32(), 0);
  ASSERT_EQ(r.i16(), 0);
  int64_t pid = r.i64();
  int16_t epoch = r.i16();
  EXPECT_GE(pid, 0);
  EXPECT_EQ(epoch, 0);

  // AddPartitionsToTxn v3: one known partition and one unknown topic: nothing is added.
  r = call(request(24, 3, true,
                   [&](writer& w) {
                     w.string("tx-a");
                     w.i64(pid);
                     w.i16(epoch);
                     w.array_len(2);
                     w.string("t");
                     w.array_len(1);
                     w.i32(1);
                     w.tagged_fields();
                     w.string("missing");
                     w.array_len(1);
                     w.i32(0);
                     w.tagged_fields();
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  ASSERT_EQ(r.array_len(), 2);
  EXPECT_EQ(r.string(), "t");
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i32(), 1);
  EXPECT_EQ(r.i16(), code(error_code::operation_not_attempted));
  r.tagged_fields();
  r.tagged_fields();
  EXPECT_EQ(r.string(), "missing");
  r.array_len();
  r.i32();
  EXPECT_EQ(r.i16(), code(error_code::unknown_topic_or_partition));

  // Now only the known partition: added, and DescribeTransactions shows it Ongoing.
  r = call(request(24, 3, true,
                   [&](writer& w) {
                     w.string("tx-a");
                     w.i64(pid);
                     w.i16(epoch);
                     w.array_len(1);
                     w.string("t");
                     w.array_len(1);
                     w.i32(1);
                     w.tagged_fields();
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  r.array_len();
  r.string();
  r.array_len();
  r.i32();
  EXPECT_EQ(r.i16(), 0);

  r = call(request(65, 0, true,
                   [](writer& w) {
                     w.array_len(2);
                     w.string("tx-a");
                     w.string("nobody");
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  ASSERT_EQ(r.array_len(), 2);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_EQ(r.string(), "tx-a");
  EXPECT_EQ(r.string(), "Ongoing");
  EXPECT_EQ(r.i32(), 60000);
  EXPECT_GT(r.i64(), 0);  // start time
  EXPECT_EQ(r.i64(), pid);
  EXPECT_EQ(r.i32(), epoch);
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "t");
  ASSERT_EQ(r.array_len(4), 1);
  EXPECT_EQ(r.i32(), 1);
  r.tagged_fields();
  r.tagged_fields();
  EXPECT_EQ(r.i16(), code(error_code::transactional_id_not_found));

  // EndTxn v3 with an older epoch is fenced; with the right one it commits, and a retry of
  // the same commit answers ok.
  auto end_txn = [&](int16_t e, bool commit) {
    auto rr = call(request(26, 3, true,
                           [&](writer& w) {
                             w.string("tx-a");
                             w.i64(pid);
                             w.i16(e);
                             w.boolean(commit);
                             w.tagged_fields();
                           }),
                   true);
    rr.i32();
    return rr.i16();
  };
  EXPECT_EQ(end_txn(static_cast<int16_t>(epoch - 1), true), code(error_code::producer_fenced));
  EXPECT_EQ(end_txn(epoch, true), 0);
  EXPECT_EQ(end_txn(epoch, true), 0) << "a retried commit";
  EXPECT_EQ(end_txn(epoch, false), code(error_code::invalid_txn_state));
  EXPECT_EQ(log_->find_topic("t")->get(1)->high_watermark().value(), 1) << "the commit marker";

  // ListTransactions v1 filtered by state.
  r = call(request(66, 1, true,
                   [](writer& w) {
                     w.array_len(2);
                     w.string("CompleteCommit");
                     w.string("Bogus");
                     w.array_len(0);
                     w.i64(-1);
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  EXPECT_EQ(r.i16(), 0);
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "Bogus");
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "tx-a");
  EXPECT_EQ(r.i64(), pid);
  EXPECT_EQ(r.string(), "CompleteCommit");

  // DescribeProducers v0: the partition knows the producer, nothing open.
  r = call(request(61, 0, true,
                   [](writer& w) {
                     w.array_len(1);
                     w.string("t");
                     w.array_len(1);
                     w.i32(1);
                     w.tagged_fields();
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "t");
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i32(), 1);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_FALSE(r.nullable_string().has_value());
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i64(), pid);
  EXPECT_EQ(r.i32(), epoch);
  r.i32();
  r.i64();
  r.i32();
  EXPECT_EQ(r.i64(), -1) << "no open transaction";
}

TEST_F(TransactionProtocolTest, OffsetFetchV8AnswersSeveralGroups) {
  std::promise<errc> done;
  group::commit_request c;
  c.group_id = "g1";
  c.offsets.push_back({{"t", 0}, {.offset = 42}});
  groups_->commit(c, [&](errc e, group::partition_errors) { done.set_value(e); });
  ASSERT_EQ(done.get_future().get(), errc::ok);
  auto r = call(request(9, 8, true,
                        [](writer& w) {
                          w.array_len(2);
                          w.string("g1");
                          w.null_array();  // every partition
                          w.tagged_fields();
                          w.string("g2");
                          w.null_array();
                          w.tagged_fields();
                          w.boolean(true);  // require_stable
                          w.tagged_fields();
                        }),
                true);
  EXPECT_EQ(r.i32(), 0);
  ASSERT_EQ(r.array_len(), 2);
  EXPECT_EQ(r.string(), "g1");
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "t");
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i64(), 42);
  r.i32();
  r.nullable_string();
  EXPECT_EQ(r.i16(), 0);
  r.tagged_fields();
  r.tagged_fields();
  EXPECT_EQ(r.i16(), 0);
  r.tagged_fields();
  EXPECT_EQ(r.string(), "g2");
  EXPECT_EQ(r.array_len(), 0);
  EXPECT_EQ(r.i16(), 0);
}

TEST_F(TransactionProtocolTest, AdminApisToolsCallBesideProduceAndFetch) {
  // DescribeCluster v1: this broker, its own controller.
  auto r = call(request(60, 1, true,
                        [](writer& w) {
                          w.boolean(false);
                          w.i8(1);
                          w.tagged_fields();
                        }),
                true);
  r.i32();
  EXPECT_EQ(r.i16(), 0);
  EXPECT_FALSE(r.nullable_string().has_value());
  EXPECT_EQ(r.i8(), 1);
  EXPECT_EQ(r.string(), "sluice");
  EXPECT_EQ(r.i32(), 1);
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i32(), 1);

  // DescribeLogDirs v4 for topic t: one directory, both partitions, file system sizes.
  auto batch = test::build_batch({"hello"});
  ASSERT_TRUE(log_->find_topic("t")->get(0)->append(batch, 1'700'000'000'000).ok());
  r = call(request(35, 4, true,
                   [](writer& w) {
                     w.array_len(1);
                     w.string("t");
                     w.array_len(2);
                     w.i32(0);
                     w.i32(1);
                     w.tagged_fields();
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  EXPECT_EQ(r.i16(), 0);
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_NE(r.string().find("sluice-proto-test"), std::string::npos);
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "t");
  ASSERT_EQ(r.array_len(), 2);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_GT(r.i64(), 60) << "partition 0 holds a batch";
  r.i64();
  r.boolean();
  r.tagged_fields();
  EXPECT_EQ(r.i32(), 1);
  EXPECT_EQ(r.i64(), 0);
  r.i64();
  r.boolean();
  r.tagged_fields();
  r.tagged_fields();
  EXPECT_GT(r.i64(), 0);  // total bytes
  EXPECT_GT(r.i64(), 0);  // usable bytes

  // OffsetForLeaderEpoch v4: epoch 0 ends at the log end; a later epoch is unknown.
  r = call(request(23, 4, true,
                   [](writer& w) {
                     w.i32(-1);
                     w.array_len(1);
                     w.string("t");
                     w.array_len(2);
                     for (int32_t epoch : {0, 5}) {
                       w.i32(0);
                       w.i32(-1);
                       w.i32(epoch);
                       w.tagged_fields();
                     }
                     w.tagged_fields();
                     w.tagged_fields();
                   }),
           true);
  r.i32();
  ASSERT_EQ(r.array_len(), 1);
  EXPECT_EQ(r.string(), "t");
  ASSERT_EQ(r.array_len(), 2);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i64(), 1);
  r.tagged_fields();
  EXPECT_EQ(r.i16(), 0);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i32(), -1);
  EXPECT_EQ(r.i64(), -1);
}
}  // namespace
}  // namespace sluice::kafka
