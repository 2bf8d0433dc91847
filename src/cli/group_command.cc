// `sluice group list|describe|delete|reset-offsets`: consumer groups over the Kafka admin API,
// against sluice or any Kafka cluster.

#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/kafka_client.h"

namespace sluice::cli {

namespace {

struct group_options {
  std::string brokers = "127.0.0.1:9092";
  std::string group;
  std::string topic;
  bool to_earliest = false;
  bool to_latest = false;
  int64_t to_offset = -1;
  int64_t to_datetime = -1;
  bool execute = false;
  int timeout_ms = 10000;
};

void check_group_result(const rd_kafka_group_result_t* r) {
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(r))
    throw client_error(std::string(rd_kafka_group_result_name(r)) + ": " +
                       rd_kafka_error_string(e));
}

int list(const group_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  admin_queue q(rk.get());
  rd_kafka_ListConsumerGroups(rk.get(), nullptr, q.q);
  auto* ev = q.wait(RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, o.timeout_ms);
  const auto* res = rd_kafka_event_ListConsumerGroups_result(ev);
  size_t n = 0;
  auto** groups = rd_kafka_ListConsumerGroups_result_valid(res, &n);
  std::map<std::string, std::string> sorted;
  for (size_t i = 0; i < n; ++i)
    sorted[rd_kafka_ConsumerGroupListing_group_id(groups[i])] =
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i]));
  rd_kafka_event_destroy(ev);
  for (const auto& [g, state] : sorted)
    std::printf("%s\t%s\n", g.c_str(), state.c_str());
  return 0;
}

// Committed offsets of the group, by topic and partition.
std::map<std::pair<std::string, int32_t>, int64_t> committed(rd_kafka_t* rk,
                                                             const group_options& o) {
  admin_queue q(rk);
  auto* req = rd_kafka_ListConsumerGroupOffsets_new(o.group.c_str(), nullptr);
  rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, nullptr, q.q);
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  auto* ev = q.wait(RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    check_group_result(groups[i]);
    const auto* parts = rd_kafka_group_result_partitions(groups[i]);
    for (int k = 0; parts && k < parts->cnt; ++k)
      out[{parts->elems[k].topic, parts->elems[k].partition}] = parts->elems[k].offset;
  }
  rd_kafka_event_destroy(ev);
  return out;
}

int describe(const group_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  admin_queue q(rk.get());
  const char* ids[] = {o.group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk.get(), ids, 1, nullptr, q.q);
  auto* ev = q.wait(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** groups = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
  for (size_t i = 0; i < n; ++i) {
    const auto* g = groups[i];
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(g)) {
      std::string msg = rd_kafka_error_string(e);
      rd_kafka_event_destroy(ev);
      throw client_error(msg);
    }
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(g);
    std::printf("group %s: %s, assignor %s, %zu members\n",
                rd_kafka_ConsumerGroupDescription_group_id(g),
                rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(g)),
                rd_kafka_ConsumerGroupDescription_partition_assignor(g), members);
    for (size_t m = 0; m < members; ++m) {
      const auto* md = rd_kafka_ConsumerGroupDescription_member(g, m);
      const char* inst = rd_kafka_MemberDescription_group_instance_id(md);
      std::printf(
          "  member %s (client %s, host %s%s%s):", rd_kafka_MemberDescription_consumer_id(md),
          rd_kafka_MemberDescription_client_id(md), rd_kafka_MemberDescription_host(md),
          inst ? ", instance " : "", inst ? inst : "");
      const auto* parts =
          rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
      for (int k = 0; parts && k < parts->cnt; ++k)
        std::printf(" %s-%d", parts->elems[k].topic, parts->elems[k].partition);
      std::printf("\n");
    }
  }
  rd_kafka_event_destroy(ev);

  auto offsets = committed(rk.get(), o);
  // "end" is the last stable offset (librdkafka asks read_committed): what open transactions
  // hold back is not counted as lag.
  std::printf("%-30s %9s %15s %15s %10s\n", "topic", "partition", "committed", "end", "lag");
  int64_t total = 0;
  for (const auto& [tp, off] : offsets) {
    int64_t lo = 0, hi = 0;
    rd_kafka_query_watermark_offsets(rk.get(), tp.first.c_str(), tp.second, &lo, &hi, o.timeout_ms);
    int64_t lag = off >= 0 ? std::max<int64_t>(0, hi - off) : hi - lo;
    total += lag;
    std::printf("%-30s %9d %15lld %15lld %10lld\n", tp.first.c_str(), tp.second,
                static_cast<long long>(off), static_cast<long long>(hi),
                static_cast<long long>(lag));
  }
  std::printf("total lag: %lld\n", static_cast<long long>(total));
  return 0;
}

int remove(const group_options& o) {
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  admin_queue q(rk.get());
  auto* dg = rd_kafka_DeleteGroup_new(o.group.c_str());
  rd_kafka_DeleteGroups(rk.get(), &dg, 1, nullptr, q.q);
  rd_kafka_DeleteGroup_destroy(dg);
  auto* ev = q.wait(RD_KAFKA_EVENT_DELETEGROUPS_RESULT, o.timeout_ms);
  size_t n = 0;
  auto** res = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
  try {
    for (size_t i = 0; i < n; ++i)
      check_group_result(res[i]);
  } catch (...) {
    rd_kafka_event_destroy(ev);
    throw;
  }
  rd_kafka_event_destroy(ev);
  std::printf("deleted group %s\n", o.group.c_str());
  return 0;
}

int reset_offsets(const group_options& o) {
  int modes = o.to_earliest + o.to_latest + (o.to_offset >= 0) + (o.to_datetime >= 0);
  if (modes != 1)
    throw client_error(
        "give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime");
  auto rk = make_client(RD_KAFKA_PRODUCER, o.brokers, {});
  int n = partition_count(rk.get(), o.topic, o.timeout_ms);
  auto* parts = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; ++p) {
    int64_t lo = 0, hi = 0;
    if (auto e =
            rd_kafka_query_watermark_offsets(rk.get(), o.topic.c_str(), p, &lo, &hi, o.timeout_ms))
      throw client_error(std::string("offsets: ") + rd_kafka_err2str(e));
    int64_t target = o.to_earliest ? lo : o.to_latest ? hi : std::clamp(o.to_offset, lo, hi);
    rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p)->offset = target;
  }
  if (o.to_datetime >= 0) {
    for (int i = 0; i < parts->cnt; ++i)
      parts->elems[i].offset = o.to_datetime;
    if (auto e = rd_kafka_offsets_for_times(rk.get(), parts, o.timeout_ms))
      throw client_error(std::string("offsets for time: ") + rd_kafka_err2str(e));
    for (int i = 0; i < parts->cnt; ++i) {
      if (parts->elems[i].offset < 0) {  // nothing that late: the end
        int64_t lo = 0, hi = 0;
        rd_kafka_query_watermark_offsets(rk.get(), o.topic.c_str(), parts->elems[i].partition, &lo,
                                         &hi, o.timeout_ms);
        parts->elems[i].offset = hi;
      }
    }
  }
  for (int i = 0; i < parts->cnt; ++i)
    std::printf("%s-%d -> %lld\n", o.topic.c_str(), parts->elems[i].partition,
                static_cast<long long>(parts->elems[i].offset));
  if (!o.execute) {
    std::printf("(dry run: add --execute to apply)\n");
    rd_kafka_topic_partition_list_destroy(parts);
    return 0;
  }
  admin_queue q(rk.get());
  auto* req = rd_kafka_AlterConsumerGroupOffsets_new(o.group.c_str(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_AlterConsumerGroupOffsets(rk.get(), &req, 1, nullptr, q.q);
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  auto* ev = q.wait(RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT, o.timeout_ms);
  size_t ng = 0;
  auto** res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &ng);
  int rc = 0;
  for (size_t i = 0; i < ng; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(res[i])) {
      std::fprintf(stderr, "error: %s\n", rd_kafka_error_string(e));
      rc = 1;
    }
    const auto* pr = rd_kafka_group_result_partitions(res[i]);
    for (int k = 0; pr && k < pr->cnt; ++k)
      if (pr->elems[k].err) {
        std::fprintf(stderr, "error: %s-%d: %s\n", pr->elems[k].topic, pr->elems[k].partition,
                     rd_kafka_err2str(pr->elems[k].err));
        rc = 1;
      }
  }
  rd_kafka_event_destroy(ev);
  if (rc == 0) std::printf("offsets of group %s reset\n", o.group.c_str());
  return rc;
}

}  // namespace

action add_group_command(CLI::App& app) {
  auto o = std::make_shared<group_options>();
  auto* cmd = app.add_subcommand("group", "List, describe, delete consumer groups, reset offsets");
  cmd->require_subcommand(1);
  auto brokers = [o](CLI::App* c) {
    c->add_option("--brokers,-b", o->brokers, "Kafka bootstrap servers")->capture_default_str();
  };
  auto* l = cmd->add_subcommand("list", "Groups and their states");
  brokers(l);
  auto* d = cmd->add_subcommand("describe", "Members, assignments, committed offsets and lag");
  brokers(d);
  d->add_option("group", o->group, "Group id")->required();
  auto* del = cmd->add_subcommand("delete", "Delete an empty group and its offsets");
  brokers(del);
  del->add_option("group", o->group, "Group id")->required();
  auto* r = cmd->add_subcommand("reset-offsets", "Move an empty group's offsets on a topic");
  brokers(r);
  r->add_option("group", o->group, "Group id")->required();
  r->add_option("--topic,-t", o->topic, "Topic")->required();
  r->add_flag("--to-earliest", o->to_earliest, "The start of each partition");
  r->add_flag("--to-latest", o->to_latest, "The end of each partition");
  r->add_option("--to-offset", o->to_offset, "This offset (clamped to each partition)");
  r->add_option("--to-datetime", o->to_datetime, "The first offset at or after this time (ms)");
  r->add_flag("--execute", o->execute, "Apply (default: only print the new offsets)");
  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    try {
      if (l->parsed()) return list(*o);
      if (d->parsed()) return describe(*o);
      if (del->parsed()) return remove(*o);
      if (r->parsed()) return reset_offsets(*o);
    } catch (const client_error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    return 2;
  };
}

}  // namespace sluice::cli
