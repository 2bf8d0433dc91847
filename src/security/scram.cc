#include "security/scram.h"

namespace sluice::security {

std::string_view mechanism_name(scram_mechanism m) {
  return m == scram_mechanism::sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::optional<scram_mechanism> parse_scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return scram_mechanism::sha256;
  if (name == "SCRAM-SHA-512") return scram_mechanism::sha512;
  return std::nullopt;
}

digest digest_of(scram_mechanism m) {
  return m == scram_mechanism::sha256 ? digest::sha256 : digest::sha512;
}

scram_credential scram_credential_from_salted(scram_mechanism m, std::string_view salt,
                                              int iterations, std::string_view salted_password) {
  auto d = digest_of(m);
  scram_credential c;
  c.mechanism = m;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = hash(d, hmac(d, salted_password, "Client Key"));
  c.server_key = hmac(d, salted_password, "Server Key");
  return c;
}

scram_credential make_scram_credential(scram_mechanism m, std::string_view password, int iterations,
                                       std::string_view salt) {
  std::string s = salt.empty() ? random_bytes(32) : std::string(salt);
  return scram_credential_from_salted(m, s, iterations,
                                      pbkdf2(digest_of(m), password, s, iterations));
}

bool check_password(const scram_credential& c, std::string_view password) {
  auto d = digest_of(c.mechanism);
  auto salted = pbkdf2(d, password, c.salt, c.iterations);
  return constant_time_equal(hash(d, hmac(d, salted, "Client Key")), c.stored_key);
}

}  // namespace sluice::security
