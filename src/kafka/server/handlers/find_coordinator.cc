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
  // Finding a coordinator needs DESCRIBE on the group or the transactional id.
  auto denied = [&](const std::string& key) {
    if (err != error_code::none) return false;
    return key_type == k_key_group ? !ctx.allowed(security::acl_operation::describe,
                                                  security::resource_type::group, key)
                                   : !ctx.allowed(security::acl_operation::describe,
                                                  security::resource_type::transactional_id, key);
  };
  const error_code denied_code = key_type == k_key_group
                                     ? error_code::group_authorization_failed
                                     : error_code::transactional_id_authorization_failed;
  auto write_one = [&](const std::string& key, bool with_message) {
    bool no = denied(key);
    bool ok = available && !no;
    error_code e = no ? denied_code : err;
    out.i32(ok ? ctx.b.config.node_id : -1);
    out.string(ok ? std::string_view(ctx.where().advertised_host) : "");
    out.i32(ok ? ctx.where().advertised_port : -1);
    (void)with_message;
    return e;
  };
  if (ctx.version >= 1) out.i32(0);  // throttle_time_ms
  if (ctx.version <= 3) {
    bool no = denied(keys.front());
    out.i16(code(no ? denied_code : err));
    if (ctx.version >= 1) out.nullable_string(no ? std::nullopt : msg);
    write_one(keys.front(), false);
  } else {
    out.array_len(keys.size());
    for (const auto& k : keys) {
      out.string(k);
      error_code e = write_one(k, true);
      out.i16(code(e));
      out.nullable_string(e == err ? msg : std::nullopt);
      out.tagged_fields();
    }
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
