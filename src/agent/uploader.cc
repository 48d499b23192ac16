#include "agent/uploader.h"

#include <algorithm>

#include "spdlog/spdlog.h"

namespace sealtrace {

Uploader::Uploader(Env* env, Spool* spool, VaultClient* client, UploaderOptions options)
    : env_(env), spool_(spool), client_(client), opt_(std::move(options)) {
  stats_.last_acked_sequence = LoadLastAcked(env_, opt_.state_file);
}

uint64_t Uploader::LoadLastAcked(Env* env, const std::string& state_file) {
  if (state_file.empty()) return 0;
  auto data = env->ReadFile(state_file);
  if (!data.ok()) return 0;
  // Format: "last_acked_sequence=<n>\n"
  const std::string key = "last_acked_sequence=";
  auto pos = data->find(key);
  if (pos == std::string::npos) return 0;
  uint64_t v = 0;
  for (size_t i = pos + key.size(); i < data->size() && isdigit(static_cast<unsigned char>((*data)[i])); ++i) {
    v = v * 10 + static_cast<uint64_t>((*data)[i] - '0');
  }
  return v;
}

int64_t Uploader::BackoffDelayUs(int attempt) {
  int64_t d = opt_.backoff_base_us;
  for (int i = 1; i < attempt && d < opt_.backoff_max_us; ++i) d *= 2;
  d = std::min(d, opt_.backoff_max_us);
  // "Equal jitter": half fixed, half random, so retries from many devices spread out.
  uint32_t r = 0;
  env_->RandomBytes(&r, sizeof(r));
  return d / 2 + static_cast<int64_t>(r % static_cast<uint32_t>(d / 2 + 1));
}

absl::StatusOr<int> Uploader::UploadOnce(const std::atomic<bool>* stop) {
  auto list = spool_->List();
  if (!list.ok()) return list.status();
  int acked = 0;
  for (const auto& e : *list) {
    if (stop != nullptr && stop->load()) break;
    auto bytes = spool_->Read(e);
    if (!bytes.ok()) {
      if (absl::IsNotFound(bytes.status())) continue;  // purged meanwhile
      return bytes.status();
    }
    UploadResponse r = client_->UploadSegment(*bytes, e.segment_id);
    if (r.acknowledged()) {
      // Record progress before deleting, so a crash in between re-uploads
      // (idempotent) rather than forgetting the sequence number.
      if (!opt_.state_file.empty()) {
        auto s = WriteFileAtomic(env_, opt_.state_file,
                                 "last_acked_sequence=" + std::to_string(e.sequence) + "\n");
        if (!s.ok()) return s;
      }
      if (auto s = spool_->Remove(e); !s.ok()) return s;
      std::lock_guard<std::mutex> l(mu_);
      (r.result == "duplicate" ? stats_.duplicates : stats_.uploaded)++;
      stats_.last_acked_sequence = std::max(stats_.last_acked_sequence, e.sequence);
      stats_.last_upload_wall_us = env_->NowWallMicros();
      stats_.consecutive_failures = 0;
      ++acked;
      continue;
    }
    if (r.permanent_refusal()) {
      std::string reason = "HTTP " + std::to_string(r.http_status) + " " + r.error_code + ": " +
                           r.message;
      if (auto s = spool_->Quarantine(e, reason); !s.ok()) return s;
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.rejected;
      stats_.last_error = reason;
      continue;
    }
    std::string err = r.http_status == 0 ? r.message
                                         : "HTTP " + std::to_string(r.http_status) + " " +
                                               r.error_code + ": " + r.message;
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.failures;
    ++stats_.consecutive_failures;
    stats_.last_error = err;
    return absl::UnavailableError(err);
  }
  return acked;
}

UploaderStats Uploader::Stats() {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace sealtrace
