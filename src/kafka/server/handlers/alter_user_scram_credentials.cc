#include <spdlog/spdlog.h>
#include <map>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "security/users.h"

namespace sluice::kafka {

namespace {

std::optional<security::scram_mechanism> from_wire(int8_t code) {
  if (code == 1) return security::scram_mechanism::sha256;
  if (code == 2) return security::scram_mechanism::sha512;
  return std::nullopt;
}

struct change {
  std::string user;
  std::optional<security::scram_mechanism> mechanism;
  bool upsert = false;
  int32_t iterations = 0;
  std::string salt, salted_password;
};

}  // namespace

// AlterUserScramCredentials v0: deletions and upsertions of credentials; the client sends
// the salted password (never the password). Needs ALTER on the cluster. One result per user:
// the first error among that user's changes, and then none of them is applied.
boost::asio::awaitable<void> handle_alter_user_scram_credentials(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<change> changes;
  int32_t nd = in.array_len();
  for (int32_t i = 0; i < nd; ++i) {
    change c;
    c.user = in.string();
    c.mechanism = from_wire(in.i8());
    in.tagged_fields();
    changes.push_back(std::move(c));
  }
  int32_t nu = in.array_len();
  for (int32_t i = 0; i < nu; ++i) {
    change c;
    c.upsert = true;
    c.user = in.string();
    c.mechanism = from_wire(in.i8());
    c.iterations = in.i32();
    auto salt = in.nullable_bytes().value_or(bytes_view());
    auto salted = in.nullable_bytes().value_or(bytes_view());
    c.salt.assign(salt.begin(), salt.end());
    c.salted_password.assign(salted.begin(), salted.end());
    in.tagged_fields();
    changes.push_back(std::move(c));
  }
  in.tagged_fields();
  ctx.expect_end();

  std::map<std::string, std::pair<error_code, std::string>> results;
  auto* users = ctx.b.config.security.users.get();
  const bool allowed = ctx.allowed_on_cluster(security::acl_operation::alter);
  // Validate everything first, per user; a mechanism changed twice (deleted and upserted, or
  // upserted twice) is a DUPLICATE_RESOURCE whatever else is wrong, as in Kafka.
  std::map<std::pair<std::string, int>, int> seen;
  for (const auto& c : changes)
    if (allowed && c.mechanism && ++seen[{c.user, static_cast<int>(*c.mechanism)}] > 1)
      results[c.user] = {error_code::duplicate_resource,
                         "a mechanism of the user is changed twice"};
  for (const auto& c : changes) {
    auto& r = results[c.user];
    if (r.first != error_code::none) continue;
    if (!allowed) {
      r = {error_code::cluster_authorization_failed, {}};
    } else if (!users) {
      r = {error_code::security_disabled, "no user store"};
    } else if (c.user.empty()) {
      r = {error_code::unacceptable_credential, "the user name is empty"};
    } else if (!c.mechanism) {
      r = {error_code::unsupported_sasl_mechanism, "unknown SCRAM mechanism"};
    } else if (c.upsert && (c.iterations < security::k_min_iterations ||
                            c.iterations > security::k_max_iterations)) {
      r = {error_code::unacceptable_credential,
           "iterations must be between " + std::to_string(security::k_min_iterations) + " and " +
               std::to_string(security::k_max_iterations)};
    } else if (c.upsert && (c.salt.empty() || c.salted_password.empty())) {
      r = {error_code::unacceptable_credential, "a salt and a salted password are needed"};
    } else if (!c.upsert && !users->scram(c.user, *c.mechanism)) {
      r = {error_code::resource_not_found, "the user has no credential for that mechanism"};
    }
  }
  for (const auto& c : changes) {
    auto& r = results[c.user];
    if (r.first != error_code::none) continue;
    result<void> done;
    if (c.upsert) {
      done =
          users->set_credential(c.user, security::scram_credential_from_salted(
                                            *c.mechanism, c.salt, c.iterations, c.salted_password));
    } else {
      auto removed = users->remove(c.user, *c.mechanism);
      if (!removed) done = removed.error();
    }
    if (!done) {
      r = {to_kafka(done.code()), done.error().message};
    } else {
      spdlog::info("kafka: {} {} the {} credential of user '{}'", ctx.session.principal,
                   c.upsert ? "set" : "deleted", security::mechanism_name(*c.mechanism), c.user);
    }
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.array_len(results.size());
  for (const auto& [user, r] : results) {
    out.string(user);
    out.i16(code(r.first));
    out.string_or_null(r.second);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
