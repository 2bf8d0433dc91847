// AlterConfigs (replace a topic's overrides) and IncrementalAlterConfigs (set or delete single
// keys). Only topic resources are alterable; broker settings are static.

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {

constexpr int8_t k_resource_topic = 2;
constexpr int8_t k_op_set = 0;
constexpr int8_t k_op_delete = 1;

struct change {
  std::string name;
  int8_t op = k_op_set;
  std::optional<std::string> value;
};

struct resource {
  int8_t type = 0;
  std::string name;
  std::vector<change> changes;
};

// Decodes both requests (they differ only in the per-key operation).
std::pair<std::vector<resource>, bool> read_request(request_context& ctx, bool incremental) {
  auto& in = ctx.in;
  std::vector<resource> out;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    resource r;
    r.type = in.i8();
    r.name = in.string();
    int32_t nc = in.array_len();
    for (int32_t j = 0; j < nc; ++j) {
      change c;
      c.name = in.string();
      if (incremental) c.op = in.i8();
      c.value = in.nullable_string();
      in.tagged_fields();
      r.changes.push_back(std::move(c));
    }
    in.tagged_fields();
    out.push_back(std::move(r));
  }
  bool validate_only = in.boolean();
  in.tagged_fields();
  ctx.expect_end();
  return {std::move(out), validate_only};
}

// Applies (or only validates) one resource's changes; the error and its message.
std::pair<error_code, std::string> apply(request_context& ctx, const resource& r, bool incremental,
                                         bool validate_only) {
  if (r.type != k_resource_topic)
    return {error_code::invalid_request,
            "only topic configs can be altered; broker settings "
            "are set at start-up"};
  if (!ctx.allowed(security::acl_operation::alter_configs, security::resource_type::topic, r.name))
    return {error_code::topic_authorization_failed, "no ALTER_CONFIGS permission on the topic"};
  auto t = ctx.b.log.find_topic(r.name);
  if (!t) return {error_code::unknown_topic_or_partition, "topic '" + r.name + "' does not exist"};
  std::map<std::string, std::string> overrides =
      incremental ? t->overrides() : std::map<std::string, std::string>{};
  for (const auto& c : r.changes) {
    if (!log::topic_config::is_known_key(c.name))
      return {error_code::invalid_config, "unknown topic config '" + c.name + "'"};
    if (c.op == k_op_delete) {
      overrides.erase(c.name);
    } else if (c.op == k_op_set) {
      if (!c.value) return {error_code::invalid_config, "config " + c.name + " has a null value"};
      overrides[c.name] = *c.value;
    } else {
      return {error_code::invalid_config,
              "operation " + std::to_string(c.op) + " on " + c.name + " is not supported"};
    }
  }
  auto cfg = log::topic_config::with_overrides(ctx.b.log.options().defaults, overrides);
  if (!cfg) return {error_code::invalid_config, cfg.error().message};
  if (validate_only) return {error_code::none, ""};
  if (auto res = ctx.b.log.set_topic_config(r.name, overrides); !res)
    return {to_kafka(res.code()), res.error().message};
  return {error_code::none, ""};
}

boost::asio::awaitable<void> handle(request_context& ctx, bool incremental) {
  auto [resources, validate_only] = read_request(ctx, incremental);
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(resources.size());
  for (const auto& r : resources) {
    auto [err, message] = apply(ctx, r, incremental, validate_only);
    out.i16(code(err));
    out.string_or_null(message);
    out.i8(r.type);
    out.string(r.name);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace

boost::asio::awaitable<void> handle_alter_configs(request_context& ctx) {
  return handle(ctx, false);
}

boost::asio::awaitable<void> handle_incremental_alter_configs(request_context& ctx) {
  return handle(ctx, true);
}

}  // namespace sluice::kafka
