// push_latency: live-view push at scale, WebSocket and Server-Sent Events side by side at the
// same load: latency from a record's produce call to its change arriving at subscribers,
// deliveries and bytes per second, the CPU each side used, readers at 1% of the feed's rate in
// `latest` mode, and the server's memory per idle subscriber.
//
//   push_latency --brokers HOST:PORT --http HOST:PORT --pid SERVER_PID
//                [--subscribers 1000] [--rate 10000] [--seconds 10] [--idle 10000]
//                [--transports ws,sse] [--encoding object|compact] [--mode every|latest]
//                [--keys 0] [--slow 2] [--client-threads 1]
//
// --keys 0: an appended view (a row per record); K > 0: a keyed view over K keys (each record
// updates its key). Every subscriber receives every change (in `every` mode) and counts them;
// latency is measured on 20 of them (spread over the set). The client reads raw sockets and only
// scans for what it counts, so that it leaves the CPU to the server on a small machine.

#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
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

// CPU seconds (user + system) the process has used.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(s.substr(s.rfind(')') + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
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

size_t count_of(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  const char* p = hay.data();
  const char* end = hay.data() + hay.size();
  while (auto* hit = static_cast<const char*>(
             memmem(p, static_cast<size_t>(end - p), needle.data(), needle.size()))) {
    ++n;
    p = hit + needle.size();
  }
  return n;
}

struct settings {
  bool compact = false;
  std::string mode = "every";
};

// One subscriber on a raw socket: the request, the answer's head, then it scans what arrives.
struct sub : std::enable_shared_from_this<sub> {
  sub(asio::io_context& io, bool ws, const settings& cfg) : sock(io), ws(ws), cfg(cfg) {}
  tcp::socket sock;
  bool ws;
  const settings& cfg;
  std::vector<char> buf = std::vector<char>(64 << 10);
  std::string tail;   // the end of the previous read, for patterns that span two reads
  std::string carry;  // what the latency parse has not finished
  bool head_done = false, measure = false, closed = false;
  // Reads slowly: at most `pace` of what `leader` has received.
  const sub* leader = nullptr;
  double pace = 0;
  std::unique_ptr<asio::steady_timer> pause;
  uint64_t bytes = 0, changes = 0;
  std::vector<int64_t>* latencies = nullptr;
  std::mutex* lat_mu = nullptr;

  void start(const std::string& target) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    if (ws)
      req +=
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    req += "\r\n";
    asio::write(sock, asio::buffer(req));
  }

  // Counts what arrives without copying it (only what spans two reads is looked at twice);
  // the measured subscribers also parse the `sent` times.
  void scan(std::string_view data) {
    bytes += data.size();
    auto count = [&](std::string_view pattern) {
      size_t n = count_of(data, pattern);
      std::string edge = tail.substr(tail.size() - std::min(tail.size(), pattern.size() - 1)) +
                         std::string(data.substr(0, pattern.size() - 1));
      return n + count_of(edge, pattern);
    };
    // Changes: each one's opening, in the encoding asked for (inserts and updates).
    if (cfg.compact)
      changes += count(",\"i\",[") + count(",\"u\",[");
    else
      changes += count("{\"seq\":");
    if (latencies) {
      std::string joined = carry;
      joined.append(data);
      std::string_view all(joined);
      int64_t t = now_us();
      auto number = [](std::string_view text, int64_t& v) {
        return std::from_chars(text.data(), text.data() + text.size(), v).ec == std::errc();
      };
      size_t done = 0;  // what has been parsed; the rest may be cut by the read boundary
      std::lock_guard lk(*lat_mu);
      if (cfg.compact) {
        // [seq,"i",[key],[a,sent]]: the row's last value.
        for (size_t p = 0; (p = all.find("\",[", p)) != std::string_view::npos; p += 3) {
          auto row = all.find("],[", p);
          if (row == std::string_view::npos) break;
          auto comma = all.find(',', row + 3);
          auto end = all.find(']', row + 3);
          if (comma == std::string_view::npos || end == std::string_view::npos || comma > end)
            break;
          int64_t sent = 0;
          if (number(all.substr(comma + 1, end - comma - 1), sent)) latencies->push_back(t - sent);
          p = done = end;
        }
      } else {
        for (size_t p = 0; (p = all.find("\"sent\":", p)) != std::string_view::npos; p += 7) {
          auto end = all.find_first_of(",}", p + 7);
          if (end == std::string_view::npos) break;
          int64_t sent = 0;
          if (number(all.substr(p + 7, end - p - 7), sent)) latencies->push_back(t - sent);
          done = end;
        }
      }
      carry.assign(all.substr(std::max(done, all.size() - std::min<size_t>(all.size(), 64))));
    }
    size_t keep = std::min<size_t>(data.size(), 6);
    tail.assign(data.substr(data.size() - keep));
  }

  // A slow reader reads on only while it is under its share of what the leader received.
  void paced_read() {
    if (leader && static_cast<double>(bytes) > pace * static_cast<double>(leader->bytes)) {
      pause->expires_after(std::chrono::milliseconds(10));
      pause->async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->paced_read();
      });
      return;
    }
    read();
  }

  void read() {
    auto self = shared_from_this();
    size_t want = leader ? 1024 : buf.size();  // a slow reader takes a little at a time
    sock.async_read_some(asio::buffer(buf.data(), want), [self](beast::error_code ec, size_t n) {
      if (ec) {
        self->closed = true;
        return;
      }
      std::string_view data(self->buf.data(), n);
      if (!self->head_done) {
        self->tail.append(data);
        auto end = self->tail.find("\r\n\r\n");
        if (end == std::string::npos) return self->read();
        self->head_done = true;
        std::string rest = self->tail.substr(end + 4);
        self->tail.clear();
        self->carry.clear();
        self->scan(rest);
      } else {
        self->scan(data);
      }
      self->paced_read();
    });
  }
};

struct run_result {
  std::vector<int64_t> latencies, slow_ages;
  uint64_t changes = 0, bytes = 0, slow_changes = 0, slow_bytes = 0, leader_bytes = 0;
  int closed = 0, slow_closed = 0;
  double server_cpu = 0, client_cpu = 0, seconds = 0;
};

double client_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092", http = "127.0.0.1:8080", transports = "ws,sse";
  int pid = 0, subscribers = 1000, rate = 10'000, seconds = 10, idle = 10'000, keys = 0, slow = 2,
      client_threads = 1;
  settings cfg;
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
    else if (a == "--transports")
      transports = v;
    else if (a == "--encoding")
      cfg.compact = v == "compact";
    else if (a == "--mode")
      cfg.mode = v;
    else if (a == "--keys")
      keys = std::stoi(v);
    else if (a == "--slow")
      slow = std::stoi(v);
    else if (a == "--client-threads")
      client_threads = std::stoi(v);
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  auto colon = http.rfind(':');
  tcp::endpoint ep(asio::ip::make_address(http.substr(0, colon)),
                   static_cast<uint16_t>(std::stoi(http.substr(colon + 1))));
  asio::io_context setup;
  post(setup, ep,
       "CREATE STREAM idle_src (x BIGINT) WITH (topic = 'idle_src');"
       "CREATE MATERIALIZED VIEW idle_view AS SELECT x FROM idle_src");
  // Each transport's run has a topic and view of its own, so that it starts from an empty view.
  auto create_view = [&](const std::string& kind) {
    std::string t = "pushlat_" + kind;
    post(setup, ep,
         "CREATE STREAM " + t + " (id BIGINT, k BIGINT, sent BIGINT) WITH (topic = '" + t + "');" +
             (keys > 0 ? "CREATE MATERIALIZED VIEW " + t +
                             "_view AS SELECT k, MAX(sent) AS sent "
                             "FROM " +
                             t + " GROUP BY k"
                       : "CREATE MATERIALIZED VIEW " + t +
                             "_view WITH (max_rows = '10000000') AS SELECT id, sent FROM " + t));
    return t;
  };
  std::string query =
      std::string("?mode=") + cfg.mode + "&encoding=" + (cfg.compact ? "compact" : "object");
  std::printf("server pid %d; %s view, mode %s, %s encoding\n", pid,
              keys > 0 ? ("keyed (" + std::to_string(keys) + " keys)").c_str() : "appended",
              cfg.mode.c_str(), cfg.compact ? "compact" : "object");

  std::vector<std::string> kinds;
  for (std::stringstream ss(transports); ss.good();) {
    std::string t;
    std::getline(ss, t, ',');
    if (!t.empty()) kinds.push_back(t);
  }

  auto path_of = [](const std::string& kind, const std::string& v) {
    return "/v1/views/" + v + (kind == "ws" ? "/ws" : "/events");
  };

  // Memory per idle subscriber.
  for (const auto& kind : kinds) {
    if (idle == 0) break;
    asio::io_context io;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    long before = rss_kb(pid);
    std::vector<std::shared_ptr<sub>> idle_subs;
    for (int i = 0; i < idle; ++i) {
      auto s = std::make_shared<sub>(io, kind == "ws", cfg);
      s->sock.connect(ep);
      s->start(path_of(kind, "idle_view"));
      s->read();
      idle_subs.push_back(s);
    }
    io.run_for(std::chrono::milliseconds(1500));
    long after = rss_kb(pid);
    std::printf("%d idle %s subscribers: server RSS %ld -> %ld KB, %.1f KB per subscriber\n", idle,
                kind == "ws" ? "WebSocket" : "SSE", before, after,
                static_cast<double>(after - before) / idle);
    idle_subs.clear();
    io.run_for(std::chrono::milliseconds(200));
  }

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof err);
  rd_kafka_conf_set(conf, "acks", "1", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  int64_t next_id = 0;

  for (const auto& kind : kinds) {
    std::string topic = create_view(kind), view = topic + "_view";
    asio::io_context io;
    run_result r;
    std::mutex lat_mu;
    std::vector<std::shared_ptr<sub>> subs;
    int step = std::max(1, subscribers / 20);
    for (int i = 0; i < subscribers; ++i) {
      auto s = std::make_shared<sub>(io, kind == "ws", cfg);
      s->sock.connect(ep);
      s->start(path_of(kind, view) + query);
      if (i % step == 0) {
        s->latencies = &r.latencies;
        s->lat_mu = &lat_mu;
      }
      s->read();
      subs.push_back(s);
    }
    // Readers at 1% of what a full-speed one receives, in `latest` mode, with a small receive
    // buffer (1 KiB, which Linux makes 2.3 KiB: what a reader has not read is as old as its buffer
    // is long).
    std::vector<std::shared_ptr<sub>> slow_subs;
    settings slow_cfg = cfg;
    slow_cfg.mode = "latest";
    for (int i = 0; i < slow && !subs.empty(); ++i) {
      auto s = std::make_shared<sub>(io, kind == "ws", slow_cfg);
      s->sock.open(tcp::v4());
      s->sock.set_option(asio::socket_base::receive_buffer_size(1 << 10));
      s->sock.connect(ep);
      s->start(path_of(kind, view) +
               "?mode=latest&encoding=" + (cfg.compact ? "compact" : "object"));
      s->leader = subs.front().get();
      s->pace = 0.01;
      s->pause = std::make_unique<asio::steady_timer>(io);
      s->latencies = &r.slow_ages;
      s->lat_mu = &lat_mu;
      s->read();
      slow_subs.push_back(s);
    }
    std::vector<std::thread> readers;
    for (int i = 0; i < client_threads; ++i)
      readers.emplace_back([&] { io.run(); });
    // Warm-up: the producer learns the new topic, the query starts, snapshots are read.
    {
      std::string v = "{\"id\":-1,\"k\":0,\"sent\":" + std::to_string(now_us()) + "}";
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(v.data(), v.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      rd_kafka_flush(rk, 10'000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    {
      std::lock_guard lk(lat_mu);
      r.latencies.clear();
      r.slow_ages.clear();
    }
    uint64_t changes0 = 0, bytes0 = 0;
    for (auto& s : subs) {
      changes0 += s->changes;
      bytes0 += s->bytes;
    }
    double server0 = cpu_seconds(pid), client0 = client_cpu_seconds();
    int64_t total = static_cast<int64_t>(rate) * seconds;
    auto start = std::chrono::steady_clock::now();
    for (int64_t n = 0; n < total; ++n) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(n * 1'000'000 / rate));
      int64_t id = next_id++;
      std::string v = "{\"id\":" + std::to_string(id) +
                      ",\"k\":" + std::to_string(keys > 0 ? id % keys : 0) +
                      ",\"sent\":" + std::to_string(now_us()) + "}";
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(v.data(), v.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 10'000);
    // Rates are over the time records were produced; what arrives in the 2 s after counts too.
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    double all = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.server_cpu = (cpu_seconds(pid) - server0) * r.seconds / all;  // as a share of the run
    r.client_cpu = (client_cpu_seconds() - client0) * r.seconds / all;
    io.stop();
    for (auto& t : readers)
      t.join();
    if (!subs.empty()) r.leader_bytes = subs.front()->bytes;
    for (auto& s : subs) {
      r.changes += s->changes;
      r.bytes += s->bytes;
      r.closed += s->closed;
    }
    r.changes -= changes0;
    r.bytes -= bytes0;
    for (auto& s : slow_subs) {
      r.slow_changes += s->changes;
      r.slow_bytes += s->bytes;
      r.slow_closed += s->closed;
    }
    std::sort(r.latencies.begin(), r.latencies.end());
    std::sort(r.slow_ages.begin(), r.slow_ages.end());
    auto pct = [](const std::vector<int64_t>& v, double p) {
      if (v.empty()) return -1.0;
      return static_cast<double>(v[std::min(
                 v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))]) /
             1000.0;
    };
    const char* name = kind == "ws" ? "WebSocket" : "SSE";
    std::printf(
        "%-9s %d subscribers, %d records/s for %d s: %.2f M deliveries/s, %.0f MB/s; latency p50 "
        "%.2f ms, p99 %.2f ms, p999 %.2f ms, max %.2f ms (%zu samples); %d cut off; CPU: server "
        "%.0f%%, client %.0f%%\n",
        name, subscribers, rate, seconds, static_cast<double>(r.changes) / r.seconds / 1e6,
        static_cast<double>(r.bytes) / r.seconds / 1e6, pct(r.latencies, 0.5),
        pct(r.latencies, 0.99), pct(r.latencies, 0.999),
        r.latencies.empty() ? -1.0 : static_cast<double>(r.latencies.back()) / 1000.0,
        r.latencies.size(), r.closed, 100 * r.server_cpu / r.seconds,
        100 * r.client_cpu / r.seconds);
    if (slow > 0)
      std::printf(
          "%-9s %d readers at 1%% of that rate (latest mode; %.0f of %.0f KB each): %llu changes, "
          "age of each value on arrival p50 %.0f ms, p99 %.0f ms, max %.0f ms; %d cut off\n",
          name, slow, static_cast<double>(r.slow_bytes) / slow / 1e3,
          static_cast<double>(r.leader_bytes) / 1e3,
          static_cast<unsigned long long>(r.slow_changes), pct(r.slow_ages, 0.5),
          pct(r.slow_ages, 0.99),
          r.slow_ages.empty() ? -1.0 : static_cast<double>(r.slow_ages.back()) / 1000.0,
          r.slow_closed);
  }
  rd_kafka_destroy(rk);
  return 0;
}
