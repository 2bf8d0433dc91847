// sql_latency: end-to-end latency of a continuous query. Produces records carrying their send
// time (librdkafka, acks=1, linger.ms=0) at a steady rate into a topic that a running sluice
// reads with `SELECT ... EMIT CHANGES`, and measures, per record, the time from the produce
// call until its row arrives at this HTTP client. Prints p50/p99/p999/max.
//
//   sql_latency --brokers 127.0.0.1:9092 --http 127.0.0.1:8080 [--rate 10000] [--seconds 10]

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092", http = "127.0.0.1:8080", topic = "latency";
  int rate = 10'000, seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--brokers")
      brokers = v;
    else if (a == "--http")
      http = v;
    else if (a == "--rate")
      rate = std::stoi(v);
    else if (a == "--seconds")
      seconds = std::stoi(v);
    else if (a == "--topic")
      topic = v;
  }
  auto colon = http.rfind(':');
  std::string host = http.substr(0, colon), port = http.substr(colon + 1);

  auto post = [&](const std::string& sql, beast::tcp_stream& stream) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/sql", 11};
    req.set(bhttp::field::host, host);
    req.body() = sql;
    req.prepare_payload();
    bhttp::write(stream, req);
  };
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port);
  {
    beast::tcp_stream s(io);
    s.connect(endpoints);
    post("CREATE STREAM IF NOT EXISTS " + topic + " (id BIGINT, sent BIGINT) WITH (topic = '" +
             topic + "')",
         s);
    beast::flat_buffer b;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, b, res);
    if (res.result_int() != 200) {
      std::fprintf(stderr, "%s\n", res.body().c_str());
      return 1;
    }
  }
  int64_t total = static_cast<int64_t>(rate) * seconds;
  std::vector<int64_t> latency(static_cast<size_t>(total), -1);
  std::atomic<int64_t> received{0};

  // The push query: rows of this run only (ids are offset by the run's start).
  int64_t base = now_us();
  beast::tcp_stream push(io);
  push.connect(endpoints);
  post("SELECT id, sent FROM " + topic + " WHERE sent >= " + std::to_string(base) + " EMIT CHANGES",
       push);
  std::thread reader([&] {
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(boost::none);
    std::string pending;
    auto on_chunk = [&](std::uint64_t, beast::string_view body, beast::error_code&) {
      int64_t t = now_us();
      pending.append(body.data(), body.size());
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        auto i = line.find("\"id\":");
        auto s = line.find("\"sent\":");
        if (i == std::string::npos || s == std::string::npos) continue;
        int64_t id = std::stoll(line.substr(i + 5));
        int64_t sent = std::stoll(line.substr(s + 7));
        if (id >= 0 && id < total) latency[static_cast<size_t>(id)] = t - sent;
        ++received;
      }
      return body.size();
    };
    p.on_chunk_body(on_chunk);
    beast::error_code ec;
    bhttp::read_header(push, buf, p, ec);
    while (!ec && !p.is_done() && received < total)
      bhttp::read_some(push, buf, p, ec);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the query starts

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err);
  rd_kafka_conf_set(conf, "acks", "1", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  auto start = std::chrono::steady_clock::now();
  for (int64_t n = 0; n < total; ++n) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(n * 1'000'000 / rate));
    std::string v = "{\"id\":" + std::to_string(n) + ",\"sent\":" + std::to_string(now_us()) + "}";
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(v.data(), v.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 10'000);
  for (int i = 0; i < 100 && received < total; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  beast::error_code ec;
  push.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  push.socket().close(ec);
  reader.join();
  rd_kafka_destroy(rk);

  std::vector<int64_t> got;
  for (auto l : latency)
    if (l >= 0) got.push_back(l);
  std::sort(got.begin(), got.end());
  if (got.empty()) {
    std::printf("no rows arrived\n");
    return 1;
  }
  auto pct = [&](double p) {
    return got[std::min(got.size() - 1, static_cast<size_t>(p * static_cast<double>(got.size())))] /
           1000.0;
  };
  std::printf(
      "%lld of %lld rows at %d records/s: latency p50 %.2f ms, p99 %.2f ms, p999 %.2f ms, max "
      "%.2f ms\n",
      static_cast<long long>(got.size()), static_cast<long long>(total), rate, pct(0.5), pct(0.99),
      pct(0.999), got.back() / 1000.0);
  return got.size() == static_cast<size_t>(total) ? 0 : 1;
}
