// Publishes N messages to an MQTT broker as fast as it acknowledges them (QoS 1, up to 1,000 in
// flight), for bench/connectors.sh: mosquitto_pub -l keeps everything it read in flight and is
// disconnected by the broker for it beyond a few tens of thousands of messages.
//
//   mqtt_publish PORT TOPIC COUNT   -> "N messages in S s: R msg/s" once the broker acked all

#include <mosquitto.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
int acked = 0;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: mqtt_publish PORT TOPIC COUNT\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  const char* topic = argv[2];
  int count = std::atoi(argv[3]);
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(nullptr, true, nullptr);
  mosquitto_max_inflight_messages_set(m, 1000);
  mosquitto_publish_callback_set(m, [](mosquitto*, void*, int) { ++acked; });
  if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "cannot connect\n");
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  int sent = 0;
  while (acked < count) {
    // Keep about 1,000 unacknowledged: the library queues the rest, the broker sees the window.
    while (sent < count && sent - acked < 1000) {
      std::string payload = "{\"device\":\"d" + std::to_string(sent % 100) +
                            "\",\"reading\":" + std::to_string(sent) + "}";
      if (mosquitto_publish(m, nullptr, topic, static_cast<int>(payload.size()), payload.data(), 1,
                            false) != MOSQ_ERR_SUCCESS)
        return 1;
      ++sent;
    }
    if (mosquitto_loop(m, 10, 1) != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "connection lost after %d acks\n", acked);
      return 1;
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d messages in %.2f s: %.0f msg/s\n", count, s, count / s);
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
  return 0;
}
