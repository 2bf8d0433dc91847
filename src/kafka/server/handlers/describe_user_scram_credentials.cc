#include <set>

#include "kafka/server/handlers/handlers.h"
#include "security/users.h"

namespace sluice::kafka {

namespace {
// The wire codes of ScramMechanism.
int8_t wire_code(security::scram_mechanism m) {
  return m == security::scram_mechanism::sha256 ? 1 : 2;
}
}  // namespace

// DescribeUserScramCredentials v0: which mechanisms (and iterations) each user has, never
// the credentials. Needs DESCRIBE on the cluster.
boost::asio::awaitable<void> handle_describe_user_scram_credentials(request_context& ctx) {
  auto& in = ctx.in;
  std::optional<std::vector<std::string>> names;
  int32_t n = in.array_len();
  if (n >= 0) {
    names.emplace();
    for (int32_t i = 0; i < n; ++i) {
      names->push_back(in.string());
      in.tagged_fields();
    }
  }
  in.tagged_fields();
  ctx.expect_end();

  auto* users = ctx.b.config.security.users.get();
  error_code top = error_code::none;
  if (!ctx.allowed_on_cluster(security::acl_operation::describe))
    top = error_code::cluster_authorization_failed;
  else if (!users)
    top = error_code::security_disabled;
  struct result_row {
    std::string user;
    error_code err = error_code::none;
    std::string message;
    std::vector<std::pair<security::scram_mechanism, int>> mechanisms;
  };
  std::vector<result_row> rows;
  if (top == error_code::none) {
    auto all = users->list();
    if (!names) {
      for (auto& u : all)
        rows.push_back({u.name, error_code::none, {}, u.mechanisms});
    } else {
      std::set<std::string> seen, duplicates;
      for (const auto& name : *names)
        if (!seen.insert(name).second) duplicates.insert(name);
      for (const auto& name : seen) {
        result_row r{name};
        auto it = std::find_if(all.begin(), all.end(), [&](auto& u) { return u.name == name; });
        if (duplicates.contains(name)) {
          r.err = error_code::duplicate_resource;
          r.message = "the user is named more than once";
        } else if (it == all.end()) {
          r.err = error_code::resource_not_found;
          r.message = "the user has no SCRAM credential";
        } else {
          r.mechanisms = it->mechanisms;
        }
        rows.push_back(std::move(r));
      }
    }
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.i16(code(top));
  out.nullable_string(std::nullopt);
  out.array_len(rows.size());
  for (const auto& r : rows) {
    out.string(r.user);
    out.i16(code(r.err));
    out.string_or_null(r.message);
    out.array_len(r.mechanisms.size());
    for (const auto& [m, iterations] : r.mechanisms) {
      out.i8(wire_code(m));
      out.i32(iterations);
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
