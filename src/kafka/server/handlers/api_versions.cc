#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {
void write_api_list(writer& out) {
  auto apis = supported_apis();
  out.array_len(apis.size());
  for (const auto& a : apis) {
    out.i16(static_cast<int16_t>(a.key));
    out.i16(a.min_version);
    out.i16(a.max_version);
    out.tagged_fields();
  }
}
}  // namespace

void write_api_versions_fallback(writer& out) {
  out.i16(code(error_code::unsupported_version));
  write_api_list(out);
}

boost::asio::awaitable<void> handle_api_versions(request_context& ctx) {
  if (ctx.version >= 3) {
    ctx.in.string();  // client_software_name
    ctx.in.string();  // client_software_version
    ctx.in.tagged_fields();
  }
  ctx.out.i16(code(error_code::none));
  write_api_list(ctx.out);
  if (ctx.version >= 1) ctx.out.i32(0);  // throttle_time_ms
  ctx.out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
