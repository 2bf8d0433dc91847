// `sluice produce TOPIC`: one record per line of standard input.

#include <atomic>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/kafka_client.h"

namespace sluice::cli {

namespace {

std::atomic<int64_t> g_failed{0};
std::atomic<int64_t> g_delivered{0};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    if (g_failed++ < 10) std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    ++g_delivered;
  }
}

struct produce_options {
  std::string brokers = "127.0.0.1:9092";
  std::string topic;
  std::string acks = "all";
  std::string compression = "none";
  std::string key_separator;
  int partition = -1;
  std::vector<std::string> props;
};

int produce(const produce_options& o) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"acks", o.acks}, {"compression.type", o.compression}, {"linger.ms", "5"}};
  if (o.acks == "all" || o.acks == "-1") props.emplace_back("enable.idempotence", "true");
  for (const auto& p : o.props)
    props.push_back(split_property(p));
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, props, on_delivery);
  std::string line;
  int64_t sent = 0;
  while (std::getline(std::cin, line)) {
    std::string key, value = line;
    bool has_key = false;
    if (!o.key_separator.empty()) {
      auto at = line.find(o.key_separator);
      if (at != std::string::npos) {
        key = line.substr(0, at);
        value = line.substr(at + o.key_separator.size());
        has_key = true;
      }
    }
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk.get(), RD_KAFKA_V_TOPIC(o.topic.c_str()),
          RD_KAFKA_V_PARTITION(o.partition < 0 ? RD_KAFKA_PARTITION_UA : o.partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value.data(), value.size()),
          RD_KAFKA_V_KEY(has_key ? key.data() : nullptr, has_key ? key.size() : 0), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk.get(), 10);
        continue;
      }
      if (e) throw client_error(std::string("produce: ") + rd_kafka_err2str(e));
      break;
    }
    ++sent;
    rd_kafka_poll(rk.get(), 0);
  }
  rd_kafka_flush(rk.get(), 30000);
  int64_t unsent = rd_kafka_outq_len(rk.get());
  std::fprintf(stderr, "produced %lld records to %s (%lld failed, %lld undelivered)\n",
               static_cast<long long>(g_delivered.load()), o.topic.c_str(),
               static_cast<long long>(g_failed.load()), static_cast<long long>(unsent));
  return g_failed == 0 && unsent == 0 && g_delivered == sent ? 0 : 1;
}

}  // namespace

action add_produce_command(CLI::App& app) {
  auto o = std::make_shared<produce_options>();
  auto* cmd = app.add_subcommand("produce", "Produce standard input, one record per line");
  cmd->add_option("topic", o->topic, "Topic")->required();
  cmd->add_option("--brokers,-b", o->brokers, "Kafka bootstrap servers")->capture_default_str();
  cmd->add_option("--acks", o->acks, "0, 1 or all")->capture_default_str();
  cmd->add_option("--compression,-z", o->compression, "none, gzip, snappy, lz4 or zstd")
      ->capture_default_str();
  cmd->add_option("--key-separator,-K", o->key_separator,
                  "Split each line into key and value at the first SEP");
  cmd->add_option("--partition,-p", o->partition, "Partition (default: by key / sticky)");
  cmd->add_option("-X", o->props, "librdkafka property key=value (repeatable)");
  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    try {
      return produce(*o);
    } catch (const client_error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
  };
}

}  // namespace sluice::cli
