#include "cli/kafka_client.h"

namespace sluice::cli {

std::pair<std::string, std::string> split_property(const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw client_error("expected key=value, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

rk_ptr make_client(rd_kafka_type_t type, const std::string& brokers,
                   const std::vector<std::pair<std::string, std::string>>& props,
                   void (*dr_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*)) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw client_error(std::string(err));
    }
  };
  set("bootstrap.servers", brokers);
  set("log_level", "3");
  for (const auto& [k, v] : props)
    set(k, v);
  if (dr_cb) rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw client_error(std::string(err));
  }
  return rk_ptr(rk);
}

int partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
  rd_kafka_topic_destroy(t);
  if (e) throw client_error(std::string("metadata: ") + rd_kafka_err2str(e));
  int n = 0;
  rd_kafka_resp_err_t terr = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic == md->topics[i].topic) {
      n = md->topics[i].partition_cnt;
      terr = md->topics[i].err;
    }
  }
  rd_kafka_metadata_destroy(md);
  if (terr) throw client_error("topic '" + topic + "': " + rd_kafka_err2str(terr));
  if (n == 0) throw client_error("topic '" + topic + "' has no partitions");
  return n;
}

}  // namespace sluice::cli
