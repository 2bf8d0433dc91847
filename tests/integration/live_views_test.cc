// Live push of views over Server-Sent Events and WebSocket against the started binary:
// snapshot then changes with sequence numbers, resume without gaps or duplicates, a fresh
// snapshot once the feed no longer holds the resume point, and a slow subscriber
// disconnected with a reason while a fast one gets everything.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <regex>
#include <thread>

#include "tests/integration/client_util.h"
#include "tests/integration/sluice_process.h"

namespace sluice::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class LiveViews : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(std::vector<std::string> extra) {
    http_port_ = free_port();
    extra.insert(extra.end(), {"--http-addr", "127.0.0.1:" + std::to_string(http_port_)});
    server_ = std::make_unique<sluice_process>(extra);
    for (int i = 0; i < 200 && !can_connect(http_port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::string post_sql(const std::string& sql) {
    asio::io_context io;
    beast::tcp_stream s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), http_port_));
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/sql", 11};
    req.set(bhttp::field::host, "localhost");
    req.body() = sql;
    req.prepare_payload();
    bhttp::write(s, req);
    beast::flat_buffer b;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, b, res);
    EXPECT_EQ(res.result_int(), 200u) << res.body();
    return res.body();
  }

  void produce(const std::vector<std::string>& values) {
    std::vector<message> msgs;
    for (const auto& v : values)
      msgs.push_back({"key", v, "h"});
    delivery_log dl;
    test::produce(server_->brokers(), "events", msgs, {{"linger.ms", "5"}}, dl, 0);
  }

  std::unique_ptr<sluice_process> server_;
  uint16_t http_port_ = 0;
};

// Reads Server-Sent Events from one connection.
class sse_client {
 public:
  sse_client(uint16_t port, const std::string& target, const std::string& last_event_id = "")
      : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
    req += "\r\n";
    asio::write(stream_.socket(), asio::buffer(req));
  }

  struct event {
    std::string id, type, data;
  };

  // The next event (skipping the response head and comments); type "" on timeout or close.
  event next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!head_done_) {
        auto end = buf_.find("\r\n\r\n");
        if (end != std::string::npos) {
          head_ = buf_.substr(0, end);
          buf_.erase(0, end + 4);
          head_done_ = true;
          continue;
        }
      } else if (auto end = buf_.find("\n\n"); end != std::string::npos) {
        std::string block = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        event e;
        std::istringstream in(block);
        for (std::string line; std::getline(in, line);) {
          if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
          if (line.rfind("event: ", 0) == 0) e.type = line.substr(7);
          if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
        }
        if (!e.type.empty()) return e;
        continue;  // a comment (ping)
      }
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::milliseconds(0)) return {};
      stream_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
      char b[4096];
      beast::error_code ec;
      size_t n = stream_.read_some(asio::buffer(b), ec);
      if (ec) return {};
      buf_.append(b, n);
    }
  }
  const std::string& head() const { return head_; }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  std::string buf_, head_;
  bool head_done_ = false;
};

class ws_client {
 public:
  ws_client(uint16_t port, const std::string& target, int rcvbuf = 0) : ws_(io_) {
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.open(tcp::v4());
    if (rcvbuf) sock.set_option(asio::socket_base::receive_buffer_size(rcvbuf));
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    ws_.handshake("localhost", target);
  }
  // The next message, or "" with `ec` set.
  std::string next(beast::error_code& ec) {
    beast::flat_buffer b;
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(20));
    ws_.read(b, ec);
    return ec ? std::string() : beast::buffers_to_string(b.data());
  }
  std::string next() {
    beast::error_code ec;
    return next(ec);
  }
  websocket::close_reason reason() const { return ws_.reason(); }

 private:
  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
};

std::vector<int64_t> seqs(const std::string& json) {
  std::vector<int64_t> out;
  static const std::regex re("\"seq\":([0-9]+)");
  for (std::sregex_iterator it(json.begin(), json.end(), re), end; it != end; ++it)
    out.push_back(std::stoll((*it)[1]));
  return out;
}

const char* k_schema =
    "CREATE STREAM events (k VARCHAR, v BIGINT, pad VARCHAR) WITH (topic = 'events');";

TEST_F(LiveViews, SseSendsSnapshotThenChangesAndResumesWithoutGaps) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals WITH (feed_capacity = '4') AS "
           "SELECT k, SUM(v) AS total FROM events GROUP BY k");
  produce({R"({"k":"a","v":1})", R"({"k":"b","v":2})"});
  for (int i = 0; i < 100 && post_sql("SHOW VIEWS").find("\"sequence\":2") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));

  sse_client c(http_port_, "/v1/views/totals/events");
  auto snap = c.next();
  EXPECT_NE(c.head().find("text/event-stream"), std::string::npos);
  ASSERT_EQ(snap.type, "snapshot");
  EXPECT_EQ(snap.id, "2");
  EXPECT_NE(snap.data.find(R"({"k":"a","total":1},{"k":"b","total":2})"), std::string::npos);

  produce({R"({"k":"a","v":10})", R"({"k":"c","v":5})"});
  auto e3 = c.next();
  auto e4 = c.next();
  ASSERT_EQ(e3.type, "change");
  EXPECT_EQ(e3.id, "3");
  EXPECT_EQ(e3.data, R"({"seq":3,"op":"update","key":["a"],"row":{"k":"a","total":11}})");
  EXPECT_EQ(e4.id, "4");
  EXPECT_EQ(e4.data, R"({"seq":4,"op":"insert","key":["c"],"row":{"k":"c","total":5}})");

  // Gone for a while; back with Last-Event-ID: exactly what was missed.
  produce({R"({"k":"b","v":1})", R"({"k":"d","v":7})"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sse_client again(http_port_, "/v1/views/totals/events", "4");
  auto r5 = again.next();
  auto r6 = again.next();
  EXPECT_EQ(r5.type, "change");
  EXPECT_EQ(r5.id, "5");
  EXPECT_EQ(r6.id, "6");
  produce({R"({"k":"a","v":100})"});
  auto r7 = again.next();
  EXPECT_EQ(r7.id, "7");
  EXPECT_EQ(r7.data, R"({"seq":7,"op":"update","key":["a"],"row":{"k":"a","total":111}})");

  // A resume point the feed (4 changes) no longer holds: a fresh snapshot instead.
  sse_client old(http_port_, "/v1/views/totals/events?since=1");
  auto s = old.next();
  EXPECT_EQ(s.type, "snapshot");
  EXPECT_EQ(s.id, "7");
}

TEST_F(LiveViews, WebSocketSendsSnapshotThenChangesAndResumes) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals AS SELECT k, SUM(v) AS total FROM events GROUP BY k");
  produce({R"({"k":"a","v":1})"});
  for (int i = 0; i < 100 && post_sql("SHOW VIEWS").find("\"sequence\":1") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));

  ws_client c(http_port_, "/v1/views/totals/ws");
  auto snap = c.next();
  EXPECT_EQ(
      snap,
      R"({"type":"snapshot","seq":1,"columns":["k","total"],"rows":[{"k":"a","total":1}],"keys":[["a"]]})");
  produce({R"({"k":"a","v":2})", R"({"k":"b","v":3})"});
  std::vector<int64_t> got;
  while (got.size() < 2) {
    auto m = c.next();
    ASSERT_FALSE(m.empty());
    EXPECT_EQ(m.rfind(R"({"type":"changes","changes":[)", 0), 0u) << m;
    for (auto s : seqs(m))
      got.push_back(s);
  }
  EXPECT_EQ(got, (std::vector<int64_t>{2, 3}));

  ws_client resumed(http_port_, "/v1/views/totals/ws?since=2");
  auto m = resumed.next();
  EXPECT_EQ(
      m,
      R"({"type":"changes","changes":[{"seq":3,"op":"insert","key":["b"],"row":{"k":"b","total":3}}]})");
}

TEST_F(LiveViews, TopicTailOverWebSocket) {
  post_sql(k_schema);  // creates the topic
  produce({R"({"k":"a","v":1})", "not json \xff"});
  ws_client from_start(http_port_, "/v1/topics/events/ws?from=beginning");
  std::string got;
  for (int i = 0; i < 10 && got.find("\"offset\":1,") == std::string::npos; ++i)
    got += from_start.next();
  EXPECT_NE(got.find(R"({"partition":0,"offset":0,)"), std::string::npos) << got;
  EXPECT_NE(got.find(R"("key":"key","value":{"k":"a","v":1}})"), std::string::npos) << got;
  // Not JSON: a JSON string, with the invalid byte as U+FFFD.
  EXPECT_NE(got.find("\"value\":\"not json \xEF\xBF\xBD\""), std::string::npos) << got;

  ws_client from_end(http_port_, "/v1/topics/events/ws");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  produce({R"({"k":"b","v":2})"});
  auto live = from_end.next();
  EXPECT_NE(live.find(R"("offset":2,)"), std::string::npos) << live;
  EXPECT_EQ(live.find(R"("offset":0,)"), std::string::npos) << live;
  auto also = from_start.next();
  EXPECT_NE(also.find(R"("offset":2,)"), std::string::npos) << also;
}

TEST_F(LiveViews, SlowSubscriberIsDisconnectedAndOthersGetEverything) {
  server_.reset();
  start({"--http-max-subscriber-bytes", "524288"});
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW latest AS SELECT k, MAX(pad) AS pad FROM events GROUP BY k");
  ws_client slow(http_port_, "/v1/views/latest/ws", 4096);
  ws_client fast(http_port_, "/v1/views/latest/ws");
  EXPECT_NE(fast.next().find("\"snapshot\""), std::string::npos);

  const int n = 20'000;
  std::string pad(1000, 'x');
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i)
    values.push_back(R"({"k":"k)" + std::to_string(i) + R"(","v":1,"pad":")" + pad + "\"}");
  // In bursts of 100 changes (100 KB), each once the reading client has seen all but the last
  // two bursts, so that it stays well within the 512 KB a subscriber may lag however slow the
  // machine (sanitizers); the one that does not read falls behind by far more than the
  // kernel's socket buffers hold.
  std::atomic<int64_t> seen{0};
  std::thread producer([&] {
    for (size_t i = 0; i < values.size(); i += 100) {
      for (int w = 0; w < 3000 && seen.load() + 200 < static_cast<int64_t>(i); ++w)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      produce(std::vector<std::string>(
          values.begin() + static_cast<long>(i),
          values.begin() + static_cast<long>(std::min(values.size(), i + 100))));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  int64_t last = 0;
  while (last < n) {
    beast::error_code ec;
    auto m = fast.next(ec);
    if (m.empty()) producer.join();
    ASSERT_FALSE(m.empty()) << "the fast subscriber stopped at " << last << ": " << ec.message();
    auto s = seqs(m);
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(s.front(), last + 1) << "gap or duplicate";
    last = s.back();
    seen = last;
  }
  producer.join();

  // The slow one reads what was buffered, then finds the close and its reason.
  beast::error_code ec;
  for (int i = 0; i < 100'000 && !ec; ++i)
    slow.next(ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(slow.reason().code, websocket::close_code::policy_error);
  EXPECT_NE(std::string(slow.reason().reason.c_str()).find("fell more than 524288 bytes behind"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::test
