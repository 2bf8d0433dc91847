#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// DescribeCluster: this broker is the whole cluster (and its controller).
boost::asio::awaitable<void> handle_describe_cluster(request_context& ctx) {
  auto& in = ctx.in;
  in.boolean();  // include_cluster_authorized_operations: no ACLs, the field stays unset
  int8_t endpoint_type = ctx.version >= 1 ? in.i8() : 1;
  in.tagged_fields();
  ctx.expect_end();

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  const bool allowed = ctx.allowed_on_cluster(security::acl_operation::describe);
  const bool brokers = endpoint_type == 1 && allowed;
  out.i16(code(!allowed  ? error_code::cluster_authorization_failed
               : brokers ? error_code::none
                         : error_code::unsupported_endpoint_type));
  out.nullable_string(brokers || !allowed
                          ? std::nullopt
                          : std::optional<std::string_view>("only brokers can be described"));
  if (ctx.version >= 1) out.i8(endpoint_type);
  out.string(ctx.b.config.cluster_id);
  out.i32(ctx.b.config.node_id);  // controller
  out.array_len(brokers ? 1 : 0);
  if (brokers) {
    out.i32(ctx.b.config.node_id);
    out.string(ctx.where().advertised_host);
    out.i32(ctx.where().advertised_port);
    out.nullable_string(std::nullopt);  // rack
    out.tagged_fields();
  }
  out.i32(INT32_MIN);  // cluster_authorized_operations: not requested / unknown
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
