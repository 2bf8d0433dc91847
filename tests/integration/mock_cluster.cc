// A Kafka-protocol cluster of several brokers in one process (librdkafka's mock cluster), for
// cluster-mode tests: prints its bootstrap address, then takes commands on stdin until EOF:
//   down BROKER          the broker stops answering (its connections are closed)
//   up BROKER            it answers again
//   leader TOPIC P BROKER   partition P of TOPIC moves its leader to BROKER
// Usage: mock_cluster [BROKERS] [TOPIC:PARTITIONS ...]

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  int brokers = argc > 1 ? std::atoi(argv[1]) : 3;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::cerr << "mock_cluster: " << err << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::cerr << "mock_cluster: cannot start the mock cluster\n";
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    std::string spec = argv[i];
    auto colon = spec.find(':');
    int parts = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
    std::string topic = spec.substr(0, colon);
    if (rd_kafka_mock_topic_create(mc, topic.c_str(), parts, std::min(brokers, 3))) {
      std::cerr << "mock_cluster: cannot create topic " << topic << "\n";
      return 1;
    }
  }
  std::cout << rd_kafka_mock_cluster_bootstraps(mc) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (cmd == "down" || cmd == "up") {
      int id = 0;
      in >> id;
      e = cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id)
                        : rd_kafka_mock_broker_set_up(mc, id);
    } else if (cmd == "leader") {
      std::string topic;
      int p = 0, id = 0;
      in >> topic >> p >> id;
      e = rd_kafka_mock_partition_set_leader(mc, topic.c_str(), p, id);
    } else if (cmd == "quit") {
      break;
    } else if (!cmd.empty()) {
      std::cerr << "mock_cluster: unknown command " << cmd << "\n";
      continue;
    }
    std::cout << (e ? rd_kafka_err2str(e) : "ok") << std::endl;
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
