// AuditSigner with its key in a real PKCS#11 token (SoftHSM2).
#include <cstdlib>
#include <filesystem>

#include "audit/audit_log.h"
#include "audit/signer.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "crypto/pkcs11.h"
#include "gtest/gtest.h"
#include "hsm/softhsm.h"

namespace sealtrace::audit {
namespace {

using ::sealtrace::testing::SoftHsm;

class HsmSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto label = SoftHsm::Get().NewToken("1357");
    ASSERT_TRUE(label.ok()) << label.status();
    auto t = Pkcs11Token::Open({SoftHsm::Get().module(), *label, "1357"});
    ASSERT_TRUE(t.ok()) << t.status();
    token_ = std::move(*t);
    char tmpl[] = "/tmp/st-hsm-signer-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/audit.key";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  AuditSigner::TokenFn Fn() {
    return [this]() -> absl::StatusOr<Pkcs11Token*> {
      if (!available_) return absl::UnavailableError("token unplugged");
      return token_.get();
    };
  }
  Checkpoint Cp(uint64_t size) {
    Checkpoint cp;
    cp.origin = kDefaultOrigin;
    cp.size = size;
    cp.root_hash = Sha256("root" + std::to_string(size));
    return cp;
  }

  std::unique_ptr<Pkcs11Token> token_;
  std::string dir_, path_;
  bool available_ = true;
};

TEST_F(HsmSignerTest, KeyIsMadeInTheTokenAndTheFileHoldsNoSecret) {
  auto s = AuditSigner::OpenOrCreate(Env::Default(), path_, kDefaultOrigin, Fn());
  ASSERT_TRUE(s.ok()) << s.status();
  auto text = Env::Default()->ReadFile(path_);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("PRIVATE+KEY"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nhsm sealtrace-audit-"), std::string::npos) << *text;
  EXPECT_EQ(token_->ListKeys("sealtrace-audit-")->size(), 1u);

  auto note = (*s)->SignCheckpoint(Cp(7));
  ASSERT_TRUE(note.ok()) << note.status();
  auto v = VerifyCheckpoint(*note, (*s)->Verifiers(), kDefaultOrigin);
  ASSERT_TRUE(v.ok()) << v.status();

  // Reopened from the file, it signs with the same token key.
  auto again = AuditSigner::Open(Env::Default(), path_, Fn());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->VerifierKey(), (*s)->VerifierKey());
  auto note2 = (*again)->SignCheckpoint(Cp(8));
  ASSERT_TRUE(note2.ok());
  EXPECT_TRUE(VerifyCheckpoint(*note2, (*s)->Verifiers(), kDefaultOrigin).ok());
  // Without the token configured, the file is refused with a reason.
  auto no_hsm = AuditSigner::Open(Env::Default(), path_);
  ASSERT_FALSE(no_hsm.ok());
  EXPECT_NE(no_hsm.status().message().find("HSM"), std::string::npos) << no_hsm.status();
}

TEST_F(HsmSignerTest, RotationMakesANewTokenKeyAndDestroysTheOldPrivateKey) {
  auto s = AuditSigner::OpenOrCreate(Env::Default(), path_, kDefaultOrigin, Fn());
  ASSERT_TRUE(s.ok());
  auto before = (*s)->SignCheckpoint(Cp(1));
  ASSERT_TRUE(before.ok());
  const std::string old_vkey = (*s)->VerifierKey();
  ASSERT_TRUE((*s)->Rotate().ok());
  EXPECT_NE((*s)->VerifierKey(), old_vkey);
  EXPECT_EQ(token_->ListKeys("sealtrace-audit-")->size(), 1u);  // the old one destroyed
  auto after = (*s)->SignCheckpoint(Cp(2));
  ASSERT_TRUE(after.ok());
  auto reopened = AuditSigner::Open(Env::Default(), path_, Fn());
  ASSERT_TRUE(reopened.ok());
  // Old checkpoints still verify against the retired verifier key.
  EXPECT_TRUE(VerifyCheckpoint(*before, (*reopened)->Verifiers(), kDefaultOrigin).ok());
  EXPECT_TRUE(VerifyCheckpoint(*after, (*reopened)->Verifiers(), kDefaultOrigin).ok());
}

TEST_F(HsmSignerTest, AnUnavailableTokenFailsSigningAndRotationChangesNothing) {
  auto s = AuditSigner::OpenOrCreate(Env::Default(), path_, kDefaultOrigin, Fn());
  ASSERT_TRUE(s.ok());
  const std::string file_before = *Env::Default()->ReadFile(path_);
  available_ = false;
  auto note = (*s)->SignCheckpoint(Cp(3));
  EXPECT_TRUE(absl::IsUnavailable(note.status())) << note.status();
  EXPECT_FALSE((*s)->Rotate().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(path_), file_before);
  available_ = true;
  EXPECT_TRUE((*s)->SignCheckpoint(Cp(3)).ok());
}

}  // namespace
}  // namespace sealtrace::audit
