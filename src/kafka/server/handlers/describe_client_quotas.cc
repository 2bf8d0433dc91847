#include "kafka/server/handlers/handlers.h"
#include "security/quotas.h"

namespace sluice::kafka {

namespace {
constexpr int8_t k_match_exact = 0;
constexpr int8_t k_match_default = 1;
constexpr int8_t k_match_any = 2;

struct component {
  std::string type;
  int8_t match = k_match_any;
  std::optional<std::string> name;
};

bool selects(const std::vector<component>& filter, bool strict,
             const security::quota_entity& entity) {
  for (const auto& c : filter) {
    auto it = entity.find(c.type);
    if (it == entity.end()) return false;
    if (c.match == k_match_exact && it->second != c.name) return false;
    if (c.match == k_match_default && it->second) return false;
  }
  if (strict)
    for (const auto& [type, _] : entity)
      if (std::none_of(filter.begin(), filter.end(), [&](auto& c) { return c.type == type; }))
        return false;
  return true;
}
}  // namespace

// DescribeClientQuotas v0-1: the quotas whose entity the filter selects. Needs
// DESCRIBE_CONFIGS on the cluster.
boost::asio::awaitable<void> handle_describe_client_quotas(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<component> filter;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    component c;
    c.type = in.string();
    c.match = in.i8();
    c.name = in.nullable_string();
    in.tagged_fields();
    filter.push_back(std::move(c));
  }
  bool strict = in.boolean();
  in.tagged_fields();
  ctx.expect_end();

  error_code err = error_code::none;
  std::string message;
  std::vector<security::quota_entry> found;
  auto* q = ctx.b.config.security.quotas.get();
  if (!ctx.allowed_on_cluster(security::acl_operation::describe_configs)) {
    err = error_code::cluster_authorization_failed;
  } else if (std::any_of(filter.begin(), filter.end(), [](auto& c) {
               return c.match < k_match_exact || c.match > k_match_any;
             })) {
    err = error_code::invalid_request;
    message = "unknown match type";
  } else if (q) {
    for (auto& e : q->entries())
      if (selects(filter, strict, e.entity)) found.push_back(std::move(e));
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.i16(code(err));
  out.string_or_null(message);
  out.array_len(found.size());
  for (const auto& e : found) {
    out.array_len(e.entity.size());
    for (const auto& [type, name] : e.entity) {
      out.string(type);
      out.nullable_string(name ? std::optional<std::string_view>(*name) : std::nullopt);
      out.tagged_fields();
    }
    out.array_len(e.values.size());
    for (const auto& [key, value] : e.values) {
      out.string(key);
      out.f64(value);
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
