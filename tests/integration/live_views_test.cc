// Live push over Server-Sent Events and WebSocket against the started binary: views (snapshot
// then changes with sequence numbers; `every` mode: resume without gaps or duplicates, a fresh
// snapshot once the feed no longer holds the resume point, a slow subscriber disconnected with a
// reason while a fast one gets everything; `latest` mode: conflated resume, a stalled reader
// that catches up with every key's newest row; the compact encoding), topic tails and
// EMIT CHANGES queries.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <map>
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

  // Waits (up to 2 s) until SHOW VIEWS reports a view at sequence number `seq`.
  void wait_for_sequence(int64_t seq) {
    auto want = "\"sequence\":" + std::to_string(seq);
    for (int i = 0; i < 100 && post_sql("SHOW VIEWS").find(want) == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::string get(const std::string& target) {
    asio::io_context io;
    beast::tcp_stream s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), http_port_));
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "localhost");
    bhttp::write(s, req);
    beast::flat_buffer b;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, b, res);
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
  sse_client(uint16_t port, const std::string& target, const std::string& last_event_id = "",
             int rcvbuf = 0)
      : stream_(io_) {
    stream_.socket().open(tcp::v4());
    if (rcvbuf) stream_.socket().set_option(asio::socket_base::receive_buffer_size(rcvbuf));
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
        if (head_.find(" 200 ") == std::string::npos) return {};  // an error answer
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

// The sequence numbers of the changes in a changes message (object encoding), not the
// message's own.
std::vector<int64_t> seqs(const std::string& json) {
  std::vector<int64_t> out;
  static const std::regex re("\\{\"seq\":([0-9]+)");
  for (std::sregex_iterator it(json.begin(), json.end(), re), end; it != end; ++it)
    out.push_back(std::stoll((*it)[1]));
  return out;
}

const char* k_schema =
    "CREATE STREAM events (k VARCHAR, v BIGINT, pad VARCHAR) WITH (topic = 'events');";

// The change with sequence number `seq` in a changes message, as its JSON object text.
std::string change_text(const std::string& msg, int64_t seq) {
  auto at = msg.find("{\"seq\":" + std::to_string(seq) + ",");
  if (at == std::string::npos) return {};
  auto end = msg.find("}}", at);
  return msg.substr(at, end + 2 - at);
}

TEST_F(LiveViews, SseSendsSnapshotThenEveryChangeAndResumesWithoutGaps) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals WITH (feed_capacity = '4') AS "
           "SELECT k, SUM(v) AS total FROM events GROUP BY k");
  produce({R"({"k":"a","v":1})", R"({"k":"b","v":2})"});
  wait_for_sequence(2);

  sse_client c(http_port_, "/v1/views/totals/events?mode=every");
  auto snap = c.next();
  EXPECT_NE(c.head().find("text/event-stream"), std::string::npos);
  ASSERT_EQ(snap.type, "snapshot");
  EXPECT_EQ(snap.id, "2");
  EXPECT_NE(snap.data.find(R"("mode":"every")"), std::string::npos) << snap.data;
  EXPECT_NE(snap.data.find(R"({"k":"a","total":1},{"k":"b","total":2})"), std::string::npos);

  // Changes come as `changes` events whose id is the position they bring the reader to.
  auto read_changes = [](sse_client& from, size_t n, std::string& all, std::string& last_id) {
    std::vector<int64_t> got;
    while (got.size() < n) {
      auto e = from.next();
      if (e.type != "changes") {
        ADD_FAILURE() << "expected changes, got '" << e.type << "': " << e.data;
        break;
      }
      auto s = seqs(e.data);
      got.insert(got.end(), s.begin(), s.end());
      EXPECT_EQ(e.id, std::to_string(s.back()));
      last_id = e.id;
      all += e.data;
    }
    return got;
  };
  produce({R"({"k":"a","v":10})", R"({"k":"c","v":5})"});
  std::string all, id;
  EXPECT_EQ(read_changes(c, 2, all, id), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(id, "4");
  EXPECT_EQ(change_text(all, 3),
            R"({"seq":3,"op":"update","key":["a"],"row":{"k":"a","total":11}})");
  EXPECT_EQ(change_text(all, 4),
            R"({"seq":4,"op":"insert","key":["c"],"row":{"k":"c","total":5}})");

  // Gone for a while; back with Last-Event-ID: exactly what was missed, then what follows.
  produce({R"({"k":"b","v":1})", R"({"k":"d","v":7})"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sse_client again(http_port_, "/v1/views/totals/events?mode=every", "4");
  all.clear();
  EXPECT_EQ(read_changes(again, 2, all, id), (std::vector<int64_t>{5, 6}));
  produce({R"({"k":"a","v":100})"});
  all.clear();
  EXPECT_EQ(read_changes(again, 1, all, id), (std::vector<int64_t>{7}));
  EXPECT_EQ(change_text(all, 7),
            R"({"seq":7,"op":"update","key":["a"],"row":{"k":"a","total":111}})");

  // A resume point the feed (4 changes) no longer holds: a fresh snapshot instead.
  sse_client old(http_port_, "/v1/views/totals/events?mode=every&since=1");
  auto s = old.next();
  EXPECT_EQ(s.type, "snapshot");
  EXPECT_EQ(s.id, "7");
}

TEST_F(LiveViews, LatestModeResumeGetsEachKeysNewestChangeOnly) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals AS SELECT k, SUM(v) AS total FROM events GROUP BY k");
  produce({R"({"k":"a","v":1})", R"({"k":"b","v":2})"});
  wait_for_sequence(2);
  {
    sse_client c(http_port_, "/v1/views/totals/events");  // keyed: latest by default
    auto snap = c.next();
    EXPECT_NE(snap.data.find(R"("mode":"latest")"), std::string::npos) << snap.data;
    EXPECT_EQ(snap.id, "2");
  }
  produce({R"({"k":"a","v":10})"});  // 3
  wait_for_sequence(3);
  produce({R"({"k":"a","v":100})", R"({"k":"b","v":1})", R"({"k":"c","v":5})"});  // 4..6
  wait_for_sequence(6);
  sse_client back(http_port_, "/v1/views/totals/events", "2");
  auto e = back.next();
  ASSERT_EQ(e.type, "changes") << e.data;
  EXPECT_EQ(e.id, "6");
  // a's intermediate total (seq 3) is skipped: each key once, newest, in sequence order.
  EXPECT_EQ(seqs(e.data), (std::vector<int64_t>{4, 5, 6})) << e.data;
  EXPECT_NE(e.data.find(R"("key":["a"],"row":{"k":"a","total":111})"), std::string::npos);
  EXPECT_NE(e.data.find(R"("key":["b"],"row":{"k":"b","total":3})"), std::string::npos);
}

TEST_F(LiveViews, WebSocketSendsSnapshotThenChangesAndResumes) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals AS SELECT k, SUM(v) AS total FROM events GROUP BY k");
  produce({R"({"k":"a","v":1})"});
  wait_for_sequence(1);

  ws_client c(http_port_, "/v1/views/totals/ws?mode=every");
  auto snap = c.next();
  EXPECT_EQ(
      snap,
      R"({"type":"snapshot","seq":1,"mode":"every","encoding":"object","columns":["k","total"],"rows":[{"k":"a","total":1}],"keys":[["a"]]})");
  produce({R"({"k":"a","v":2})", R"({"k":"b","v":3})"});
  std::vector<int64_t> got;
  while (got.size() < 2) {
    auto m = c.next();
    ASSERT_FALSE(m.empty());
    auto s = seqs(m);
    ASSERT_FALSE(s.empty()) << m;
    EXPECT_EQ(
        m.rfind(R"({"type":"changes","seq":)" + std::to_string(s.back()) + R"(,"changes":[)", 0),
        0u)
        << m;
    got.insert(got.end(), s.begin(), s.end());
  }
  EXPECT_EQ(got, (std::vector<int64_t>{2, 3}));

  ws_client resumed(http_port_, "/v1/views/totals/ws?since=2&mode=every");
  auto m = resumed.next();
  EXPECT_EQ(
      m,
      R"({"type":"changes","seq":3,"changes":[{"seq":3,"op":"insert","key":["b"],"row":{"k":"b","total":3}}]})");
}

TEST_F(LiveViews, CompactEncodingSendsValuesAgainstTheSnapshotsColumns) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals AS SELECT k, SUM(v) AS total FROM events GROUP BY k");
  produce({R"({"k":"a","v":1})"});
  wait_for_sequence(1);
  ws_client c(http_port_, "/v1/views/totals/ws?encoding=compact");
  EXPECT_EQ(
      c.next(),
      R"({"type":"snapshot","seq":1,"mode":"latest","encoding":"compact","columns":["k","total"],"rows":[["a",1]],"keys":[["a"]]})");
  produce({R"({"k":"a","v":2})"});
  EXPECT_EQ(c.next(), R"({"type":"changes","seq":2,"changes":[[2,"u",["a"],["a",3]]]})");
}

TEST_F(LiveViews, BadSubscriptionsAreRefusedWithAReason) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW totals AS SELECT k, SUM(v) AS total FROM events GROUP BY k");
  for (const char* target :
       {"/v1/views/totals/events?mode=fastest", "/v1/views/totals/events?encoding=xml",
        "/v1/views/totals/events?since=x", "/v1/sql/events?sql=SELECT%201",
        "/v1/sql/events?sql=SELECT%20nope%20FROM%20events%20EMIT%20CHANGES"}) {
    sse_client c(http_port_, target);
    auto e = c.next(std::chrono::seconds(5));
    EXPECT_EQ(e.type, "") << target;
    EXPECT_NE(c.head().find("400 Bad Request"), std::string::npos) << target << ": " << c.head();
  }
}

TEST_F(LiveViews, TopicTailOverWebSocketAndSse) {
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
  sse_client sse(http_port_, "/v1/topics/events/events");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  produce({R"({"k":"b","v":2})"});
  auto live = from_end.next();
  EXPECT_NE(live.find(R"("offset":2,)"), std::string::npos) << live;
  EXPECT_EQ(live.find(R"("offset":0,)"), std::string::npos) << live;
  auto also = from_start.next();
  EXPECT_NE(also.find(R"("offset":2,)"), std::string::npos) << also;
  auto e = sse.next();
  EXPECT_EQ(e.type, "records");
  EXPECT_NE(e.data.find(R"("offset":2,)"), std::string::npos) << e.data;
  EXPECT_EQ(e.data.find(R"("offset":0,)"), std::string::npos) << e.data;
}

TEST_F(LiveViews, EmitChangesOverSseAndWebSocket) {
  post_sql(k_schema);
  sse_client sse(http_port_,
                 "/v1/sql/events?sql=SELECT+k%2C+v+FROM+events+WHERE+v+%3E+1+EMIT+CHANGES");
  ws_client ws(http_port_, "/v1/sql/ws?sql=SELECT%20k%20FROM%20events%20EMIT%20CHANGES");
  auto cols = sse.next();
  EXPECT_EQ(cols.type, "columns");
  EXPECT_EQ(cols.data, R"({"type":"columns","columns":["k","v"]})");
  EXPECT_EQ(ws.next(), R"({"type":"columns","columns":["k"]})");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  produce({R"({"k":"a","v":1})", R"({"k":"b","v":2})"});
  std::string from_sse;
  while (from_sse.find(R"("k":"b")") == std::string::npos) {
    auto e = sse.next();
    ASSERT_EQ(e.type, "changes") << from_sse;
    from_sse += e.data;
  }
  EXPECT_EQ(from_sse,
            R"({"type":"changes","changes":[{"change":"insert","row":{"k":"b","v":2}}]})");
  std::string from_ws;
  while (from_ws.find(R"("k":"b")") == std::string::npos) {
    auto m = ws.next();
    ASSERT_FALSE(m.empty()) << from_ws;
    from_ws += m;
  }
  EXPECT_NE(from_ws.find(R"({"change":"insert","row":{"k":"a"}})"), std::string::npos) << from_ws;
}

// A subscriber that stops reading while a busy keyed view changes 20,000 times (far more than
// the fan-out keeps, and than the view's feed holds), then reads again: in `latest` mode it is
// never cut off, and it ends with every key's newest row, having been sent fewer changes than
// were made.
TEST_F(LiveViews, LatestSubscriberThatStallsCatchesUpWithEveryKeysNewestRow) {
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW newest AS SELECT k, MAX(v) AS v, MAX(pad) AS pad FROM events "
           "GROUP BY k");
  sse_client stalled(http_port_, "/v1/views/newest/events", "", 4096);
  ASSERT_EQ(stalled.next().type, "snapshot");
  const int n = 20'000, keys = 200;
  std::string pad(1000, 'x');
  std::vector<std::string> values;
  std::map<std::string, int64_t> want;
  for (int i = 0; i < n; ++i) {
    std::string k = "k" + std::to_string(i % keys);
    values.push_back(R"({"k":")" + k + R"(","v":)" + std::to_string(i) + R"(,"pad":")" + pad +
                     "\"}");
    want[k] = i;
  }
  for (size_t i = 0; i < values.size(); i += 1000)
    produce(std::vector<std::string>(
        values.begin() + static_cast<long>(i),
        values.begin() + static_cast<long>(std::min(values.size(), i + 1000))));
  // The view has the last record once its key's row says so; its sequence number then is the
  // position a reader that caught up is at (changes within a batch are merged per key, so it
  // counts fewer changes than records).
  static const std::regex seq_re(R"re("sequence":([0-9]+))re");
  int64_t view_seq = 0;
  for (int i = 0; i < 500; ++i) {
    auto body = get("/v1/views/newest?key=k199");
    std::smatch m;
    if (body.find("\"v\":19999") != std::string::npos && std::regex_search(body, m, seq_re)) {
      view_seq = std::stoll(m[1]);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(view_seq, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // stalled for a while longer

  static const std::regex change_re(
      R"re("key":\["(k[0-9]+)"\],"row":\{"k":"k[0-9]+","v":([0-9]+))re");
  std::map<std::string, int64_t> got;
  int64_t changes = 0, position = 0;
  while (got != want) {
    auto e = stalled.next();
    ASSERT_NE(e.type, "") << "closed or silent with " << got.size() << " keys, " << changes
                          << " changes";
    ASSERT_NE(e.type, "error") << e.data;
    if (e.type != "changes" && e.type != "snapshot") continue;
    ASSERT_GE(std::stoll(e.id), position) << "positions only move forward";
    position = std::stoll(e.id);
    for (std::sregex_iterator it(e.data.begin(), e.data.end(), change_re), end; it != end; ++it) {
      got[(*it)[1]] = std::stoll((*it)[2]);
      ++changes;
    }
  }
  EXPECT_LT(changes, view_seq) << "conflated: fewer changes sent than the view made";
  EXPECT_EQ(position, view_seq);
}

TEST_F(LiveViews, SlowEverySubscriberIsDisconnectedAndOthersGetEverything) {
  server_.reset();
  start({"--http-max-subscriber-bytes", "524288"});
  post_sql(std::string(k_schema) +
           "CREATE MATERIALIZED VIEW latest WITH (feed_capacity = '2000') AS "
           "SELECT k, MAX(pad) AS pad FROM events GROUP BY k");
  ws_client slow(http_port_, "/v1/views/latest/ws?mode=every", 4096);
  ws_client fast(http_port_, "/v1/views/latest/ws?mode=every");
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
  EXPECT_NE(std::string(slow.reason().reason.c_str()).find("fell behind further than the view"),
            std::string::npos)
      << slow.reason().reason.c_str();
}

}  // namespace
}  // namespace sluice::test
