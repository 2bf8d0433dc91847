// `sluice consume TOPIC`: prints records, one per line, from chosen partitions and offsets
// (no consumer group: offsets are not committed).

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/commands.h"
#include "cli/kafka_client.h"

namespace sluice::cli {

namespace {

std::atomic<bool> g_stop{false};

struct consume_options {
  std::string brokers = "127.0.0.1:9092";
  std::string topic;
  std::string from = "beginning";
  int partition = -1;
  int64_t count = -1;
  bool exit_at_end = false;
  bool print_key = false;
  bool print_offset = false;
  std::string key_separator = "\t";
  std::vector<std::string> props;
};

int64_t start_offset(const std::string& from) {
  if (from == "beginning") return RD_KAFKA_OFFSET_BEGINNING;
  if (from == "end") return RD_KAFKA_OFFSET_END;
  try {
    size_t used = 0;
    int64_t v = std::stoll(from, &used);
    if (used == from.size()) return v < 0 ? RD_KAFKA_OFFSET_TAIL(-v) : v;
  } catch (...) {
  }
  throw client_error("--from must be beginning, end, an offset, or -N (the last N)");
}

int consume(const consume_options& o) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"enable.partition.eof", "true"},
      {"enable.auto.commit", "false"},
      // librdkafka's consumer needs a group id even for manual assignment; nothing is
      // committed under it.
      {"group.id", "sluice-cli"}};
  for (const auto& p : o.props)
    props.push_back(split_property(p));
  auto rk = make_client(RD_KAFKA_CONSUMER, o.brokers, props);
  rd_kafka_poll_set_consumer(rk.get());
  int n = partition_count(rk.get(), o.topic, 10000);
  int64_t offset = start_offset(o.from);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; ++p) {
    if (o.partition >= 0 && p != o.partition) continue;
    rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p)->offset = offset;
  }
  int assigned = parts->cnt;
  if (assigned == 0) throw client_error("no such partition");
  if (auto e = rd_kafka_assign(rk.get(), parts))
    throw client_error(std::string("assign: ") + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(parts);

  signal(SIGINT, [](int) { g_stop = true; });
  signal(SIGTERM, [](int) { g_stop = true; });
  int at_end = 0;
  int64_t printed = 0;
  int rc = 0;
  while (!g_stop && (o.count < 0 || printed < o.count)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      if (o.exit_at_end && ++at_end >= assigned) break;
      continue;
    }
    if (m->err) {
      std::fprintf(stderr, "error: %s\n", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      rc = 1;
      break;
    }
    if (o.print_offset)
      std::printf("%d:%lld%s", m->partition, static_cast<long long>(m->offset),
                  o.key_separator.c_str());
    if (o.print_key) {
      std::fwrite(m->key, 1, m->key_len, stdout);
      std::fputs(o.key_separator.c_str(), stdout);
    }
    std::fwrite(m->payload, 1, m->len, stdout);
    std::fputc('\n', stdout);
    ++printed;
    rd_kafka_message_destroy(m);
  }
  std::fflush(stdout);
  rd_kafka_consumer_close(rk.get());
  return rc;
}

}  // namespace

action add_consume_command(CLI::App& app) {
  auto o = std::make_shared<consume_options>();
  auto* cmd = app.add_subcommand("consume", "Print records of a topic, one per line");
  cmd->add_option("topic", o->topic, "Topic")->required();
  cmd->add_option("--brokers,-b", o->brokers, "Kafka bootstrap servers")->capture_default_str();
  cmd->add_option("--from,-o", o->from, "beginning, end, an offset, or -N for the last N")
      ->capture_default_str();
  cmd->add_option("--partition,-p", o->partition, "Only this partition");
  cmd->add_option("--count,-c", o->count, "Stop after this many records");
  cmd->add_flag("--exit-at-end,-e", o->exit_at_end, "Stop at the end of every partition");
  cmd->add_flag("--print-key", o->print_key, "Print KEY<sep>VALUE");
  cmd->add_flag("--print-offset", o->print_offset, "Print PARTITION:OFFSET<sep> first");
  cmd->add_option("--separator", o->key_separator, "Separator for --print-key/--print-offset");
  cmd->add_option("-X", o->props, "librdkafka property key=value (repeatable)");
  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    try {
      return consume(*o);
    } catch (const client_error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
  };
}

}  // namespace sluice::cli
