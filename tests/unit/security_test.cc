// SCRAM and PLAIN as a client sees them, and the user store's file.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "base/base64.h"
#include "base/file.h"
#include "security/acl.h"
#include "security/authorizer.h"
#include "security/crypto.h"
#include "security/quotas.h"
#include "security/sasl.h"
#include "security/scram.h"
#include "security/users.h"

namespace sluice::security {
namespace {

// The client's side of SCRAM (RFC 5802 section 3), written from the RFC for the tests.
std::string client_final_for(scram_mechanism m, std::string_view password,
                             std::string_view client_first_bare, std::string_view server_first,
                             std::string* server_signature = nullptr) {
  auto d = digest_of(m);
  std::map<char, std::string> attrs;
  size_t start = 0;
  while (start < server_first.size()) {
    auto c = server_first.find(',', start);
    auto part = server_first.substr(start, c == std::string_view::npos ? c : c - start);
    attrs[part[0]] = std::string(part.substr(2));
    start = c == std::string_view::npos ? server_first.size() : c + 1;
  }
  auto salted = pbkdf2(d, password, *base64_decode(attrs['s']), std::stoi(attrs['i']));
  auto client_key = hmac(d, salted, "Client Key");
  std::string without_proof = "c=biws,r=" + attrs['r'];
  std::string auth =
      std::string(client_first_bare) + "," + std::string(server_first) + "," + without_proof;
  auto signature = hmac(d, hash(d, client_key), auth);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i)
    proof[i] = static_cast<char>(proof[i] ^ signature[i]);
  if (server_signature) *server_signature = hmac(d, hmac(d, salted, "Server Key"), auth);
  return without_proof + ",p=" + base64_encode(proof);
}

class fixed_users : public credential_lookup {
 public:
  std::map<std::pair<std::string, scram_mechanism>, scram_credential> creds;
  void add(const std::string& user, const std::string& password) {
    for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512})
      creds[{user, m}] = make_scram_credential(m, password);
  }
  std::optional<scram_credential> scram(std::string_view user, scram_mechanism m) const override {
    auto it = creds.find({std::string(user), m});
    if (it == creds.end()) return std::nullopt;
    return it->second;
  }
  bool check_password(std::string_view user, std::string_view password) const override {
    auto c = scram(user, scram_mechanism::sha512);
    return c && security::check_password(*c, password);
  }
};

TEST(Scram, Rfc7677ExampleProofAndServerSignature) {
  // RFC 7677 section 3: user "user", password "pencil".
  std::string bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
  std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  std::string sig;
  EXPECT_EQ(client_final_for(scram_mechanism::sha256, "pencil", bare, server_first, &sig),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_EQ(base64_encode(sig), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  // The stored credential made from the same salt verifies that password and no other.
  auto c = make_scram_credential(scram_mechanism::sha256, "pencil", 4096,
                                 *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="));
  EXPECT_TRUE(check_password(c, "pencil"));
  EXPECT_FALSE(check_password(c, "pencil "));
}

class ScramExchange : public ::testing::TestWithParam<const char*> {};

TEST_P(ScramExchange, RightPasswordSucceedsWithServerSignature) {
  fixed_users users;
  users.add("alice", "s3cret");
  auto auth = make_sasl_authenticator(GetParam(), users);
  ASSERT_NE(auth, nullptr);
  auto first = auth->step("n,,n=alice,r=abcdefgh");
  ASSERT_EQ(first.state, sasl_step::outcome::challenge) << first.error;
  EXPECT_TRUE(first.reply.starts_with("r=abcdefgh"));
  std::string sig;
  auto m = *parse_scram_mechanism(GetParam());
  auto final = auth->step(client_final_for(m, "s3cret", "n=alice,r=abcdefgh", first.reply, &sig));
  ASSERT_EQ(final.state, sasl_step::outcome::success) << final.error;
  EXPECT_EQ(final.reply, "v=" + base64_encode(sig));
  EXPECT_EQ(auth->user(), "alice");
  EXPECT_EQ(auth->step("again").state, sasl_step::outcome::failure);
}

TEST_P(ScramExchange, WrongPasswordFails) {
  fixed_users users;
  users.add("alice", "s3cret");
  auto auth = make_sasl_authenticator(GetParam(), users);
  auto first = auth->step("n,,n=alice,r=abcdefgh");
  auto m = *parse_scram_mechanism(GetParam());
  auto final = auth->step(client_final_for(m, "guess", "n=alice,r=abcdefgh", first.reply));
  EXPECT_EQ(final.state, sasl_step::outcome::failure);
  EXPECT_NE(final.error.find("invalid credentials"), std::string::npos);
  EXPECT_EQ(final.error.find("guess"), std::string::npos);
}

TEST_P(ScramExchange, UnknownUserGetsAStableChallengeThenFails) {
  fixed_users users;
  auto a1 = make_sasl_authenticator(GetParam(), users);
  auto a2 = make_sasl_authenticator(GetParam(), users);
  auto f1 = a1->step("n,,n=mallory,r=xyz");
  auto f2 = a2->step("n,,n=mallory,r=xyz");
  ASSERT_EQ(f1.state, sasl_step::outcome::challenge);
  // Same salt on every attempt, as for a real user.
  EXPECT_EQ(f1.reply.substr(f1.reply.find(",s=")), f2.reply.substr(f2.reply.find(",s=")));
  auto m = *parse_scram_mechanism(GetParam());
  EXPECT_EQ(a1->step(client_final_for(m, "x", "n=mallory,r=xyz", f1.reply)).state,
            sasl_step::outcome::failure);
}

TEST_P(ScramExchange, TamperedNonceFails) {
  fixed_users users;
  users.add("alice", "s3cret");
  auto auth = make_sasl_authenticator(GetParam(), users);
  auto first = auth->step("n,,n=alice,r=abcdefgh");
  auto m = *parse_scram_mechanism(GetParam());
  auto msg = client_final_for(m, "s3cret", "n=alice,r=abcdefgh", first.reply);
  msg.replace(msg.find("r=abcdefgh") + 2, 1, "X");
  EXPECT_EQ(auth->step(msg).state, sasl_step::outcome::failure);
}

TEST_P(ScramExchange, MalformedMessagesFailWithoutThrowing) {
  fixed_users users;
  users.add("alice", "s3cret");
  for (std::string_view bad : {"", "n", "n,,", "p=tls-unique,,n=alice,r=x", "n,,r=x,n=alice",
                               "n,,n=al=ice,r=x", "n,a=bob,n=alice,r=x", "n,,n=alice,r="}) {
    auto auth = make_sasl_authenticator(GetParam(), users);
    EXPECT_EQ(auth->step(bad).state, sasl_step::outcome::failure) << bad;
  }
  auto auth = make_sasl_authenticator(GetParam(), users);
  ASSERT_EQ(auth->step("n,,n=alice,r=x").state, sasl_step::outcome::challenge);
  EXPECT_EQ(auth->step("c=biws,r=x,p=not base64!").state, sasl_step::outcome::failure);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, ScramExchange,
                         ::testing::Values("SCRAM-SHA-256", "SCRAM-SHA-512"));

TEST(Plain, RightAndWrongPasswords) {
  fixed_users users;
  users.add("bob", "hunter2");
  using namespace std::string_literals;
  EXPECT_EQ(make_sasl_authenticator("PLAIN", users)->step("\0bob\0hunter2"s).state,
            sasl_step::outcome::success);
  EXPECT_EQ(make_sasl_authenticator("PLAIN", users)->step("bob\0bob\0hunter2"s).state,
            sasl_step::outcome::success);
  EXPECT_EQ(make_sasl_authenticator("PLAIN", users)->step("\0bob\0hunter3"s).state,
            sasl_step::outcome::failure);
  EXPECT_EQ(make_sasl_authenticator("PLAIN", users)->step("eve\0bob\0hunter2"s).state,
            sasl_step::outcome::failure);
  EXPECT_EQ(make_sasl_authenticator("PLAIN", users)->step("\0nobody\0x"s).state,
            sasl_step::outcome::failure);
  EXPECT_EQ(make_sasl_authenticator("PLAIN", users)->step("no separators").state,
            sasl_step::outcome::failure);
  EXPECT_EQ(make_sasl_authenticator("GSSAPI", users), nullptr);
}

class UserStore : public ::testing::Test {
 protected:
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sluice_users_" + std::to_string(::getpid()));
  std::filesystem::path file = dir / "users.json";
  void TearDown() override { std::filesystem::remove_all(dir); }
};

TEST_F(UserStore, PasswordsSurviveReopenAndAreNotStored) {
  {
    auto s = user_store::open(file);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->set_password("alice", "correct horse", 4096));
    EXPECT_TRUE((*s)->check_password("alice", "correct horse"));
  }
  auto s = user_store::open(file);
  ASSERT_TRUE(s);
  EXPECT_TRUE((*s)->check_password("alice", "correct horse"));
  EXPECT_FALSE((*s)->check_password("alice", "wrong"));
  EXPECT_FALSE((*s)->check_password("nobody", "correct horse"));
  auto text = read_file(file);
  ASSERT_TRUE(text);
  EXPECT_EQ(std::string(text->begin(), text->end()).find("correct horse"), std::string::npos);
  auto users = (*s)->list();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].mechanisms.size(), 2u);
}

TEST_F(UserStore, AnotherProcessesChangeIsSeenOnTheNextLookup) {
  auto server = user_store::open(file);
  auto cli = user_store::open(file);
  ASSERT_TRUE(server && cli);
  EXPECT_FALSE((*server)->exists("carol"));
  ASSERT_TRUE((*cli)->set_password("carol", "pw123456"));
  EXPECT_TRUE((*server)->check_password("carol", "pw123456"));
  ASSERT_TRUE((*cli)->remove("carol", scram_mechanism::sha512));
  EXPECT_FALSE((*server)->scram("carol", scram_mechanism::sha512));
  EXPECT_TRUE((*server)->scram("carol", scram_mechanism::sha256));
  auto removed = (*cli)->remove("carol");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_FALSE((*server)->exists("carol"));
  removed = (*cli)->remove("carol");
  ASSERT_TRUE(removed);
  EXPECT_FALSE(*removed);
}

TEST_F(UserStore, BadArgumentsAndCorruptFilesAreRefused) {
  auto s = user_store::open(file);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->set_password("", "x").code(), errc::invalid_argument);
  EXPECT_EQ((*s)->set_password("dave", "").code(), errc::invalid_argument);
  EXPECT_EQ((*s)->set_password("dave", "x", 10).code(), errc::invalid_argument);
  std::filesystem::create_directories(dir);
  std::string junk = "{\"users\": 3}";
  ASSERT_TRUE(write_file_atomic(
      file, bytes_view(reinterpret_cast<const uint8_t*>(junk.data()), junk.size())));
  EXPECT_EQ(user_store::open(file).code(), errc::corrupt_file);
}

class Authorization : public UserStore {
 protected:
  std::shared_ptr<authorizer> make(const std::vector<acl_binding>& bindings,
                                   std::vector<std::string> supers = {}) {
    auto store = acl_store::open(dir / "acls.json");
    EXPECT_TRUE(store);
    EXPECT_TRUE((*store)->add(bindings));
    return std::make_shared<authorizer>(*store, std::move(supers));
  }
  static acl_binding allow(std::string principal, acl_operation op, resource_type t,
                           std::string name, pattern_type p = pattern_type::literal) {
    return {t, std::move(name), p, std::move(principal), "*", op, acl_permission::allow};
  }
};

TEST_F(Authorization, NothingIsAllowedWithoutAMatchingAllow) {
  auto a = make({allow("User:alice", acl_operation::read, resource_type::topic, "orders")});
  EXPECT_TRUE(
      a->allowed("User:alice", "10.0.0.1", acl_operation::read, resource_type::topic, "orders"));
  EXPECT_FALSE(
      a->allowed("User:alice", "10.0.0.1", acl_operation::write, resource_type::topic, "orders"));
  EXPECT_FALSE(
      a->allowed("User:bob", "10.0.0.1", acl_operation::read, resource_type::topic, "orders"));
  EXPECT_FALSE(
      a->allowed("User:alice", "10.0.0.1", acl_operation::read, resource_type::group, "orders"));
}

TEST_F(Authorization, ReadImpliesDescribeAndAllIsEverything) {
  auto a = make({allow("User:alice", acl_operation::read, resource_type::topic, "orders"),
                 allow("User:ops", acl_operation::all, resource_type::cluster, "kafka-cluster"),
                 allow("User:cfg", acl_operation::alter_configs, resource_type::topic, "t")});
  EXPECT_TRUE(
      a->allowed("User:alice", "h", acl_operation::describe, resource_type::topic, "orders"));
  EXPECT_TRUE(
      a->allowed("User:ops", "h", acl_operation::alter, resource_type::cluster, "kafka-cluster"));
  EXPECT_TRUE(
      a->allowed("User:cfg", "h", acl_operation::describe_configs, resource_type::topic, "t"));
  EXPECT_FALSE(a->allowed("User:cfg", "h", acl_operation::describe, resource_type::topic, "t"));
}

TEST_F(Authorization, DenyWinsOverPrefixedAndWildcardAllows) {
  auto deny = allow("User:bob", acl_operation::read, resource_type::topic, "orders-secret");
  deny.permission = acl_permission::deny;
  auto a = make(
      {allow("User:bob", acl_operation::read, resource_type::topic, "ord", pattern_type::prefixed),
       allow("User:*", acl_operation::read, resource_type::topic, "*"), deny});
  EXPECT_TRUE(a->allowed("User:bob", "h", acl_operation::read, resource_type::topic, "orders"));
  EXPECT_FALSE(
      a->allowed("User:bob", "h", acl_operation::read, resource_type::topic, "orders-secret"));
  // A deny of READ does not deny DESCRIBE (Kafka's rule).
  EXPECT_TRUE(
      a->allowed("User:bob", "h", acl_operation::describe, resource_type::topic, "orders-secret"));
  EXPECT_TRUE(a->allowed("User:carol", "h", acl_operation::read, resource_type::topic, "x"));
}

TEST_F(Authorization, HostsSuperUsersAndChangesFromAnotherProcess) {
  auto bound = allow("User:alice", acl_operation::write, resource_type::topic, "t");
  bound.host = "10.0.0.1";
  auto a = make({bound}, {"User:admin"});
  EXPECT_TRUE(
      a->allowed("User:alice", "10.0.0.1", acl_operation::write, resource_type::topic, "t"));
  EXPECT_FALSE(
      a->allowed("User:alice", "10.0.0.2", acl_operation::write, resource_type::topic, "t"));
  EXPECT_TRUE(a->allowed("User:admin", "any", acl_operation::alter, resource_type::cluster,
                         "kafka-cluster"));
  // `sluice acl` in another process: seen within a second.
  auto other = acl_store::open(dir / "acls.json");
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->add({allow("User:bob", acl_operation::read, resource_type::topic, "t")}));
  bool seen = false;
  for (int i = 0; i < 30 && !seen; ++i) {
    seen = a->allowed("User:bob", "h", acl_operation::read, resource_type::topic, "t");
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen);
}

TEST_F(Authorization, FiltersSelectAsKafkasDo) {
  auto store = acl_store::open(dir / "acls.json");
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->add(
      {allow("User:a", acl_operation::read, resource_type::topic, "orders"),
       allow("User:a", acl_operation::read, resource_type::topic, "ord", pattern_type::prefixed),
       allow("User:a", acl_operation::read, resource_type::topic, "*"),
       allow("User:a", acl_operation::read, resource_type::view, "v")}));
  acl_filter match;
  match.pattern = pattern_type::match;
  match.name = "orders";
  EXPECT_EQ((*store)->describe(match).size(), 3u);
  acl_filter kafka;
  kafka.kafka_types_only = true;
  EXPECT_EQ((*store)->describe(kafka).size(), 3u);  // the VIEW binding is sluice's own
  EXPECT_EQ(validate({resource_type::topic, "*", pattern_type::prefixed, "User:a", "*",
                      acl_operation::read, acl_permission::allow})
                .empty(),
            false);
  EXPECT_EQ(validate({resource_type::topic, "t", pattern_type::literal, "alice", "*",
                      acl_operation::read, acl_permission::allow})
                .empty(),
            false);
}

TEST_F(UserStore, QuotasFollowKafkasPrecedenceAndThrottle) {
  auto q = quota_manager::open(dir / "quotas.json");
  ASSERT_TRUE(q);
  ASSERT_TRUE((*q)->alter({{"user", std::nullopt}}, {{"producer_byte_rate", 1000, false}}));
  ASSERT_TRUE((*q)->alter({{"user", "alice"}}, {{"producer_byte_rate", 100000, false}}));
  using k = quota_manager::kind;
  // alice: her own 100 kB/s (one second of burst), not the default.
  EXPECT_EQ((*q)->record(k::produce, "alice", "c1", 50'000).count(), 0);
  EXPECT_EQ((*q)->record(k::produce, "alice", "c1", 50'000).count(), 0);
  auto wait = (*q)->record(k::produce, "alice", "c1", 50'000);
  EXPECT_GE(wait.count(), 400);
  EXPECT_LE(wait.count(), 600);
  // bob falls to the default user quota (1000 B/s), his own bucket.
  EXPECT_EQ((*q)->record(k::produce, "bob", "c1", 1000).count(), 0);
  EXPECT_GE((*q)->record(k::produce, "bob", "c1", 2000).count(), 1900);
  EXPECT_EQ((*q)->record(k::produce, "carol", "c1", 1000).count(), 0);
  // No fetch quota: never throttled.
  EXPECT_EQ((*q)->record(k::fetch, "bob", "c1", 1e9).count(), 0);
  EXPECT_EQ((*q)->alter({{"ip", "1.2.3.4"}}, {{"producer_byte_rate", 1, false}}).code(),
            errc::invalid_argument);
  EXPECT_EQ((*q)->alter({{"user", "x"}}, {{"made_up", 1, false}}).code(), errc::invalid_argument);
  ASSERT_TRUE((*q)->alter({{"ip", "1.2.3.4"}}, {{"connection_creation_rate", 2, false}}));
  EXPECT_TRUE((*q)->admit_connection("1.2.3.4"));
  EXPECT_TRUE((*q)->admit_connection("1.2.3.4"));
  EXPECT_FALSE((*q)->admit_connection("1.2.3.4"));
  EXPECT_TRUE((*q)->admit_connection("5.6.7.8"));
}

}  // namespace
}  // namespace sluice::security
