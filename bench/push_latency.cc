// push_latency: latency from a record's produce call to its change arriving at WebSocket
// subscribers of a view, with many subscribers at once; and the server's memory per idle
// subscriber.
//
//   push_latency --brokers HOST:PORT --http HOST:PORT --pid SERVER_PID
//                [--subscribers 1000] [--rate 10000] [--seconds 10] [--idle 10000]
//
// Every subscriber receives every change; latency is measured on 20 of them (spread over the
// set) so that this client keeps up with the others' bytes on a small machine.

#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

long rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::string post(asio::io_context& io, const tcp::endpoint& ep, const std::string& sql) {
  beast::tcp_stream s(io);
  s.connect(ep);
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, "/v1/sql", 11};
  req.set(beast::http::field::host, "localhost");
  req.body() = sql;
  req.prepare_payload();
  beast::http::write(s, req);
  beast::flat_buffer b;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(s, b, res);
  return res.body();
}

struct sub : std::enable_shared_from_this<sub> {
  explicit sub(asio::io_context& io) : ws(io) {}
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
  bool measure = false;
  std::vector<int64_t>* latencies = nullptr;
  int64_t messages = 0;

  void read() {
    ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      ++self->messages;
      if (self->measure) {
        int64_t t = now_us();
        auto s = beast::buffers_to_string(self->buf.data());
        for (size_t p = 0; (p = s.find("\"sent\":", p)) != std::string::npos; p += 7)
          self->latencies->push_back(t - std::stoll(s.substr(p + 7)));
      }
      self->buf.consume(self->buf.size());
      self->read();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092", http = "127.0.0.1:8080";
  int pid = 0, subscribers = 1000, rate = 10'000, seconds = 10, idle = 10'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--brokers")
      brokers = v;
    else if (a == "--http")
      http = v;
    else if (a == "--pid")
      pid = std::stoi(v);
    else if (a == "--subscribers")
      subscribers = std::stoi(v);
    else if (a == "--rate")
      rate = std::stoi(v);
    else if (a == "--seconds")
      seconds = std::stoi(v);
    else if (a == "--idle")
      idle = std::stoi(v);
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  auto colon = http.rfind(':');
  tcp::endpoint ep(asio::ip::make_address(http.substr(0, colon)),
                   static_cast<uint16_t>(std::stoi(http.substr(colon + 1))));
  asio::io_context io;
  post(io, ep,
       "CREATE STREAM pushlat (id BIGINT, sent BIGINT) WITH (topic = 'pushlat');"
       "CREATE MATERIALIZED VIEW pushlat_view WITH (max_rows = '10000000') AS "
       "SELECT id, sent FROM pushlat;"
       "CREATE STREAM idle_src (x BIGINT) WITH (topic = 'idle_src');"
       "CREATE MATERIALIZED VIEW idle_view AS SELECT x FROM idle_src");

  auto connect = [&](const std::string& target) {
    auto s = std::make_shared<sub>(io);
    beast::get_lowest_layer(s->ws).connect(ep);
    s->ws.handshake("localhost", target);
    beast::flat_buffer first;
    s->ws.read(first);  // the snapshot
    return s;
  };

  // Memory per idle subscriber.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long before = rss_kb(pid);
  std::vector<std::shared_ptr<sub>> idle_subs;
  for (int i = 0; i < idle; ++i)
    idle_subs.push_back(connect("/v1/views/idle_view/ws"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long after = rss_kb(pid);
  std::printf("%d idle WebSocket subscribers: server RSS %ld -> %ld KB, %.1f KB per subscriber\n",
              idle, before, after, static_cast<double>(after - before) / idle);
  idle_subs.clear();

  // Latency with many subscribers.
  std::vector<int64_t> latencies;
  std::vector<std::shared_ptr<sub>> subs;
  for (int i = 0; i < subscribers; ++i) {
    auto s = connect("/v1/views/pushlat_view/ws");
    s->measure = i % std::max(1, subscribers / 20) == 0;
    s->latencies = &latencies;
    s->read();
    subs.push_back(s);
  }
  std::thread reader([&] { io.run(); });

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof err);
  rd_kafka_conf_set(conf, "acks", "1", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  int64_t total = static_cast<int64_t>(rate) * seconds;
  auto start = std::chrono::steady_clock::now();
  for (int64_t n = 0; n < total; ++n) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(n * 1'000'000 / rate));
    std::string v = "{\"id\":" + std::to_string(n) + ",\"sent\":" + std::to_string(now_us()) + "}";
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("pushlat"), RD_KAFKA_V_VALUE(v.data(), v.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 10'000);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  io.stop();
  reader.join();
  rd_kafka_destroy(rk);
  std::sort(latencies.begin(), latencies.end());
  int64_t measured_subs = 0;
  for (const auto& s : subs)
    measured_subs += s->measure;
  if (latencies.empty()) {
    std::printf("no changes arrived\n");
    return 1;
  }
  auto pct = [&](double p) {
    return latencies[std::min(latencies.size() - 1,
                              static_cast<size_t>(p * static_cast<double>(latencies.size())))] /
           1000.0;
  };
  std::printf(
      "%d subscribers, %d changes/s for %d s: %zu of %lld expected samples; latency p50 %.2f ms, "
      "p99 %.2f ms, p999 %.2f ms, max %.2f ms\n",
      subscribers, rate, seconds, latencies.size(), static_cast<long long>(total * measured_subs),
      pct(0.5), pct(0.99), pct(0.999), latencies.back() / 1000.0);
  return 0;
}
