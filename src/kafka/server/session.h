#pragma once
// Who is on the other end of one connection: the listener it came in through, its address,
// and its principal once authenticated (SASL on SASL_* listeners; the client certificate's
// subject on SSL listeners with client authentication; ANONYMOUS otherwise).
//
// Thread: lives on its connection's loop, like the connection.

#include <memory>
#include <string>

#include "kafka/server.h"
#include "security/sasl.h"

namespace sluice::kafka {

struct session {
  enum class sasl_framing {
    none,   // no SaslHandshake yet
    kafka,  // SaslHandshake v1: tokens in SaslAuthenticate requests
    raw,    // SaslHandshake v0: the next frames are bare tokens (older clients)
  };

  const listener* where = nullptr;
  std::string client_host;
  // Kafka's principal form, "User:alice"; "User:ANONYMOUS" before or without authentication.
  std::string principal = "User:ANONYMOUS";
  // Requests other than ApiVersions and the SASL ones are refused until this is true.
  bool authenticated = true;
  sasl_framing framing = sasl_framing::none;
  std::unique_ptr<security::sasl_authenticator> sasl;

  bool awaiting_raw_token() const { return !authenticated && framing == sasl_framing::raw; }
};

}  // namespace sluice::kafka
