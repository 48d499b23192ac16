#include "segment/format.h"

#include <gtest/gtest.h>

#include <sodium.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sealtrace {
namespace {

Id16 RandomId() { return *Id16::FromBytes(RandomBytes(16)); }

struct Fixture {
  BoxKeyPair kp = GenerateBoxKeyPair();
  Id16 contributor = RandomId(), device = RandomId();

  SegmentBuilder::Params Params(uint64_t seq) {
    SegmentBuilder::Params p;
    p.contributor_id = contributor;
    p.device_id = device;
    p.segment_id = RandomId();
    p.sequence = seq;
    p.wall_anchor_us = 1'790'000'000'000'000;
    p.start_mono_us = 42;
    p.recipient_public_key = kp.public_key;
    p.chunk_target_bytes = 256;  // force many chunks
    return p;
  }
  std::string Make(uint64_t seq, int n, std::vector<v1::Event>* sent = nullptr) {
    SegmentBuilder b(Params(seq));
    for (int i = 0; i < n; ++i) {
      v1::Event e;
      e.set_t_us(static_cast<uint64_t>(i) * 1000);
      auto* k = e.mutable_key();
      k->set_down(i % 2 == 0);
      k->set_keysym(97 + (i % 26));
      k->set_text(std::string(1, static_cast<char>('a' + i % 26)));
      b.Add(e);
      if (sent) sent->push_back(e);
    }
    return *b.Seal();
  }
};

TEST(Segment, RoundTripManyChunks) {
  Fixture f;
  std::vector<v1::Event> sent;
  std::string seg = f.Make(7, 500, &sent);
  auto h = ValidateSegmentFraming(seg);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->format_version, 2);
  EXPECT_GT(h->chunk_count, 5u);
  EXPECT_EQ(h->sequence, 7u);
  // Without a key only the coarse range is known.
  EXPECT_EQ(h->event_count, 0u);
  EXPECT_EQ(h->duration_us, 0u);
  EXPECT_EQ(h->wall_anchor_us, 0);
  EXPECT_EQ(h->plaintext_bytes, 0u);
  EXPECT_EQ(h->wall_hour_start_us, 1'789'999'200'000'000);  // 1'790'000'000 s floored to the hour
  EXPECT_EQ(h->wall_hour_end_us, 1'789'999'200'000'000 + kHourUs);
  auto opened = OpenSegment(seg, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  // The exact values come from the sealed info record.
  EXPECT_EQ(opened->header.event_count, 500u);
  EXPECT_EQ(opened->header.duration_us, 499000u);
  EXPECT_EQ(opened->header.wall_anchor_us, 1'790'000'000'000'000);
  EXPECT_EQ(opened->header.start_mono_us, 42u);
  EXPECT_GT(opened->header.plaintext_bytes, 500u * 5);
  EXPECT_EQ(opened->header.wall_hour_start_us, h->wall_hour_start_us);
  ASSERT_EQ(opened->events.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(opened->events[i].SerializeAsString(), sent[i].SerializeAsString());
  }
}

TEST(Segment, CappedCompressorTablesRoundTripAndBadCapsAreRefused) {
  Fixture f;
  for (int cap : {6, 12}) {
    SegmentBuilder::Params p = f.Params(3);
    p.chunk_target_bytes = 64 << 10;
    p.zstd_max_table_log = cap;
    SegmentBuilder b(p);
    std::vector<v1::Event> sent;
    for (int i = 0; i < 3000; ++i) {
      v1::Event e;
      e.set_t_us(static_cast<uint64_t>(i) * 300);
      e.mutable_key()->set_keysym(97 + (i * 7) % 26);
      e.mutable_key()->set_text(std::string(1, static_cast<char>('a' + (i * 7) % 26)));
      b.Add(e);
      sent.push_back(e);
    }
    auto seg = b.Seal();
    ASSERT_TRUE(seg.ok()) << seg.status();
    auto opened = OpenSegment(*seg, f.kp.public_key, f.kp.secret_key);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ASSERT_EQ(opened->events.size(), sent.size()) << "cap " << cap;
    EXPECT_EQ(opened->events.back().SerializeAsString(), sent.back().SerializeAsString());
  }
  // zstd refuses table sizes outside its bounds: a clear error, not a crash.
  SegmentBuilder::Params p = f.Params(4);
  p.zstd_max_table_log = 40;
  SegmentBuilder b(p);
  v1::Event e;
  e.mutable_key()->set_keysym(97);
  b.Add(e);
  auto seg = b.Seal();
  EXPECT_TRUE(absl::IsInvalidArgument(seg.status())) << seg.status();
}

TEST(Segment, EmptySegmentRoundTrips) {
  Fixture f;
  std::string seg = f.Make(1, 0);
  auto opened = OpenSegment(seg, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->events.empty());
}

TEST(Segment, NoPlaintextInSealedBytes) {
  Fixture f;
  SegmentBuilder b(f.Params(1));
  v1::Event e;
  e.mutable_focus()->set_title("CANARY-7f3a9-secret-title");
  b.Add(e);
  std::string seg = *b.Seal();
  EXPECT_EQ(seg.find("CANARY"), std::string::npos);
}

TEST(Segment, WrongKeyIsRefused) {
  Fixture f;
  std::string seg = f.Make(1, 10);
  BoxKeyPair other = GenerateBoxKeyPair();
  auto r = OpenSegment(seg, other.public_key, other.secret_key);
  EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
  // Right public key, wrong secret key.
  r = OpenSegment(seg, f.kp.public_key, other.secret_key);
  EXPECT_FALSE(r.ok());
}

TEST(Segment, EveryHeaderByteIsBound) {
  Fixture f;
  std::string seg = f.Make(1, 50);
  for (size_t i = 0; i < kSegmentHeaderBytes; ++i) {
    std::string bad = seg;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = OpenSegment(bad, f.kp.public_key, f.kp.secret_key);
    EXPECT_FALSE(r.ok()) << "header byte " << i << " edit went undetected";
  }
}

TEST(Segment, EveryBodyBitFlipDetected) {
  Fixture f;
  std::string seg = f.Make(1, 40);
  for (size_t i = kSegmentHeaderBytes; i < seg.size(); i += 7) {
    std::string bad = seg;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_FALSE(OpenSegment(bad, f.kp.public_key, f.kp.secret_key).ok()) << "byte " << i;
  }
}

TEST(Segment, TruncationDetectedAtEveryLength) {
  Fixture f;
  std::string seg = f.Make(1, 60);
  for (size_t n = 0; n < seg.size(); n += 3) {
    EXPECT_FALSE(OpenSegment(seg.substr(0, n), f.kp.public_key, f.kp.secret_key).ok()) << n;
    EXPECT_FALSE(ValidateSegmentFraming(seg.substr(0, n)).ok()) << n;
  }
}

// Splits a segment into header and chunk records.
std::vector<std::string> Chunks(const std::string& seg) {
  std::vector<std::string> out;
  size_t pos = kSegmentHeaderBytes;
  while (pos < seg.size()) {
    uint32_t n = GetU32(seg.data() + pos);
    out.push_back(seg.substr(pos, 4 + n));
    pos += 4 + n;
  }
  return out;
}

TEST(Segment, ChunkReorderDropAndSpliceDetected) {
  Fixture f;
  std::string a = f.Make(1, 80), b = f.Make(2, 80);
  auto ca = Chunks(a), cb = Chunks(b);
  ASSERT_GE(ca.size(), 3u);
  std::string hdr = a.substr(0, kSegmentHeaderBytes);
  // Reorder two chunks.
  {
    auto c = ca;
    std::swap(c[0], c[1]);
    std::string s = hdr;
    for (auto& x : c) s += x;
    EXPECT_FALSE(OpenSegment(s, f.kp.public_key, f.kp.secret_key).ok());
  }
  // Drop the final chunk and fix chunk_count in the header: the header edit
  // itself breaks authentication.
  {
    std::string h2 = hdr;
    uint32_t cnt = GetU32(h2.data() + 100) - 1;
    std::string enc;
    PutU32(&enc, cnt);
    std::memcpy(&h2[100], enc.data(), 4);
    std::string s = h2;
    for (size_t i = 0; i + 1 < ca.size(); ++i) s += ca[i];
    EXPECT_FALSE(OpenSegment(s, f.kp.public_key, f.kp.secret_key).ok());
  }
  // Splice a chunk from another segment of the same contributor.
  {
    auto c = ca;
    c[1] = cb[1];
    std::string s = hdr;
    for (auto& x : c) s += x;
    EXPECT_FALSE(OpenSegment(s, f.kp.public_key, f.kp.secret_key).ok());
  }
  // Transplant b's header onto a's chunks.
  {
    std::string s = b.substr(0, kSegmentHeaderBytes);
    for (auto& x : ca) s += x;
    EXPECT_FALSE(OpenSegment(s, f.kp.public_key, f.kp.secret_key).ok());
  }
}

TEST(Segment, HeaderValidationErrorsAreClear) {
  EXPECT_EQ(ParseSegmentHeader("short").status().message().find("shorter"), 8u);
  std::string junk(300, 'x');
  EXPECT_NE(ParseSegmentHeader(junk).status().message().find("magic"), std::string::npos);
  Fixture f;
  std::string seg = f.Make(1, 5);
  EXPECT_NE(ValidateSegmentFraming(seg + "x").status().message().find("trailing"),
            std::string::npos);
}

TEST(Segment, FramePayloadRoundTrip) {
  Fixture f;
  auto p = f.Params(3);
  p.flags = kFlagFramePayload;
  SegmentBuilder b(p);
  std::string img(10000, '\x89');
  b.AddRaw(img);
  std::string seg = *b.Seal();
  auto opened = OpenSegment(seg, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->raw, img);
}

// --- format version 2 ---

// Little-endian bytes of an integer, as the v1 header stored it.
std::string Le(uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

TEST(SegmentV2, ClearHeaderCarriesNoExactTimesCountsOrSizes) {
  Fixture f;
  SegmentBuilder::Params p = f.Params(9);
  // Distinctive values so an accidental match in the random key bytes is unlikely.
  p.wall_anchor_us = 1'790'000'123'456'789;
  p.start_mono_us = 0x1122334455ull;
  SegmentBuilder b(p);
  for (int i = 0; i < 777; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i) * 1'234 + 7);
    e.mutable_key()->set_keysym(97);
    b.Add(e);
  }
  const uint64_t duration = 776ull * 1'234 + 7;
  const uint64_t plain = b.buffered_bytes();
  std::string seg = *b.Seal();
  const std::string hdr = seg.substr(0, kSegmentHeaderBytes);
  for (const auto& [what, bytes] :
       std::vector<std::pair<std::string, std::string>>{
           {"wall anchor", Le(static_cast<uint64_t>(p.wall_anchor_us), 8)},
           {"monotonic start", Le(p.start_mono_us, 8)},
           {"duration", Le(duration, 8)},
           {"anchor + duration", Le(static_cast<uint64_t>(p.wall_anchor_us) + duration, 8)},
           {"event count", Le(777, 4)},
           {"plaintext bytes", Le(plain, 4)}}) {
    EXPECT_EQ(hdr.find(bytes), std::string::npos) << what << " is in the clear header";
  }
  // What a v1 header held at these offsets is now the coarse range and zeros.
  EXPECT_EQ(GetU64(hdr.data() + 72) % static_cast<uint64_t>(kHourUs), 0u);
  EXPECT_EQ(GetU64(hdr.data() + 80) % static_cast<uint64_t>(kHourUs), 0u);
  EXPECT_EQ(hdr.substr(88, 12), std::string(12, '\0'));
  EXPECT_EQ(hdr.substr(104, 8), std::string(8, '\0'));
  // And the sealed info record holds them exactly.
  auto opened = OpenSegment(seg, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->header.wall_anchor_us, p.wall_anchor_us);
  EXPECT_EQ(opened->header.start_mono_us, p.start_mono_us);
  EXPECT_EQ(opened->header.duration_us, duration);
  EXPECT_EQ(opened->header.event_count, 777u);
  EXPECT_EQ(opened->header.plaintext_bytes, plain);
}

TEST(SegmentV2, CoarseRangeIsWholeHoursAroundTheExactRange) {
  // On a boundary, inside an hour, spanning a boundary, before 1970.
  auto r = CoarseHourRange(3 * kHourUs, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start_us, 3 * kHourUs);
  EXPECT_EQ(r->end_us, 4 * kHourUs);
  r = CoarseHourRange(3 * kHourUs + 5, kHourUs - 6);  // last event at 4h - 1
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->end_us, 4 * kHourUs);
  r = CoarseHourRange(3 * kHourUs + 5, kHourUs - 5);  // last event at 4h exactly
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->end_us, 5 * kHourUs);
  r = CoarseHourRange(-1, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start_us, -kHourUs);
  EXPECT_EQ(r->end_us, 0);
  EXPECT_FALSE(CoarseHourRange(std::numeric_limits<int64_t>::max() - 10, 100).ok());
  EXPECT_FALSE(CoarseHourRange(0, ~0ull).ok());
  // Near INT64_MIN (a fuzzed header): refused, and flooring does not overflow.
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_FALSE(CoarseHourRange(kMin, 0).ok());
  EXPECT_FALSE(CoarseHourRange(kMin + 5, 10).ok());
  EXPECT_LE(FloorToHourUs(kMin / kHourUs * kHourUs + 1), kMin / kHourUs * kHourUs + 1);
  EXPECT_EQ(FloorToHourUs(kMin), kMin / kHourUs * kHourUs);
  EXPECT_EQ(FloorToHourUs(-kHourUs - 1), -2 * kHourUs);

  // A segment spanning an hour boundary gets two hours.
  Fixture f;
  SegmentBuilder::Params p = f.Params(1);
  p.wall_anchor_us = 10 * kHourUs - 1'000;
  SegmentBuilder b(p);
  v1::Event e;
  e.set_t_us(0);
  b.Add(e);
  e.set_t_us(5'000);
  b.Add(e);
  std::string seg = *b.Seal();
  auto h = ParseSegmentHeader(seg);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->wall_hour_start_us, 9 * kHourUs);
  EXPECT_EQ(h->wall_hour_end_us, 11 * kHourUs);
  EXPECT_TRUE(OpenSegment(seg, f.kp.public_key, f.kp.secret_key).ok());
}

TEST(SegmentV2, TamperedInfoRecordIsRefused) {
  Fixture f;
  std::string seg = f.Make(1, 30);
  auto chunks = Chunks(seg);
  ASSERT_GE(chunks.size(), 2u);
  ASSERT_EQ(chunks[0].size(), 4 + kSegmentInfoBytes + kChunkOverheadBytes);
  for (size_t i = kSegmentHeaderBytes + 4; i < kSegmentHeaderBytes + chunks[0].size(); ++i) {
    std::string bad = seg;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    auto r = OpenSegment(bad, f.kp.public_key, f.kp.secret_key);
    EXPECT_TRUE(absl::IsDataLoss(r.status())) << "info byte " << i << ": " << r.status();
  }
  // The info chunk dropped (chunk count left as it is): framing refuses it.
  std::string dropped = seg.substr(0, kSegmentHeaderBytes);
  for (size_t i = 1; i < chunks.size(); ++i) dropped += chunks[i];
  EXPECT_FALSE(ValidateSegmentFraming(dropped).ok());
  EXPECT_FALSE(OpenSegment(dropped, f.kp.public_key, f.kp.secret_key).ok());
}

// A v2 segment sealed by a writer that lies (correctly encrypted, so only the
// semantic checks can catch it).
std::string SealLying(Fixture& f, const segment_testing::SealOverrides& o, int n = 3) {
  SegmentBuilder b(f.Params(5));
  for (int i = 0; i < n; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i) * 1000);
    b.Add(e);
  }
  auto s = segment_testing::SealWith(b, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : "";
}

std::string InfoRecord(int64_t wall, uint64_t mono, uint64_t duration, uint32_t events,
                       uint64_t plain, uint32_t reserved = 0) {
  std::string r(kSegmentInfoMagic, 4);
  PutU16(&r, kSegmentInfoVersion);
  PutU16(&r, static_cast<uint16_t>(kSegmentInfoBytes));
  PutU64(&r, static_cast<uint64_t>(wall));
  PutU64(&r, mono);
  PutU64(&r, duration);
  PutU32(&r, events);
  PutU32(&r, reserved);
  PutU64(&r, plain);
  return r;
}

TEST(SegmentV2, InfoOutsideTheCoarseRangeIsRefused) {
  Fixture f;
  const int64_t anchor = 1'790'000'000'000'000;  // 2026-09-21 ~14:13 UTC, 47'000 s past the hour... any hour
  const int64_t hour = anchor - (anchor % kHourUs);
  // Control: the honest range opens.
  segment_testing::SealOverrides ok;
  ok.override_range = true;
  ok.wall_hour_start_us = hour;
  ok.wall_hour_end_us = hour + kHourUs;
  std::string good = SealLying(f, ok);
  auto opened = OpenSegment(good, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  // A wider (still whole-hour) range is accepted: it contains the exact one.
  segment_testing::SealOverrides wide = ok;
  wide.wall_hour_start_us = hour - kHourUs;
  wide.wall_hour_end_us = hour + 3 * kHourUs;
  EXPECT_TRUE(OpenSegment(SealLying(f, wide), f.kp.public_key, f.kp.secret_key).ok());
  // Clear range an hour later than the sealed anchor.
  segment_testing::SealOverrides later = ok;
  later.wall_hour_start_us = hour + kHourUs;
  later.wall_hour_end_us = hour + 2 * kHourUs;
  std::string seg = SealLying(f, later);
  ASSERT_TRUE(ValidateSegmentFraming(seg).ok());  // the vault cannot tell
  auto r = OpenSegment(seg, f.kp.public_key, f.kp.secret_key);
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("coarse range"), std::string::npos) << r.status();
  // Clear range ending before the last event (sealed duration runs past it).
  segment_testing::SealOverrides info = ok;
  info.info_record = InfoRecord(hour + kHourUs - 1'000, 42, 2'000, 3, opened->header.plaintext_bytes);
  r = OpenSegment(SealLying(f, info), f.kp.public_key, f.kp.secret_key);
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("coarse range"), std::string::npos) << r.status();
  // Events after the sealed duration (the range would not cover them).
  info.info_record = InfoRecord(anchor, 42, 1'000, 3, opened->header.plaintext_bytes);
  r = OpenSegment(SealLying(f, info), f.kp.public_key, f.kp.secret_key);
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  // Wrong count or size in the sealed record; malformed record.
  info.info_record = InfoRecord(anchor, 42, 2'000, 4, opened->header.plaintext_bytes);
  EXPECT_TRUE(absl::IsDataLoss(OpenSegment(SealLying(f, info), f.kp.public_key, f.kp.secret_key).status()));
  info.info_record = InfoRecord(anchor, 42, 2'000, 3, opened->header.plaintext_bytes + 1);
  EXPECT_TRUE(absl::IsDataLoss(OpenSegment(SealLying(f, info), f.kp.public_key, f.kp.secret_key).status()));
  info.info_record = InfoRecord(anchor, 42, 2'000, 3, opened->header.plaintext_bytes, 1);
  EXPECT_TRUE(absl::IsDataLoss(OpenSegment(SealLying(f, info), f.kp.public_key, f.kp.secret_key).status()));
  // The honest record written by hand opens (so the failures above are the edits').
  info.info_record = InfoRecord(anchor, 42, 2'000, 3, opened->header.plaintext_bytes);
  EXPECT_TRUE(OpenSegment(SealLying(f, info), f.kp.public_key, f.kp.secret_key).ok());
}

TEST(SegmentV2, NonZeroReservedBytesAndBadRangesAreRejected) {
  Fixture f;
  std::string seg = f.Make(1, 5);
  ASSERT_TRUE(ParseSegmentHeader(seg).ok());
  for (size_t i : {88, 95, 99, 104, 111}) {
    std::string bad = seg;
    bad[i] = 1;
    auto h = ParseSegmentHeader(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(h.status())) << i;
    EXPECT_NE(h.status().message().find("reserved"), std::string::npos) << h.status();
    EXPECT_FALSE(ValidateSegmentFraming(bad).ok());
  }
  auto put64 = [](std::string* s, size_t off, int64_t v) {
    std::string e;
    PutU64(&e, static_cast<uint64_t>(v));
    std::memcpy(s->data() + off, e.data(), 8);
  };
  std::string bad = seg;
  put64(&bad, 72, kHourUs + 1);  // not on an hour
  EXPECT_FALSE(ParseSegmentHeader(bad).ok());
  bad = seg;
  put64(&bad, 80, GetU64(seg.data() + 72));  // empty range
  EXPECT_FALSE(ParseSegmentHeader(bad).ok());
  // v2 needs the info chunk and at least one payload chunk.
  bad = seg;
  std::string one;
  PutU32(&one, 1);
  std::memcpy(&bad[100], one.data(), 4);
  EXPECT_NE(ParseSegmentHeader(bad).status().message().find("chunk count"), std::string::npos);
  // Unknown versions are refused.
  bad = seg;
  bad[4] = 3;
  EXPECT_NE(ParseSegmentHeader(bad).status().message().find("version"), std::string::npos);
}

TEST(SegmentV1, LegacySegmentsStillOpen) {
  Fixture f;
  SegmentBuilder b(f.Params(11));
  std::vector<v1::Event> sent;
  for (int i = 0; i < 120; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i) * 2'000);
    e.mutable_key()->set_text("q");
    b.Add(e);
    sent.push_back(e);
  }
  segment_testing::SealOverrides o;
  o.format_version = kSegmentFormatVersionV1;
  auto seg = segment_testing::SealWith(b, o);
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ(GetU16(seg->data() + 4), 1);
  auto h = ValidateSegmentFraming(*seg);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->format_version, 1);
  // v1 keeps them in clear; the coarse range is derived the v2 way.
  EXPECT_EQ(h->event_count, 120u);
  EXPECT_EQ(h->wall_anchor_us, 1'790'000'000'000'000);
  EXPECT_EQ(h->duration_us, 238'000u);
  EXPECT_EQ(h->wall_hour_start_us, 1'789'999'200'000'000);
  EXPECT_EQ(h->wall_hour_end_us, 1'789'999'200'000'000 + kHourUs);
  auto opened = OpenSegment(*seg, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->events.size(), sent.size());
  EXPECT_EQ(opened->events.back().SerializeAsString(), sent.back().SerializeAsString());
  // Every v1 header byte is still bound.
  for (size_t i = 0; i < kSegmentHeaderBytes; i += 3) {
    std::string bad = *seg;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(OpenSegment(bad, f.kp.public_key, f.kp.secret_key).ok()) << i;
  }
}

#ifdef SEALTRACE_TEST_SOURCE_DIR
// The key the fuzz corpus seeds (and the stored golden) are sealed to (fuzz/segment_fuzz.cc).
BoxKeyPair FuzzCorpusKey() {
  InitCrypto();
  unsigned char seed[crypto_box_SEEDBYTES];
  for (size_t i = 0; i < sizeof(seed); ++i) seed[i] = static_cast<unsigned char>(i * 7 + 1);
  BoxKeyPair kp;
  kp.public_key.resize(crypto_box_PUBLICKEYBYTES);
  crypto_box_seed_keypair(reinterpret_cast<unsigned char*>(kp.public_key.data()),
                          kp.secret_key.data(), seed);
  return kp;
}

TEST(SegmentV1, StoredGoldenV1FileOpens) {
  // Written by the format-1 writer before v2 existed: 60 events, t_us = i ms.
  std::ifstream in(std::string(SEALTRACE_TEST_SOURCE_DIR) + "/tests/data/segment/v1_seed_60.seg",
                   std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string seg = ss.str();
  auto h = ValidateSegmentFraming(seg);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->format_version, 1);
  EXPECT_EQ(h->sequence, 60u);
  EXPECT_EQ(h->event_count, 60u);
  EXPECT_EQ(h->wall_hour_start_us, 0);
  EXPECT_EQ(h->wall_hour_end_us, kHourUs);
  BoxKeyPair kp = FuzzCorpusKey();
  auto opened = OpenSegment(seg, kp.public_key, kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->events.size(), 60u);
  EXPECT_EQ(opened->events[59].t_us(), 59'000u);
  EXPECT_EQ(opened->events[3].key().text(), "x");
  EXPECT_EQ(opened->header.duration_us, 59'000u);
  // The same file with one clear-header byte edited does not open.
  std::string bad = seg;
  bad[96] ^= 1;  // event_count
  EXPECT_FALSE(OpenSegment(bad, kp.public_key, kp.secret_key).ok());
}

// The fuzz seeds (fuzz/corpus/segment/) open with the fuzzer's key, so mutations
// reach decryption and decompression: the v1 ones and the v2 ones. Inputs a
// fuzzer once crashed on (regress-*) are kept there and must be refused.
TEST(SegmentV1, FuzzCorpusSeedsOfBothVersionsOpen) {
  BoxKeyPair kp = FuzzCorpusKey();
  int versions[3] = {0, 0, 0};
  for (const auto& f : std::filesystem::directory_iterator(std::string(SEALTRACE_TEST_SOURCE_DIR) +
                                                            "/fuzz/corpus/segment")) {
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto opened = OpenSegment(ss.str(), kp.public_key, kp.secret_key);
    if (f.path().filename().string().rfind("regress-", 0) == 0) {
      EXPECT_FALSE(opened.ok()) << f.path();
      continue;
    }
    ASSERT_TRUE(opened.ok()) << f.path() << ": " << opened.status();
    ASSERT_LE(opened->header.format_version, 2);
    ++versions[opened->header.format_version];
  }
  EXPECT_GE(versions[1], 5);
  EXPECT_GE(versions[2], 6);
}
#endif

}  // namespace
}  // namespace sealtrace
