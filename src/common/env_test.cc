#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "common/bytes.h"
#include "common/env.h"
#include "common/env_fault.h"
#include "common/waiter.h"

namespace sealtrace {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/st_env_XXXXXX";
  return mkdtemp(tmpl);
}

TEST(Env, WriteFileAtomicRoundTrip) {
  Env* env = Env::Default();
  std::string dir = TempDir();
  std::string p = JoinPath(dir, "a.bin");
  ASSERT_TRUE(WriteFileAtomic(env, p, "hello").ok());
  EXPECT_EQ(*env->ReadFile(p), "hello");
  EXPECT_FALSE(env->FileExists(p + ".tmp"));
  ASSERT_TRUE(WriteFileAtomic(env, p, "again").ok());
  EXPECT_EQ(*env->ReadFile(p), "again");
}

TEST(Env, ReplaceFileSwapsContentWithoutLeavingTemp) {
  Env* env = Env::Default();
  std::string p = JoinPath(TempDir(), "status.json");
  ASSERT_TRUE(ReplaceFile(env, p, "one").ok());
  ASSERT_TRUE(ReplaceFile(env, p, "two").ok());
  EXPECT_EQ(*env->ReadFile(p), "two");
  EXPECT_FALSE(env->FileExists(p + ".tmp"));
  EXPECT_FALSE(ReplaceFile(env, "/nonexistent/dir/x", "y").ok());
}

TEST(Waiter, TimesOutWithNothingToReport) {
  auto w = Waiter::Create({TempDir()});
  ASSERT_TRUE(w.ok()) << w.status();
  const int64_t t0 = Env::Default()->NowMonoMicros();
  Waiter::Result r = (*w)->Wait(30'000);
  EXPECT_GE(Env::Default()->NowMonoMicros() - t0, 25'000);
  EXPECT_FALSE(r.woken);
  EXPECT_TRUE(r.changed.empty());
}

TEST(Waiter, WakeIsSeenOnceAndBeforeTheWaitStarts) {
  auto w = Waiter::Create({TempDir()});
  ASSERT_TRUE(w.ok());
  (*w)->Wake();  // before Wait(): not lost
  (*w)->Wake();
  Waiter::Result r = (*w)->Wait(-1);
  EXPECT_TRUE(r.woken);
  EXPECT_FALSE((*w)->Wait(0).woken);  // both wakes consumed by one Wait
}

TEST(Waiter, ReportsFilesReplacedInTheWatchedDirectory) {
  std::string dir = TempDir();
  auto w = Waiter::Create({dir});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), JoinPath(dir, "control"), "pause 0").ok());
  ASSERT_TRUE(ReplaceFile(Env::Default(), JoinPath(dir, "vault_state.json"), "{}").ok());
  std::set<std::string> seen;
  for (int i = 0; i < 5 && seen.size() < 2; ++i) {
    Waiter::Result r = (*w)->Wait(1'000'000);
    for (const auto& n : r.changed) {
      if (n == "control" || n == "vault_state.json") seen.insert(n);
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"control", "vault_state.json"}));
}

TEST(Waiter, MissingDirectoryDegradesToBoundedPolling) {
  auto w = Waiter::Create({"/nonexistent/definitely/not"});
  ASSERT_TRUE(w.ok());
  const int64_t t0 = Env::Default()->NowMonoMicros();
  Waiter::Result r = (*w)->Wait(-1);  // would block forever with inotify
  EXPECT_TRUE(r.all_changed);
  EXPECT_LE(Env::Default()->NowMonoMicros() - t0, 2 * Waiter::kFallbackPollUs);
}

TEST(Env, ReadMissingFileIsNotFound) {
  auto r = Env::Default()->ReadFile("/nonexistent/definitely/not");
  EXPECT_TRUE(absl::IsNotFound(r.status()));
}

TEST(FaultEnv, DropUnsyncedDataCutsUnsyncedTailAndUndurableEntries) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  // Durable file: written, synced, dir synced.
  std::string durable = JoinPath(dir, "durable");
  ASSERT_TRUE(WriteFileAtomic(&env, durable, "kept").ok());
  // A file whose tail is unsynced.
  std::string partial = JoinPath(dir, "partial");
  {
    auto f = *env.NewWritableFile(partial);
    ASSERT_TRUE(f->Append("synced").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(env.SyncDir(dir).ok());
    ASSERT_TRUE(f->Append("-lost").ok());
    ASSERT_TRUE(f->Close().ok());
  }
  // A file whose directory entry was never synced.
  std::string fresh = JoinPath(dir, "fresh");
  {
    auto f = *env.NewWritableFile(fresh);
    ASSERT_TRUE(f->Append("x").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Close().ok());
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*env.ReadFile(durable), "kept");
  EXPECT_EQ(*env.ReadFile(partial), "synced");
  EXPECT_FALSE(env.FileExists(fresh));
}

TEST(FaultEnv, InactiveFilesystemFailsWritesAndAtomicWriteLeavesNothing) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  std::string p = JoinPath(dir, "f");
  ASSERT_TRUE(WriteFileAtomic(&env, p, "old").ok());
  env.FailNthWrite(3);  // create ok, append ok, sync fails
  EXPECT_FALSE(WriteFileAtomic(&env, p, "new").ok());
  EXPECT_EQ(*env.ReadFile(p), "old");
  EXPECT_FALSE(env.FileExists(p + ".tmp"));
  env.SetFilesystemActive(false);
  EXPECT_FALSE(WriteFileAtomic(&env, p, "new").ok());
  EXPECT_EQ(*env.ReadFile(p), "old");
}

TEST(FaultEnv, SimulatedClocks) {
  FaultInjectionEnv env(Env::Default(), 100, 5000);
  EXPECT_EQ(env.NowMonoMicros(), 100);
  env.SleepMicros(50);
  EXPECT_EQ(env.NowMonoMicros(), 150);
  env.SetWallMicros(10);  // wall clock jumps backwards; monotonic does not
  EXPECT_EQ(env.NowWallMicros(), 10);
  EXPECT_EQ(env.NowMonoMicros(), 150);
}

TEST(Bytes, HexAndIds) {
  EXPECT_EQ(ToHex(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*FromHex("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(FromHex("0g").has_value());
  EXPECT_FALSE(FromHex("abc").has_value());
  auto id = Id16::FromHex("000102030405060708090a0b0c0d0e0f");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->Hex(), "000102030405060708090a0b0c0d0e0f");
  EXPECT_FALSE(id->IsZero());
  std::string buf;
  PutU64(&buf, 0x0102030405060708ull);
  EXPECT_EQ(GetU64(buf.data()), 0x0102030405060708ull);
  EXPECT_EQ(static_cast<uint8_t>(buf[0]), 0x08);
}

}  // namespace
}  // namespace sealtrace
