// KeyService over both MasterKeys backends: the key file and a real PKCS#11
// token (SoftHSM2). The same assertions run on each: enrolment, release,
// rotation, retirement, deletion that holds against a restored database
// backup, legacy rows, and token faults (fail closed, clear errors).
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "common/env_fault.h"
#include "crypto/pkcs11.h"
#include "gtest/gtest.h"
#include "hsm/softhsm.h"
#include "vault/key_service.h"
#include "vault/master_keys.h"
#include "vault/sqlite_metadata_store.h"
#include "vault/test_util.h"

namespace sealtrace::vault {
namespace {

using testing::RandomId;
using ::sealtrace::testing::SoftHsm;
using testing::TempDir;

absl::Status AuditOk() { return absl::OkStatus(); }

class MasterKeysTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (IsHsm()) {
      auto label = SoftHsm::Get().NewToken("2468");
      ASSERT_TRUE(label.ok()) << label.status();
      config_.hsm_module = SoftHsm::Get().module();
      config_.hsm_token = *label;
      pin_file_ = dir_.Sub("hsm.pin");
      ASSERT_TRUE(WriteFileAtomic(Env::Default(), pin_file_, "2468\n", 0600).ok());
      config_.hsm_pin_file = pin_file_;
    } else {
      config_.key_file = dir_.Sub("keys/master.key");
    }
    auto s = SqliteMetadataStore::Open(dir_.Sub("meta.db"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    ks_ = OpenService(store_.get());
    ASSERT_NE(ks_, nullptr);
  }
  void TearDown() override {
    ks_.reset();
    store_.reset();
  }
  bool IsHsm() const { return GetParam() == "pkcs11"; }

  std::unique_ptr<KeyService> OpenService(MetadataStore* store) {
    auto keys = OpenMasterKeys(Env::Default(), config_);
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (!keys.ok()) return nullptr;
    auto ks = KeyService::Open(Env::Default(), store, *std::move(keys));
    EXPECT_TRUE(ks.ok()) << ks.status();
    return ks.ok() ? *std::move(ks) : nullptr;
  }
  absl::StatusOr<ReleasedKey> Release(KeyService* ks, const Id16& id) {
    return ks->ReleaseSecretKey(id, AuditOk);
  }

  TempDir dir_;
  MasterKeyConfig config_;
  std::string pin_file_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<KeyService> ks_;
};

TEST_P(MasterKeysTest, EnrolAndReleaseSurviveReopen) {
  Id16 a = RandomId();
  auto pk = ks_->CreateContributorKey(a);
  ASSERT_TRUE(pk.ok()) << pk.status();
  auto rel = Release(ks_.get(), a);
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_EQ(BoxPublicKeyOf(rel->secret_key), *pk);
  ks_.reset();
  ks_ = OpenService(store_.get());
  ASSERT_NE(ks_, nullptr);
  EXPECT_EQ(ks_->current_master_key_version(), 1u);
  EXPECT_EQ(BoxPublicKeyOf(Release(ks_.get(), a)->secret_key), *pk);
  EXPECT_TRUE(ks_->CheckKeys().ok());
}

TEST_P(MasterKeysTest, DeletionHoldsAgainstARestoredDatabaseBackup) {
  Id16 alice = RandomId(), bob = RandomId();
  ASSERT_TRUE(ks_->CreateContributorKey(alice).ok());
  auto bob_pk = ks_->CreateContributorKey(bob);
  ASSERT_TRUE(bob_pk.ok());
  // A database backup taken before the deletion (SQLite online copy).
  const std::string backup = dir_.Sub("meta-backup.db");
  ASSERT_EQ(std::system(("sqlite3 " + dir_.Sub("meta.db") + " \".backup '" + backup + "'\"").c_str()),
            0);

  ASSERT_TRUE(ks_->DestroyContributorKey(alice).ok());
  EXPECT_TRUE(absl::IsNotFound(Release(ks_.get(), alice).status()));

  // The backup still holds alice's wrapped key row, and the live master key
  // still opens its outer layer; her binding key is gone, so nothing opens it.
  auto restored = SqliteMetadataStore::Open(backup);
  ASSERT_TRUE(restored.ok());
  auto row = (*restored)->GetLatestContributorKey(alice);
  ASSERT_TRUE(row.ok() && row->has_value() && !(*row)->destroyed);
  auto from_backup = OpenService(restored->get());
  ASSERT_NE(from_backup, nullptr);
  auto rel = Release(from_backup.get(), alice);
  ASSERT_FALSE(rel.ok());
  EXPECT_TRUE(absl::IsNotFound(rel.status())) << rel.status();
  EXPECT_NE(rel.status().message().find("binding"), std::string::npos) << rel.status();
  // Nor does rotating over the backup bring it back: her row is skipped.
  auto rot = from_backup->RotateMasterKey();
  ASSERT_TRUE(rot.ok()) << rot.status();
  EXPECT_EQ(rot->skipped, 1);
  EXPECT_TRUE(absl::IsNotFound(Release(from_backup.get(), alice).status()));
  // Bob, not deleted, still opens from the backup and the live store.
  EXPECT_EQ(BoxPublicKeyOf(Release(from_backup.get(), bob)->secret_key), *bob_pk);
  EXPECT_EQ(BoxPublicKeyOf(Release(ks_.get(), bob)->secret_key), *bob_pk);
}

TEST_P(MasterKeysTest, RotateRewrapsKeepsBindingsAndRetires) {
  std::vector<Id16> ids;
  std::vector<std::string> pks;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(RandomId());
    pks.push_back(*ks_->CreateContributorKey(ids.back()));
  }
  auto r = ks_->RotateMasterKey();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->new_version);
  EXPECT_EQ(r->master_key_version, 2u);
  EXPECT_EQ(r->rewrapped, 5);
  EXPECT_EQ(r->bound, 0);
  ASSERT_TRUE(ks_->RetireMasterKey(1).ok());
  EXPECT_EQ(ks_->master_key_versions(), std::vector<uint32_t>{2});
  EXPECT_TRUE(absl::IsFailedPrecondition(ks_->RetireMasterKey(2)));
  EXPECT_TRUE(absl::IsNotFound(ks_->RetireMasterKey(1)));
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(BoxPublicKeyOf(Release(ks_.get(), ids[i])->secret_key), pks[i]);
  }
  // Deleting after a rotation still destroys the one binding.
  ASSERT_TRUE(ks_->DestroyContributorKey(ids[0]).ok());
  EXPECT_TRUE(absl::IsNotFound(Release(ks_.get(), ids[0]).status()));
  EXPECT_TRUE(Release(ks_.get(), ids[1]).ok());
}

TEST_P(MasterKeysTest, RowsFromBeforeBindingsAreReadAndBoundAtRotation) {
  // A vault from before bindings: its key file lines have no "bound" flag.
  // (A token never held such rows: the HSM backend came with bindings.)
  if (!IsHsm()) {
    auto text = Env::Default()->ReadFile(config_.key_file);
    ASSERT_TRUE(text.ok());
    std::string legacy = *text;
    for (size_t p; (p = legacy.find(" bound")) != std::string::npos;) legacy.erase(p, 6);
    ASSERT_TRUE(WriteFileAtomic(Env::Default(), config_.key_file, legacy, 0600).ok());
    ks_.reset();
    ks_ = OpenService(store_.get());
  }
  // A row as the vault wrote it before bindings: Wrap(master v1, sk).
  auto keys = OpenMasterKeys(Env::Default(), config_);
  ASSERT_TRUE(keys.ok());
  Id16 old = RandomId();
  BoxKeyPair kp = GenerateBoxKeyPair();
  std::string ad = "sealtrace-contributor-key";
  ad.append(old.Bytes());
  PutU32(&ad, 1);
  PutU32(&ad, 1);
  ContributorKeyRecord rec;
  rec.contributor_id = old;
  rec.public_key = kp.public_key;
  rec.wrapped_secret_key = *(*keys)->Wrap(1, kp.secret_key.view(), ad);
  ASSERT_TRUE(store_->PutContributorKey(rec).ok());
  if (IsHsm()) {  // an unbound row under a version made with bindings: refused
    auto r = Release(ks_.get(), old);
    EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
    return;
  }
  EXPECT_EQ(BoxPublicKeyOf(Release(ks_.get(), old)->secret_key), kp.public_key);

  auto r = ks_->RotateMasterKey();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bound, 1);
  EXPECT_EQ(BoxPublicKeyOf(Release(ks_.get(), old)->secret_key), kp.public_key);
  // Now bound: deleting it holds against the pre-deletion copy of the row.
  auto row = store_->GetLatestContributorKey(old);
  ASSERT_TRUE(row.ok() && row->has_value());
  ContributorKeyRecord copy = **row;
  ASSERT_TRUE(ks_->DestroyContributorKey(old).ok());
  copy.contributor_id = old;
  auto other = SqliteMetadataStore::Open(dir_.Sub("other.db"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->PutContributorKey(copy).ok());
  auto ks2 = OpenService(other->get());
  EXPECT_TRUE(absl::IsNotFound(Release(ks2.get(), old).status()));
}

TEST_P(MasterKeysTest, AnUnboundRowUnderABoundVersionIsRefused) {
  // Someone with the master key (file backend) writes a row without a binding
  // for a deleted contributor: the version was made with bindings, so no.
  Id16 a = RandomId();
  ASSERT_TRUE(ks_->CreateContributorKey(a).ok());
  ASSERT_TRUE(ks_->DestroyContributorKey(a).ok());
  auto keys = OpenMasterKeys(Env::Default(), config_);
  ASSERT_TRUE(keys.ok());
  BoxKeyPair kp = GenerateBoxKeyPair();
  std::string ad = "sealtrace-contributor-key";
  ad.append(a.Bytes());
  PutU32(&ad, 1);
  PutU32(&ad, 1);
  auto other = SqliteMetadataStore::Open(dir_.Sub("forged.db"));
  ASSERT_TRUE(other.ok());
  ContributorKeyRecord rec;
  rec.contributor_id = a;
  rec.public_key = kp.public_key;
  rec.wrapped_secret_key = *(*keys)->Wrap(1, kp.secret_key.view(), ad);
  ASSERT_TRUE((*other)->PutContributorKey(rec).ok());
  auto ks2 = OpenService(other->get());
  auto r = Release(ks2.get(), a);
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
}

TEST_P(MasterKeysTest, TamperedRowIsDataLossAndReleasesNothing) {
  Id16 a = RandomId();
  ASSERT_TRUE(ks_->CreateContributorKey(a).ok());
  auto row = store_->GetLatestContributorKey(a);
  ASSERT_TRUE(row.ok() && row->has_value());
  std::string w = (*row)->wrapped_secret_key;
  w[w.size() / 2] ^= 0x40;
  ASSERT_TRUE(*store_->UpdateWrappedKey(a, 1, 1, 1, w));
  auto rel = Release(ks_.get(), a);
  EXPECT_TRUE(absl::IsDataLoss(rel.status())) << rel.status();
}

INSTANTIATE_TEST_SUITE_P(Backends, MasterKeysTest, ::testing::Values("file", "pkcs11"),
                         [](const auto& info) { return info.param; });

// --- token faults (PKCS#11 only) ---

class HsmFaultTest : public MasterKeysTest {};

TEST_P(HsmFaultTest, WrongPinOrUnreadablePinFileRefusesToStart) {
  ks_.reset();
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), pin_file_, "0000\n", 0600).ok());
  auto keys = OpenMasterKeys(Env::Default(), config_);
  ASSERT_FALSE(keys.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(keys.status())) << keys.status();
  EXPECT_EQ(keys.status().message().find("0000"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), pin_file_, "2468\n", 0600).ok());
  ASSERT_EQ(::chmod(pin_file_.c_str(), 0640), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(OpenMasterKeys(Env::Default(), config_).status()));
  MasterKeyConfig no_module = config_;
  no_module.hsm_module = "/nonexistent/pkcs11.so";
  ASSERT_EQ(::chmod(pin_file_.c_str(), 0600), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(OpenMasterKeys(Env::Default(), no_module).status()));
}

TEST_P(HsmFaultTest, AbsentTokenStartsDegradedReleasesNothingAndIsUsedOnceItAppears) {
  ks_.reset();  // no token open: the module is initialised afresh below
  FaultInjectionEnv env(Env::Default());
  MasterKeyConfig late = config_;
  late.hsm_token = "late-" + RandomId().Hex().substr(0, 8);
  auto keys = OpenMasterKeys(&env, late);
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto ks = KeyService::Open(&env, store_.get(), *std::move(keys));
  ASSERT_TRUE(ks.ok()) << ks.status();
  EXPECT_TRUE(absl::IsUnavailable((*ks)->CheckKeys())) << (*ks)->CheckKeys();
  auto created = (*ks)->CreateContributorKey(RandomId());
  EXPECT_TRUE(absl::IsUnavailable(created.status())) << created.status();
  EXPECT_NE(created.status().message().find("HSM is not available"), std::string::npos);

  // The token appears (a new process initialisation sees it after the retry
  // interval; here the module has no other user, so it is initialised anew).
  ASSERT_TRUE(SoftHsm::Get().NewToken("2468", late.hsm_token).ok());
  EXPECT_FALSE((*ks)->CheckKeys().ok());  // retried at most every 5 s
  env.AdvanceMicros(6 * 1000000);
  Id16 a = RandomId();
  auto pk = (*ks)->CreateContributorKey(a);
  ASSERT_TRUE(pk.ok()) << pk.status();
  EXPECT_TRUE((*ks)->CheckKeys().ok());
  bool audited = false;
  auto rel = (*ks)->ReleaseSecretKey(a, [&] {
    audited = true;
    return absl::OkStatus();
  });
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_TRUE(audited);
  EXPECT_EQ(BoxPublicKeyOf(rel->secret_key), *pk);
}

TEST_P(HsmFaultTest, KeyObjectsDeletedUnderTheRunningServiceFailClosed) {
  Id16 a = RandomId(), b = RandomId();
  ASSERT_TRUE(ks_->CreateContributorKey(a).ok());
  ASSERT_TRUE(ks_->CreateContributorKey(b).ok());
  ASSERT_TRUE(Release(ks_.get(), a).ok());  // handles cached
  // Another holder of the token deletes a's binding key, then the master key.
  auto pin = ReadPkcs11Pin(Env::Default(), pin_file_, "");
  auto other = Pkcs11Token::Open({config_.hsm_module, config_.hsm_token, *pin});
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->DestroyKey("sealtrace-bind-" + a.Hex()).ok());
  bool audited = false;
  auto rel = ks_->ReleaseSecretKey(a, [&] {
    audited = true;
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsNotFound(rel.status())) << rel.status();
  EXPECT_TRUE(audited);  // the attempt is on record; no key came out
  EXPECT_TRUE(Release(ks_.get(), b).ok());

  ASSERT_TRUE((*other)->DestroyKey("sealtrace-master-v1").ok());
  rel = Release(ks_.get(), b);
  ASSERT_FALSE(rel.ok());
  EXPECT_NE(rel.status().message().find("master key version 1"), std::string::npos)
      << rel.status();
  EXPECT_FALSE(ks_->CheckKeys().ok());
  EXPECT_FALSE(ks_->CreateContributorKey(RandomId()).ok());
}

TEST_P(HsmFaultTest, TokenThatDisappearsFailsClosedAndWorksAfterReopen) {
  Id16 a = RandomId();
  ASSERT_TRUE(ks_->CreateContributorKey(a).ok());
  ASSERT_TRUE(Release(ks_.get(), a).ok());
  // The token's storage vanishes (SoftHSM2 keeps one directory per token).
  const std::string moved = SoftHsm::Get().token_dir() + ".away";
  std::filesystem::rename(SoftHsm::Get().token_dir(), moved);
  auto rel = Release(ks_.get(), a);
  EXPECT_FALSE(rel.ok());
  EXPECT_FALSE(ks_->CheckKeys().ok());
  EXPECT_NE(rel.status().message().find("master key version 1"), std::string::npos)
      << rel.status();
  // SoftHSM2 does not rescan a token that came back within one initialisation
  // of the module: a service opened afresh (as after a restart) uses it again.
  std::filesystem::rename(moved, SoftHsm::Get().token_dir());
  ks_.reset();
  ks_ = OpenService(store_.get());
  ASSERT_NE(ks_, nullptr);
  EXPECT_TRUE(Release(ks_.get(), a).ok());
}

// A token that is full (fault injection around the real backend): enrolment
// fails with the token's reason and leaves nothing behind; existing keys read.
class FullToken : public MasterKeys {
 public:
  explicit FullToken(std::unique_ptr<MasterKeys> inner) : inner_(std::move(inner)) {}
  std::string Describe() const override { return inner_->Describe(); }
  std::vector<uint32_t> Versions() const override { return inner_->Versions(); }
  absl::Status Reload() override { return inner_->Reload(); }
  absl::StatusOr<uint32_t> AddVersion() override {
    if (full) return absl::ResourceExhaustedError("PKCS#11 C_GenerateKey: CKR_DEVICE_MEMORY");
    return inner_->AddVersion();
  }
  absl::Status RemoveVersion(uint32_t v) override { return inner_->RemoveVersion(v); }
  absl::StatusOr<std::string> Wrap(uint32_t v, std::string_view p, std::string_view ad) override {
    return inner_->Wrap(v, p, ad);
  }
  absl::StatusOr<std::string> Unwrap(uint32_t v, std::string_view w,
                                     std::string_view ad) override {
    return inner_->Unwrap(v, w, ad);
  }
  absl::Status CreateBinding(const Id16& c) override {
    if (full) return absl::ResourceExhaustedError("PKCS#11 C_GenerateKey: CKR_DEVICE_MEMORY");
    return inner_->CreateBinding(c);
  }
  absl::StatusOr<std::string> Bind(const Id16& c, std::string_view p,
                                   std::string_view ad) override {
    return inner_->Bind(c, p, ad);
  }
  absl::StatusOr<std::string> Unbind(const Id16& c, std::string_view w,
                                     std::string_view ad) override {
    return inner_->Unbind(c, w, ad);
  }
  absl::Status DestroyBinding(const Id16& c) override { return inner_->DestroyBinding(c); }
  absl::Status Check() override { return inner_->Check(); }
  bool full = false;

 private:
  std::unique_ptr<MasterKeys> inner_;
};

TEST_P(HsmFaultTest, AFullTokenRefusesEnrolmentAndRotationAndKeepsEverythingElse) {
  ks_.reset();
  auto inner = OpenMasterKeys(Env::Default(), config_);
  ASSERT_TRUE(inner.ok());
  auto full = std::make_unique<FullToken>(*std::move(inner));
  FullToken* f = full.get();
  auto ks = KeyService::Open(Env::Default(), store_.get(), std::move(full));
  ASSERT_TRUE(ks.ok());
  Id16 a = RandomId(), b = RandomId();
  ASSERT_TRUE((*ks)->CreateContributorKey(a).ok());
  f->full = true;
  auto created = (*ks)->CreateContributorKey(b);
  EXPECT_TRUE(absl::IsResourceExhausted(created.status())) << created.status();
  auto row = store_->GetLatestContributorKey(b);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value());
  auto rot = (*ks)->RotateMasterKey();
  EXPECT_TRUE(absl::IsResourceExhausted(rot.status())) << rot.status();
  EXPECT_EQ((*ks)->master_key_versions(), std::vector<uint32_t>{1});
  EXPECT_TRUE(Release(ks->get(), a).ok());
  f->full = false;
  EXPECT_TRUE((*ks)->CreateContributorKey(b).ok());
}

INSTANTIATE_TEST_SUITE_P(Hsm, HsmFaultTest, ::testing::Values("pkcs11"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sealtrace::vault
