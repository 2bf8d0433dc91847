#include "security/sasl.h"

#include <vector>

#include "base/base64.h"

namespace sluice::security {

namespace {

constexpr std::string_view k_mechanisms[] = {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"};

sasl_step refuse(std::string error) {
  return {sasl_step::outcome::failure, {}, std::move(error)};
}

// PLAIN: one message, [authzid] NUL authcid NUL password.
class plain_authenticator final : public sasl_authenticator {
 public:
  explicit plain_authenticator(const credential_lookup& users) : users_(users) {}

  sasl_step step(std::string_view msg) override {
    if (done_) return refuse("PLAIN takes one message");
    done_ = true;
    auto a = msg.find('\0');
    auto b = a == std::string_view::npos ? a : msg.find('\0', a + 1);
    if (b == std::string_view::npos) return refuse("malformed PLAIN message");
    std::string_view authzid = msg.substr(0, a), user = msg.substr(a + 1, b - a - 1),
                     password = msg.substr(b + 1);
    user_ = std::string(user);
    if (!authzid.empty() && authzid != user)
      return refuse("an authorization id different from the user name is not allowed");
    if (user.empty() || !users_.check_password(user, password))
      return refuse("invalid credentials with SASL mechanism PLAIN");
    return {sasl_step::outcome::success, {}, {}};
  }

 private:
  const credential_lookup& users_;
  bool done_ = false;
};

// The value of attribute `name` ("n=", "r=", ...) at the start of `part`.
std::optional<std::string_view> attribute(std::string_view part, char name) {
  if (part.size() < 2 || part[0] != name || part[1] != '=') return std::nullopt;
  return part.substr(2);
}

// Splits at commas.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto c = s.find(',', start);
    out.push_back(s.substr(start, c == std::string_view::npos ? c : c - start));
    if (c == std::string_view::npos) return out;
    start = c + 1;
  }
}

// saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out.push_back(s[i]);
    } else if (s.substr(i, 3) == "=2C") {
      out.push_back(',');
      i += 2;
    } else if (s.substr(i, 3) == "=3D") {
      out.push_back('=');
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (size_t i = 0; i < out.size() && i < b.size(); ++i)
    out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

class scram_authenticator final : public sasl_authenticator {
 public:
  scram_authenticator(scram_mechanism m, const credential_lookup& users)
      : mechanism_(m), users_(users) {}

  sasl_step step(std::string_view msg) override {
    switch (stage_++) {
      case 0:
        return client_first(msg);
      case 1:
        return client_final(msg);
      default:
        return refuse("the SCRAM exchange is over");
    }
  }

 private:
  sasl_step client_first(std::string_view msg) {
    // gs2-header: cbind flag, authzid, then the bare message.
    auto c1 = msg.find(',');
    auto c2 = c1 == std::string_view::npos ? c1 : msg.find(',', c1 + 1);
    if (c2 == std::string_view::npos) return refuse("malformed SCRAM client-first message");
    std::string_view cbind = msg.substr(0, c1), authzid = msg.substr(c1 + 1, c2 - c1 - 1);
    if (cbind != "n" && cbind != "y") return refuse("SCRAM channel binding is not supported");
    gs2_header_ = std::string(msg.substr(0, c2 + 1));
    client_first_bare_ = std::string(msg.substr(c2 + 1));
    auto f = fields(client_first_bare_);
    if (f.size() < 2) return refuse("malformed SCRAM client-first message");
    auto name = attribute(f[0], 'n');
    auto nonce = attribute(f[1], 'r');
    if (!name || !nonce || nonce->empty()) return refuse("malformed SCRAM client-first message");
    auto user = decode_saslname(*name);
    if (!user || user->empty()) return refuse("malformed SCRAM user name");
    user_ = *user;
    if (!authzid.empty()) {
      auto z = attribute(authzid, 'a');
      auto zname = z ? decode_saslname(*z) : std::nullopt;
      if (!zname || *zname != user_)
        return refuse("an authorization id different from the user name is not allowed");
    }
    if (auto c = users_.scram(user_, mechanism_)) {
      credential_ = std::move(*c);
    } else {
      // An unknown user gets a challenge like any other (a salt derived from the name, so the
      // same on every attempt) and fails at the proof: the answer does not tell which users
      // exist.
      known_ = false;
      credential_.mechanism = mechanism_;
      credential_.salt = hmac(digest::sha256, unknown_user_secret(), user_);
      credential_.iterations = k_min_iterations;
    }
    client_nonce_ = std::string(*nonce);
    nonce_ = client_nonce_ + base64_encode(random_bytes(18));
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential_.salt) +
                    ",i=" + std::to_string(credential_.iterations);
    return {sasl_step::outcome::challenge, server_first_, {}};
  }

  sasl_step client_final(std::string_view msg) {
    auto p = msg.rfind(",p=");
    if (p == std::string_view::npos) return refuse("malformed SCRAM client-final message");
    std::string_view without_proof = msg.substr(0, p);
    auto proof = base64_decode(msg.substr(p + 3));
    auto f = fields(without_proof);
    if (!proof || f.size() < 2) return refuse("malformed SCRAM client-final message");
    auto cbind = attribute(f[0], 'c');
    auto nonce = attribute(f[1], 'r');
    if (!cbind || !nonce) return refuse("malformed SCRAM client-final message");
    if (base64_decode(*cbind) != gs2_header_) return refuse("SCRAM channel binding mismatch");
    // librdkafka before 2.6.1 sends its own nonce again in front of the full one
    // (librdkafka#4895); Kafka accepts that form, and so does sluice, but nothing else.
    if (*nonce != nonce_ && *nonce != client_nonce_ + nonce_) return refuse("SCRAM nonce mismatch");
    auto d = digest_of(mechanism_);
    std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    std::string client_signature = hmac(d, credential_.stored_key, auth_message);
    std::string client_key = xor_bytes(*proof, client_signature);
    bool ok = proof->size() == client_signature.size() &&
              constant_time_equal(hash(d, client_key), credential_.stored_key) && known_;
    if (!ok)
      return refuse("invalid credentials with SASL mechanism " +
                    std::string(mechanism_name(mechanism_)));
    return {sasl_step::outcome::success,
            "v=" + base64_encode(hmac(d, credential_.server_key, auth_message)),
            {}};
  }

  static const std::string& unknown_user_secret() {
    static const std::string secret = random_bytes(32);
    return secret;
  }

  const scram_mechanism mechanism_;
  const credential_lookup& users_;
  int stage_ = 0;
  bool known_ = true;
  scram_credential credential_;
  std::string gs2_header_, client_first_bare_, server_first_, client_nonce_, nonce_;
};

}  // namespace

std::span<const std::string_view> sasl_mechanisms() {
  return k_mechanisms;
}

std::unique_ptr<sasl_authenticator> make_sasl_authenticator(std::string_view mechanism,
                                                            const credential_lookup& users) {
  if (mechanism == "PLAIN") return std::make_unique<plain_authenticator>(users);
  if (auto m = parse_scram_mechanism(mechanism))
    return std::make_unique<scram_authenticator>(*m, users);
  return nullptr;
}

}  // namespace sluice::security
