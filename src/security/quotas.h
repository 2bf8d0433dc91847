#pragma once
// Client quotas as Kafka defines them (KIP-13, KIP-55, KIP-546): byte rates for produce and
// fetch and a share of request handling time, per user and/or client id, with defaults; and
// a limit of new connections per address. Kept in <data>/_security/quotas.json and changed by
// AlterClientQuotas or `sluice quota`.
//
// Which quota applies to a (user, client id) is Kafka's order: user+client, user+default
// client, user, default user+client, default user+default client, default user, client,
// default client. Each (entity, actual user, actual client) has its own token bucket: a quota
// of 1 MB/s on the default user gives every user 1 MB/s. Going over it costs the client a
// throttle time: how long until its bucket is back at zero.
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "security/store_file.h"

namespace sluice::security {

// An entity: entity type ("user", "client-id", "ip") -> name, where nullopt is the default.
using quota_entity = std::map<std::string, std::optional<std::string>>;

struct quota_entry {
  quota_entity entity;
  std::map<std::string, double> values;  // "producer_byte_rate", "consumer_byte_rate", ...
};

// Keys Kafka defines that sluice enforces.
inline constexpr std::string_view k_producer_byte_rate = "producer_byte_rate";
inline constexpr std::string_view k_consumer_byte_rate = "consumer_byte_rate";
inline constexpr std::string_view k_request_percentage = "request_percentage";
inline constexpr std::string_view k_connection_creation_rate = "connection_creation_rate";
bool is_quota_key(std::string_view key);

class quota_manager {
 public:
  enum class kind { produce, fetch, request };

  static result<std::shared_ptr<quota_manager>> open(std::filesystem::path file);

  // Accounts `amount` (bytes, or seconds of handling time for `request`) to the caller and
  // returns how long it must wait (zero within its quota). `user` without "User:".
  std::chrono::milliseconds record(kind k, std::string_view user, std::string_view client_id,
                                   double amount);
  // Whether a new connection from `ip` is within its connection_creation_rate; false: refuse.
  bool admit_connection(std::string_view ip);

  std::vector<quota_entry> entries() const;
  // Sets (or, where `remove`, clears) values of one entity. errc::invalid_argument for an
  // unknown key, a value <= 0, or an entity mixing ip with user or client-id.
  struct change {
    std::string key;
    double value = 0;
    bool remove = false;
  };
  result<void> alter(const quota_entity& entity, const std::vector<change>& changes,
                     bool validate_only = false);
  // Requests throttled since start, by kind (for /metrics).
  uint64_t throttled(kind k) const;

 private:
  explicit quota_manager(std::filesystem::path file) : file_(std::move(file)) {}
  result<void> refresh();  // REQUIRES: mu_ held
  void maybe_refresh();    // REQUIRES: mu_ held
  // The quota for (user, client) of `key` and the bucket key it is counted under.
  std::optional<std::pair<double, std::string>> resolve(std::string_view key, std::string_view user,
                                                        std::string_view client_id) const;

  struct bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
    double rate = 0;
  };

  mutable std::mutex mu_;
  store_file file_;
  std::vector<quota_entry> entries_;
  std::chrono::steady_clock::time_point next_check_{};
  // Until when (steady clock, ns) there is no quota at all: record() returns without the
  // lock, so a server without quotas pays nothing per request.
  std::atomic<int64_t> quiet_until_ns_{0};
  std::unordered_map<std::string, bucket> buckets_;
  uint64_t throttled_[3] = {0, 0, 0};
};

}  // namespace sluice::security
