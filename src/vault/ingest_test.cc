#include "vault/ingest.h"

#include <filesystem>

#include "common/env_fault.h"
#include "gtest/gtest.h"
#include "vault/test_util.h"
#include "vault/vault.h"

namespace sealtrace::vault {
namespace {

using testing::MakeSegment;
using testing::RandomId;
using testing::TempDir;

struct Enrolled {
  Id16 contributor;
  Id16 device;
  std::string token;
  std::string public_key;
  std::string auth() const { return "Bearer " + token; }
};

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(size_t max_segment_bytes = 0) {
    vault_.reset();
    VaultOptions o;
    o.data_dir = dir_.Sub("data");
    o.env = &env_;
    o.max_segment_bytes = max_segment_bytes;
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    vault_ = std::move(*v);
    auto secret = Env::Default()->ReadFile(vault_->enroll_secret_path());
    ASSERT_TRUE(secret.ok());
    secret_ = *secret;
    while (!secret_.empty() && secret_.back() == '\n') secret_.pop_back();
  }

  Enrolled Enroll(const std::string& name) {
    std::string body = "{\"name\":\"" + name + "\"}";
    EnrollResult r = vault_->enroll()->Enroll({"Bearer " + secret_, body});
    EXPECT_EQ(r.outcome, EnrollOutcome::kEnrolled) << r.message;
    Enrolled e;
    e.contributor = *Id16::FromHex(r.contributor_id);
    e.device = *Id16::FromHex(r.device_id);
    e.token = r.device_token;
    e.public_key = r.contributor_public_key;
    return e;
  }

  // A second device of `of`, joined with a device code (as the access layer's
  // check would accept it).
  Enrolled EnrollSecondDevice(const Enrolled& of) {
    const std::string cid = of.contributor.Hex();
    vault_->enroll()->SetDeviceCodeCheck(
        [cid](std::string_view) -> absl::StatusOr<std::string> { return cid; });
    EnrollResult r = vault_->enroll()->Enroll({"", R"({"device_code":"CODE"})"});
    EXPECT_EQ(r.outcome, EnrollOutcome::kEnrolled) << r.message;
    Enrolled e;
    e.contributor = *Id16::FromHex(r.contributor_id);
    e.device = *Id16::FromHex(r.device_id);
    e.token = r.device_token;
    e.public_key = r.contributor_public_key;
    return e;
  }

  IngestResult Upload(const Enrolled& who, const std::string& body,
                      std::string_view declared = "") {
    IngestRequest req;
    std::string auth = who.auth();
    req.authorization = auth;
    req.content_length = body.size();
    req.body = body;
    req.declared_segment_id = declared;
    return vault_->ingest()->Ingest(req);
  }

  std::string Seg(const Enrolled& e, uint64_t seq, Id16 segment_id = RandomId(), int n = 5) {
    return MakeSegment(e.contributor, e.device, segment_id, seq, e.public_key, n);
  }

  uint64_t Count(IngestOutcome o) { return vault_->metrics()->ingest(o); }

  TempDir dir_;
  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<Vault> vault_;
  std::string secret_;
};

TEST_F(IngestTest, StoresAValidSegmentDurably) {
  Enrolled a = Enroll("alice");
  Id16 sid = RandomId();
  std::string seg = Seg(a, 7, sid);
  IngestResult r = Upload(a, seg, sid.Hex());
  ASSERT_EQ(r.outcome, IngestOutcome::kStored) << r.message;
  EXPECT_EQ(r.http_status(), 200);
  EXPECT_EQ(r.segment_id, sid.Hex());
  EXPECT_EQ(r.sequence, 7u);

  auto row = vault_->store()->GetSegment(sid);
  ASSERT_TRUE(row.ok() && row->has_value());
  const SegmentRecord& s = **row;
  auto header = ParseSegmentHeader(seg);
  EXPECT_EQ(s.contributor_id, a.contributor);
  EXPECT_EQ(s.device_id, a.device);
  EXPECT_EQ(s.sequence, 7u);
  // Only the coarse range (the segment's anchor is 1'790'000'007 s, 13:33:27 UTC).
  EXPECT_EQ(s.wall_start_us, header->wall_hour_start_us);
  EXPECT_EQ(s.wall_end_us, header->wall_hour_end_us);
  EXPECT_EQ(s.wall_start_us, 1'789'999'200'000'000);
  EXPECT_EQ(s.wall_end_us, 1'789'999'200'000'000 + kHourUs);
  EXPECT_EQ(s.size, seg.size());
  EXPECT_EQ(s.blob_sha256, BlobKeyOf(seg));
  EXPECT_EQ(s.received_us, FloorToHourUs(env_.NowWallMicros()));
  auto blob = vault_->blobs()->Get(s.blob_sha256);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(*blob, seg);
  auto dev = vault_->store()->GetDevice(a.device);
  EXPECT_EQ((*dev)->last_upload_us, FloorToHourUs(env_.NowWallMicros()));
  EXPECT_EQ(Count(IngestOutcome::kStored), 1u);
  EXPECT_EQ(vault_->metrics()->ingest_bytes(), seg.size());
}

TEST_F(IngestTest, DuplicateUploadIsIdempotent) {
  Enrolled a = Enroll("alice");
  std::string seg = Seg(a, 1);
  ASSERT_EQ(Upload(a, seg).outcome, IngestOutcome::kStored);
  for (int i = 0; i < 3; ++i) {
    IngestResult r = Upload(a, seg);
    EXPECT_EQ(r.outcome, IngestOutcome::kDuplicate) << r.message;
    EXPECT_EQ(r.http_status(), 200);
  }
  EXPECT_EQ(Count(IngestOutcome::kStored), 1u);
  EXPECT_EQ(Count(IngestOutcome::kDuplicate), 3u);
  EXPECT_EQ(vault_->store()->Counts()->segments, 1);
  EXPECT_EQ(vault_->metrics()->ingest_bytes(), seg.size());
}

TEST_F(IngestTest, ReplayWithDifferentContentIsAConflict) {
  Enrolled a = Enroll("alice");
  Id16 sid = RandomId();
  std::string first = Seg(a, 1, sid);
  std::string second = Seg(a, 1, sid);  // same id, fresh DEK: different bytes
  ASSERT_NE(first, second);
  ASSERT_EQ(Upload(a, first).outcome, IngestOutcome::kStored);
  IngestResult r = Upload(a, second);
  EXPECT_EQ(r.outcome, IngestOutcome::kConflict);
  EXPECT_EQ(r.http_status(), 409);
  EXPECT_EQ(Count(IngestOutcome::kConflict), 1u);
  EXPECT_EQ((*vault_->store()->GetSegment(sid))->blob_sha256, BlobKeyOf(first));
  EXPECT_FALSE(*vault_->blobs()->Exists(BlobKeyOf(second)));  // refused before writing
}

TEST_F(IngestTest, RefusesCorruptedHeadersAndGarbage) {
  Enrolled a = Enroll("alice");
  std::string seg = Seg(a, 1);
  struct Case {
    std::string name;
    std::string body;
  };
  std::vector<Case> cases;
  std::string bad_magic = seg;
  bad_magic[0] = 'X';
  cases.push_back({"magic", bad_magic});
  std::string bad_version = seg;
  bad_version[4] = 9;
  cases.push_back({"version", bad_version});
  std::string bad_flags = seg;
  bad_flags[12] = static_cast<char>(0x80);
  cases.push_back({"flags", bad_flags});
  std::string bad_chunk_len = seg;
  PutU32(&bad_chunk_len, 0);  // trailing bytes
  cases.push_back({"trailing", bad_chunk_len});
  std::string huge_chunk = seg;
  huge_chunk[kSegmentHeaderBytes + 3] = 0x7f;  // first chunk length ~2 GiB
  cases.push_back({"chunk_length", huge_chunk});
  cases.push_back({"garbage", RandomBytes(3000)});
  cases.push_back({"empty", ""});
  for (const auto& c : cases) {
    IngestResult r = Upload(a, c.body);
    EXPECT_EQ(r.outcome, IngestOutcome::kMalformed) << c.name << ": " << r.message;
    EXPECT_EQ(r.http_status(), 400);
    EXPECT_FALSE(r.message.empty());
  }
  EXPECT_EQ(Count(IngestOutcome::kMalformed), cases.size());
  EXPECT_EQ(vault_->store()->Counts()->segments, 0);
}

TEST_F(IngestTest, RefusesTruncatedSegments) {
  Enrolled a = Enroll("alice");
  std::string seg = Seg(a, 1, RandomId(), 2000);  // several chunks? at least one
  std::vector<size_t> cuts = {3,
                              100,
                              kSegmentHeaderBytes,
                              kSegmentHeaderBytes + 2,
                              kSegmentHeaderBytes + 40,
                              seg.size() - 1};
  for (size_t cut : cuts) {
    IngestResult r = Upload(a, seg.substr(0, cut));
    EXPECT_EQ(r.outcome, IngestOutcome::kTruncated) << cut << ": " << r.message;
    EXPECT_EQ(r.http_status(), 400);
  }
  // A body shorter than its declared Content-Length is truncated too.
  IngestRequest req;
  std::string auth = a.auth();
  req.authorization = auth;
  req.content_length = seg.size();
  req.body = std::string_view(seg).substr(0, seg.size() / 2);
  EXPECT_EQ(vault_->ingest()->Ingest(req).outcome, IngestOutcome::kTruncated);
  EXPECT_EQ(Count(IngestOutcome::kTruncated), cuts.size() + 1);
  EXPECT_EQ(vault_->store()->Counts()->segments, 0);
}

TEST_F(IngestTest, RefusesOversizedSegments) {
  Open(/*max_segment_bytes=*/4096);
  Enrolled a = Enroll("alice");
  SegmentBuilder::Params p;
  p.contributor_id = a.contributor;
  p.device_id = a.device;
  p.segment_id = RandomId();
  p.recipient_public_key = a.public_key;
  SegmentBuilder b(p);
  v1::Event e;
  e.mutable_key()->set_text(ToHex(RandomBytes(4096)));  // incompressible enough
  b.Add(e);
  std::string seg = *b.Seal();
  ASSERT_GT(seg.size(), 4096u);
  IngestResult r = Upload(a, seg);
  EXPECT_EQ(r.outcome, IngestOutcome::kOversized);
  EXPECT_EQ(r.http_status(), 413);
  // Declared length alone is enough (the server rejects before reading the body).
  IngestRequest req;
  std::string auth = a.auth();
  req.authorization = auth;
  req.content_length = 1ull << 40;
  EXPECT_EQ(vault_->ingest()->Ingest(req).outcome, IngestOutcome::kOversized);
  EXPECT_EQ(Count(IngestOutcome::kOversized), 2u);
}

TEST_F(IngestTest, RefusesMissingOrUnknownTokens) {
  Enrolled a = Enroll("alice");
  std::string seg = Seg(a, 1);
  for (std::string auth : {std::string(""), std::string("Basic abc"), std::string("Bearer "),
                           std::string("Bearer std_notatoken"), "Bearer " + a.token + "x",
                           "Bearer " + a.token.substr(4), std::string(10000, 'B')}) {
    IngestRequest req;
    req.authorization = auth;
    req.body = seg;
    IngestResult r = vault_->ingest()->Ingest(req);
    EXPECT_EQ(r.outcome, IngestOutcome::kUnauthenticated) << auth.substr(0, 40);
    EXPECT_EQ(r.http_status(), 401);
    EXPECT_EQ(r.message.find(a.token), std::string::npos);
  }
  // The scheme is case-insensitive.
  IngestRequest req;
  std::string auth = "bearer " + a.token;
  req.authorization = auth;
  req.body = seg;
  EXPECT_EQ(vault_->ingest()->Ingest(req).outcome, IngestOutcome::kStored);
  EXPECT_EQ(Count(IngestOutcome::kUnauthenticated), 7u);
}

TEST_F(IngestTest, RefusesWrongDeviceContributorOrKey) {
  Enrolled a = Enroll("alice");
  Enrolled a2 = EnrollSecondDevice(a);  // alice's second device
  Enrolled b = Enroll("bob");
  ASSERT_EQ(a.contributor, a2.contributor);
  ASSERT_NE(a.device, a2.device);

  // a2's segment uploaded with a's token.
  IngestResult r = Upload(a, Seg(a2, 1));
  EXPECT_EQ(r.outcome, IngestOutcome::kWrongDevice) << r.message;
  EXPECT_EQ(r.http_status(), 403);
  // Header names a's device but bob as contributor (sealed to bob).
  r = Upload(a, MakeSegment(b.contributor, a.device, RandomId(), 1, b.public_key));
  EXPECT_EQ(r.outcome, IngestOutcome::kWrongContributor) << r.message;
  // Right ids, sealed to bob's key.
  r = Upload(a, MakeSegment(a.contributor, a.device, RandomId(), 1, b.public_key));
  EXPECT_EQ(r.outcome, IngestOutcome::kWrongKey) << r.message;
  // Right ids, sealed to a random key.
  r = Upload(a,
             MakeSegment(a.contributor, a.device, RandomId(), 1, GenerateBoxKeyPair().public_key));
  EXPECT_EQ(r.outcome, IngestOutcome::kWrongKey);
  // Declared id that disagrees with the header.
  r = Upload(a, Seg(a, 1), RandomId().Hex());
  EXPECT_EQ(r.outcome, IngestOutcome::kMalformed);
  r = Upload(a, Seg(a, 1), "zz");
  EXPECT_EQ(r.outcome, IngestOutcome::kMalformed);

  EXPECT_EQ(Count(IngestOutcome::kWrongDevice), 1u);
  EXPECT_EQ(Count(IngestOutcome::kWrongContributor), 1u);
  EXPECT_EQ(Count(IngestOutcome::kWrongKey), 2u);
  EXPECT_EQ(vault_->store()->Counts()->segments, 0);
}

TEST_F(IngestTest, ShreddedContributorCannotUpload) {
  Enrolled a = Enroll("alice");
  std::string seg = Seg(a, 1);
  ASSERT_TRUE(vault_->keys()->DestroyContributorKey(a.contributor).ok());
  EXPECT_EQ(Upload(a, seg).outcome, IngestOutcome::kWrongKey);
}

TEST_F(IngestTest, BlobWriteFailureIsAStorageErrorWithNoMetadata) {
  Enrolled a = Enroll("alice");
  Id16 sid = RandomId();
  std::string seg = Seg(a, 1, sid);
  env_.FailNthWrite(1);
  IngestResult r = Upload(a, seg);
  EXPECT_EQ(r.outcome, IngestOutcome::kStorageError) << r.message;
  EXPECT_EQ(r.http_status(), 503);
  EXPECT_FALSE(vault_->store()->GetSegment(sid)->has_value());
  EXPECT_EQ(Count(IngestOutcome::kStorageError), 1u);

  env_.SetFilesystemActive(false);
  EXPECT_EQ(Upload(a, seg).outcome, IngestOutcome::kStorageError);
  EXPECT_FALSE(vault_->store()->GetSegment(sid)->has_value());
  env_.SetFilesystemActive(true);
  // The agent retries: now it is stored.
  EXPECT_EQ(Upload(a, seg).outcome, IngestOutcome::kStored);
  EXPECT_TRUE(vault_->store()->GetSegment(sid)->has_value());
}

// Kill points: fail the n-th file-system mutation during a run of uploads, then
// simulate power loss. Every acknowledged segment must be present and intact;
// every refused one must have no metadata row.
TEST_F(IngestTest, AcknowledgedSegmentsSurvivePowerLoss) {
  Enrolled a = Enroll("alice");
  std::vector<std::string> segs;
  for (int i = 0; i < 6; ++i) segs.push_back(Seg(a, static_cast<uint64_t>(i)));
  for (int kill = 1; kill <= 40; ++kill) {
    ASSERT_TRUE(env_.DropUnsyncedData().ok());
    Open();
    std::vector<std::string> acked, refused;
    env_.FailNthWrite(kill);
    for (int round = 0; round < 2; ++round) {  // second round = the agent's retry
      for (const auto& s : segs) {
        IngestResult r = Upload(a, s);
        if (r.ok()) {
          acked.push_back(s);
        } else {
          ASSERT_EQ(r.outcome, IngestOutcome::kStorageError) << r.message;
          refused.push_back(s);
          EXPECT_FALSE(vault_->store()->GetSegment(ParseSegmentHeader(s)->segment_id)->has_value());
        }
      }
      if (round == 0) {
        // Power loss after the first round.
        ASSERT_TRUE(env_.DropUnsyncedData().ok());
        for (const auto& s : acked) {
          Id16 sid = ParseSegmentHeader(s)->segment_id;
          auto row = vault_->store()->GetSegment(sid);
          ASSERT_TRUE(row.ok() && row->has_value()) << "kill point " << kill;
          auto blob = vault_->blobs()->Get((*row)->blob_sha256);
          ASSERT_TRUE(blob.ok()) << "kill point " << kill << ": " << blob.status();
          EXPECT_EQ(*blob, s);
        }
        Open();  // restart
      }
    }
    for (const auto& s : segs) {
      Id16 sid = ParseSegmentHeader(s)->segment_id;
      EXPECT_TRUE(vault_->store()->GetSegment(sid)->has_value()) << "kill point " << kill;
    }
    // Next kill point starts from an empty vault.
    vault_.reset();
    std::filesystem::remove_all(dir_.Sub("data"));
    Open();
    a = Enroll("alice");
    segs.clear();
    for (int i = 0; i < 6; ++i) segs.push_back(Seg(a, static_cast<uint64_t>(i)));
  }
}

TEST_F(IngestTest, VaultHoldsExactlyWhatWasSent) {
  Enrolled a = Enroll("alice");
  Id16 sid = RandomId();
  std::string seg = MakeSegment(a.contributor, a.device, sid, 3, a.public_key, 20, "canary-XYZ");
  ASSERT_EQ(Upload(a, seg).outcome, IngestOutcome::kStored);
  auto row = vault_->store()->GetSegment(sid);
  auto blob = vault_->blobs()->Get((*row)->blob_sha256);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->find("canary-XYZ"), std::string::npos);  // ciphertext only
  int audits = 0;
  auto key = vault_->keys()->ReleaseSecretKey(a.contributor, [&] {
    ++audits;
    return absl::OkStatus();
  });
  ASSERT_TRUE(key.ok()) << key.status();
  auto opened = OpenSegment(*blob, key->public_key, key->secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->events.size(), 20u);
  for (size_t i = 0; i < opened->events.size(); ++i) {
    EXPECT_EQ(opened->events[i].t_us(), i * 1000);
    EXPECT_EQ(opened->events[i].key().text(), "canary-XYZ");
  }
  EXPECT_EQ(audits, 1);
}

TEST(ParseBearerTest, Forms) {
  EXPECT_EQ(ParseBearer("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(ParseBearer("BEARER  abc ").value_or(""), "abc");
  EXPECT_FALSE(ParseBearer("Bearer").has_value());
  EXPECT_FALSE(ParseBearer("Bearer    ").has_value());
  EXPECT_FALSE(ParseBearer("Bearerabc").has_value());
  EXPECT_FALSE(ParseBearer("Basic abc").has_value());
  EXPECT_FALSE(ParseBearer("").has_value());
}

// Rows keep whole UTC hours only, for v2 segments and for v1 segments (whose
// clear header still has the exact values): nothing exact reaches the store.
TEST_F(IngestTest, MetadataRowsHoldHourAlignedTimesOnly) {
  Enrolled a = Enroll("hours");
  const int64_t anchor = 1'790'001'234'567'891;  // 33:54.567891 past an hour
  struct Case {
    uint16_t version;
    uint64_t last_t;  // last event, µs after the anchor
    int64_t want_start, want_end;
  };
  const int64_t hour = FloorToHourUs(anchor);
  const Case cases[] = {
      {2, 1'000'000, hour, hour + kHourUs},
      {1, 1'000'000, hour, hour + kHourUs},
      {2, 30ull * 60 * 1'000'000, hour, hour + 2 * kHourUs},  // crosses the next hour
      {1, 30ull * 60 * 1'000'000, hour, hour + 2 * kHourUs},
  };
  std::vector<int64_t> exact_values;
  uint64_t seq = 1;
  for (const Case& c : cases) {
    SegmentBuilder::Params p;
    p.contributor_id = a.contributor;
    p.device_id = a.device;
    p.segment_id = RandomId();
    p.sequence = seq++;
    p.wall_anchor_us = anchor + static_cast<int64_t>(seq);
    p.start_mono_us = 5'000;
    p.recipient_public_key = a.public_key;
    SegmentBuilder b(p);
    for (uint64_t t : {uint64_t{0}, c.last_t}) {
      v1::Event e;
      e.set_t_us(t);
      e.mutable_key()->set_text("k");
      b.Add(e);
    }
    segment_testing::SealOverrides o;
    o.format_version = c.version;
    auto seg = segment_testing::SealWith(b, o);
    ASSERT_TRUE(seg.ok()) << seg.status();
    ASSERT_EQ(GetU16(seg->data() + 4), c.version);
    IngestResult r = Upload(a, *seg);
    ASSERT_EQ(r.outcome, IngestOutcome::kStored) << r.message;
    auto row = vault_->store()->GetSegment(p.segment_id);
    ASSERT_TRUE(row.ok() && row->has_value());
    const SegmentRecord& s = **row;
    EXPECT_EQ(s.wall_start_us, c.want_start) << "v" << c.version;
    EXPECT_EQ(s.wall_end_us, c.want_end) << "v" << c.version;
    EXPECT_EQ(s.wall_start_us % kHourUs, 0);
    EXPECT_EQ(s.wall_end_us % kHourUs, 0);
    EXPECT_EQ(s.received_us % kHourUs, 0);
    exact_values.push_back(p.wall_anchor_us);
    exact_values.push_back(p.wall_anchor_us + static_cast<int64_t>(c.last_t));
  }
  // Nor does any exact value sit anywhere in the database files.
  vault_.reset();
  int files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_.Sub("data"))) {
    const std::string name = f.path().filename().string();
    if (!f.is_regular_file() || name.find(".db") == std::string::npos) continue;
    ++files;
    auto data = Env::Default()->ReadFile(f.path().string());
    ASSERT_TRUE(data.ok());
    for (int64_t v : exact_values) {
      std::string le, be;
      for (int i = 0; i < 8; ++i) le.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
      be.assign(le.rbegin(), le.rend());  // SQLite stores integers big-endian
      EXPECT_EQ(data->find(be.substr(2)), std::string::npos) << name << " holds " << v;
      EXPECT_EQ(data->find(std::to_string(v)), std::string::npos) << name << " holds " << v;
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace sealtrace::vault
