#include "spool/spool.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/env_fault.h"

namespace sealtrace {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/st_spool_XXXXXX";
  return mkdtemp(tmpl);
}
Id16 Id(uint8_t v) {
  Id16 id;
  id.b.fill(v);
  return id;
}

TEST(Spool, PutListReadRemoveInSequenceOrder) {
  auto sp = *Spool::Open(Env::Default(), {TempDir(), 1 << 20});
  ASSERT_TRUE(sp->Put(3, Id(3), "three").ok());
  ASSERT_TRUE(sp->Put(1, Id(1), "one").ok());
  ASSERT_TRUE(sp->Put(2, Id(2), "two").ok());
  auto l = *sp->List();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].sequence, 1u);
  EXPECT_EQ(l[2].segment_id, Id(3));
  EXPECT_EQ(*sp->Read(l[1]), "two");
  ASSERT_TRUE(sp->Remove(l[0]).ok());
  EXPECT_EQ(sp->List()->size(), 2u);
  EXPECT_EQ(sp->Stats().max_sequence, 3u);
}

TEST(Spool, QuotaPurgesOldestFirstAndReports) {
  auto sp = *Spool::Open(Env::Default(), {TempDir(), 250});
  std::string blob(100, 'x');
  EXPECT_EQ(sp->Put(1, Id(1), blob)->segments, 0u);
  EXPECT_EQ(sp->Put(2, Id(2), blob)->segments, 0u);
  auto r = *sp->Put(3, Id(3), blob);
  EXPECT_EQ(r.segments, 1u);
  EXPECT_EQ(r.first_sequence, 1u);
  EXPECT_EQ(r.bytes, 100u);
  auto l = *sp->List();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].sequence, 2u);
  EXPECT_EQ(sp->Stats().purged_segments_total, 1u);
}

TEST(Spool, OpenRemovesLeftoverTempFiles) {
  std::string dir = TempDir();
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), dir + "/x.seg.tmp.keep", "").ok());
  {
    auto f = *Env::Default()->NewWritableFile(dir + "/half.seg.tmp");
    ASSERT_TRUE(f->Append("half-written").ok());
  }
  auto sp = *Spool::Open(Env::Default(), {dir, 1 << 20});
  EXPECT_EQ(sp->Stats().removed_tmp_at_open, 1u);
  EXPECT_FALSE(Env::Default()->FileExists(dir + "/half.seg.tmp"));
}

TEST(Spool, SecondProcessNeverRemovesAWriteInFlight) {
  std::string dir = TempDir();
  {
    auto f = *Env::Default()->NewWritableFile(dir + "/in-flight.seg.tmp");
    ASSERT_TRUE(f->Append("the recorder is writing this").ok());
  }
  SpoolOptions reader{dir, 1 << 20};
  reader.remove_unfinished = false;  // the uploader's view
  auto sp = *Spool::Open(Env::Default(), reader);
  EXPECT_EQ(sp->Stats().removed_tmp_at_open, 0u);
  EXPECT_TRUE(Env::Default()->FileExists(dir + "/in-flight.seg.tmp"));
  EXPECT_TRUE(sp->List()->empty());  // not a segment yet
}

TEST(Spool, QuarantineKeepsRefusedSegmentWithReason) {
  std::string dir = TempDir();
  auto sp = *Spool::Open(Env::Default(), {dir, 1 << 20});
  ASSERT_TRUE(sp->Put(1, Id(1), "bad").ok());
  auto l = *sp->List();
  ASSERT_TRUE(sp->Quarantine(l[0], "conflict: refused").ok());
  EXPECT_TRUE(sp->List()->empty());
  EXPECT_EQ(*Env::Default()->ReadFile(dir + "/rejected/" + l[0].name), "bad");
  EXPECT_EQ(*Env::Default()->ReadFile(dir + "/rejected/" + l[0].name + ".reason"),
            "conflict: refused");
}

TEST(Spool, CrashAfterPutKeepsSegment) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  {
    auto sp = *Spool::Open(&env, {dir, 1 << 20});
    ASSERT_TRUE(sp->Put(1, Id(1), "durable").ok());
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  auto sp = *Spool::Open(&env, {dir, 1 << 20});
  auto l = *sp->List();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(*sp->Read(l[0]), "durable");
}

TEST(Spool, FailedPutLeavesNothing) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto sp = *Spool::Open(&env, {dir, 1 << 20});
  env.FailNthWrite(2);  // the append of the temp file
  EXPECT_FALSE(sp->Put(1, Id(1), "x").ok());
  EXPECT_TRUE(sp->List()->empty());
  EXPECT_EQ(Env::Default()->ListDir(dir)->size(), 1u);  // only rejected/
}

TEST(Spool, FileNameRoundTrip) {
  uint64_t seq;
  Id16 id;
  std::string n = Spool::FileName(42, Id(7));
  ASSERT_TRUE(Spool::ParseFileName(n, &seq, &id));
  EXPECT_EQ(seq, 42u);
  EXPECT_EQ(id, Id(7));
  EXPECT_FALSE(Spool::ParseFileName("garbage.seg", &seq, &id));
}

}  // namespace
}  // namespace sealtrace
