// What connectors read from their peers and clients: the first byte picks the decoder, the rest
// is its input. Each must answer bad input with its error, never crash, hang or read out of
// bounds.
//   0  a replication stream message (XLogData or keepalive), then its pgoutput message
//      (connect/postgres/pgoutput.h)
//   1  Debezium's change envelope into a row (stream/debezium_decoder.h)
//   2  a connector config as JSON (Kafka Connect's REST API; connect/worker.h)

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connect/postgres/pgoutput.h"
#include "connect/worker.h"
#include "stream/debezium_decoder.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      if (auto m = connect::pg::decode_copy_data(in))
        if (auto* x = std::get_if<connect::pg::xlog_data>(&*m))
          (void)connect::pg::decode(x->payload);
      (void)connect::pg::decode(in);
      break;
    }
    case 1: {
      using stream::data_type;
      using stream::type_id;
      static stream::debezium_decoder d({{"id", data_type::of(type_id::int64)},
                                         {"name", data_type::of(type_id::varchar)},
                                         {"v", data_type::of(type_id::float64)}});
      stream::row r;
      std::string err;
      bool removed = false;
      (void)d.decode_change(in, r, removed, err);
      break;
    }
    default: {
      std::string err;
      if (auto c = connect::config_from_json(in, err))
        (void)connect::config_from_json(connect::config_to_json(*c), err);
    }
  }
  return 0;
}
