// avro_decode: sluice's Avro decoder next to Apache Avro's C library (Debian's libavro), on the
// same records: N Nexmark bids (bench/nexmark/bid.avsc) encoded once, then decoded into SQL
// rows by each, three rounds, best of three. Both sides do the whole job a query needs: read
// every field of a record and hold it as a value (avro-c: avro_value_read into a generic
// value, then each field read out of it into a stream::value; sluice: avro_row_decoder).
// Prints records per second and ns per record for each and the ratio.
//
//   avro_decode [RECORDS]   (default 2,000,000)

#include <avro.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "schema/avro_codec.h"
#include "schema/avro_schema.h"
#include "schema/binary.h"

using namespace sluice;

namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A bid as Avro's binary encoding: auction, bidder, price, channel, url, dateTime, extra.
std::string encode_bid(std::mt19937_64& rng, int64_t i) {
  std::string out;
  auto word = [&](int n) {
    std::string w;
    for (int k = 0; k < n; ++k)
      w.push_back(static_cast<char>('a' + rng() % 26));
    return w;
  };
  auto str = [&](const std::string& s) {
    schema::append_zigzag(out, static_cast<int64_t>(s.size()));
    out += s;
  };
  schema::append_zigzag(out, 1000 + static_cast<int64_t>(rng() % 100000));
  schema::append_zigzag(out, 1000 + static_cast<int64_t>(rng() % 20000));
  schema::append_zigzag(out, static_cast<int64_t>(rng() % 10'000'000));
  str("channel-" + std::to_string(rng() % 10000));
  str("https://www.nexmark.com/" + word(5) + "/item.htm?query=1");
  schema::append_zigzag(out, 1'767'225'600'000 + i);
  str(word(10));
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = argc > 1 ? std::stoll(argv[1]) : 2'000'000;
  std::string text = read_text(SLUICE_SOURCE_DIR "/bench/nexmark/bid.avsc");
  std::mt19937_64 rng(42);
  std::vector<std::string> records;
  records.reserve(static_cast<size_t>(n));
  size_t bytes = 0;
  for (int64_t i = 0; i < n; ++i) {
    records.push_back(encode_bid(rng, i));
    bytes += records.back().size();
  }

  // sluice
  std::string err;
  auto schema = schema::avro::schema::parse(text, err);
  if (!schema) {
    std::fprintf(stderr, "bid.avsc: %s\n", err.c_str());
    return 1;
  }
  auto cols = schema::columns_of(schema->root(), err);
  schema::avro_row_decoder dec(schema->root(), *cols, {});

  // avro-c
  avro_schema_t cs;
  if (avro_schema_from_json_length(text.data(), text.size(), &cs)) {
    std::fprintf(stderr, "avro-c: %s\n", avro_strerror());
    return 1;
  }
  avro_value_iface_t* iface = avro_generic_class_from_schema(cs);
  avro_value_t value;
  avro_generic_value_new(iface, &value);
  avro_reader_t reader = avro_reader_memory(nullptr, 0);

  double best_ours = 1e9, best_c = 1e9;
  int64_t check_ours = 0, check_c = 0;
  for (int round = 0; round < 3; ++round) {
    auto t = std::chrono::steady_clock::now();
    stream::row row;
    for (const auto& r : records) {
      if (!dec.decode(r, row, err)) {
        std::fprintf(stderr, "sluice: %s\n", err.c_str());
        return 1;
      }
      check_ours += row[0].i + static_cast<int64_t>(row[3].str().size());
    }
    best_ours = std::min(best_ours, seconds_since(t));

    t = std::chrono::steady_clock::now();
    stream::row out(7);
    for (const auto& r : records) {
      avro_reader_memory_set_source(reader, r.data(), static_cast<int64_t>(r.size()));
      if (avro_value_read(reader, &value)) {
        std::fprintf(stderr, "avro-c: %s\n", avro_strerror());
        return 1;
      }
      for (size_t f = 0; f < 7; ++f) {
        avro_value_t field;
        avro_value_get_by_index(&value, f, &field, nullptr);
        if (f == 3 || f == 4 || f == 6) {
          const char* s = nullptr;
          size_t len = 0;
          avro_value_get_string(&field, &s, &len);
          out[f] = stream::value::string(std::string(s, len ? len - 1 : 0));
        } else {
          int64_t l = 0;
          avro_value_get_long(&field, &l);
          out[f] = f == 5 ? stream::value::timestamp(l) : stream::value::integer(l);
        }
      }
      check_c += out[0].i + static_cast<int64_t>(out[3].str().size());
    }
    best_c = std::min(best_c, seconds_since(t));
  }
  if (check_ours != check_c) {
    std::fprintf(stderr, "the decoders disagree (%lld vs %lld)\n",
                 static_cast<long long>(check_ours), static_cast<long long>(check_c));
    return 1;
  }
  std::printf("%lld bids, %.0f bytes each on average (best of 3 rounds)\n",
              static_cast<long long>(n), static_cast<double>(bytes) / static_cast<double>(n));
  std::printf("%-24s %14s %10s\n", "decoder", "records/s", "ns/record");
  std::printf("%-24s %14.0f %10.1f\n", "sluice avro_row_decoder",
              static_cast<double>(n) / best_ours, best_ours * 1e9 / static_cast<double>(n));
  std::printf("%-24s %14.0f %10.1f\n", "avro-c generic value", static_cast<double>(n) / best_c,
              best_c * 1e9 / static_cast<double>(n));
  std::printf("sluice / avro-c: %.2fx\n", best_c / best_ours);
  avro_reader_free(reader);
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_schema_decref(cs);
  return 0;
}
