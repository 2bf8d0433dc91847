// SCRAM logins per second on one core, on the server's side: each login is the two steps a
// Kafka client's SaslAuthenticate requests cause (client-first -> server-first, client-final
// -> server-final with the proof checked against the stored credential). The clients' proofs
// are computed before the clock starts (a client derives its salted password once and
// reuses it), so the figure is what one of sluice's cores can accept. Also prints the cost of
// one PLAIN login (a PBKDF2 per attempt, as for HTTP Basic without the cache).
//
//   scram_bench [LOGINS]   (default 20000)

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/base64.h"
#include "security/crypto.h"
#include "security/sasl.h"

using namespace sluice::security;

namespace {

class store : public credential_lookup {
 public:
  explicit store(scram_credential c) : c_(std::move(c)) {}
  std::optional<scram_credential> scram(std::string_view, scram_mechanism) const override {
    return c_;
  }
  bool check_password(std::string_view, std::string_view p) const override {
    return sluice::security::check_password(c_, p);
  }

 private:
  scram_credential c_;
};

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 20000;
  const auto m = scram_mechanism::sha512;
  const auto d = digest_of(m);
  store users(make_scram_credential(m, "pencil", 4096, "0123456789abcdef"));
  const std::string salted = pbkdf2(d, "pencil", "0123456789abcdef", 4096);
  const std::string client_key = hmac(d, salted, "Client Key");
  const std::string stored_key = hash(d, client_key);

  double server_s = 0;
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    std::string bare = "n=alice,r=cnonce" + std::to_string(i);
    auto t0 = std::chrono::steady_clock::now();
    auto auth = make_sasl_authenticator("SCRAM-SHA-512", users);
    auto first = auth->step("n,," + bare);
    server_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The client's part (not timed): its proof for this exchange.
    std::string nonce = first.reply.substr(2, first.reply.find(',') - 2);
    std::string without_proof = "c=biws,r=" + nonce;
    std::string auth_message = bare + "," + first.reply + "," + without_proof;
    std::string signature = hmac(d, stored_key, auth_message);
    std::string proof = client_key;
    for (size_t k = 0; k < proof.size(); ++k)
      proof[k] = static_cast<char>(proof[k] ^ signature[k]);
    std::string final_msg = without_proof + ",p=" + sluice::base64_encode(proof);
    auto t1 = std::chrono::steady_clock::now();
    auto done = auth->step(final_msg);
    server_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    ok += done.state == sasl_step::outcome::success;
  }
  std::printf(
      "SCRAM-SHA-512 logins: %d of %d ok, server side %.1f us each, %.0f logins/s on one core\n",
      ok, n, server_s / n * 1e6, n / server_s);
  auto t0 = std::chrono::steady_clock::now();
  int plain_ok = 0;
  const int plain_n = 200;
  for (int i = 0; i < plain_n; ++i)
    plain_ok +=
        make_sasl_authenticator("PLAIN", users)->step(std::string("\0alice\0pencil", 13)).state ==
        sasl_step::outcome::success;
  double plain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "PLAIN logins (one PBKDF2-SHA-512, 4096 iterations, each): %d of %d ok, %.2f ms each, %.0f "
      "logins/s\n",
      plain_ok, plain_n, plain_s / plain_n * 1e3, plain_n / plain_s);
  return ok == n && plain_ok == plain_n ? 0 : 1;
}
