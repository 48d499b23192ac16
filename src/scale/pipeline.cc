#include "scale/pipeline.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "crypto/crypto.h"

namespace sealtrace::scale {
namespace {

using vault::IngestOutcome;
using vault::IngestResult;

constexpr size_t kMaxTokenChars = 256;  // as vault/ingest.cc

IngestResult Refuse(IngestOutcome o, std::string message, std::string segment_id = "",
                    uint64_t sequence = 0) {
  IngestResult r;
  r.outcome = o;
  r.message = std::move(message);
  r.segment_id = std::move(segment_id);
  r.sequence = sequence;
  return r;
}


std::string HeaderOf(const Headers& h, const char* key) {
  for (const auto& [k, v] : h) {
    if (k == key) return v;
  }
  return "";
}

}  // namespace

// --- CachingKeyDirectory ---

absl::StatusOr<vault::DeviceRecord> CachingKeyDirectory::Authenticate(
    std::string_view authorization) {
  auto token = vault::ParseBearer(authorization);
  if (!token) return absl::UnauthenticatedError("missing bearer device token");
  if (token->size() > kMaxTokenChars || token->substr(0, 4) != vault::kDeviceTokenPrefix) {
    return absl::UnauthenticatedError("malformed device token");
  }
  const std::string hash = Sha256(*token);
  const auto now = Clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = devices_.find(hash);
    if (it != devices_.end() && now - it->second.second < ttl_ &&
        ConstantTimeEquals(it->second.first.token_sha256, hash)) {
      return it->second.first;
    }
  }
  auto dev = store_->FindDeviceByTokenHash(hash);
  if (!dev.ok()) return dev.status();
  if (!dev->has_value() || !ConstantTimeEquals((*dev)->token_sha256, hash)) {
    return absl::UnauthenticatedError("unknown device token");
  }
  if ((*dev)->revoked_us != 0) {  // (a cached live record ages out within ttl_)
    return absl::UnauthenticatedError(
        "this device was revoked by its contributor; enrol it again to upload");
  }
  std::lock_guard<std::mutex> l(mu_);
  if (devices_.size() > 200000) devices_.clear();  // bounded memory
  devices_[hash] = {**dev, now};
  return **dev;
}

absl::StatusOr<std::string> CachingKeyDirectory::PublicKey(const Id16& contributor_id) {
  const auto now = Clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(contributor_id);
    if (it != keys_.end() && now - it->second.second < ttl_) return it->second.first;
  }
  auto k = store_->GetLatestContributorKey(contributor_id);
  if (!k.ok()) return k.status();
  if (!k->has_value() || (*k)->destroyed) {
    return absl::NotFoundError("no live key for contributor " + contributor_id.Hex());
  }
  std::lock_guard<std::mutex> l(mu_);
  if (keys_.size() > 200000) keys_.clear();
  keys_[contributor_id] = {(*k)->public_key, now};
  return (*k)->public_key;
}

// --- ValidateUpload ---

std::variant<IngestResult, ValidatedUpload> ValidateUpload(CachingKeyDirectory* dir,
                                                           const vault::IngestRequest& req,
                                                           size_t max) {
  return vault::ValidateUpload(
      req, max, [dir](std::string_view a) { return dir->Authenticate(a); }, dir);
}

// --- JetStreamPublisher ---

absl::StatusOr<bool> JetStreamPublisher::Publish(const std::string& segment_id_hex,
                                                 std::string_view data, const Headers& headers) {
  auto ack = js_->Publish(subject_, data, headers, segment_id_hex, timeout_ms_);
  if (!ack.ok()) return ack.status();
  return ack->duplicate;
}

// --- IngestGateway ---

IngestGateway::IngestGateway(vault::MetadataStore* store, vault::BlobStore* blobs,
                             CachingKeyDirectory* dir, SegmentPublisher* publisher, Env* env,
                             vault::VaultMetrics* metrics, Options options)
    : store_(store),
      blobs_(blobs),
      dir_(dir),
      publisher_(publisher),
      env_(env),
      metrics_(metrics),
      options_(options) {}

IngestResult IngestGateway::Ingest(const vault::IngestRequest& req) {
  IngestResult r = Handle(req);
  uint64_t stored_bytes = r.outcome == IngestOutcome::kStored ? req.body.size() : 0;
  if (metrics_ != nullptr) metrics_->CountIngest(r.outcome, stored_bytes);
  if (r.outcome == IngestOutcome::kStorageError) {
    spdlog::warn("gateway: segment {} refused ({}): {}", r.segment_id.empty() ? "?" : r.segment_id,
                 vault::IngestOutcomeName(r.outcome), r.message);
  } else if (!r.ok()) {
    spdlog::info("gateway: segment {} refused ({}): {}", r.segment_id.empty() ? "?" : r.segment_id,
                 vault::IngestOutcomeName(r.outcome), r.message);
  }
  return r;
}

IngestResult IngestGateway::Handle(const vault::IngestRequest& req) {
  auto v = ValidateUpload(dir_, req, options_.max_segment_bytes);
  if (auto* refused = std::get_if<IngestResult>(&v)) return *refused;
  const ValidatedUpload& up = std::get<ValidatedUpload>(v);
  const std::string id = up.header.segment_id.Hex();
  const uint64_t seq = up.header.sequence;
  const std::string blob_key = vault::BlobKeyOf(req.body);
  // Already stored? Answer like the embedded vault. If the store cannot answer
  // (e.g. PostgreSQL restarting), go on: the writer is idempotent.
  auto existing = store_->GetSegment(up.header.segment_id);
  if (existing.ok() && existing->has_value()) {
    if ((*existing)->blob_sha256 == blob_key) {
      return Refuse(IngestOutcome::kDuplicate, "segment already stored", id, seq);
    }
    return Refuse(IngestOutcome::kConflict, "segment id already stored with different content", id,
                  seq);
  }
  const bool by_ref =
      req.body.size() > options_.inline_max_bytes || (up.header.flags & kFlagFramePayload) != 0;
  Headers h = {{kHdrKind, by_ref ? kKindBlobRef : kKindInline},
               {kHdrBlob, blob_key},
               {kHdrSize, std::to_string(req.body.size())},
               {kHdrReceived, std::to_string(env_->NowWallMicros())},
               {kHdrSegment, id}};
  std::string_view data = req.body;
  if (by_ref) {
    // Large payloads: the blob is durable before its reference is published.
    if (absl::Status s = blobs_->Put(blob_key, req.body); !s.ok()) {
      return Refuse(IngestOutcome::kStorageError, "blob write failed: " + std::string(s.message()),
                    id, seq);
    }
    data = req.body.substr(0, kSegmentHeaderBytes);
    blob_refs_.fetch_add(1, std::memory_order_relaxed);
  }
  auto dup = publisher_->Publish(id, data, h);
  if (!dup.ok()) {
    return Refuse(IngestOutcome::kStorageError,
                  "stream publish failed: " + std::string(dup.status().message()), id, seq);
  }
  if (*dup) return Refuse(IngestOutcome::kDuplicate, "segment already accepted", id, seq);
  return Refuse(IngestOutcome::kStored, "stored", id, seq);
}

// --- SegmentWriter ---

std::string WriterMetrics::Render() const {
  std::string out;
  auto line = [&](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  line("sealtrace_writer_stored_total", "Segments stored by this writer.", stored.load());
  line("sealtrace_writer_duplicate_total", "Redeliveries found already stored.", duplicate.load());
  line("sealtrace_writer_retried_total", "Messages handed back for a later retry.", retried.load());
  line("sealtrace_writer_parked_total", "Poison messages moved to the park stream.", parked.load());
  line("sealtrace_writer_park_failed_total", "Failed attempts to park.", park_failed.load());
  line("sealtrace_writer_ack_failed_total", "Acks the server did not confirm.", ack_failed.load());
  line("sealtrace_writer_stored_bytes_total", "Bytes of stored segments.", bytes.load());
  return out;
}

SegmentWriter::Result SegmentWriter::Write(std::string_view data, const Headers& headers) {
  Result r;
  auto fail = [&](Outcome o, std::string why) {
    r.outcome = o;
    r.reason = std::move(why);
    return r;
  };
  const std::string kind = HeaderOf(headers, kHdrKind);
  const std::string blob_key_hdr = HeaderOf(headers, kHdrBlob);
  int64_t received_us = 0;
  {
    const std::string rs = HeaderOf(headers, kHdrReceived);
    char* end = nullptr;
    received_us = rs.empty() ? 0 : std::strtoll(rs.c_str(), &end, 10);
    if (rs.empty() || (end && *end != '\0')) return fail(Outcome::kPoison, "bad received time");
  }
  SegmentHeader header;
  std::string blob_key;
  uint64_t size = 0;
  if (kind == kKindInline) {
    auto h = ValidateSegmentFraming(data);
    if (!h.ok()) return fail(Outcome::kPoison, "framing: " + std::string(h.status().message()));
    header = *h;
    blob_key = vault::BlobKeyOf(data);
    if (!blob_key_hdr.empty() && blob_key_hdr != blob_key) {
      return fail(Outcome::kPoison, "blob hash header does not match the payload");
    }
    size = data.size();
  } else if (kind == kKindBlobRef) {
    auto h = ParseSegmentHeader(data);
    if (!h.ok() || data.size() != kSegmentHeaderBytes) {
      return fail(Outcome::kPoison, "blob reference without a valid segment header");
    }
    header = *h;
    blob_key = blob_key_hdr;
    if (!vault::IsValidBlobKey(blob_key)) return fail(Outcome::kPoison, "bad blob key");
    const std::string ss = HeaderOf(headers, kHdrSize);
    char* end = nullptr;
    size = ss.empty() ? 0 : std::strtoull(ss.c_str(), &end, 10);
    if (size <= kSegmentHeaderBytes || (end && *end != '\0')) {
      return fail(Outcome::kPoison, "bad size header");
    }
  } else {
    return fail(Outcome::kPoison, "unknown message kind");
  }
  r.segment_id = header.segment_id.Hex();
  auto same_or_conflict = [&](const vault::SegmentRecord& existing) {
    if (existing.blob_sha256 == blob_key) return fail(Outcome::kDuplicate, "already stored");
    return fail(Outcome::kPoison, "segment id already stored with different content");
  };
  auto existing = store_->GetSegment(header.segment_id);
  if (!existing.ok()) {
    return fail(Outcome::kRetry, "metadata: " + std::string(existing.status().message()));
  }
  if (existing->has_value()) return same_or_conflict(**existing);
  if (kind == kKindInline) {
    if (absl::Status s = blobs_->Put(blob_key, data); !s.ok()) {
      return fail(Outcome::kRetry, "blob write: " + std::string(s.message()));
    }
  } else {
    auto ex = blobs_->Exists(blob_key);
    if (!ex.ok()) return fail(Outcome::kRetry, "blob check: " + std::string(ex.status().message()));
    if (!*ex) return fail(Outcome::kPoison, "referenced blob is missing");
  }
  vault::SegmentRecord rec;
  rec.segment_id = header.segment_id;
  rec.contributor_id = header.contributor_id;
  rec.device_id = header.device_id;
  rec.sequence = header.sequence;
  // Only the coarse range and the hour of receipt (as vault/ingest.cc).
  rec.wall_start_us = header.wall_hour_start_us;
  rec.wall_end_us = header.wall_hour_end_us;
  rec.size = size;
  rec.blob_sha256 = blob_key;
  rec.flags = header.flags;
  // From the gateway: identical on every redelivery.
  rec.received_us = FloorToHourUs(received_us);
  auto ins = store_->InsertSegment(rec);
  if (!ins.ok()) return fail(Outcome::kRetry, "metadata: " + std::string(ins.status().message()));
  if (*ins == vault::InsertSegmentResult::kExists) {
    auto again = store_->GetSegment(header.segment_id);
    if (!again.ok() || !again->has_value()) {
      return fail(Outcome::kRetry, "metadata changed during the write");
    }
    return same_or_conflict(**again);
  }
  r.outcome = Outcome::kStored;
  r.reason = "stored";
  (void)env_;
  return r;
}

}  // namespace sealtrace::scale
