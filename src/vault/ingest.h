// IngestService: accepts sealed segment uploads from enrolled devices.
//
// Pure logic, no HTTP: the server turns an HTTP request into an IngestRequest
// and the IngestResult back into a response; tests and the fuzzer call it
// directly. It never decrypts: it validates the framing with
// ValidateSegmentFraming (header + chunk lengths) and compares ids, and it sees
// only public keys (through PublicKeyDirectory).
//
// Order of checks: device token -> size -> framing -> declared id -> device id
// -> contributor id -> recipient key id -> duplicate/conflict -> store.
// Storing: the blob is written durably first (content-addressed), then the
// metadata row in one durable transaction; the result is "stored" only after
// both. If the metadata insert fails, the blob stays behind as an unreferenced
// ("orphan") content-addressed blob: it is not removed, because a concurrent
// identical upload may be about to reference it; an identical retry reuses it.
// Orphans hold only ciphertext and can be swept by comparing the blob store
// with MetadataStore::BlobReferenced.
//
// Thread-safety: safe for concurrent use. Concurrent uploads of the same
// segment id resolve through the metadata store's primary key: one is stored,
// the other is a duplicate (same bytes) or a conflict.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "vault/blob_store.h"
#include "vault/metadata_store.h"
#include "vault/metrics.h"
#include "vault/public_keys.h"
#include "segment/format.h"

namespace sealtrace::vault {

struct IngestRequest {
  std::string_view authorization;          // the Authorization header value, "" if absent
  std::optional<uint64_t> content_length;  // as declared by the client, if any
  std::string_view body;                   // the segment file bytes
  std::string_view declared_segment_id;    // X-Sealtrace-Segment-Id header, "" if absent
};

struct IngestResult {
  IngestOutcome outcome = IngestOutcome::kMalformed;
  std::string message;     // human-readable reason; never contains body bytes or tokens
  std::string segment_id;  // hex, set once the header parsed
  uint64_t sequence = 0;
  bool ok() const {
    return outcome == IngestOutcome::kStored || outcome == IngestOutcome::kDuplicate;
  }
  int http_status() const { return IngestOutcomeHttpStatus(outcome); }
};

// Extracts the token from "Bearer <token>" (scheme case-insensitive); nullopt if
// the header is missing or not a bearer credential.
std::optional<std::string_view> ParseBearer(std::string_view authorization);

// Device tokens: "std_" + base64url(32 random bytes). Only SHA-256(token) is stored.
inline constexpr char kDeviceTokenPrefix[] = "std_";
std::string NewDeviceToken(Env* env);

// Looks a device up by its bearer token. UNAUTHENTICATED for a missing, malformed
// or unknown token; UNAVAILABLE (or another store code) if the store cannot answer.
// A token of a revoked device is UNAUTHENTICATED ("...revoked...") and, when
// `revoked` is given, that device's record is copied there.
absl::StatusOr<DeviceRecord> AuthenticateDevice(MetadataStore* store,
                                                std::string_view authorization,
                                                DeviceRecord* revoked = nullptr);

class IngestService {
 public:
  struct Options {
    size_t max_segment_bytes;  // defaults to kMaxSegmentBytes
    Options();
  };
  // All pointers are borrowed and must outlive the service.
  IngestService(MetadataStore* store, BlobStore* blobs, PublicKeyDirectory* keys, Env* env,
                VaultMetrics* metrics, Options options = Options());

  // Handles one upload; always returns a result (refusals are results, not errors)
  // and counts it in the metrics.
  IngestResult Ingest(const IngestRequest& req);
  // Set once, before serving: told of each upload by a revoked device (the
  // access layer audits it for the contributor). Called on the request thread.
  void SetRevokedUploadHook(std::function<void(const DeviceRecord&)> hook) {
    revoked_hook_ = std::move(hook);
  }

 private:
  IngestResult Handle(const IngestRequest& req);

  std::function<void(const DeviceRecord&)> revoked_hook_;
  MetadataStore* store_;
  BlobStore* blobs_;
  PublicKeyDirectory* keys_;
  Env* env_;
  VaultMetrics* metrics_;
  Options options_;
};

// The stateless checks on one upload, shared by the embedded vault and the
// scale-out ingest gateways: token -> size -> framing (no key) -> declared id
// -> device -> contributor -> recipient key id. A refusal comes back as an
// IngestResult (never ok()); success as the device and the parsed header.
struct ValidatedUpload {
  DeviceRecord device;
  SegmentHeader header;
};
using DeviceAuthenticator =
    std::function<absl::StatusOr<DeviceRecord>(std::string_view authorization)>;
std::variant<IngestResult, ValidatedUpload> ValidateUpload(const IngestRequest& req,
                                                           size_t max_segment_bytes,
                                                           const DeviceAuthenticator& authenticate,
                                                           PublicKeyDirectory* keys);

}  // namespace sealtrace::vault
