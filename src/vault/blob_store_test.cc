#include "vault/blob_store.h"

#include <sys/stat.h>

#include "common/env_fault.h"
#include "gtest/gtest.h"
#include "vault/test_util.h"

namespace sealtrace::vault {
namespace {

using testing::TempDir;

TEST(BlobStoreTest, PutGetDeleteRoundTrip) {
  TempDir dir;
  auto store = FsBlobStore::Open(Env::Default(), dir.Sub("blobs"));
  ASSERT_TRUE(store.ok()) << store.status();
  std::string data = RandomBytes(10000);
  std::string key = BlobKeyOf(data);
  EXPECT_TRUE(IsValidBlobKey(key));
  EXPECT_FALSE(*(*store)->Exists(key));
  ASSERT_TRUE((*store)->Put(key, data).ok());
  EXPECT_TRUE(*(*store)->Exists(key));
  EXPECT_EQ((*store)->PathOf(key),
            dir.Sub("blobs") + "/" + key.substr(0, 2) + "/" + key.substr(2, 2) + "/" + key);
  struct stat st;
  ASSERT_EQ(::stat((*store)->PathOf(key).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto got = (*store)->Get(key);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
  // Idempotent.
  ASSERT_TRUE((*store)->Put(key, data).ok());
  EXPECT_EQ(*(*store)->Get(key), data);
  ASSERT_TRUE((*store)->Delete(key).ok());
  EXPECT_FALSE(*(*store)->Exists(key));
  EXPECT_TRUE(absl::IsNotFound((*store)->Get(key).status()));
  EXPECT_TRUE((*store)->Delete(key).ok());
  // No temp files left behind.
  auto tmp = Env::Default()->ListDir(dir.Sub("blobs/tmp"));
  ASSERT_TRUE(tmp.ok());
  EXPECT_TRUE(tmp->empty());
}

TEST(BlobStoreTest, RefusesMalformedKeysAndDetectsDamage) {
  TempDir dir;
  auto store = FsBlobStore::Open(Env::Default(), dir.Sub("blobs"));
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*store)->Put("../../etc/passwd", "x")));
  EXPECT_TRUE(absl::IsInvalidArgument((*store)->Get(std::string(64, 'G')).status()));
  std::string data = "sealed bytes";
  std::string key = BlobKeyOf(data);
  ASSERT_TRUE((*store)->Put(key, data).ok());
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), (*store)->PathOf(key), "damaged").ok());
  EXPECT_TRUE(absl::IsDataLoss((*store)->Get(key).status()));
  // A Put of the right bytes repairs it.
  ASSERT_TRUE((*store)->Put(key, data).ok());
  EXPECT_EQ(*(*store)->Get(key), data);
}

TEST(BlobStoreTest, SurvivesPowerLossOnceAcknowledged) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto store = FsBlobStore::Open(&env, dir.Sub("blobs"));
  ASSERT_TRUE(store.ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    std::string data = RandomBytes(100 + i);
    keys.push_back(BlobKeyOf(data));
    ASSERT_TRUE((*store)->Put(keys.back(), data).ok());
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  for (const auto& k : keys) {
    auto got = (*store)->Get(k);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(BlobKeyOf(*got), k);
  }
}

TEST(BlobStoreTest, FailedWriteLeavesNothing) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto store = FsBlobStore::Open(&env, dir.Sub("blobs"));
  ASSERT_TRUE(store.ok());
  std::string data = RandomBytes(1000);
  std::string key = BlobKeyOf(data);
  // Fail every step of a Put in turn: each failure leaves no temp file, and either no
  // blob or (a failed final directory sync) an intact one.
  for (int n = 1; n <= 8; ++n) {
    env.FailNthWrite(n);
    absl::Status s = (*store)->Put(key, data);
    env.FailNthWrite(0);
    if (s.ok()) {
      ASSERT_TRUE((*store)->Delete(key).ok());
      continue;
    }
    if (*(*store)->Exists(key)) {
      EXPECT_TRUE((*store)->Get(key).ok()) << "failing write " << n;
      ASSERT_TRUE((*store)->Delete(key).ok());
    }
    auto tmp = env.ListDir(dir.Sub("blobs/tmp"));
    ASSERT_TRUE(tmp.ok());
    EXPECT_TRUE(tmp->empty()) << "failing write " << n;
  }
}

TEST(BlobStoreTest, OpenRemovesStaleTempFiles) {
  TempDir dir;
  { ASSERT_TRUE(FsBlobStore::Open(Env::Default(), dir.Sub("blobs")).ok()); }
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), dir.Sub("blobs/tmp/abc.tmp"), "half").ok());
  ASSERT_TRUE(FsBlobStore::Open(Env::Default(), dir.Sub("blobs")).ok());
  EXPECT_FALSE(Env::Default()->FileExists(dir.Sub("blobs/tmp/abc.tmp")));
}

}  // namespace
}  // namespace sealtrace::vault
