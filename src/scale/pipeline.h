// The scale ingest pipeline's logic, without HTTP or NATS specifics:
//
//   agent --HTTP--> IngestGateway --publish (R=3, Nats-Msg-Id = segment id)--> stream
//   stream --pull, explicit ack--> SegmentWriter --blob, then metadata--> stores
//
// Gateway (stateless): authenticates the device (token hash lookup, read-only),
// validates the framing without decrypting (ValidateUpload, the same checks and
// outcomes as vault::IngestService), answers duplicate/conflict from the metadata
// store when it can, puts large or frame segments into the blob store itself and
// publishes only a reference, and reports "stored" only after the stream's ack.
// Writer: re-validates, stores the blob (inline messages) and then the metadata
// row idempotently (redelivery is a no-op), and says whether the message can be
// acked, should be retried, or is poison (park it).
//
// Stream message ("envelope"): data = the whole segment (kind inline) or its
// 224-byte header (kind blobref); headers Sealtrace-Kind, Sealtrace-Blob (hex
// SHA-256 of the whole segment), Sealtrace-Size, Sealtrace-Received-Us,
// Sealtrace-Segment (id hex); Nats-Msg-Id = segment id hex.
//
// Nothing here opens a segment: only framing and header fields are read.
// Thread-safety: IngestGateway, SegmentWriter and CachingKeyDirectory are safe
// for concurrent use. All pointers are borrowed and must outlive the users.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "scale/jetstream.h"
#include "segment/format.h"
#include "vault/blob_store.h"
#include "vault/ingest.h"
#include "vault/metadata_store.h"
#include "vault/metrics.h"
#include "vault/public_keys.h"

namespace sealtrace::scale {

inline constexpr char kHdrKind[] = "Sealtrace-Kind";
inline constexpr char kHdrBlob[] = "Sealtrace-Blob";
inline constexpr char kHdrSize[] = "Sealtrace-Size";
inline constexpr char kHdrReceived[] = "Sealtrace-Received-Us";
inline constexpr char kHdrSegment[] = "Sealtrace-Segment";
inline constexpr char kHdrParkReason[] = "Sealtrace-Park-Reason";
inline constexpr char kHdrParkDeliveries[] = "Sealtrace-Park-Deliveries";
inline constexpr char kHdrParkSequence[] = "Sealtrace-Park-Stream-Seq";
inline constexpr char kKindInline[] = "inline";
inline constexpr char kKindBlobRef[] = "blobref";

// Device lookups and public keys cached for `ttl`, so a short metadata-store
// outage does not stop ingest (writers catch up from the stream). Revoking a
// device or shredding a key takes effect on gateways within `ttl`. Only
// positive answers are cached; errors and "unknown" are not.
class CachingKeyDirectory final : public vault::PublicKeyDirectory {
 public:
  CachingKeyDirectory(vault::MetadataStore* store, std::chrono::seconds ttl)
      : store_(store), ttl_(ttl) {}
  // Same contract as vault::AuthenticateDevice.
  absl::StatusOr<vault::DeviceRecord> Authenticate(std::string_view authorization);
  // NOT_FOUND if the contributor has no live key (as KeyService::PublicKey).
  absl::StatusOr<std::string> PublicKey(const Id16& contributor_id) override;

 private:
  using Clock = std::chrono::steady_clock;
  vault::MetadataStore* store_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::map<std::string, std::pair<vault::DeviceRecord, Clock::time_point>> devices_;
  std::map<Id16, std::pair<std::string, Clock::time_point>> keys_;
};

// The stateless checks on one upload are the embedded vault's
// (vault::ValidateUpload), with device and key lookups through the cache.
using vault::ValidatedUpload;
std::variant<vault::IngestResult, ValidatedUpload> ValidateUpload(CachingKeyDirectory* dir,
                                                                  const vault::IngestRequest& req,
                                                                  size_t max_segment_bytes);

// Where the gateway sends validated segments (JetStream in production, fakes in tests).
class SegmentPublisher {
 public:
  virtual ~SegmentPublisher() = default;
  // Returns whether the stream already had this id (deduplicated); UNAVAILABLE etc. on failure.
  virtual absl::StatusOr<bool> Publish(const std::string& segment_id_hex, std::string_view data,
                                       const Headers& headers) = 0;
};

class JetStreamPublisher final : public SegmentPublisher {
 public:
  JetStreamPublisher(JetStream* js, std::string subject, int64_t timeout_ms)
      : js_(js), subject_(std::move(subject)), timeout_ms_(timeout_ms) {}
  absl::StatusOr<bool> Publish(const std::string& segment_id_hex, std::string_view data,
                               const Headers& headers) override;

 private:
  JetStream* js_;
  std::string subject_;
  int64_t timeout_ms_;
};

class IngestGateway {
 public:
  struct Options {
    size_t max_segment_bytes = kMaxSegmentBytes;
    size_t inline_max_bytes = 256 << 10;
  };
  IngestGateway(vault::MetadataStore* store, vault::BlobStore* blobs, CachingKeyDirectory* dir,
                SegmentPublisher* publisher, Env* env, vault::VaultMetrics* metrics,
                Options options);
  // Always returns a result; counts it in the metrics. Storage/publish failures
  // are kStorageError (HTTP 503, the agent retries).
  vault::IngestResult Ingest(const vault::IngestRequest& req);

  uint64_t blob_refs() const { return blob_refs_.load(); }

 private:
  vault::IngestResult Handle(const vault::IngestRequest& req);
  vault::MetadataStore* store_;
  vault::BlobStore* blobs_;
  CachingKeyDirectory* dir_;
  SegmentPublisher* publisher_;
  Env* env_;
  vault::VaultMetrics* metrics_;
  Options options_;
  std::atomic<uint64_t> blob_refs_{0};
};

// Counters of the writer role (Prometheus text via Render()).
struct WriterMetrics {
  std::atomic<uint64_t> stored{0}, duplicate{0}, retried{0}, parked{0}, park_failed{0},
      ack_failed{0}, bytes{0};
  std::string Render() const;
};

class SegmentWriter {
 public:
  enum class Outcome { kStored, kDuplicate, kRetry, kPoison };
  struct Result {
    Outcome outcome = Outcome::kRetry;
    std::string reason;      // never content
    std::string segment_id;  // hex, when the header parsed
  };
  SegmentWriter(vault::MetadataStore* store, vault::BlobStore* blobs, Env* env)
      : store_(store), blobs_(blobs), env_(env) {}
  // Idempotent: writing the same message again yields kDuplicate and changes nothing.
  Result Write(std::string_view data, const Headers& headers);

 private:
  vault::MetadataStore* store_;
  vault::BlobStore* blobs_;
  Env* env_;
};

}  // namespace sealtrace::scale
