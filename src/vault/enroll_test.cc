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
  auto name = [](std::string_view b) {
    auto r = ParseEnrollBody(b);
    return r.ok() ? r->name : std::string("<error>");
  };
  EXPECT_EQ(name(R"({"name":"Ada"})"), "Ada");
  EXPECT_EQ(name(R"({"name":"Ada","extra":1})"), "Ada");
  EXPECT_EQ(name(R"({"name":"\u00e9"})"), "é");
  auto join = ParseEnrollBody(R"({"device_code":"ABCDE-FGHJK"})");
  ASSERT_TRUE(join.ok()) << join.status();
  EXPECT_EQ(join->device_code, "ABCDE-FGHJK");
  EXPECT_EQ(join->name, "");
  EXPECT_FALSE(ParseEnrollBody(R"({"device_code":1})").ok());
  EXPECT_FALSE(ParseEnrollBody(R"({"device_code":""})").ok());
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

  // Same name: refused. The fleet secret never reaches an existing contributor.
  int audited = 0;
  std::string audited_for;
  vault_->enroll()->SetNameTakenAudit([&](const std::string& c) {
    ++audited;
    audited_for = c;
  });
  EnrollResult r2 = vault_->enroll()->Enroll({auth_, R"({"name":"Ada"})"});
  EXPECT_EQ(r2.outcome, EnrollOutcome::kNameTaken);
  EXPECT_EQ(r2.http_status(), 409);
  EXPECT_TRUE(r2.device_token.empty());
  EXPECT_NE(r2.message.find("--device-code"), std::string::npos) << r2.message;
  EXPECT_NE(r2.ToJson().find("\"error\":\"name_taken\""), std::string::npos) << r2.ToJson();
  EXPECT_EQ(audited, 1);
  EXPECT_EQ(audited_for, r.contributor_id);
  EXPECT_EQ(vault_->store()->Counts()->contributors, 1);
  EXPECT_EQ(vault_->store()->Counts()->devices, 1);
  EXPECT_EQ(vault_->metrics()->enroll(EnrollOutcome::kEnrolled), 1u);
  EXPECT_EQ(vault_->metrics()->enroll(EnrollOutcome::kNameTaken), 1u);
}

TEST_F(EnrollTest, DeviceCodeJoinsTheContributorWhoMadeIt) {
  EnrollResult first = vault_->enroll()->Enroll({auth_, R"({"name":"Ada"})"});
  ASSERT_EQ(first.outcome, EnrollOutcome::kEnrolled);
  // Without a checker (no access layer) codes are refused.
  EnrollResult none = vault_->enroll()->Enroll({"", R"({"device_code":"X"})"});
  EXPECT_EQ(none.outcome, EnrollOutcome::kCodeRefused);
  std::vector<std::string> seen;
  vault_->enroll()->SetDeviceCodeCheck([&](std::string_view code) -> absl::StatusOr<std::string> {
    seen.emplace_back(code);
    if (code == "GOOD") return first.contributor_id;
    return absl::PermissionDeniedError("signin.code_used: this code was already used");
  });
  // No enrolment secret needed with a code; the name is ignored.
  EnrollResult joined = vault_->enroll()->Enroll({"", R"({"device_code":"GOOD","name":"Eve"})"});
  ASSERT_EQ(joined.outcome, EnrollOutcome::kEnrolled) << joined.message;
  EXPECT_FALSE(joined.new_contributor);
  EXPECT_EQ(joined.contributor_id, first.contributor_id);
  EXPECT_EQ(joined.contributor_public_key, first.contributor_public_key);
  EXPECT_NE(joined.device_token, first.device_token);
  EnrollResult reused = vault_->enroll()->Enroll({auth_, R"({"device_code":"BAD"})"});
  EXPECT_EQ(reused.outcome, EnrollOutcome::kCodeRefused);
  EXPECT_EQ(reused.http_status(), 403);
  EXPECT_NE(reused.message.find("already used"), std::string::npos);
  EXPECT_EQ(seen, (std::vector<std::string>{"GOOD", "BAD"}));
  EXPECT_EQ(vault_->store()->Counts()->contributors, 1);
  EXPECT_EQ(vault_->store()->Counts()->devices, 2);
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

TEST_F(EnrollTest, ConcurrentEnrolmentsOfOneNameCreateOneContributor) {
  std::vector<std::thread> ts;
  std::vector<EnrollOutcome> outcomes(6);
  for (int i = 0; i < 6; ++i) {
    ts.emplace_back([&, i] {
      outcomes[i] = vault_->enroll()->Enroll({auth_, R"({"name":"Grace"})"}).outcome;
    });
  }
  for (auto& t : ts) t.join();
  int enrolled = 0;
  for (auto o : outcomes) {
    EXPECT_TRUE(o == EnrollOutcome::kEnrolled || o == EnrollOutcome::kNameTaken);
    enrolled += o == EnrollOutcome::kEnrolled;
  }
  EXPECT_EQ(enrolled, 1);
  EXPECT_EQ(vault_->store()->Counts()->contributors, 1);
  EXPECT_EQ(vault_->store()->Counts()->devices, 1);
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
