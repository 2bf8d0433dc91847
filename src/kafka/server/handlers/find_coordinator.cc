#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {
constexpr int8_t k_key_group = 0;
constexpr int8_t k_key_transaction = 1;
}  // namespace

// This broker coordinates every consumer group and every transactional id.
boost::asio::awaitable<void> handle_find_coordinator(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  std::vector<std::string> keys;
  int8_t key_type = k_key_group;
  if (ctx.version <= 3) {
    keys.push_back(in.string());
    if (ctx.version >= 1) key_type = in.i8();
  } else {
    key_type = in.i8();
    int32_t n = in.array_len();
    for (int32_t i = 0; i < n; ++i)
      keys.push_back(in.string());
  }
  in.tagged_fields();
  ctx.expect_end();

  const bool available = (key_type == k_key_group && ctx.b.groups != nullptr) ||
                         (key_type == k_key_transaction && ctx.b.transactions != nullptr);
  const error_code err = key_type != k_key_group && key_type != k_key_transaction
                             ? error_code::invalid_request
                         : available ? error_code::none
                                     : error_code::coordinator_not_available;
  const std::optional<std::string_view> msg =
      err == error_code::none ? std::nullopt
      : err == error_code::invalid_request
          ? std::optional<std::string_view>("unknown coordinator key type")
          : std::optional<std::string_view>("no coordinator for this key type in this process");
  const int32_t node = available ? ctx.b.config.node_id : -1;
  const std::string_view host = available ? std::string_view(ctx.where().advertised_host) : "";
  const int32_t port = available ? ctx.where().advertised_port : -1;
  if (ctx.version >= 1) out.i32(0);  // throttle_time_ms
  if (ctx.version <= 3) {
    out.i16(code(err));
    if (ctx.version >= 1) out.nullable_string(msg);
    out.i32(node);
    out.string(host);
    out.i32(port);
  } else {
    out.array_len(keys.size());
    for (const auto& k : keys) {
      out.string(k);
      out.i32(node);
      out.string(host);
      out.i32(port);
      out.i16(code(err));
      out.nullable_string(msg);
      out.tagged_fields();
    }
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
