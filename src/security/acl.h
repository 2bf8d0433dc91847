#pragma once
// Access control lists as Kafka defines them (KIP-11, KIP-290): a binding says that a
// principal from a host may (ALLOW) or may not (DENY) do an operation on a resource named
// literally, by prefix, or "*" for every name. The enum values are Kafka's wire codes.
//
// The bindings live in <data>/_security/acls.json (docs/formats/security.md), shared with
// `sluice acl` like the user store. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "security/store_file.h"

namespace sluice::security {

enum class resource_type : int8_t {
  unknown = 0,
  any = 1,
  topic = 2,
  group = 3,
  cluster = 4,
  transactional_id = 5,
  delegation_token = 6,
  user = 7,
  // sluice's own, never shown to Kafka clients: a live view (HTTP reads and subscriptions).
  view = 100,
  // sluice's own: a schema registry subject (reads, new versions, deletes).
  subject = 101,
};
enum class pattern_type : int8_t { unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4 };
enum class acl_operation : int8_t {
  unknown = 0,
  any = 1,
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  remove = 6,
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
  create_tokens = 13,
  describe_tokens = 14,
};
enum class acl_permission : int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

// Kafka's names ("TOPIC", "PREFIXED", "IDEMPOTENT_WRITE", "ALLOW"); parse_* accept any case
// and return `unknown` for anything else.
std::string_view name_of(resource_type t);
std::string_view name_of(pattern_type p);
std::string_view name_of(acl_operation o);
std::string_view name_of(acl_permission p);
resource_type parse_resource_type(std::string_view s);
pattern_type parse_pattern_type(std::string_view s);
acl_operation parse_operation(std::string_view s);
acl_permission parse_permission(std::string_view s);

// The name of the one cluster resource.
inline constexpr std::string_view k_cluster_name = "kafka-cluster";

struct acl_binding {
  resource_type type = resource_type::topic;
  std::string name;
  pattern_type pattern = pattern_type::literal;
  std::string principal;  // "User:alice", or "User:*" for everyone
  std::string host = "*";
  acl_operation operation = acl_operation::read;
  acl_permission permission = acl_permission::allow;
  bool operator==(const acl_binding&) const = default;
};

// What DescribeAcls and DeleteAcls select: `any` fields match everything, a null name or
// principal or host too; pattern `match` selects the bindings that would apply to `name`
// (literal, "*", and prefixes of it).
struct acl_filter {
  resource_type type = resource_type::any;
  std::optional<std::string> name;
  pattern_type pattern = pattern_type::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  acl_operation operation = acl_operation::any;
  acl_permission permission = acl_permission::any;
  // Set for filters from Kafka clients: sluice's own resource types are never selected.
  bool kafka_types_only = false;

  bool matches(const acl_binding& b) const;
};

// Why a binding cannot be created, or empty when it can (Kafka's INVALID_REQUEST cases).
std::string validate(const acl_binding& b);

class acl_store {
 public:
  // errc::corrupt_file if the file exists but is not an ACL file.
  static result<std::shared_ptr<acl_store>> open(std::filesystem::path file);

  // Adds bindings (already present ones are kept once). errc::invalid_argument with
  // validate()'s reason for a bad one, and then none is added.
  result<void> add(const std::vector<acl_binding>& bindings);
  // Removes and returns the bindings each filter matches (one list per filter).
  result<std::vector<std::vector<acl_binding>>> remove(const std::vector<acl_filter>& filters);
  std::vector<acl_binding> describe(const acl_filter& f) const;

  // The bindings now, for the authorizer: rereads the file at most once a second when
  // another process may have changed it.
  std::shared_ptr<const std::vector<acl_binding>> bindings() const;
  // Incremented on every change seen, so that an index built from bindings() knows when
  // it is stale.
  uint64_t version() const;

 private:
  explicit acl_store(std::filesystem::path file) : file_(std::move(file)) {}
  result<void> refresh() const;  // REQUIRES: mu_ held
  void maybe_refresh() const;

  mutable std::mutex mu_;
  mutable store_file file_;
  mutable std::shared_ptr<const std::vector<acl_binding>> bindings_ =
      std::make_shared<std::vector<acl_binding>>();
  mutable std::atomic<uint64_t> version_{0};
  mutable std::atomic<int64_t> next_check_ns_{0};
};

}  // namespace sluice::security
