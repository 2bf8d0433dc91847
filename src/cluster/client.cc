#include "cluster/client.h"

#include <spdlog/spdlog.h>

#include <set>

namespace sluice::cluster {

namespace {

void to_log(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
  // A broker that cannot be reached is logged as an error (FAIL, ERROR) by librdkafka, which
  // retries it: a warning here (what does not recover shows as a failed query or statement).
  std::string_view f(facility);
  if (level <= 3 && (f == "FAIL" || f == "ERROR")) level = 4;
  auto l = level <= 3   ? spdlog::level::err
           : level <= 4 ? spdlog::level::warn
           : level <= 6 ? spdlog::level::info
                        : spdlog::level::debug;
  spdlog::log(l, "librdkafka {} {}: {}", rd_kafka_name(rk), facility, line);
}

}  // namespace

error_info kafka_error(std::string_view what, rd_kafka_resp_err_t err) {
  errc code = errc::io_error;
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    code = errc::unknown_topic;
  else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    code = errc::topic_exists;
  else if (err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
    code = errc::offset_out_of_range;
  else if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    code = errc::batch_too_large;
  return make_error(code, std::string(what) + ": " + rd_kafka_err2str(err));
}

error_info kafka_error(std::string_view what, rd_kafka_error_t* e) {
  std::string m = std::string(what) + ": " + rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return make_error(errc::io_error, std::move(m));
}

result<kafka_handle> make_client(const kafka_options& o, rd_kafka_type_t type,
                                 const std::map<std::string, std::string>& extra,
                                 void (*configure)(rd_kafka_conf_t*, void*), void* opaque) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", o.bootstrap}, {"client.id", o.client_id}, {"log_level", "4"}};
  for (const auto& [k, v] : extra)
    props[k] = v;
  // The cluster's properties (security, tuning) win, but not over what a client's guarantees
  // rest on (isolation, idempotence, transactional and group ids, offsets not committed).
  static const std::set<std::string> tunable = {"linger.ms",
                                                "compression.type",
                                                "fetch.wait.max.ms",
                                                "max.partition.fetch.bytes",
                                                "queued.max.messages.kbytes",
                                                "partitioner",
                                                "heartbeat.interval.ms"};
  for (const auto& [k, v] : o.properties)
    if (!extra.count(k) || tunable.count(k)) props[k] = v;
  for (const auto& [k, v] : props)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return make_error(errc::invalid_config, "librdkafka property " + k + ": " + err);
    }
  rd_kafka_conf_set_log_cb(conf, &to_log);
  if (configure) configure(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return make_error(errc::invalid_config, std::string("cannot create a Kafka client: ") + err);
  }
  return kafka_handle(rk);
}

result<kafka_handle> open_reader(const kafka_options& o, const std::string& topic,
                                 const std::vector<int32_t>& partitions,
                                 const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> props = {{"group.id", "_sluice_reader"},
                                              {"enable.auto.commit", "false"},
                                              {"enable.auto.offset.store", "false"},
                                              {"enable.partition.eof", "true"}};
  for (const auto& [k, v] : extra)
    props[k] = v;
  auto rk = make_client(o, RD_KAFKA_CONSUMER, props);
  if (!rk) return rk.error();
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t p : partitions)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  auto err = rd_kafka_assign(rk->get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) {
    destroy_reader(std::move(*rk));
    return kafka_error("reading " + topic, err);
  }
  return rk;
}

}  // namespace sluice::cluster
