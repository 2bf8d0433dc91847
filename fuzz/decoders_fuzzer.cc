// The decoders of bytes that reach sluice from disk or from clients outside the Kafka request
// path, under one fuzzer: the first byte picks the decoder, the rest is its input. Each must
// answer bad input with its error (a false, a nullopt, an error result, or the exception the
// checkpoint codec documents), never crash, hang or read out of bounds.
//   0  JSON records into a schema with every column type (stream/json_decoder.h)
//   1  checkpoint state: values and rows (stream/state_codec.h)
//   2  a view's checkpointed rows (view/view.h restore)
//   3  __consumer_offsets keys and values (group/offset_store.h)
//   4  __transaction_state keys and values (group/transaction_log.h)
//   5  record batches: header checks, then every record and header (log/records.h)

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "group/offset_store.h"
#include "group/transaction_log.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "stream/json_decoder.h"
#include "stream/state_codec.h"
#include "view/view.h"

using namespace sluice;

namespace {

std::vector<stream::field_type> schema() {
  using stream::data_type;
  using stream::type_id;
  auto nested = std::make_shared<data_type>();
  nested->id = type_id::row;
  nested->fields = {{"x", data_type::of(type_id::varchar)}, {"y", data_type::of(type_id::int64)}};
  auto list = std::make_shared<data_type>();
  list->id = type_id::array;
  list->element = data_type::of(type_id::int64);
  auto map = std::make_shared<data_type>();
  map->id = type_id::map;
  map->element = data_type::of(type_id::float64);
  return {{"b", data_type::of(type_id::boolean)},
          {"i", data_type::of(type_id::int32)},
          {"l", data_type::of(type_id::int64)},
          {"f", data_type::of(type_id::float64)},
          {"d", data_type::of(type_id::decimal)},
          {"s", data_type::of(type_id::varchar)},
          {"t", data_type::of(type_id::timestamp)},
          {"r", nested},
          {"a", list},
          {"m", map}};
}

// Splits `in` into two parts at a length given by its first byte.
std::pair<bytes_view, bytes_view> split(bytes_view in) {
  if (in.empty()) return {in, in};
  size_t n = std::min<size_t>(in[0], in.size() - 1);
  return {in.subspan(1, n), in.subspan(1 + n)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bytes_view in(data + 1, size - 1);
  std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  switch (data[0] % 6) {
    case 0: {
      static stream::json_decoder decoder(schema());
      stream::row out;
      std::string err;
      decoder.decode(text, out, err);
      break;
    }
    case 1: {
      stream::state_reader r(text);
      try {
        while (!r.at_end()) {
          r.get_row();
          if (!r.at_end()) r.get_value();
        }
      } catch (const std::exception&) {  // the codec's answer to a bad checkpoint
      }
      break;
    }
    case 2: {
      view::view v("v", {"k", "n"});
      stream::state_reader r(text);
      try {
        v.restore(r);
        v.rows();
      } catch (const std::exception&) {
      }
      break;
    }
    case 3: {
      auto [k, val] = split(in);
      group::offset_store::decode_key(k);
      group::offset_store::decode_value(val);
      break;
    }
    case 4: {
      auto [k, val] = split(in);
      group::transaction_log::decode_key(k);
      group::transaction_log::decode_value(val);
      break;
    }
    case 5: {
      (void)log::validate_batch(in);
      size_t records = 0;
      auto r = log::for_each_record(in, [&](const log::record_view& rec) {
        ++records;
        (void)log::for_each_header(rec, [](std::string_view, std::optional<bytes_view>) {});
      });
      (void)r;
      log::control_marker(in);
      break;
    }
  }
  return 0;
}
