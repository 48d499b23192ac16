// Pkcs11Token against a real token: SoftHSM2 in a temp directory.
#include "crypto/pkcs11.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sodium.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "common/env.h"
#include "gtest/gtest.h"
#include "hsm/softhsm.h"

namespace sealtrace {
namespace {

using testing::SoftHsm;

class Pkcs11Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto label = SoftHsm::Get().NewToken("4321");
    ASSERT_TRUE(label.ok()) << label.status();
    label_ = *label;
    auto t = Pkcs11Token::Open({SoftHsm::Get().module(), label_, "4321"});
    ASSERT_TRUE(t.ok()) << t.status();
    token_ = std::move(*t);
  }
  std::string label_;
  std::unique_ptr<Pkcs11Token> token_;
};

TEST_F(Pkcs11Test, AesGcmRoundTripBindsAdAndDetectsTampering) {
  ASSERT_TRUE(token_->GenerateAesKey("k1").ok());
  auto w = token_->Encrypt("k1", "secret key bytes", "ad-1");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->size(), 12 + 16 + 16u);
  EXPECT_EQ(w->find("secret key bytes"), std::string::npos);
  auto p = token_->Decrypt("k1", *w, "ad-1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, "secret key bytes");
  // Two wraps of one value differ (fresh nonce).
  EXPECT_NE(*token_->Encrypt("k1", "secret key bytes", "ad-1"), *w);

  EXPECT_TRUE(absl::IsDataLoss(token_->Decrypt("k1", *w, "ad-2").status()));
  std::string t = *w;
  t[20] ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(token_->Decrypt("k1", t, "ad-1").status()));
  EXPECT_TRUE(absl::IsDataLoss(token_->Decrypt("k1", "short", "ad-1").status()));
  // Another key does not open it.
  ASSERT_TRUE(token_->GenerateAesKey("k2").ok());
  EXPECT_TRUE(absl::IsDataLoss(token_->Decrypt("k2", *w, "ad-1").status()));
}

TEST_F(Pkcs11Test, LabelsAreUniqueListedAndDestroyed) {
  ASSERT_TRUE(token_->GenerateAesKey("app-a").ok());
  ASSERT_TRUE(token_->GenerateAesKey("app-b").ok());
  ASSERT_TRUE(token_->GenerateEd25519Key("app-sign").ok());
  ASSERT_TRUE(token_->GenerateAesKey("other").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(token_->GenerateAesKey("app-a")));
  EXPECT_TRUE(absl::IsAlreadyExists(token_->GenerateEd25519Key("app-b")));
  auto l = token_->ListKeys("app-");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(*l, (std::vector<std::string>{"app-a", "app-b", "app-sign"}));

  auto w = token_->Encrypt("app-a", "x", "");  // caches the handle
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(token_->DestroyKey("app-a").ok());
  EXPECT_TRUE(absl::IsNotFound(token_->Decrypt("app-a", *w, "").status()));
  EXPECT_TRUE(absl::IsNotFound(token_->Encrypt("app-a", "x", "").status()));
  EXPECT_TRUE(absl::IsNotFound(token_->DestroyKey("app-a")));
  EXPECT_FALSE(*token_->HasKey("app-a"));
  ASSERT_TRUE(token_->DestroyKey("app-sign").ok());  // both halves
  EXPECT_TRUE(absl::IsNotFound(token_->Ed25519PublicKey("app-sign").status()));
  EXPECT_TRUE(absl::IsNotFound(token_->SignEd25519("app-sign", "m").status()));
}

TEST_F(Pkcs11Test, Ed25519SignaturesVerifyUnderLibsodium) {
  ASSERT_TRUE(token_->GenerateEd25519Key("sig").ok());
  auto pk = token_->Ed25519PublicKey("sig");
  ASSERT_TRUE(pk.ok()) << pk.status();
  ASSERT_EQ(pk->size(), 32u);
  const std::string msg = "sealtrace checkpoint\n42\n";
  auto sig = token_->SignEd25519("sig", msg);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_EQ(sig->size(), 64u);
  auto u = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  EXPECT_EQ(crypto_sign_verify_detached(u(*sig), u(msg), msg.size(), u(*pk)), 0);
  const std::string other = msg + "x";
  EXPECT_NE(crypto_sign_verify_detached(u(*sig), u(other), other.size(), u(*pk)), 0);
}

TEST_F(Pkcs11Test, WrongPinAndUnknownTokenAreClearErrorsWithoutThePin) {
  token_.reset();  // the next open initialises the module again
  auto bad = Pkcs11Token::Open({SoftHsm::Get().module(), label_, "999999"});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("999999"), std::string::npos);
  auto none = Pkcs11Token::Open({SoftHsm::Get().module(), "no-such-token", "4321"});
  EXPECT_TRUE(absl::IsUnavailable(none.status())) << none.status();
  auto no_module = Pkcs11Token::Open({"/nonexistent/libp11.so", label_, "4321"});
  EXPECT_TRUE(absl::IsFailedPrecondition(no_module.status())) << no_module.status();
  EXPECT_TRUE(Pkcs11Token::Open({SoftHsm::Get().module(), label_, "4321"}).ok());
}

TEST_F(Pkcs11Test, KeysAreSensitiveAndNotExtractable) {
  // Asked directly through the module (same process: the login is shared), the
  // token refuses the key's value.
  ASSERT_TRUE(token_->GenerateAesKey("kek").ok());
  void* dl = ::dlopen(SoftHsm::Get().module().c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(dl, nullptr);
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR f = nullptr;
  ASSERT_EQ(get(&f), CKR_OK);
  CK_SLOT_ID slots[16];
  CK_ULONG n = 16;
  ASSERT_EQ(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
  int checked = 0;
  for (CK_ULONG i = 0; i < n; ++i) {
    CK_SESSION_HANDLE s;
    if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK) continue;
    std::string label = "kek";
    CK_ATTRIBUTE t{CKA_LABEL, label.data(), label.size()};
    CK_OBJECT_HANDLE h;
    CK_ULONG found = 0;
    f->C_FindObjectsInit(s, &t, 1);
    f->C_FindObjects(s, &h, 1, &found);
    f->C_FindObjectsFinal(s);
    if (found == 1) {
      unsigned char value[64];
      CK_ATTRIBUTE v{CKA_VALUE, value, sizeof(value)};
      EXPECT_EQ(f->C_GetAttributeValue(s, h, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
      CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
      CK_ATTRIBUTE flags[2] = {{CKA_EXTRACTABLE, &extractable, 1}, {CKA_SENSITIVE, &sensitive, 1}};
      ASSERT_EQ(f->C_GetAttributeValue(s, h, flags, 2), CKR_OK);
      EXPECT_EQ(extractable, CK_FALSE);
      EXPECT_EQ(sensitive, CK_TRUE);
      ++checked;
    }
    f->C_CloseSession(s);
  }
  EXPECT_EQ(checked, 1);
}

TEST_F(Pkcs11Test, ConcurrentCallsShareTheLogin) {
  ASSERT_TRUE(token_->GenerateAesKey("c").ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string v = std::to_string(t * 1000 + i);
        auto w = token_->Encrypt("c", v, "ad");
        if (!w.ok()) continue;
        auto p = token_->Decrypt("c", *w, "ad");
        if (p.ok() && *p == v) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 400);
}

TEST(Pkcs11PinTest, FromPrivateFileOrEnvironment) {
  char dir_tmpl[] = "/tmp/st-pin-XXXXXX";
  std::string dir = ::mkdtemp(dir_tmpl);
  const std::string f = dir + "/pin";
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), f, "s3cret\n", 0600).ok());
  EXPECT_EQ(*ReadPkcs11Pin(Env::Default(), f, "ST_TEST_PIN"), "s3cret");
  ASSERT_EQ(::chmod(f.c_str(), 0644), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(ReadPkcs11Pin(Env::Default(), f, "").status()));
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), f, "\n", 0600).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ReadPkcs11Pin(Env::Default(), f, "").status()));
  ::unsetenv("ST_TEST_PIN");
  auto none = ReadPkcs11Pin(Env::Default(), "", "ST_TEST_PIN");
  EXPECT_TRUE(absl::IsInvalidArgument(none.status()));
  EXPECT_NE(none.status().message().find("ST_TEST_PIN"), std::string::npos);
  ::setenv("ST_TEST_PIN", "from-env", 1);
  EXPECT_EQ(*ReadPkcs11Pin(Env::Default(), "", "ST_TEST_PIN"), "from-env");
  ::unsetenv("ST_TEST_PIN");
}

}  // namespace
}  // namespace sealtrace
