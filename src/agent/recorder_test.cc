#include "agent/recorder.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/env_fault.h"

namespace sealtrace {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/st_rec_XXXXXX";
  return mkdtemp(tmpl);
}

struct Rig {
  FaultInjectionEnv env{Env::Default()};
  std::string dir = TempDir();
  BoxKeyPair kp = GenerateBoxKeyPair();
  std::unique_ptr<Spool> spool = *Spool::Open(&env, {dir, 1 << 30});
  RecorderOptions Options() {
    RecorderOptions o;
    o.contributor_id.b.fill(1);
    o.device_id.b.fill(2);
    o.recipient_public_key = kp.public_key;
    return o;
  }
  std::vector<v1::Event> OpenAll() {
    std::vector<v1::Event> out;
    auto listed = *spool->List();
    for (auto& e : listed) {
      auto seg = OpenSegment(*spool->Read(e), kp.public_key, kp.secret_key);
      EXPECT_TRUE(seg.ok()) << seg.status();
      if (!seg.ok()) continue;
      for (auto ev : seg->events) {
        ev.set_t_us(ev.t_us() + seg->header.start_mono_us);  // back to absolute
        out.push_back(ev);
      }
    }
    return out;
  }
};

v1::Event Key(uint64_t t, const std::string& text) {
  v1::Event e;
  e.set_t_us(t);
  e.mutable_key()->set_down(true);
  e.mutable_key()->set_text(text);
  return e;
}

TEST(Recorder, SealsByAgeAndKeepsEveryEventInOrder) {
  Rig r;
  Recorder rec(&r.env, r.spool.get(), r.Options());
  for (int i = 0; i < 100; ++i) {
    rec.OnEvent(Key(r.env.NowMonoMicros(), std::string(1, static_cast<char>('a' + i % 26))));
    r.env.AdvanceMicros(50'000);  // 20 events per second
    rec.Tick();
  }
  ASSERT_TRUE(rec.Flush().ok());
  auto l = *r.spool->List();
  EXPECT_GE(l.size(), 4u);  // 5 s of events, ≤ 1 s per segment
  EXPECT_LE(l.size(), 6u);
  auto events = r.OpenAll();
  ASSERT_EQ(events.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(events[i].key().text(), std::string(1, static_cast<char>('a' + i % 26)));
    if (i > 0) {
      EXPECT_EQ(events[i].t_us() - events[i - 1].t_us(), 50'000u);
    }
  }
  // Sequences are consecutive.
  for (size_t i = 1; i < l.size(); ++i) EXPECT_EQ(l[i].sequence, l[i - 1].sequence + 1);
}

TEST(Recorder, SegmentsNeverSpanAnHourBoundary) {
  Rig r;
  const int64_t hour = 3600LL * 1000000;
  r.env.SetWallMicros(1800 * hour - 300'000);  // 0.3 s before a whole hour
  auto o = r.Options();
  o.max_segment_age_us = 10'000'000;  // age alone would keep one segment
  Recorder rec(&r.env, r.spool.get(), o);
  for (int i = 0; i < 6; ++i) {
    rec.OnEvent(Key(r.env.NowMonoMicros(), "k"));
    r.env.AdvanceMicros(100'000);
  }
  ASSERT_TRUE(rec.Flush().ok());
  auto l = *r.spool->List();
  ASSERT_EQ(l.size(), 2u);
  int events = 0;
  for (auto& e : l) {
    auto bytes = *r.spool->Read(e);
    auto h = ParseSegmentHeader(bytes);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->wall_hour_end_us - h->wall_hour_start_us, hour);
    events += static_cast<int>(OpenSegment(bytes, r.kp.public_key, r.kp.secret_key)->events.size());
  }
  EXPECT_EQ(events, 6);
}

TEST(Recorder, SealsBySize) {
  Rig r;
  auto o = r.Options();
  o.max_segment_bytes = 4096;
  Recorder rec(&r.env, r.spool.get(), o);
  for (int i = 0; i < 1000; ++i) rec.OnEvent(Key(r.env.NowMonoMicros(), std::string(100, 'x')));
  ASSERT_TRUE(rec.Flush().ok());
  EXPECT_GE(r.spool->List()->size(), 20u);  // ~100 KiB of events, 4 KiB segments
  EXPECT_EQ(r.OpenAll().size(), 1000u);
}

TEST(Recorder, TimesStayMonotonicWhenTheSourceGoesBackwards) {
  Rig r;
  Recorder rec(&r.env, r.spool.get(), r.Options());
  rec.OnEvent(Key(5'000'000, "a"));
  rec.OnEvent(Key(4'000'000, "b"));  // a clock jump backwards at the source
  rec.OnEvent(Key(5'000'100, "c"));
  ASSERT_TRUE(rec.Flush().ok());
  auto ev = r.OpenAll();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_LE(ev[0].t_us(), ev[1].t_us());
  EXPECT_LE(ev[1].t_us(), ev[2].t_us());
}

TEST(Recorder, SpoolFailureKeepsSealedSegmentAndRetries) {
  Rig r;
  Recorder rec(&r.env, r.spool.get(), r.Options());
  rec.OnEvent(Key(r.env.NowMonoMicros(), "a"));
  r.env.SetFilesystemActive(false);
  EXPECT_FALSE(rec.Flush().ok());
  EXPECT_EQ(rec.Stats().unspooled, 1u);
  EXPECT_TRUE(r.spool->List()->empty());
  r.env.SetFilesystemActive(true);
  rec.Tick();
  EXPECT_EQ(rec.Stats().unspooled, 0u);
  ASSERT_EQ(r.OpenAll().size(), 1u);
}

TEST(Recorder, PowerLossLosesAtMostTheUnsealedTail) {
  Rig r;
  {
    Recorder rec(&r.env, r.spool.get(), r.Options());
    for (int i = 0; i < 30; ++i) {
      rec.OnEvent(Key(r.env.NowMonoMicros(), "k"));
      r.env.AdvanceMicros(100'000);
      rec.Tick();
    }
    // Crash now: drop unsynced data without flushing the open segment.
    ASSERT_TRUE(r.env.DropUnsyncedData().ok());
    auto sealed = rec.Stats().events;
    (void)sealed;
    // Prevent the destructor from sealing after the "crash".
    r.env.SetFilesystemActive(false);
  }
  r.env.SetFilesystemActive(true);
  auto spool = *Spool::Open(&r.env, {r.dir, 1 << 30});
  r.spool = std::move(spool);
  auto ev = r.OpenAll();
  // 3 s of events at 10/s, ≤ 1 s (10 events) unsealed.
  EXPECT_GE(ev.size(), 20u);
  EXPECT_LE(ev.size(), 30u);
}

TEST(Recorder, QuotaPurgeIsRecordedAsGapInTheNextSegment) {
  Rig r;
  r.spool = *Spool::Open(&r.env, {r.dir, 900});
  Recorder rec(&r.env, r.spool.get(), r.Options());
  for (int i = 0; i < 6; ++i) {
    rec.OnEvent(Key(r.env.NowMonoMicros(), std::string(200, 'z')));
    ASSERT_TRUE(rec.Flush().ok());
  }
  rec.OnEvent(Key(r.env.NowMonoMicros(), "after"));
  ASSERT_TRUE(rec.Flush().ok());
  EXPECT_GT(r.spool->Stats().purged_segments_total, 0u);
  bool saw_gap = false;
  for (auto& e : r.OpenAll()) {
    if (e.has_control() && e.control().kind() == v1::ControlEvent::GAP &&
        e.control().reason().rfind("spool_quota_purge", 0) == 0) {
      saw_gap = true;
    }
  }
  EXPECT_TRUE(saw_gap);
}

}  // namespace
}  // namespace sealtrace
