#include <gtest/gtest.h>

#include <cstdlib>

#include "common/bytes.h"
#include "common/env.h"
#include "common/env_fault.h"

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
