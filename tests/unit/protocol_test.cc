// Request decoding and response encoding, driven through the same entry point connections use.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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

}  // namespace
}  // namespace sluice::kafka
