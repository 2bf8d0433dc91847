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
//   6  a queue's delivery state: a snapshot, then journal events replayed onto it
//      (queue/journal.h, queue/partition_state.h), then what a receive asks of it

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "group/offset_store.h"
#include "group/transaction_log.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "queue/journal.h"
#include "queue/partition_state.h"
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
  switch (data[0] % 7) {
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
    case 6: {
      auto [snap, events] = split(in);
      // Partition 0 from the snapshot, partition 1 empty. Restoring makes every offset between
      // the floor and the cursor that is not settled ready again (in flight at the crash):
      // memory and time linear in that span by design, so spans beyond 1K are not tried (nor
      // offsets beyond a few hundred in the events: the fuzzer stays fast).
      std::vector<queue::partition_state> parts(2);
      std::string_view snap_text(reinterpret_cast<const char*>(snap.data()), snap.size());
      try {
        stream::state_reader peek(snap_text);
        int64_t floor = peek.varint(), cursor = peek.varint();
        if (cursor < floor || static_cast<uint64_t>(cursor) - static_cast<uint64_t>(floor) > 1024)
          break;
        stream::state_reader r(snap_text);
        parts[0].restore(r);
      } catch (const std::exception&) {
        break;
      }
      // Events from the input framed as the journal writes them (CRCs a fuzzer cannot forge),
      // then the rest of the input as a torn or corrupt tail.
      std::string journal;
      size_t at = 0;
      auto take = [&](size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n && at < events.size(); ++i)
          v = v << 8 | events[at++];
        return v;
      };
      while (at + 4 <= events.size() && events[at] != 0xff) {
        queue::event e;
        e.k = static_cast<queue::event::kind>(take(1) % 4);
        e.partition = static_cast<int32_t>(take(1) % 3);
        e.a = static_cast<int64_t>(take(1)) - 10;
        e.b = static_cast<int64_t>(take(1)) - 10;
        queue::journal::encode(e, journal);
      }
      journal.append(reinterpret_cast<const char*>(events.data()) + at, events.size() - at);
      bytes_view framed(reinterpret_cast<const uint8_t*>(journal.data()), journal.size());
      // The partitions' logs end at offset 4096 (a queue opens with its logs' ends).
      queue::journal::replay(framed, [&](const queue::event& e) {
        if (e.partition < 0 || static_cast<size_t>(e.partition) >= parts.size()) return;
        parts[static_cast<size_t>(e.partition)].replay(e, 4096);
      });
      for (auto& p : parts) {
        int64_t end = p.cursor() + 1000;
        for (int64_t o : p.candidates(16, 0, end))
          if (o < end) p.take(o, 1000, "c");  // a receive reads only below the partition's end
        (void)p.ready(0, end);
        (void)p.delayed(0);
        stream::state_writer w;
        p.snapshot(w);
      }
      break;
    }
  }
  return 0;
}
