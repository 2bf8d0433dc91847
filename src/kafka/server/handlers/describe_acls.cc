#include <map>

#include "kafka/server/handlers/acl_wire.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// DescribeAcls v0-3: the bindings a filter selects, grouped by resource. Needs DESCRIBE on
// the cluster.
boost::asio::awaitable<void> handle_describe_acls(request_context& ctx) {
  auto f = read_acl_filter(ctx.in, ctx.version);
  ctx.in.tagged_fields();
  ctx.expect_end();
  auto* authz = ctx.b.config.security.authorizer.get();
  error_code err = error_code::none;
  std::string message;
  std::vector<security::acl_binding> found;
  if (!authz) {
    err = error_code::security_disabled;
    message = "no authorizer: sluice runs without authentication";
  } else if (!ctx.allowed_on_cluster(security::acl_operation::describe)) {
    err = error_code::cluster_authorization_failed;
  } else if (!valid_filter(f)) {
    err = error_code::invalid_request;
    message = "the filter has an unknown resource type, pattern, operation or permission";
  } else {
    found = authz->acls().describe(f);
  }
  std::map<std::tuple<int, std::string, int>, std::vector<const security::acl_binding*>> by;
  for (const auto& b : found)
    by[{static_cast<int>(b.type), b.name, static_cast<int>(b.pattern)}].push_back(&b);
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.i16(code(err));
  out.string_or_null(message);
  out.array_len(by.size());
  for (const auto& [key, list] : by) {
    out.i8(static_cast<int8_t>(std::get<0>(key)));
    out.string(std::get<1>(key));
    if (ctx.version >= 1) out.i8(static_cast<int8_t>(std::get<2>(key)));
    out.array_len(list.size());
    for (const auto* b : list) {
      out.string(b->principal);
      out.string(b->host);
      out.i8(static_cast<int8_t>(b->operation));
      out.i8(static_cast<int8_t>(b->permission));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
