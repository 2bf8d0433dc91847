#include <spdlog/spdlog.h>

#include "kafka/server/handlers/handlers.h"
#include "security/quotas.h"

namespace sluice::kafka {

// AlterClientQuotas v0-1: sets or removes quota values per entity, each entity answered on its
// own. Needs ALTER_CONFIGS on the cluster.
boost::asio::awaitable<void> handle_alter_client_quotas(request_context& ctx) {
  auto& in = ctx.in;
  struct entry {
    std::vector<std::pair<std::string, std::optional<std::string>>> entity;
    std::vector<security::quota_manager::change> ops;
  };
  std::vector<entry> entries;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    entry e;
    int32_t ne = in.array_len();
    for (int32_t j = 0; j < ne; ++j) {
      auto type = in.string();
      auto name = in.nullable_string();
      in.tagged_fields();
      e.entity.emplace_back(std::move(type), std::move(name));
    }
    int32_t no = in.array_len();
    for (int32_t j = 0; j < no; ++j) {
      security::quota_manager::change c;
      c.key = in.string();
      c.value = in.f64();
      c.remove = in.boolean();
      in.tagged_fields();
      e.ops.push_back(std::move(c));
    }
    in.tagged_fields();
    entries.push_back(std::move(e));
  }
  bool validate_only = in.boolean();
  in.tagged_fields();
  ctx.expect_end();

  auto* q = ctx.b.config.security.quotas.get();
  const bool allowed = ctx.allowed_on_cluster(security::acl_operation::alter_configs);
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(entries.size());
  for (const auto& e : entries) {
    error_code err = error_code::none;
    std::string message;
    security::quota_entity entity;
    for (const auto& [type, name] : e.entity)
      if (!entity.emplace(type, name).second) {
        err = error_code::invalid_request;
        message = "entity type " + type + " given twice";
      }
    if (!allowed) {
      err = error_code::cluster_authorization_failed;
    } else if (!q) {
      err = error_code::invalid_request;
      message = "no quota store";
    } else if (err == error_code::none) {
      if (auto r = q->alter(entity, e.ops, validate_only); !r) {
        err = r.code() == errc::invalid_argument ? error_code::invalid_request
                                                 : error_code::unknown_server_error;
        message = r.error().message;
      } else if (!validate_only) {
        spdlog::info("kafka: {} altered {} quota value(s)", ctx.session.principal, e.ops.size());
      }
    }
    out.i16(code(err));
    out.string_or_null(message);
    out.array_len(e.entity.size());
    for (const auto& [type, name] : e.entity) {
      out.string(type);
      out.nullable_string(name ? std::optional<std::string_view>(*name) : std::nullopt);
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
