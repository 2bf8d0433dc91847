// nexmark_gen: writes Nexmark's Person, Auction and Bid events as JSON into three topics
// (nexmark-person, nexmark-auction, nexmark-bid) of any Kafka-compatible broker, and
// optionally as JSON lines into a folder so that a reference can be computed from the very
// same events.
//
// The model follows the Nexmark benchmark's generator: out of every 50 events 1 is a new
// person, 3 are new auctions and 46 are bids; event times advance by a fixed inter-event delay
// (--rate events per second of event time); half of the bids go to the current hot auction
// and three quarters come from a hot bidder; prices follow Nexmark's 10^(6u) * 100 cents.
// Everything is derived from --seed, so a run is repeatable.
//
//   nexmark_gen --brokers 127.0.0.1:9092 --events 10000000 [--jsonl DIR] [--rate 100000]

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>

namespace {

constexpr int64_t k_first_person = 1000;
constexpr int64_t k_first_auction = 1000;
constexpr int64_t k_hot_ratio = 100;  // hot auctions/bidders are multiples of it

struct options {
  std::string brokers = "127.0.0.1:9092";
  int64_t events = 1'000'000;
  int64_t rate = 100'000;                 // events per second of event time
  int64_t base_time = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  uint64_t seed = 42;
  std::string jsonl;
  // > 0: bids are also written to nexmark-bid-avro as Avro (Confluent-framed, this schema id;
  // the schema is bench/nexmark/bid.avsc).
  int32_t avro_schema_id = 0;
  // > 0: and to nexmark-bid-proto as Protobuf (bench/nexmark/bid.proto), message index [0].
  int32_t protobuf_schema_id = 0;
};

// Bid as Avro (bench/nexmark/bid.avsc), framed with magic byte 0 and the schema id: written
// here by hand from the specification, independently of sluice's codec.
struct bid_fields {
  int64_t auction, bidder, price, ts;
  std::string channel, url, extra;
};
void put_long(std::string& out, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}
void put_string(std::string& out, const std::string& s) {
  put_long(out, static_cast<int64_t>(s.size()));
  out += s;
}
void put_varint(std::string& out, uint64_t u) {
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}
// Bid as Protobuf (bench/nexmark/bid.proto), framed with magic byte 0, the schema id and the
// message index [0] (one 0 byte).
void encode_bid_proto(std::string& out, const bid_fields& b, int32_t id) {
  out.clear();
  out.push_back(0);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((static_cast<uint32_t>(id) >> shift) & 0xff));
  out.push_back(0);
  auto varint_field = [&](int n, int64_t v) {
    put_varint(out, static_cast<uint64_t>(n << 3));
    put_varint(out, static_cast<uint64_t>(v));
  };
  auto string_field = [&](int n, const std::string& v) {
    put_varint(out, static_cast<uint64_t>(n << 3 | 2));
    put_varint(out, v.size());
    out += v;
  };
  varint_field(1, b.auction);
  varint_field(2, b.bidder);
  varint_field(3, b.price);
  string_field(4, b.channel);
  string_field(5, b.url);
  std::string ts;
  ts.push_back(0x08);
  put_varint(ts, static_cast<uint64_t>(b.ts / 1000));
  if (b.ts % 1000) {
    ts.push_back(0x10);
    put_varint(ts, static_cast<uint64_t>(b.ts % 1000 * 1'000'000));
  }
  string_field(6, ts);
  string_field(7, b.extra);
}

void encode_bid(std::string& out, const bid_fields& b, int32_t id) {
  out.clear();
  out.push_back(0);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((static_cast<uint32_t>(id) >> shift) & 0xff));
  put_long(out, b.auction);
  put_long(out, b.bidder);
  put_long(out, b.price);
  put_string(out, b.channel);
  put_string(out, b.url);
  put_long(out, b.ts);
  put_string(out, b.extra);
}

void format_ts(std::string& out, int64_t ms) {
  int64_t days = ms / 86'400'000, rem = ms % 86'400'000;
  // civil from days (1970-01-01 based)
  days += 719468;
  int64_t era = days / 146097;
  auto doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[32];
  int n = std::snprintf(
      buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
      m, d, static_cast<long long>(rem / 3'600'000), static_cast<long long>(rem / 60'000 % 60),
      static_cast<long long>(rem / 1000 % 60), static_cast<long long>(rem % 1000));
  out.append(buf, static_cast<size_t>(n));
}

class generator {
 public:
  explicit generator(const options& o) : o_(o), rng_(o.seed) {}

  // Fills `out` with event `n`'s JSON; returns 0 person, 1 auction, 2 bid.
  int next(int64_t n, std::string& out) {
    out.clear();
    int64_t ts = o_.base_time + n * 1000 / o_.rate;
    int64_t slot = n % 50;
    if (slot == 0) {
      int64_t id = k_first_person + persons_++;
      out += "{\"id\":" + std::to_string(id) + ",\"name\":\"" + name() + "\",\"emailAddress\":\"" +
             word(7) + "@" + word(5) + ".com\",\"creditCard\":\"" + card() + "\",\"city\":\"" +
             pick(cities_) + "\",\"state\":\"" + pick(states_) + "\",\"dateTime\":\"";
      format_ts(out, ts);
      out += "\",\"extra\":\"" + word(8) + "\"}";
      return 0;
    }
    if (slot <= 3) {
      int64_t id = k_first_auction + auctions_++;
      int64_t seller = k_first_person + (persons_ > 0 ? uniform(persons_) : 0);
      int64_t initial = price();
      out += "{\"id\":" + std::to_string(id) + ",\"itemName\":\"" + word(6) +
             "\",\"description\":\"" + word(12) + "\",\"initialBid\":" + std::to_string(initial) +
             ",\"reserve\":" + std::to_string(initial + price()) + ",\"dateTime\":\"";
      format_ts(out, ts);
      out += "\",\"expires\":\"";
      format_ts(out, ts + 10'000 + uniform(20'000));
      out += "\",\"seller\":" + std::to_string(seller) +
             ",\"category\":" + std::to_string(10 + uniform(5)) + ",\"extra\":\"" + word(8) + "\"}";
      return 1;
    }
    int64_t auction, bidder;
    int64_t last_auction = k_first_auction + std::max<int64_t>(auctions_ - 1, 0);
    if (uniform(2) == 0)
      auction = std::max(k_first_auction, last_auction / k_hot_ratio * k_hot_ratio);
    else
      auction =
          std::max(k_first_auction, last_auction - uniform(std::min<int64_t>(auctions_, 100) + 1));
    int64_t last_person = k_first_person + std::max<int64_t>(persons_ - 1, 0);
    if (uniform(4) != 0)
      bidder = std::max(k_first_person, last_person / k_hot_ratio * k_hot_ratio + 1);
    else
      bidder =
          std::max(k_first_person, last_person - uniform(std::min<int64_t>(persons_, 100) + 1));
    bid_.auction = auction;
    bid_.bidder = bidder;
    bid_.price = price();
    bid_.channel = "channel-" + std::to_string(uniform(10'000));
    bid_.url = "https://www.nexmark.com/" + word(5) + "/item.htm?query=1";
    bid_.ts = ts;
    out += "{\"auction\":" + std::to_string(auction) + ",\"bidder\":" + std::to_string(bidder) +
           ",\"price\":" + std::to_string(bid_.price) + ",\"channel\":\"" + bid_.channel +
           "\",\"url\":\"" + bid_.url + "\",\"dateTime\":\"";
    format_ts(out, ts);
    bid_.extra = word(10);
    out += "\",\"extra\":\"" + bid_.extra + "\"}";
    return 2;
  }

  int64_t timestamp(int64_t n) const { return o_.base_time + n * 1000 / o_.rate; }
  // The fields of the last bid next() made.
  const bid_fields& last_bid() const { return bid_; }

 private:
  int64_t uniform(int64_t n) {
    return n <= 0 ? 0 : static_cast<int64_t>(rng_() % static_cast<uint64_t>(n));
  }
  int64_t price() {
    double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return std::llround(std::pow(10.0, u * 6.0) * 100.0);
  }
  std::string word(int len) {
    std::string s;
    for (int i = 0; i < len; ++i)
      s.push_back(static_cast<char>('a' + uniform(26)));
    return s;
  }
  std::string name() { return pick(first_) + " " + pick(last_); }
  std::string card() {
    std::string s;
    for (int g = 0; g < 4; ++g) {
      if (g) s.push_back(' ');
      for (int i = 0; i < 4; ++i)
        s.push_back(static_cast<char>('0' + uniform(10)));
    }
    return s;
  }
  template <size_t N>
  std::string pick(const char* const (&list)[N]) {
    return list[uniform(static_cast<int64_t>(N))];
  }

  static constexpr const char* first_[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                           "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
  static constexpr const char* last_[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                          "Walton", "Smith",  "Jones",   "Noris"};
  static constexpr const char* cities_[] = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                            "Portland", "Bend",        "Redmond",       "Seattle",
                                            "Kent",     "Cheyenne"};
  static constexpr const char* states_[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};

  options o_;
  std::mt19937_64 rng_;
  int64_t persons_ = 0;
  int64_t auctions_ = 0;
  bid_fields bid_;
};

int usage() {
  std::fprintf(stderr,
               "usage: nexmark_gen [--brokers HOST:PORT] [--events N] [--rate EVENTS_PER_S] "
               "[--seed N] [--jsonl DIR] [--avro-schema-id ID] [--protobuf-schema-id ID]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--brokers")
      o.brokers = v;
    else if (a == "--events")
      o.events = std::stoll(v);
    else if (a == "--rate")
      o.rate = std::stoll(v);
    else if (a == "--seed")
      o.seed = std::stoull(v);
    else if (a == "--jsonl")
      o.jsonl = v;
    else if (a == "--avro-schema-id")
      o.avro_schema_id = static_cast<int32_t>(std::stol(v));
    else if (a == "--protobuf-schema-id")
      o.protobuf_schema_id = static_cast<int32_t>(std::stol(v));
    else
      return usage();
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", err);
      std::exit(2);
    }
  };
  set("bootstrap.servers", o.brokers);
  set("linger.ms", "20");
  set("batch.size", "1000000");
  set("queue.buffering.max.kbytes", "1048576");
  set("acks", "1");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "%s\n", err);
    return 1;
  }
  const char* names[] = {"nexmark-person", "nexmark-auction", "nexmark-bid", "nexmark-bid-avro",
                         "nexmark-bid-proto"};
  rd_kafka_topic_t* topics[5];
  for (int t = 0; t < 5; ++t)
    topics[t] = rd_kafka_topic_new(rk, names[t], nullptr);
  std::unique_ptr<std::ofstream> files[3];
  if (!o.jsonl.empty())
    for (int t = 0; t < 3; ++t)
      files[t] =
          std::make_unique<std::ofstream>(o.jsonl + "/" + std::string(names[t] + 8) + ".jsonl");

  generator g(o);
  std::string json;
  int64_t counts[3] = {0, 0, 0};
  auto start = std::chrono::steady_clock::now();
  std::string avro;
  auto produce = [&](rd_kafka_topic_t* t, const std::string& v) {
    for (;;) {
      if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                           const_cast<char*>(v.data()), v.size(), nullptr, 0, nullptr) == 0)
        return true;
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        return false;
      }
      rd_kafka_poll(rk, 10);
    }
  };
  for (int64_t n = 0; n < o.events; ++n) {
    int type = g.next(n, json);
    ++counts[type];
    if (files[type]) *files[type] << json << '\n';
    if (!produce(topics[type], json)) return 1;
    if (type == 2 && o.avro_schema_id > 0) {
      encode_bid(avro, g.last_bid(), o.avro_schema_id);
      if (!produce(topics[3], avro)) return 1;
    }
    if (type == 2 && o.protobuf_schema_id > 0) {
      encode_bid_proto(avro, g.last_bid(), o.protobuf_schema_id);
      if (!produce(topics[4], avro)) return 1;
    }
    if ((n & 0xfff) == 0) rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 120'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "flush timed out\n");
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("generated %lld events (%lld persons, %lld auctions, %lld bids) in %.2f s\n",
              static_cast<long long>(o.events), static_cast<long long>(counts[0]),
              static_cast<long long>(counts[1]), static_cast<long long>(counts[2]), secs);
  for (auto* t : topics)
    rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  return 0;
}
