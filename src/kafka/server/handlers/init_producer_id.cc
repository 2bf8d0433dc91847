#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// Idempotent producers get a fresh producer id (persisted, never reused) or, when they ask to
// bump the epoch of the one they have (KIP-360), the same id with the next epoch.
boost::asio::awaitable<void> handle_init_producer_id(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  auto transactional_id = in.nullable_string();
  in.i32();  // transaction_timeout_ms
  int64_t producer_id = -1;
  int16_t epoch = -1;
  if (ctx.version >= 3) {
    producer_id = in.i64();
    epoch = in.i16();
  }
  in.tagged_fields();
  ctx.expect_end();

  error_code err = error_code::none;
  if (transactional_id) {
    err = error_code::invalid_request;  // transactions are not implemented yet
    producer_id = -1;
    epoch = -1;
  } else if (producer_id >= 0 && epoch >= 0 && epoch < INT16_MAX - 1) {
    ++epoch;
  } else {
    producer_id = ctx.b.log.allocate_producer_id();
    epoch = 0;
  }
  out.i32(0);  // throttle_time_ms
  out.i16(code(err));
  out.i64(producer_id);
  out.i16(epoch);
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
