#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// Consumer groups and transactions have no coordinator yet: every key is answered with the
// retriable COORDINATOR_NOT_AVAILABLE, so clients wait instead of failing.
boost::asio::awaitable<void> handle_find_coordinator(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  std::vector<std::string> keys;
  if (ctx.version <= 3) {
    keys.push_back(in.string());
    if (ctx.version >= 1) in.i8();  // key_type
  } else {
    in.i8();  // key_type
    int32_t n = in.array_len();
    for (int32_t i = 0; i < n; ++i)
      keys.push_back(in.string());
  }
  in.tagged_fields();
  ctx.expect_end();

  const std::string msg = "consumer groups and transactions are not available yet";
  if (ctx.version >= 1) out.i32(0);  // throttle_time_ms
  if (ctx.version <= 3) {
    out.i16(code(error_code::coordinator_not_available));
    if (ctx.version >= 1) out.nullable_string(msg);
    out.i32(-1);
    out.string("");
    out.i32(-1);
  } else {
    out.array_len(keys.size());
    for (const auto& k : keys) {
      out.string(k);
      out.i32(-1);
      out.string("");
      out.i32(-1);
      out.i16(code(error_code::coordinator_not_available));
      out.nullable_string(msg);
      out.tagged_fields();
    }
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
