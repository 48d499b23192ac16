// IngestGateway and SegmentWriter logic without NATS (a fake publisher): the
// gateway's answers match the embedded vault's, large/frame segments travel by
// reference, and the writer is idempotent and recognises poison.
#include "scale/pipeline.h"

#include <gtest/gtest.h>

#include <mutex>

#include "crypto/crypto.h"
#include "vault/key_service.h"
#include "vault/sqlite_metadata_store.h"
#include "vault/test_util.h"

namespace sealtrace::scale {
namespace {

using vault::IngestOutcome;
using vault::testing::MakeSegment;
using vault::testing::RandomId;
using vault::testing::TempDir;

struct Published {
  std::string id;
  std::string data;
  Headers headers;
};

class FakePublisher : public SegmentPublisher {
 public:
  absl::StatusOr<bool> Publish(const std::string& id, std::string_view data,
                               const Headers& h) override {
    std::lock_guard<std::mutex> l(mu);
    if (fail) return absl::UnavailableError("no quorum");
    for (const auto& p : published) {
      if (p.id == id) return true;  // JetStream dedup by Nats-Msg-Id
    }
    published.push_back({id, std::string(data), h});
    return false;
  }
  std::mutex mu;
  bool fail = false;
  std::vector<Published> published;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    auto s = vault::SqliteMetadataStore::Open(dir_.Sub("meta.db"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    auto b = vault::FsBlobStore::Open(Env::Default(), dir_.Sub("blobs"));
    ASSERT_TRUE(b.ok());
    blobs_ = std::move(*b);
    auto k = vault::KeyService::Open(Env::Default(), store_.get(), dir_.Sub("master.key"));
    ASSERT_TRUE(k.ok()) << k.status();
    keys_ = std::move(*k);
    contributor_ = RandomId();
    ASSERT_TRUE(store_->CreateContributor({contributor_, "c", std::string(32, 'x'), 1}).ok());
    auto pk = keys_->CreateContributorKey(contributor_);
    ASSERT_TRUE(pk.ok());
    pk_ = *pk;
    device_ = RandomId();
    token_ = vault::NewDeviceToken(Env::Default());
    vault::DeviceRecord d;
    d.id = device_;
    d.contributor_id = contributor_;
    d.token_sha256 = Sha256(token_);
    ASSERT_TRUE(store_->CreateDevice(d).ok());
    dir_cache_ = std::make_unique<CachingKeyDirectory>(store_.get(), std::chrono::seconds(60));
    IngestGateway::Options o;
    o.inline_max_bytes = 4096;
    gateway_ = std::make_unique<IngestGateway>(store_.get(), blobs_.get(), dir_cache_.get(), &pub_,
                                               Env::Default(), &metrics_, o);
  }

  vault::IngestResult Upload(const std::string& body, const std::string& token) {
    vault::IngestRequest r;
    std::string auth = "Bearer " + token;
    r.authorization = auth;
    r.body = body;
    r.content_length = body.size();
    return gateway_->Ingest(r);
  }

  TempDir dir_;
  std::unique_ptr<vault::MetadataStore> store_;
  std::unique_ptr<vault::BlobStore> blobs_;
  std::unique_ptr<vault::KeyService> keys_;
  std::unique_ptr<CachingKeyDirectory> dir_cache_;
  std::unique_ptr<IngestGateway> gateway_;
  FakePublisher pub_;
  vault::VaultMetrics metrics_;
  Id16 contributor_, device_;
  std::string pk_, token_;
};

TEST_F(PipelineTest, GatewayPublishesValidSegmentsAndRefusesLikeTheVault) {
  const Id16 sid = RandomId();
  const std::string seg = MakeSegment(contributor_, device_, sid, 1, pk_, 5);
  auto r = Upload(seg, token_);
  EXPECT_EQ(r.outcome, IngestOutcome::kStored) << r.message;
  ASSERT_EQ(pub_.published.size(), 1u);
  EXPECT_EQ(pub_.published[0].id, sid.Hex());  // Nats-Msg-Id = segment id
  EXPECT_EQ(pub_.published[0].data, seg);      // small: inline
  // Same segment again: deduplicated by the stream -> duplicate (an ack).
  EXPECT_EQ(Upload(seg, token_).outcome, IngestOutcome::kDuplicate);
  EXPECT_EQ(Upload(seg, "std_unknown").outcome, IngestOutcome::kUnauthenticated);
  EXPECT_EQ(Upload("garbage", token_).outcome, IngestOutcome::kMalformed);
  EXPECT_EQ(Upload(seg.substr(0, seg.size() - 3), token_).outcome, IngestOutcome::kTruncated);
  const std::string other_device = MakeSegment(contributor_, RandomId(), RandomId(), 2, pk_);
  EXPECT_EQ(Upload(other_device, token_).outcome, IngestOutcome::kWrongDevice);
  const std::string wrong_key =
      MakeSegment(contributor_, device_, RandomId(), 3, std::string(32, '\x01'));
  EXPECT_EQ(Upload(wrong_key, token_).outcome, IngestOutcome::kWrongKey);
  // Stream unavailable -> 503 storage_error, nothing acknowledged.
  pub_.fail = true;
  auto down = Upload(MakeSegment(contributor_, device_, RandomId(), 4, pk_), token_);
  EXPECT_EQ(down.outcome, IngestOutcome::kStorageError);
  EXPECT_EQ(down.http_status(), 503);
}

TEST_F(PipelineTest, LargeSegmentsGoToTheBlobStoreWithAReference) {
  const Id16 sid = RandomId();
  // A frame segment of random bytes (incompressible), above the 4 KiB inline limit.
  SegmentBuilder::Params bp;
  bp.contributor_id = contributor_;
  bp.device_id = device_;
  bp.segment_id = sid;
  bp.sequence = 1;
  bp.recipient_public_key = pk_;
  bp.flags = kFlagFramePayload;
  SegmentBuilder b(bp);
  b.AddRaw(RandomBytes(10000));
  auto sealed = b.Seal();
  ASSERT_TRUE(sealed.ok());
  const std::string seg = *sealed;
  ASSERT_GT(seg.size(), 4096u);
  ASSERT_EQ(Upload(seg, token_).outcome, IngestOutcome::kStored);
  ASSERT_EQ(pub_.published.size(), 1u);
  const auto& p = pub_.published[0];
  EXPECT_EQ(p.data.size(), kSegmentHeaderBytes);  // only the header travels
  const std::string key = vault::BlobKeyOf(seg);
  EXPECT_TRUE(*blobs_->Exists(key));  // durable before the publish
  SegmentWriter w(store_.get(), blobs_.get(), Env::Default());
  auto r = w.Write(p.data, p.headers);
  EXPECT_EQ(r.outcome, SegmentWriter::Outcome::kStored) << r.reason;
  auto row = store_->GetSegment(sid);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->size, seg.size());
  EXPECT_EQ((*row)->blob_sha256, key);
}

TEST_F(PipelineTest, WriterIsIdempotentAndParksPoison) {
  const Id16 sid = RandomId();
  const std::string seg = MakeSegment(contributor_, device_, sid, 1, pk_);
  ASSERT_EQ(Upload(seg, token_).outcome, IngestOutcome::kStored);
  const auto& p = pub_.published[0];
  SegmentWriter w(store_.get(), blobs_.get(), Env::Default());
  EXPECT_EQ(w.Write(p.data, p.headers).outcome, SegmentWriter::Outcome::kStored);
  auto first = store_->GetSegment(sid);
  // Redelivery: no change.
  EXPECT_EQ(w.Write(p.data, p.headers).outcome, SegmentWriter::Outcome::kDuplicate);
  EXPECT_EQ(**store_->GetSegment(sid), **first);
  EXPECT_EQ(store_->Counts()->segments, 1);
  EXPECT_TRUE(*blobs_->Exists(vault::BlobKeyOf(seg)));
  // After it is stored, the gateway answers duplicate without publishing.
  pub_.fail = true;
  EXPECT_EQ(Upload(seg, token_).outcome, IngestOutcome::kDuplicate);
  pub_.fail = false;
  // Poison: not a segment; bad headers; same id with other bytes (conflict).
  EXPECT_EQ(w.Write("junk", p.headers).outcome, SegmentWriter::Outcome::kPoison);
  Headers no_kind = {{kHdrReceived, "1"}};
  EXPECT_EQ(w.Write(p.data, no_kind).outcome, SegmentWriter::Outcome::kPoison);
  const std::string other = MakeSegment(contributor_, device_, sid, 1, pk_, 7, "other");
  Headers oh = p.headers;
  for (auto& [k, v] : oh) {
    if (k == kHdrBlob) v = vault::BlobKeyOf(other);
  }
  auto conflict = w.Write(other, oh);
  EXPECT_EQ(conflict.outcome, SegmentWriter::Outcome::kPoison);
  EXPECT_NE(conflict.reason.find("different content"), std::string::npos);
  EXPECT_EQ(store_->Counts()->segments, 1);
}

}  // namespace
}  // namespace sealtrace::scale
