#include <spdlog/spdlog.h>

#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// CreateAcls v0-3: each creation answered on its own; needs ALTER on the cluster.
boost::asio::awaitable<void> handle_create_acls(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<security::acl_binding> creations;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    security::acl_binding b;
    b.type = static_cast<security::resource_type>(in.i8());
    b.name = in.string();
    b.pattern = ctx.version >= 1 ? static_cast<security::pattern_type>(in.i8())
                                 : security::pattern_type::literal;
    b.principal = in.string();
    b.host = in.string();
    b.operation = static_cast<security::acl_operation>(in.i8());
    b.permission = static_cast<security::acl_permission>(in.i8());
    in.tagged_fields();
    creations.push_back(std::move(b));
  }
  in.tagged_fields();
  ctx.expect_end();

  auto* authz = ctx.b.config.security.authorizer.get();
  std::vector<std::pair<error_code, std::string>> results(creations.size());
  if (!authz) {
    for (auto& r : results)
      r = {error_code::security_disabled, "no authorizer: sluice runs without authentication"};
  } else if (!ctx.allowed_on_cluster(security::acl_operation::alter)) {
    for (auto& r : results)
      r = {error_code::cluster_authorization_failed, {}};
  } else {
    std::vector<security::acl_binding> valid;
    for (size_t i = 0; i < creations.size(); ++i) {
      if (auto why = security::validate(creations[i]); !why.empty())
        results[i] = {error_code::invalid_request, why};
      else
        valid.push_back(creations[i]);
    }
    if (auto r = authz->acls().add(valid); !r) {
      for (size_t i = 0; i < creations.size(); ++i)
        if (results[i].first == error_code::none)
          results[i] = {error_code::unknown_server_error, r.error().message};
    } else if (!valid.empty()) {
      spdlog::info("kafka: {} added {} ACL binding(s)", ctx.session.principal, valid.size());
    }
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(results.size());
  for (const auto& [e, message] : results) {
    out.i16(code(e));
    out.string_or_null(message);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
