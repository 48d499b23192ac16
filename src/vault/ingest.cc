#include "vault/ingest.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "crypto/crypto.h"
#include "segment/format.h"

namespace sealtrace::vault {
namespace {

constexpr size_t kMaxTokenChars = 256;

IngestResult Refuse(IngestOutcome o, std::string message) {
  IngestResult r;
  r.outcome = o;
  r.message = std::move(message);
  return r;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Framing failures are "truncated" when the body is a prefix of a plausible
// segment (the client or network cut it), "malformed" otherwise.
IngestOutcome ClassifyFramingError(std::string_view body, const absl::Status& s) {
  if (body.size() < kSegmentHeaderBytes) {
    size_t n = std::min<size_t>(body.size(), 4);
    if (!body.empty() && std::memcmp(body.data(), kSegmentMagic, n) == 0) {
      return IngestOutcome::kTruncated;
    }
    return IngestOutcome::kMalformed;
  }
  if (s.message().find("truncated") != std::string_view::npos) return IngestOutcome::kTruncated;
  return IngestOutcome::kMalformed;
}

}  // namespace

std::optional<std::string_view> ParseBearer(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1) return std::nullopt;
  if (!EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  if (authorization[kScheme.size()] != ' ') return std::nullopt;
  std::string_view token = authorization.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

std::string NewDeviceToken(Env* env) {
  std::string raw(32, '\0');
  env->RandomBytes(raw.data(), raw.size());
  std::string token = std::string(kDeviceTokenPrefix) + Base64Url(raw);
  std::fill(raw.begin(), raw.end(), '\0');
  return token;
}

absl::StatusOr<DeviceRecord> AuthenticateDevice(MetadataStore* store,
                                                std::string_view authorization,
                                                DeviceRecord* revoked) {
  auto token = ParseBearer(authorization);
  if (!token) return absl::UnauthenticatedError("missing bearer device token");
  if (token->size() > kMaxTokenChars || token->substr(0, 4) != kDeviceTokenPrefix) {
    return absl::UnauthenticatedError("malformed device token");
  }
  const std::string hash = Sha256(*token);
  auto dev = store->FindDeviceByTokenHash(hash);
  if (!dev.ok()) return dev.status();
  // The lookup is by hash; compare again in constant time so no early-exit
  // comparison of secret-derived bytes happens in our code.
  if (!dev->has_value() || !ConstantTimeEquals((*dev)->token_sha256, hash)) {
    return absl::UnauthenticatedError("unknown device token");
  }
  if ((*dev)->revoked_us != 0) {
    if (revoked != nullptr) *revoked = **dev;
    return absl::UnauthenticatedError(
        "this device was revoked by its contributor; enrol it again to upload");
  }
  return **dev;
}

IngestService::Options::Options() : max_segment_bytes(kMaxSegmentBytes) {}

IngestService::IngestService(MetadataStore* store, BlobStore* blobs, PublicKeyDirectory* keys,
                             Env* env, VaultMetrics* metrics, Options options)
    : store_(store), blobs_(blobs), keys_(keys), env_(env), metrics_(metrics), options_(options) {}

IngestResult IngestService::Ingest(const IngestRequest& req) {
  IngestResult r = Handle(req);
  uint64_t stored_bytes = r.outcome == IngestOutcome::kStored ? req.body.size() : 0;
  if (metrics_ != nullptr) metrics_->CountIngest(r.outcome, stored_bytes);
  if (r.outcome == IngestOutcome::kStorageError) {
    spdlog::warn("ingest: segment {} refused ({}): {}", r.segment_id, IngestOutcomeName(r.outcome),
                 r.message);
  } else if (!r.ok()) {
    spdlog::info("ingest: segment {} refused ({}): {}", r.segment_id.empty() ? "?" : r.segment_id,
                 IngestOutcomeName(r.outcome), r.message);
  } else {
    spdlog::debug("ingest: segment {} {}", r.segment_id, IngestOutcomeName(r.outcome));
  }
  return r;
}

std::variant<IngestResult, ValidatedUpload> ValidateUpload(const IngestRequest& req,
                                                           size_t max,
                                                           const DeviceAuthenticator& authenticate,
                                                           PublicKeyDirectory* keys) {
  // 1. Who is uploading.
  auto device = authenticate(req.authorization);
  if (!device.ok()) {
    if (absl::IsUnauthenticated(device.status())) {
      return Refuse(IngestOutcome::kUnauthenticated, std::string(device.status().message()));
    }
    return Refuse(IngestOutcome::kStorageError,
                  "metadata store unavailable: " + std::string(device.status().message()));
  }
  // 2. Size, before looking at any byte.
  if ((req.content_length && *req.content_length > max) || req.body.size() > max) {
    return Refuse(IngestOutcome::kOversized,
                  "segment larger than the limit of " + std::to_string(max) + " bytes");
  }
  if (req.content_length && *req.content_length != req.body.size()) {
    if (req.body.size() < *req.content_length) {
      return Refuse(IngestOutcome::kTruncated, "body shorter than its Content-Length");
    }
    return Refuse(IngestOutcome::kMalformed, "body longer than its Content-Length");
  }
  if (req.body.empty()) return Refuse(IngestOutcome::kMalformed, "empty body");
  // 3. Framing, without decrypting.
  auto header = ValidateSegmentFraming(req.body);
  if (!header.ok()) {
    return Refuse(ClassifyFramingError(req.body, header.status()),
                  std::string(header.status().message()));
  }
  IngestResult r;
  r.segment_id = header->segment_id.Hex();
  r.sequence = header->sequence;
  auto refuse = [&](IngestOutcome o, std::string msg) {
    r.outcome = o;
    r.message = std::move(msg);
    return r;
  };
  if (!req.declared_segment_id.empty()) {
    auto declared = Id16::FromHex(req.declared_segment_id);
    if (!declared || *declared != header->segment_id) {
      return refuse(IngestOutcome::kMalformed,
                    "declared segment id does not match the segment header");
    }
  }
  // 4. The header must name this device, its contributor and their current key.
  if (header->device_id != device->id) {
    return refuse(IngestOutcome::kWrongDevice, "segment header names device " +
                                                   header->device_id.Hex() +
                                                   ", not the authenticated device");
  }
  if (header->contributor_id != device->contributor_id) {
    return refuse(IngestOutcome::kWrongContributor, "segment header names contributor " +
                                                        header->contributor_id.Hex() +
                                                        ", not this device's contributor");
  }
  auto pk = keys->PublicKey(device->contributor_id);
  if (!pk.ok()) {
    if (absl::IsNotFound(pk.status())) {
      return refuse(IngestOutcome::kWrongKey, "the contributor has no live key");
    }
    return refuse(IngestOutcome::kStorageError,
                  "key lookup failed: " + std::string(pk.status().message()));
  }
  if (!ConstantTimeEquals(header->recipient_key_id, KeyIdOf(*pk))) {
    return refuse(IngestOutcome::kWrongKey,
                  "segment is sealed to key " + ToHex(header->recipient_key_id) +
                      ", not the contributor's current key " + ToHex(KeyIdOf(*pk)));
  }
  return ValidatedUpload{*device, *header};
}

IngestResult IngestService::Handle(const IngestRequest& req) {
  auto v = ValidateUpload(
      req, options_.max_segment_bytes,
      [this](std::string_view a) {
        DeviceRecord revoked;
        auto d = AuthenticateDevice(store_, a, &revoked);
        if (!d.ok() && revoked.revoked_us != 0 && revoked_hook_) revoked_hook_(revoked);
        return d;
      },
      keys_);
  if (auto* refused = std::get_if<IngestResult>(&v)) return *refused;
  const SegmentHeader* header = &std::get<ValidatedUpload>(v).header;
  IngestResult r;
  r.segment_id = header->segment_id.Hex();
  r.sequence = header->sequence;
  auto refuse = [&](IngestOutcome o, std::string msg) {
    r.outcome = o;
    r.message = std::move(msg);
    return r;
  };
  // 5. Idempotency by segment id.
  const std::string blob_key = BlobKeyOf(req.body);
  auto same_or_conflict = [&](const SegmentRecord& existing) {
    if (existing.blob_sha256 == blob_key) {
      return refuse(IngestOutcome::kDuplicate, "segment already stored");
    }
    return refuse(IngestOutcome::kConflict, "segment id already stored with different content");
  };
  auto existing = store_->GetSegment(header->segment_id);
  if (!existing.ok()) {
    return refuse(IngestOutcome::kStorageError,
                  "metadata store unavailable: " + std::string(existing.status().message()));
  }
  if (existing->has_value()) return same_or_conflict(**existing);
  // 6. Blob first (durable), then metadata (durable), then acknowledge.
  if (absl::Status s = blobs_->Put(blob_key, req.body); !s.ok()) {
    return refuse(IngestOutcome::kStorageError, "blob write failed: " + std::string(s.message()));
  }
  SegmentRecord rec;
  rec.segment_id = header->segment_id;
  rec.contributor_id = header->contributor_id;
  rec.device_id = header->device_id;
  rec.sequence = header->sequence;
  // Only the coarse range (whole UTC hours; for v1 segments derived from their
  // clear exact fields by ParseSegmentHeader) is kept. Exact times, event
  // counts and sizes are per-person activity measures with no use on the
  // ingest or grant path: they stay sealed in the segment (FORMAT.md §1).
  rec.wall_start_us = header->wall_hour_start_us;
  rec.wall_end_us = header->wall_hour_end_us;
  rec.size = req.body.size();
  rec.blob_sha256 = blob_key;
  rec.flags = header->flags;
  rec.received_us = FloorToHourUs(env_->NowWallMicros());
  auto inserted = store_->InsertSegment(rec);
  if (!inserted.ok()) {
    // The blob stays as an orphan (see the header comment); nothing references it.
    return refuse(IngestOutcome::kStorageError,
                  "metadata write failed: " + std::string(inserted.status().message()));
  }
  if (*inserted == InsertSegmentResult::kExists) {
    // Lost a race with a concurrent upload of the same id.
    auto again = store_->GetSegment(header->segment_id);
    if (!again.ok() || !again->has_value()) {
      return refuse(IngestOutcome::kStorageError, "metadata store changed during the upload");
    }
    return same_or_conflict(**again);
  }
  return refuse(IngestOutcome::kStored, "stored");
}

}  // namespace sealtrace::vault
