#include "vault/key_service.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "vault/sqlite_metadata_store.h"
#include "vault/test_util.h"

namespace sealtrace::vault {
namespace {

using testing::RandomId;
using testing::TempDir;

class KeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteMetadataStore::Open(dir_.Sub("meta.db"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    key_file_ = dir_.Sub("keys/master.key");
    auto ks = KeyService::Open(Env::Default(), store_.get(), key_file_);
    ASSERT_TRUE(ks.ok()) << ks.status();
    keys_ = std::move(*ks);
  }
  TempDir dir_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::string key_file_;
  std::unique_ptr<KeyService> keys_;
};

absl::Status AuditOk() { return absl::OkStatus(); }

TEST_F(KeyServiceTest, MasterKeyFileIsPrivate) {
  struct stat st;
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.Sub("keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  EXPECT_EQ(keys_->current_master_key_version(), 1u);
}

TEST_F(KeyServiceTest, RefusesGroupOrWorldReadableKeyFile) {
  ASSERT_EQ(::chmod(key_file_.c_str(), 0640), 0);
  auto ks = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_FALSE(ks.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(ks.status()));
  EXPECT_NE(ks.status().message().find("chmod 600"), std::string::npos) << ks.status();
  ASSERT_EQ(::chmod(key_file_.c_str(), 0604), 0);
  EXPECT_FALSE(KeyService::Open(Env::Default(), store_.get(), key_file_).ok());
  ASSERT_EQ(::chmod(key_file_.c_str(), 0600), 0);
  EXPECT_TRUE(KeyService::Open(Env::Default(), store_.get(), key_file_).ok());
}

TEST_F(KeyServiceTest, RefusesMalformedKeyFile) {
  std::string path = dir_.Sub("bad.key");
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), path, "1 notbase64!!\n", 0600).ok());
  auto ks = KeyService::Open(Env::Default(), store_.get(), path);
  EXPECT_TRUE(absl::IsFailedPrecondition(ks.status())) << ks.status();
}

TEST_F(KeyServiceTest, CreateReleaseRoundTripSurvivesReopen) {
  Id16 id = RandomId();
  auto pk = keys_->CreateContributorKey(id);
  ASSERT_TRUE(pk.ok()) << pk.status();
  EXPECT_EQ(pk->size(), kPublicKeyBytes);
  EXPECT_EQ(*keys_->PublicKey(id), *pk);
  EXPECT_TRUE(absl::IsAlreadyExists(keys_->CreateContributorKey(id).status()));

  // The stored row holds only the wrapped key.
  auto row = store_->GetLatestContributorKey(id);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->public_key, *pk);

  auto ks2 = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_TRUE(ks2.ok());
  int audited = 0;
  auto rel = (*ks2)->ReleaseSecretKey(id, [&] {
    ++audited;
    return absl::OkStatus();
  });
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_EQ(audited, 1);
  EXPECT_EQ(rel->public_key, *pk);
  EXPECT_EQ(BoxPublicKeyOf(rel->secret_key), *pk);
  EXPECT_EQ((*row)->wrapped_secret_key.find(rel->secret_key.view()), std::string::npos);
}

TEST_F(KeyServiceTest, NoAuditNoKey) {
  Id16 id = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(id).ok());
  auto rel = keys_->ReleaseSecretKey(id, [] { return absl::UnavailableError("audit log down"); });
  ASSERT_FALSE(rel.ok());
  EXPECT_TRUE(absl::IsUnavailable(rel.status()));
  EXPECT_EQ(rel.status().message(), "audit log down");
  EXPECT_FALSE(keys_->ReleaseSecretKey(id, nullptr).ok());
}

TEST_F(KeyServiceTest, WrappedKeyNeedsTheSameMasterKey) {
  Id16 id = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(id).ok());
  auto other = KeyService::Open(Env::Default(), store_.get(), dir_.Sub("other/master.key"));
  ASSERT_TRUE(other.ok());
  auto rel = (*other)->ReleaseSecretKey(id, AuditOk);
  EXPECT_TRUE(absl::IsDataLoss(rel.status())) << rel.status();
}

TEST_F(KeyServiceTest, WrappedKeyIsBoundToItsContributor) {
  Id16 a = RandomId(), b = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(a).ok());
  auto row = store_->GetLatestContributorKey(a);
  ContributorKeyRecord moved = **row;
  moved.contributor_id = b;  // copy a's wrapped key to b
  ASSERT_TRUE(store_->PutContributorKey(moved).ok());
  EXPECT_TRUE(absl::IsDataLoss(keys_->ReleaseSecretKey(b, AuditOk).status()));
}

TEST_F(KeyServiceTest, DestroyShredsTheKey) {
  Id16 id = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(id).ok());
  ASSERT_TRUE(keys_->DestroyContributorKey(id).ok());
  EXPECT_TRUE(absl::IsNotFound(keys_->PublicKey(id).status()));
  bool audited = false;
  auto rel = keys_->ReleaseSecretKey(id, [&] {
    audited = true;
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsNotFound(rel.status()));
  EXPECT_FALSE(audited);
  auto row = store_->GetLatestContributorKey(id);
  EXPECT_TRUE((*row)->destroyed);
  EXPECT_TRUE((*row)->wrapped_secret_key.empty());
  EXPECT_TRUE(keys_->DestroyContributorKey(id).ok());  // idempotent
  EXPECT_TRUE(absl::IsNotFound(keys_->PublicKey(RandomId()).status()));
}

}  // namespace
}  // namespace sealtrace::vault
