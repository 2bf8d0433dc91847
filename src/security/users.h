#pragma once
// The users that may log in: SCRAM credentials per user and mechanism (never a password),
// kept in one JSON file under the data folder (docs/formats/security.md).
//
// The server and `sluice user` share the file: every change is a read-modify-write under an
// exclusive flock, written atomically (temporary file, fdatasync, rename, folder fsync); a
// reader notices another process's change (the file's identity and mtime) on its next
// lookup, so users added from the command line can log in at once, without a restart.
//
// Thread-safe.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "security/sasl.h"
#include "security/store_file.h"

namespace sluice::security {

struct user_info {
  std::string name;
  // Mechanisms with a credential, and their iterations.
  std::vector<std::pair<scram_mechanism, int>> mechanisms;
};

class user_store final : public credential_lookup {
 public:
  // Opens the store in `file` (missing: no users yet; its folder is created on first write).
  // errc::corrupt if the file exists but cannot be read as a user store.
  static result<std::shared_ptr<user_store>> open(std::filesystem::path file);

  std::optional<scram_credential> scram(std::string_view user, scram_mechanism m) const override;
  bool check_password(std::string_view user, std::string_view password) const override;

  // Credentials for every SCRAM mechanism from `password`. errc::invalid_argument for an
  // empty name or password or iterations out of Kafka's bounds.
  result<void> set_password(std::string_view user, std::string_view password,
                            int iterations = k_min_iterations);
  // One mechanism's credential (AlterUserScramCredentials upsertion).
  result<void> set_credential(std::string_view user, const scram_credential& c);
  // Removes one mechanism's credential, or all of the user's. Returns false if there was none.
  result<bool> remove(std::string_view user, std::optional<scram_mechanism> m = std::nullopt);

  // The users in the file (not the ephemeral ones).
  std::vector<user_info> list() const;
  bool exists(std::string_view user) const;
  // A user known to this process only (never written): sluice's own internal clients.
  void add_ephemeral(std::string_view user, std::string_view password);

 private:
  struct state;
  static result<std::shared_ptr<state>> parse(const std::filesystem::path& file,
                                              std::string_view text);
  static std::string serialize(const state& s);
  explicit user_store(std::filesystem::path file);
  // Rereads the file if another process changed it. REQUIRES: mu_ held.
  result<void> refresh() const;
  // The stored users after a refresh, and the ephemeral ones (null if none).
  std::pair<std::shared_ptr<const state>, std::shared_ptr<const state>> current() const;
  template <typename Fn>
  result<void> modify(Fn&& fn);

  mutable std::mutex mu_;
  mutable store_file file_;
  mutable std::shared_ptr<const state> state_;
  std::shared_ptr<const state> ephemeral_;  // REQUIRES: mu_ held
};

}  // namespace sluice::security
