#pragma once
// SCRAM credentials (RFC 5802, RFC 7677): what is stored for a user instead of the password.
// SaltedPassword = PBKDF2(password, salt, iterations); StoredKey = H(HMAC(SaltedPassword,
// "Client Key")); ServerKey = HMAC(SaltedPassword, "Server Key"). A credential proves a
// password without revealing it, and the salt and iterations make guessing expensive.

#include <optional>
#include <string>
#include <string_view>

#include "security/crypto.h"

namespace sluice::security {

enum class scram_mechanism { sha256, sha512 };

// "SCRAM-SHA-256" / "SCRAM-SHA-512".
std::string_view mechanism_name(scram_mechanism m);
std::optional<scram_mechanism> parse_scram_mechanism(std::string_view name);
digest digest_of(scram_mechanism m);

// Kafka's bounds for iterations (ScramMechanism.minIterations / maxIterations).
inline constexpr int k_min_iterations = 4096;
inline constexpr int k_max_iterations = 16384;

struct scram_credential {
  scram_mechanism mechanism = scram_mechanism::sha512;
  std::string salt;  // raw bytes
  int iterations = k_min_iterations;
  std::string stored_key;
  std::string server_key;
};

// A new credential for `password` with a random 32-byte salt (or `salt` when not empty).
scram_credential make_scram_credential(scram_mechanism m, std::string_view password,
                                       int iterations = k_min_iterations,
                                       std::string_view salt = {});
// The credential for a salted password computed elsewhere (AlterUserScramCredentials sends
// SaltedPassword, never the password).
scram_credential scram_credential_from_salted(scram_mechanism m, std::string_view salt,
                                              int iterations, std::string_view salted_password);
// Whether `password` is the one `c` was made from (SASL PLAIN, HTTP Basic). Constant-time in
// the comparison; costs one PBKDF2.
bool check_password(const scram_credential& c, std::string_view password);

}  // namespace sluice::security
