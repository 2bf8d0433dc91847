// SASL messages as a hostile client sends them: PLAIN, and SCRAM exchanges where any step may
// be malformed (including a well-formed first message followed by a fuzzed final one, so that
// the proof and nonce checks are reached), plus the security files' parsers (ACL, user, token
// and quota files). Nothing may crash, and a garbage proof must never authenticate.

#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "security/acl.h"
#include "security/quotas.h"
#include "security/sasl.h"
#include "security/tokens.h"
#include "security/users.h"

using namespace sluice::security;

namespace {

class one_user : public credential_lookup {
 public:
  one_user()
      : c256_(make_scram_credential(scram_mechanism::sha256, "pencil", 4096, "saltsalt")),
        c512_(make_scram_credential(scram_mechanism::sha512, "pencil", 4096, "saltsalt")) {}
  std::optional<scram_credential> scram(std::string_view user, scram_mechanism m) const override {
    if (user != "alice") return std::nullopt;
    return m == scram_mechanism::sha256 ? c256_ : c512_;
  }
  bool check_password(std::string_view user, std::string_view password) const override {
    return user == "alice" && password == "pencil";
  }

 private:
  scram_credential c256_, c512_;
};

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("sasl_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] { std::filesystem::remove_all(scratch()); });
    return d;
  }();
  return dir;
}

void parse_file(const std::string& name, const std::string& text, int kind) {
  auto p = scratch() / name;
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  switch (kind) {
    case 0:
      (void)acl_store::open(p);
      break;
    case 1:
      (void)user_store::open(p);
      break;
    case 2:
      (void)token_store::open(p);
      break;
    default:
      (void)quota_manager::open(p);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const one_user users;
  FuzzedDataProvider in(data, size);
  int what = in.ConsumeIntegralInRange(0, 4);
  if (what == 4) {
    int kind = in.ConsumeIntegralInRange(0, 3);
    parse_file("f" + std::to_string(kind), in.ConsumeRemainingBytesAsString(), kind);
    return 0;
  }
  const char* mechanism = what == 0 ? "PLAIN" : what == 1 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
  auto auth = make_sasl_authenticator(mechanism, users);
  bool valid_first = what != 0 && in.ConsumeBool();
  int steps = in.ConsumeIntegralInRange(1, 3);
  for (int i = 0; i < steps; ++i) {
    std::string msg = (i == 0 && valid_first) ? "n,,n=alice,r=" + in.ConsumeRandomLengthString(40)
                                              : in.ConsumeRandomLengthString(512);
    auto step = auth->step(msg);
    // Without the password, a random proof cannot succeed.
    if (step.state == sasl_step::outcome::success && what != 0) __builtin_trap();
    if (step.state != sasl_step::outcome::challenge) break;
  }
  return 0;
}
