// Uploader: moves sealed segments from the spool to the vault.
//
// Oldest first; a segment is deleted from the spool only after the vault's
// durable acknowledgement ("stored" or "duplicate": uploads are idempotent by
// segment id). Network errors and 5xx/401 answers back off exponentially with
// jitter and retry forever; permanent refusals (400/403/409/413) move the
// segment to the spool's rejected/ folder with the reason, never deleting it.
//
// Thread-safety: UploadOnce from one thread; Stats from any. The loop that
// calls it (and backs off) is UploadService.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "agent/vault_client.h"
#include "common/env.h"
#include "spool/spool.h"

namespace sealtrace {

struct UploaderOptions {
  int64_t backoff_base_us = 250'000;
  int64_t backoff_max_us = 30'000'000;
  int64_t poll_interval_us = 200'000;
  std::string state_file;  // where the last acknowledged sequence is kept
};

struct UploaderStats {
  uint64_t uploaded = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t failures = 0;
  uint64_t last_acked_sequence = 0;
  int64_t last_upload_wall_us = 0;
  int consecutive_failures = 0;
  std::string last_error;
};

class Uploader {
 public:
  Uploader(Env* env, Spool* spool, VaultClient* client, UploaderOptions options);

  // Uploads spooled segments oldest-first until the spool is empty or one
  // fails transiently. Returns the number acknowledged, or the failure.
  // Checks *stop (if given) between segments, so a stop is prompt even with
  // a large backlog.
  absl::StatusOr<int> UploadOnce(const std::atomic<bool>* stop = nullptr);
  // The delay before retry number `attempt` (1-based): exponential, capped, jittered.
  int64_t BackoffDelayUs(int attempt);
  UploaderStats Stats();
  // Reads the last acknowledged sequence from the state file (0 if none).
  static uint64_t LoadLastAcked(Env* env, const std::string& state_file);

 private:
  Env* env_;
  Spool* spool_;
  VaultClient* client_;
  UploaderOptions opt_;
  std::mutex mu_;
  UploaderStats stats_;
};

}  // namespace sealtrace
