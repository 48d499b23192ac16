#include "access/webauthn.h"

#include <gtest/gtest.h>

#include "access/policy.h"
#include "access/webauthn_test_util.h"
#include "crypto/crypto.h"

namespace sealtrace::access::webauthn {
namespace {

using testing::SoftAuthenticator;

std::string RuleOf(const absl::Status& s) {
  std::string m(s.message());
  return m.substr(0, m.find(':'));
}

Expectation Expect(const std::string& challenge) {
  Expectation e;
  e.rp_id = "localhost";
  e.origins = {"http://localhost:8420"};
  e.challenge = challenge;
  return e;
}

class WebAuthnTest : public ::testing::TestWithParam<int> {};

TEST_P(WebAuthnTest, RegistrationThenAssertionVerify) {
  SoftAuthenticator a(GetParam());
  const std::string ch = RandomBytes(32);
  auto cred = VerifyRegistration(a.Register(ch), Expect(ch));
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->credential_id, a.credential_id());
  EXPECT_EQ(cred->public_key.alg, GetParam());
  EXPECT_EQ(cred->public_key.key, a.public_key().key);
  EXPECT_TRUE(cred->user_verified);

  a.counter = 7;
  const std::string ch2 = RandomBytes(32);
  auto r = VerifyAssertion(a.Assert(ch2), cred->public_key, Expect(ch2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sign_count, 7u);
}

TEST_P(WebAuthnTest, ForgedOrReplayedAssertionsAreRefused) {
  SoftAuthenticator a(GetParam());
  const std::string ch = RandomBytes(32);
  const Assertion good = a.Assert(ch);
  ASSERT_TRUE(VerifyAssertion(good, a.public_key(), Expect(ch)).ok());

  // Replayed against a new challenge.
  EXPECT_EQ(RuleOf(VerifyAssertion(good, a.public_key(), Expect(RandomBytes(32))).status()),
            "webauthn.challenge");
  // Another origin.
  {
    SoftAuthenticator::ClientData("webauthn.get", ch, "https://evil.example");
    Assertion x = good;
    x.client_data_json = SoftAuthenticator::ClientData("webauthn.get", ch, "https://evil.example");
    x.signature = a.Sign(x.authenticator_data + Sha256(x.client_data_json));
    EXPECT_EQ(RuleOf(VerifyAssertion(x, a.public_key(), Expect(ch)).status()), "webauthn.origin");
    x.client_data_json =
        SoftAuthenticator::ClientData("webauthn.get", ch, "http://localhost:8420", true);
    x.signature = a.Sign(x.authenticator_data + Sha256(x.client_data_json));
    EXPECT_EQ(RuleOf(VerifyAssertion(x, a.public_key(), Expect(ch)).status()), "webauthn.origin");
  }
  // Signed for another relying party.
  {
    SoftAuthenticator b(GetParam());
    b.rp_id = "evil.example";
    Assertion x = b.Assert(ch);
    EXPECT_EQ(RuleOf(VerifyAssertion(x, b.public_key(), Expect(ch)).status()), "webauthn.rp_id");
  }
  // A registration's client data used for a sign-in.
  {
    Assertion x = good;
    x.client_data_json = SoftAuthenticator::ClientData("webauthn.create", ch, a.origin);
    x.signature = a.Sign(x.authenticator_data + Sha256(x.client_data_json));
    EXPECT_EQ(RuleOf(VerifyAssertion(x, a.public_key(), Expect(ch)).status()), "webauthn.type");
  }
  // No user verification / presence.
  {
    SoftAuthenticator b(GetParam());
    b.flags = kFlagUserPresent;
    EXPECT_EQ(RuleOf(VerifyAssertion(b.Assert(ch), b.public_key(), Expect(ch)).status()),
              "webauthn.user_verified");
    b.flags = kFlagUserVerified;
    EXPECT_EQ(RuleOf(VerifyAssertion(b.Assert(ch), b.public_key(), Expect(ch)).status()),
              "webauthn.user_present");
  }
  // A bad signature, and a good signature by another key.
  {
    Assertion x = good;
    x.signature[x.signature.size() / 2] ^= 1;
    EXPECT_EQ(RuleOf(VerifyAssertion(x, a.public_key(), Expect(ch)).status()), "webauthn.signature");
    SoftAuthenticator other(GetParam());
    EXPECT_EQ(RuleOf(VerifyAssertion(good, other.public_key(), Expect(ch)).status()),
              "webauthn.signature");
    Assertion y = good;
    y.authenticator_data[33] ^= 0x01;  // counter edited after signing
    EXPECT_EQ(RuleOf(VerifyAssertion(y, a.public_key(), Expect(ch)).status()), "webauthn.signature");
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, WebAuthnTest, ::testing::Values(kAlgES256, kAlgEdDSA));

TEST(WebAuthn, CounterRule) {
  EXPECT_TRUE(CounterAdvances(0, 0));
  EXPECT_TRUE(CounterAdvances(4, 5));
  EXPECT_FALSE(CounterAdvances(5, 5));
  EXPECT_FALSE(CounterAdvances(5, 4));
  EXPECT_FALSE(CounterAdvances(5, 0));
}

TEST(WebAuthn, MalformedInputsAreClearErrors) {
  const std::string ch = RandomBytes(32);
  for (std::string bad : {std::string(), std::string("\xa1", 1), std::string(36, 'x'),
                          std::string("\xff\xff\xff\xff", 4)}) {
    Registration r{SoftAuthenticator::ClientData("webauthn.create", ch, "http://localhost:8420"),
                   bad};
    auto s = VerifyRegistration(r, Expect(ch));
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(absl::IsUnauthenticated(s.status())) << s.status();
    EXPECT_FALSE(ParseAuthenticatorData(bad).ok());
  }
  EXPECT_FALSE(ParseClientData("not json").ok());
  EXPECT_FALSE(ParseClientData(R"({"type":"webauthn.get"})").ok());
  EXPECT_FALSE(ParseClientData(R"({"type":"webauthn.get","challenge":"!!","origin":"x"})").ok());
  // Truncated attested data and trailing bytes.
  SoftAuthenticator a;
  std::string auth = a.AuthData(true);
  for (size_t n = 37; n < auth.size(); n += 7) {
    EXPECT_FALSE(ParseAuthenticatorData(auth.substr(0, n)).ok()) << n;
  }
  EXPECT_TRUE(ParseAuthenticatorData(auth).ok());
  EXPECT_EQ(RuleOf(ParseAuthenticatorData(auth + "x").status()), "webauthn.malformed");
}

TEST(WebAuthn, DeclaredSizesBeyondTheInputAreRefusedBeforeAllocating) {
  // A map claiming 2^27 pairs in 9 bytes; an array of 2^32 items; a byte
  // string longer than the input; an indefinite-length map; deep nesting.
  const std::string huge_map("\xba\x08\x00\x00\x00\x01\x02", 7);
  const std::string huge_array("\x9b\x00\x00\x00\x01\x00\x00\x00\x00", 9);
  const std::string long_bytes("\x5a\x00\x10\x00\x00xx", 7);
  const std::string indefinite("\xbf\x01\x02\xff", 4);
  const std::string deep(40, '\x81');
  for (const std::string& bad : {huge_map, huge_array, long_bytes, indefinite, deep}) {
    size_t used = 0;
    EXPECT_EQ(RuleOf(ParseCoseKey(bad, &used).status()), "webauthn.malformed");
    SoftAuthenticator a;
    std::string auth = a.AuthData(false);
    auth[32] = static_cast<char>(auth[32] | kFlagExtensions);
    EXPECT_EQ(RuleOf(ParseAuthenticatorData(auth + bad).status()), "webauthn.malformed");
  }
}

TEST(WebAuthn, OnlyEs256AndEd25519KeysAreAccepted) {
  PublicKey k{kAlgES256, std::string("\x04", 1) + std::string(64, '\x01')};  // not on the curve
  size_t used = 0;
  EXPECT_EQ(RuleOf(ParseCoseKey(EncodeCoseKey(k), &used).status()), "webauthn.algorithm");
  SoftAuthenticator a;
  auto round = ParseCoseKey(EncodeCoseKey(a.public_key()), &used);
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_EQ(round->key, a.public_key().key);
  PublicKey rs{-257, std::string(256, 'x')};  // RS256 is refused
  EXPECT_FALSE(ParseCoseKey(EncodeCoseKey(rs), &used).ok());
}

}  // namespace
}  // namespace sealtrace::access::webauthn
