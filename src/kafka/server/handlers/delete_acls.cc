#include <spdlog/spdlog.h>

#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// DeleteAcls v0-3: removes what each filter selects and says what that was; needs ALTER on
// the cluster.
boost::asio::awaitable<void> handle_delete_acls(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<security::acl_filter> filters;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    filters.push_back(read_acl_filter(in, ctx.version));
    in.tagged_fields();
  }
  in.tagged_fields();
  ctx.expect_end();

  auto* authz = ctx.b.config.security.authorizer.get();
  std::vector<std::pair<error_code, std::string>> status(filters.size());
  std::vector<std::vector<security::acl_binding>> removed(filters.size());
  if (!authz) {
    for (auto& s : status)
      s = {error_code::security_disabled, "no authorizer: sluice runs without authentication"};
  } else if (!ctx.allowed_on_cluster(security::acl_operation::alter)) {
    for (auto& s : status)
      s = {error_code::cluster_authorization_failed, {}};
  } else {
    std::vector<security::acl_filter> valid;
    std::vector<size_t> where;
    for (size_t i = 0; i < filters.size(); ++i) {
      if (!valid_filter(filters[i])) {
        status[i] = {error_code::invalid_request, "the filter has an unknown code"};
      } else {
        valid.push_back(filters[i]);
        where.push_back(i);
      }
    }
    auto r = authz->acls().remove(valid);
    if (!r) {
      for (size_t i : where)
        status[i] = {error_code::unknown_server_error, r.error().message};
    } else {
      size_t total = 0;
      for (size_t k = 0; k < where.size(); ++k) {
        total += (*r)[k].size();
        removed[where[k]] = std::move((*r)[k]);
      }
      if (total > 0)
        spdlog::info("kafka: {} removed {} ACL binding(s)", ctx.session.principal, total);
    }
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(filters.size());
  for (size_t i = 0; i < filters.size(); ++i) {
    out.i16(code(status[i].first));
    out.string_or_null(status[i].second);
    out.array_len(removed[i].size());
    for (const auto& b : removed[i]) {
      out.i16(code(error_code::none));
      out.nullable_string(std::nullopt);
      out.i8(static_cast<int8_t>(b.type));
      out.string(b.name);
      if (ctx.version >= 1) out.i8(static_cast<int8_t>(b.pattern));
      out.string(b.principal);
      out.string(b.host);
      out.i8(static_cast<int8_t>(b.operation));
      out.i8(static_cast<int8_t>(b.permission));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
