#include "agent/uploader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "common/env_fault.h"

namespace sealtrace {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/st_up_XXXXXX";
  return mkdtemp(tmpl);
}
Id16 Id(uint8_t v) {
  Id16 id;
  id.b.fill(v);
  return id;
}

class FakeVault : public VaultClient {
 public:
  UploadResponse UploadSegment(std::string_view bytes, const Id16& id) override {
    ++calls;
    UploadResponse r;
    if (down > 0) {
      --down;
      r.message = "connection refused";
      return r;
    }
    if (refuse.count(id)) {
      r.http_status = 409;
      r.error_code = "conflict";
      r.message = "segment id reused";
      return r;
    }
    r.http_status = 200;
    r.result = stored.count(id) ? "duplicate" : "stored";
    stored[id] = std::string(bytes);
    return r;
  }
  absl::StatusOr<DeviceState> GetDeviceState(const DeviceReport&) override {
    return DeviceState{};
  }
  int down = 0;
  int calls = 0;
  std::set<Id16> refuse;
  std::map<Id16, std::string> stored;
};

TEST(Uploader, UploadsOldestFirstAndDeletesOnlyAfterAck) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto spool = *Spool::Open(&env, {dir, 1 << 20});
  for (uint8_t i = 1; i <= 3; ++i) ASSERT_TRUE(spool->Put(i, Id(i), std::string(10, 'a' + i)).ok());
  FakeVault v;
  v.down = 1;
  Uploader up(&env, spool.get(), &v, {.state_file = dir + "/up.state"});
  auto r = up.UploadOnce();
  EXPECT_FALSE(r.ok());                 // vault down
  EXPECT_EQ(spool->List()->size(), 3u);  // nothing deleted
  r = up.UploadOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 3);
  EXPECT_TRUE(spool->List()->empty());
  EXPECT_EQ(v.stored.size(), 3u);
  EXPECT_EQ(Uploader::LoadLastAcked(&env, dir + "/up.state"), 3u);
}

TEST(Uploader, PermanentRefusalQuarantinesNotDeletes) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto spool = *Spool::Open(&env, {dir, 1 << 20});
  ASSERT_TRUE(spool->Put(1, Id(1), "one").ok());
  ASSERT_TRUE(spool->Put(2, Id(2), "two").ok());
  FakeVault v;
  v.refuse.insert(Id(1));
  Uploader up(&env, spool.get(), &v, {});
  ASSERT_EQ(*up.UploadOnce(), 1);
  EXPECT_EQ(up.Stats().rejected, 1u);
  EXPECT_TRUE(env.FileExists(dir + "/rejected/" + Spool::FileName(1, Id(1))));
}

TEST(Uploader, BackoffGrowsIsCappedAndJittered) {
  FaultInjectionEnv env(Env::Default());
  auto spool = *Spool::Open(&env, {TempDir(), 1 << 20});
  FakeVault v;
  UploaderOptions o;
  o.backoff_base_us = 1000;
  o.backoff_max_us = 64'000;
  Uploader up(&env, spool.get(), &v, o);
  for (int attempt = 1; attempt < 20; ++attempt) {
    int64_t d = up.BackoffDelayUs(attempt);
    int64_t nominal = std::min<int64_t>(1000LL << (attempt - 1), 64'000);
    EXPECT_GE(d, nominal / 2);
    EXPECT_LE(d, nominal);
  }
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(up.BackoffDelayUs(10));
  EXPECT_GT(seen.size(), 10u);  // jitter spreads retries
}

TEST(Uploader, DuplicateAckAlsoDeletes) {
  FaultInjectionEnv env(Env::Default());
  auto spool = *Spool::Open(&env, {TempDir(), 1 << 20});
  ASSERT_TRUE(spool->Put(1, Id(1), "one").ok());
  FakeVault v;
  v.stored[Id(1)] = "one";  // e.g. acked before a crash, ack lost
  Uploader up(&env, spool.get(), &v, {});
  ASSERT_EQ(*up.UploadOnce(), 1);
  EXPECT_EQ(up.Stats().duplicates, 1u);
  EXPECT_TRUE(spool->List()->empty());
}

}  // namespace
}  // namespace sealtrace
