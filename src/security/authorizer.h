#pragma once
// The one place that decides whether a principal may do something, asked by the Kafka
// handlers and the HTTP routes alike. Kafka's rules (AclAuthorizer / StandardAuthorizer):
// super users may do everything; otherwise a DENY binding that matches wins over any ALLOW;
// ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, ALLOW of ALTER_CONFIGS implies
// DESCRIBE_CONFIGS, ALL is every operation; and with no matching ALLOW the answer is no.
//
// Lookups go through an index of the bindings (literal names hashed, prefixes by length),
// rebuilt when the ACLs change, so a check costs a few hash lookups however many ACLs
// there are. Thread-safe.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "security/acl.h"

namespace sluice::security {

class authorizer {
 public:
  // `super_users`: principals ("User:admin") allowed everything.
  authorizer(std::shared_ptr<acl_store> acls, std::vector<std::string> super_users);
  ~authorizer();

  bool allowed(std::string_view principal, std::string_view host, acl_operation op,
               resource_type type, std::string_view name) const;
  // Whether some binding could allow `op` on some resource of `type` (Kafka's
  // authorizeByResourceType: idempotent writes are allowed to whoever may write a topic).
  bool allowed_any(std::string_view principal, std::string_view host, acl_operation op,
                   resource_type type) const;
  bool is_super_user(std::string_view principal) const;
  acl_store& acls() const { return *acls_; }

 private:
  struct index;
  std::shared_ptr<const index> current() const;

  const std::shared_ptr<acl_store> acls_;
  const std::vector<std::string> super_users_;
  // Swapped under a mutex held for a pointer copy (libstdc++ 12's atomic<shared_ptr> is not
  // to be trusted).
  mutable std::mutex mu_;
  mutable std::shared_ptr<const index> index_;
};

}  // namespace sluice::security
