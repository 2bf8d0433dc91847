// Every connector kind of this build: one line each.

#include "connect/connector.h"
#include "connect/mqtt/mqtt.h"
#include "connect/postgres/cdc_source.h"
#include "connect/postgres/table_sink.h"
#include "connect/redis/redis_sink.h"
#include "connect/webhook/webhook_sink.h"

namespace sluice::connect {

const std::vector<kind>& kinds() {
  // clang-format off
  static const std::vector<kind> all = {
      mqtt_sink_kind(),
      mqtt_source_kind(),
      postgres_cdc_kind(),
      postgres_sink_kind(),
      redis_sink_kind(),
      webhook_sink_kind(),
  };
  // clang-format on
  return all;
}

}  // namespace sluice::connect
