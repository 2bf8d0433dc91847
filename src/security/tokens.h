#pragma once
// API tokens for HTTP (`Authorization: Bearer slc_...`): each belongs to a user and acts as
// that user. Only a SHA-256 of the token is stored (<data>/_security/tokens.json), so a copy
// of the data folder does not give the tokens away; the token itself is shown once, when
// created. Shared with `sluice token` like the user store. Thread-safe.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "security/store_file.h"

namespace sluice::security {

struct token_info {
  std::string id;  // short public handle, for listing and revoking
  std::string user;
  std::string name;  // what it is for
  int64_t created_ms = 0;
};

class token_store {
 public:
  static result<std::shared_ptr<token_store>> open(std::filesystem::path file);

  // A new token for `user`: the secret to hand out (never stored) and its record.
  result<std::pair<std::string, token_info>> create(std::string_view user, std::string_view name);
  // The user a presented token belongs to; nullopt for an unknown or revoked one.
  // Constant-time in the comparison of the hashes.
  std::optional<std::string> user_of(std::string_view token) const;
  // Removes the token with id `id` (or, with `user`, all of that user's). Count removed.
  result<size_t> revoke(std::string_view id, bool all_of_user = false);
  std::vector<token_info> list() const;

 private:
  struct entry {
    token_info info;
    std::string hash;  // hex SHA-256 of the token
  };
  explicit token_store(std::filesystem::path file) : file_(std::move(file)) {}
  result<void> refresh() const;  // REQUIRES: mu_ held
  static result<std::vector<entry>> parse(const std::filesystem::path& file, std::string_view text);
  static std::string serialize(const std::vector<entry>& entries);

  mutable std::mutex mu_;
  mutable store_file file_;
  mutable std::shared_ptr<const std::vector<entry>> entries_ =
      std::make_shared<std::vector<entry>>();
};

}  // namespace sluice::security
