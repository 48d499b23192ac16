#include "segment/format.h"

#include <gtest/gtest.h>

#include <cstring>

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
  EXPECT_GT(h->chunk_count, 5u);
  EXPECT_EQ(h->event_count, 500u);
  EXPECT_EQ(h->sequence, 7u);
  EXPECT_EQ(h->duration_us, 499000u);
  auto opened = OpenSegment(seg, f.kp.public_key, f.kp.secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
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

}  // namespace
}  // namespace sealtrace
