// `sluice topic create|list|describe|delete`: topic administration over the Kafka protocol.

#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/kafka_client.h"

namespace sluice::cli {

namespace {

int check_topic_results(const rd_kafka_topic_result_t** res, size_t n, const char* verb) {
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_topic_result_error(res[i])) {
      std::fprintf(stderr, "%s %s: %s\n", verb, rd_kafka_topic_result_name(res[i]),
                   rd_kafka_topic_result_error_string(res[i]));
      rc = 1;
    } else {
      std::printf("%s %s\n", verb, rd_kafka_topic_result_name(res[i]));
    }
  }
  return rc;
}

struct topic_options {
  std::string brokers = "127.0.0.1:9092";
  std::string name;
  int partitions = 1;
  std::vector<std::string> configs;
  std::vector<std::string> delete_configs;
  int timeout_ms = 10000;
};

int create(const topic_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  char err[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(o.name.c_str(), o.partitions, -1, err, sizeof err);
  if (!nt) throw client_error(err);
  for (const auto& kv : o.configs) {
    auto [k, v] = split_property(kv);
    rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  }
  admin_queue q(rk.get());
  rd_kafka_CreateTopics(rk.get(), &nt, 1, nullptr, q.q);
  rd_kafka_NewTopic_destroy(nt);
  auto* ev = q.wait(RD_KAFKA_EVENT_CREATETOPICS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  int rc = check_topic_results(res, n, "created");
  rd_kafka_event_destroy(ev);
  return rc;
}

int remove(const topic_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(o.name.c_str());
  admin_queue q(rk.get());
  rd_kafka_DeleteTopics(rk.get(), &dt, 1, nullptr, q.q);
  rd_kafka_DeleteTopic_destroy(dt);
  auto* ev = q.wait(RD_KAFKA_EVENT_DELETETOPICS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
  int rc = check_topic_results(res, n, "deleted");
  rd_kafka_event_destroy(ev);
  return rc;
}

int list(const topic_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  const rd_kafka_metadata_t* md = nullptr;
  if (auto e = rd_kafka_metadata(rk.get(), 1, nullptr, &md, o.timeout_ms))
    throw client_error(std::string("metadata: ") + rd_kafka_err2str(e));
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 0; i < md->topic_cnt; ++i)
    topics.emplace_back(md->topics[i].topic, md->topics[i].partition_cnt);
  rd_kafka_metadata_destroy(md);
  std::sort(topics.begin(), topics.end());
  for (const auto& [name, n] : topics)
    std::printf("%s\t%d partitions\n", name.c_str(), n);
  return 0;
}

int describe(const topic_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  int n = partition_count(rk.get(), o.name, o.timeout_ms);
  std::printf("topic %s: %d partitions\n", o.name.c_str(), n);
  std::printf("%-10s %15s %15s\n", "partition", "start offset", "end offset");
  for (int p = 0; p < n; ++p) {
    int64_t lo = 0, hi = 0;
    if (auto e =
            rd_kafka_query_watermark_offsets(rk.get(), o.name.c_str(), p, &lo, &hi, o.timeout_ms))
      throw client_error(std::string("offsets: ") + rd_kafka_err2str(e));
    std::printf("%-10d %15lld %15lld\n", p, static_cast<long long>(lo), static_cast<long long>(hi));
  }
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, o.name.c_str());
  admin_queue q(rk.get());
  rd_kafka_DescribeConfigs(rk.get(), &res, 1, nullptr, q.q);
  rd_kafka_ConfigResource_destroy(res);
  auto* ev = q.wait(RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, o.timeout_ms);
  size_t nres = 0;
  auto** rs =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
  std::printf("configs:\n");
  for (size_t i = 0; i < nres; ++i) {
    size_t nc = 0;
    auto** entries = rd_kafka_ConfigResource_configs(rs[i], &nc);
    for (size_t k = 0; k < nc; ++k) {
      const char* v = rd_kafka_ConfigEntry_value(entries[k]);
      std::printf("  %s=%s%s\n", rd_kafka_ConfigEntry_name(entries[k]), v ? v : "",
                  rd_kafka_ConfigEntry_is_default(entries[k]) ? "" : " (set on topic)");
    }
  }
  rd_kafka_event_destroy(ev);
  return 0;
}

// The topic's configs set on the topic itself (not defaults).
std::map<std::string, std::string> overrides(rd_kafka_t* rk, const topic_options& o) {
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, o.name.c_str());
  admin_queue q(rk);
  rd_kafka_DescribeConfigs(rk, &res, 1, nullptr, q.q);
  rd_kafka_ConfigResource_destroy(res);
  auto* ev = q.wait(RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** rs =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
  std::map<std::string, std::string> out;
  std::string error;
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConfigResource_error(rs[i])) error = rd_kafka_ConfigResource_error_string(rs[i]);
    size_t nc = 0;
    auto** entries = rd_kafka_ConfigResource_configs(rs[i], &nc);
    for (size_t k = 0; k < nc; ++k) {
      if (rd_kafka_ConfigEntry_source(entries[k]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
        continue;
      const char* v = rd_kafka_ConfigEntry_value(entries[k]);
      out[rd_kafka_ConfigEntry_name(entries[k])] = v ? v : "";
    }
  }
  rd_kafka_event_destroy(ev);
  if (!error.empty()) throw client_error(error);
  return out;
}

// Grows the topic to o.partitions (CreatePartitions).
int add_partitions(rd_kafka_t* rk, const topic_options& o) {
  char err[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(
      o.name.c_str(), static_cast<size_t>(o.partitions), err, sizeof err);
  if (!np) throw client_error(err);
  admin_queue q(rk);
  rd_kafka_CreatePartitions(rk, &np, 1, nullptr, q.q);
  rd_kafka_NewPartitions_destroy(np);
  auto* ev = q.wait(RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** res =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
  int rc = check_topic_results(res, n, "partitions of");
  rd_kafka_event_destroy(ev);
  return rc;
}

// AlterConfigs replaces every override, so the current ones are read and merged first.
int alter(const topic_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  if (o.partitions > 0 && add_partitions(rk.get(), o) != 0) return 1;
  if (o.configs.empty() && o.delete_configs.empty()) return 0;
  auto merged = overrides(rk.get(), o);
  for (const auto& kv : o.configs) {
    auto [k, v] = split_property(kv);
    merged[k] = v;
  }
  for (const auto& k : o.delete_configs)
    merged.erase(k);
  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, o.name.c_str());
  for (const auto& [k, v] : merged)
    rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
  admin_queue q(rk.get());
  rd_kafka_AlterConfigs(rk.get(), &res, 1, nullptr, q.q);
  rd_kafka_ConfigResource_destroy(res);
  auto* ev = q.wait(RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** rs = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConfigResource_error(rs[i])) {
      std::fprintf(stderr, "error: %s\n", rd_kafka_ConfigResource_error_string(rs[i]));
      rc = 1;
    }
  }
  rd_kafka_event_destroy(ev);
  if (rc == 0) std::printf("altered %s\n", o.name.c_str());
  return rc;
}

}  // namespace

action add_topic_command(CLI::App& app) {
  auto o = std::make_shared<topic_options>();
  auto* cmd = app.add_subcommand("topic", "Create, list, describe and delete topics");
  cmd->require_subcommand(1);
  auto brokers = [&](CLI::App* c) {
    c->add_option("--brokers,-b", o->brokers, "Kafka bootstrap servers")->capture_default_str();
  };
  auto* c = cmd->add_subcommand("create", "Create a topic");
  brokers(c);
  c->add_option("name", o->name, "Topic name")->required();
  c->add_option("--partitions,-p", o->partitions, "Partition count")->capture_default_str();
  c->add_option("--config,-c", o->configs, "Topic config key=value (repeatable)");
  auto* alt = cmd->add_subcommand("alter", "Change a topic's configs or grow its partitions");
  brokers(alt);
  alt->add_option("name", o->name, "Topic name")->required();
  alt->add_option("--partitions,-p", o->partitions, "Grow the topic to this many partitions");
  alt->add_option("--config,-c", o->configs, "Set key=value (repeatable)");
  alt->add_option("--delete-config", o->delete_configs, "Back to the default (repeatable)");
  auto* l = cmd->add_subcommand("list", "List topics");
  brokers(l);
  auto* d = cmd->add_subcommand("describe", "Partitions, offsets and configs of a topic");
  brokers(d);
  d->add_option("name", o->name, "Topic name")->required();
  auto* del = cmd->add_subcommand("delete", "Delete a topic and its data");
  brokers(del);
  del->add_option("name", o->name, "Topic name")->required();
  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    try {
      if (c->parsed()) return create(*o);
      if (alt->parsed()) {
        if (!alt->count("--partitions")) o->partitions = 0;
        return alter(*o);
      }
      if (l->parsed()) return list(*o);
      if (d->parsed()) return describe(*o);
      if (del->parsed()) return remove(*o);
    } catch (const client_error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    return 2;
  };
}

}  // namespace sluice::cli
