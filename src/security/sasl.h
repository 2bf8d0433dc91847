#pragma once
// SASL on the server side: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, RFC 7677), the
// mechanisms Kafka clients speak. Transport-neutral: the Kafka connection feeds it the tokens
// of SaslAuthenticate (or raw frames after SaslHandshake v0) and sends back its replies.
//
// Not thread-safe: one authenticator per connection, used on that connection's loop.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "security/scram.h"

namespace sluice::security {

// What authenticators ask of the user database (security/users.h implements it).
class credential_lookup {
 public:
  virtual ~credential_lookup() = default;
  virtual std::optional<scram_credential> scram(std::string_view user, scram_mechanism m) const = 0;
  // Whether `password` is `user`'s; false for an unknown user.
  virtual bool check_password(std::string_view user, std::string_view password) const = 0;
};

struct sasl_step {
  enum class outcome { challenge, success, failure };
  outcome state = outcome::failure;
  // Sent back to the client: the next challenge, or the server's final message.
  std::string reply;
  // For a failure: what went wrong, for the client and the log. Never holds a secret.
  std::string error;
};

class sasl_authenticator {
 public:
  virtual ~sasl_authenticator() = default;
  // One client message in, the server's answer out. After success or failure, further
  // steps fail.
  virtual sasl_step step(std::string_view client_message) = 0;
  // The user name the client gave (known after its first message; authenticated only after
  // a success).
  const std::string& user() const { return user_; }

 protected:
  std::string user_;
};

// The mechanisms offered, in the order SaslHandshake lists them.
std::span<const std::string_view> sasl_mechanisms();
// nullptr when `mechanism` is not one of sasl_mechanisms(). `users` must outlive the result.
std::unique_ptr<sasl_authenticator> make_sasl_authenticator(std::string_view mechanism,
                                                            const credential_lookup& users);

}  // namespace sluice::security
