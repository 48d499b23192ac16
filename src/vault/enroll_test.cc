#include "vault/enroll.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "vault/test_util.h"
#include "vault/vault.h"

namespace sealtrace::vault {
namespace {

using testing::TempDir;

TEST(ContributorNameTest, Validation) {
  EXPECT_TRUE(ValidateContributorName("Ada").ok());
  EXPECT_TRUE(ValidateContributorName("José Müller-Lüdenscheidt").ok());
  EXPECT_TRUE(ValidateContributorName("山田 太郎").ok());
  EXPECT_TRUE(ValidateContributorName(std::string(64, 'x')).ok());
  std::string u64;
  for (int i = 0; i < 64; ++i) u64 += "é";  // 64 code points, 128 bytes
  EXPECT_TRUE(ValidateContributorName(u64).ok());
  EXPECT_FALSE(ValidateContributorName(u64 + "é").ok());
  EXPECT_FALSE(ValidateContributorName("").ok());
  EXPECT_FALSE(ValidateContributorName(std::string(65, 'x')).ok());
  EXPECT_FALSE(ValidateContributorName(" Ada").ok());
  EXPECT_FALSE(ValidateContributorName("Ada ").ok());
  EXPECT_FALSE(ValidateContributorName("A\nda").ok());
  EXPECT_FALSE(ValidateContributorName(std::string("A\0da", 4)).ok());
  EXPECT_FALSE(ValidateContributorName("A\x7f").ok());
  EXPECT_FALSE(ValidateContributorName("\xc3").ok());          // truncated UTF-8
  EXPECT_FALSE(ValidateContributorName("\xc0\xaf").ok());      // overlong
  EXPECT_FALSE(ValidateContributorName("\xed\xa0\x80").ok());  // surrogate
  EXPECT_FALSE(ValidateContributorName("a\xe2\x80\xae"
                                       "b")
                   .ok());  // RTL override
}

TEST(ParseEnrollBodyTest, Forms) {
  EXPECT_EQ(ParseEnrollBody(R"({"name":"Ada"})").value_or(""), "Ada");
  EXPECT_EQ(ParseEnrollBody(R"({"name":"Ada","extra":1})").value_or(""), "Ada");
  EXPECT_EQ(ParseEnrollBody(R"({"name":"\u00e9"})").value_or(""), "é");
  for (const char* bad :
       {"", "{", "[]", "\"Ada\"", R"({"name":1})", R"({"nom":"Ada"})", R"({"name":""})",
        R"({"name":"\u0000"})", R"({"name":"a\ud800"})", "{\"name\":\"\xff\"}"}) {
    auto r = ParseEnrollBody(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
  EXPECT_FALSE(ParseEnrollBody("{\"name\":\"" + std::string(5000, 'a') + "\"}").ok());
}

class EnrollTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VaultOptions o;
    o.data_dir = dir_.Sub("data");
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    vault_ = std::move(*v);
    auto s = Env::Default()->ReadFile(vault_->enroll_secret_path());
    ASSERT_TRUE(s.ok());
    auth_ = "Bearer " + s->substr(0, s->find('\n'));
  }
  TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::string auth_;
};

TEST_F(EnrollTest, SecretFileIsPrivateAndRandom) {
  struct stat st;
  ASSERT_EQ(::stat(vault_->enroll_secret_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(auth_.size(), 7u + 43u);  // base64url(32 bytes), no padding
}

TEST_F(EnrollTest, NewNameMakesContributorKeyAndDevice) {
  EnrollResult r = vault_->enroll()->Enroll({auth_, R"({"name":"Ada"})"});
  ASSERT_EQ(r.outcome, EnrollOutcome::kEnrolled) << r.message;
  EXPECT_TRUE(r.new_contributor);
  EXPECT_EQ(r.http_status(), 200);
  EXPECT_EQ(r.device_token.substr(0, 4), "std_");
  EXPECT_EQ(r.device_token.size(), 4u + 43u);
  EXPECT_EQ(r.contributor_public_key.size(), 32u);
  EXPECT_EQ(r.key_id, ToHex(KeyIdOf(r.contributor_public_key)));
  Id16 cid = *Id16::FromHex(r.contributor_id);
  Id16 did = *Id16::FromHex(r.device_id);
  auto c = vault_->store()->GetContributor(cid);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->name, "Ada");
  EXPECT_EQ((*c)->public_key, r.contributor_public_key);
  EXPECT_EQ(*vault_->keys()->PublicKey(cid), r.contributor_public_key);
  auto d = vault_->store()->GetDevice(did);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->contributor_id, cid);
  EXPECT_EQ((*d)->token_sha256, Sha256(r.device_token));  // only the hash is stored
  EXPECT_NE(r.ToJson().find("\"device_token\""), std::string::npos);

  // Same name: same contributor and key, new device and token.
  EnrollResult r2 = vault_->enroll()->Enroll({auth_, R"({"name":"Ada"})"});
  ASSERT_EQ(r2.outcome, EnrollOutcome::kEnrolled);
  EXPECT_FALSE(r2.new_contributor);
  EXPECT_EQ(r2.contributor_id, r.contributor_id);
  EXPECT_EQ(r2.contributor_public_key, r.contributor_public_key);
  EXPECT_NE(r2.device_id, r.device_id);
  EXPECT_NE(r2.device_token, r.device_token);
  EXPECT_EQ(vault_->store()->Counts()->contributors, 1);
  EXPECT_EQ(vault_->store()->Counts()->devices, 2);
  EXPECT_EQ(vault_->metrics()->enroll(EnrollOutcome::kEnrolled), 2u);
}

TEST_F(EnrollTest, RefusesWrongSecretAndBadBodies) {
  for (std::string auth : {std::string(""), std::string("Bearer nope"), auth_ + "x",
                           std::string("Basic ") + auth_.substr(7)}) {
    EnrollResult r = vault_->enroll()->Enroll({auth, R"({"name":"Ada"})"});
    EXPECT_EQ(r.outcome, EnrollOutcome::kUnauthenticated);
    EXPECT_EQ(r.http_status(), 401);
  }
  EnrollResult r = vault_->enroll()->Enroll({auth_, R"({"name":" "})"});
  EXPECT_EQ(r.outcome, EnrollOutcome::kInvalid);
  EXPECT_EQ(r.http_status(), 400);
  EXPECT_NE(r.ToJson().find("\"error\":\"invalid\""), std::string::npos) << r.ToJson();
  EXPECT_EQ(vault_->store()->Counts()->contributors, 0);
  EXPECT_EQ(vault_->metrics()->enroll(EnrollOutcome::kUnauthenticated), 4u);
  EXPECT_EQ(vault_->metrics()->enroll(EnrollOutcome::kInvalid), 1u);
}

TEST_F(EnrollTest, ConcurrentEnrolmentsOfOneNameConverge) {
  std::vector<std::thread> ts;
  std::vector<std::string> ids(6);
  for (int i = 0; i < 6; ++i) {
    ts.emplace_back([&, i] {
      EnrollResult r = vault_->enroll()->Enroll({auth_, R"({"name":"Grace"})"});
      EXPECT_EQ(r.outcome, EnrollOutcome::kEnrolled) << r.message;
      ids[i] = r.contributor_id;
    });
  }
  for (auto& t : ts) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(vault_->store()->Counts()->contributors, 1);
  EXPECT_EQ(vault_->store()->Counts()->devices, 6);
}

TEST_F(EnrollTest, RefusesWorldReadableSecretFile) {
  ASSERT_EQ(::chmod(vault_->enroll_secret_path().c_str(), 0644), 0);
  vault_.reset();
  VaultOptions o;
  o.data_dir = dir_.Sub("data");
  auto v = Vault::Open(o);
  EXPECT_TRUE(absl::IsFailedPrecondition(v.status())) << v.status();
}

}  // namespace
}  // namespace sealtrace::vault
