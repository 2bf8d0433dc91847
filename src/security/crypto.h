#pragma once
// The few cryptographic primitives sluice needs, on OpenSSL: random bytes, hashes, HMAC and
// PBKDF2 (for SCRAM, RFC 5802 / 7677, and hashed API tokens), constant-time comparison.
//
// Thread-safe (OpenSSL 3 is). Throws std::runtime_error only if OpenSSL itself fails.

#include <string>
#include <string_view>

namespace sluice::security {

enum class digest { sha256, sha512 };

// Cryptographically strong random bytes.
std::string random_bytes(size_t n);
std::string hash(digest d, std::string_view data);
std::string hmac(digest d, std::string_view key, std::string_view data);
std::string pbkdf2(digest d, std::string_view password, std::string_view salt, int iterations);
// SHA-1, for the protocols that name it (the WebSocket handshake's accept key); never for
// anything that needs a secure digest.
std::string sha1(std::string_view data);
// Equal contents, in time that depends on the lengths only.
bool constant_time_equal(std::string_view a, std::string_view b);
std::string hex(std::string_view bytes);

}  // namespace sluice::security
