// Vault counters and their Prometheus text rendering.
//
// Process-lifetime counters (reset on restart, as Prometheus expects). They
// count outcomes and bytes, never content, tokens or names.
//
// Thread-safety: all methods are safe for concurrent use (relaxed atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "vault/metadata_store.h"

namespace sealtrace::vault {

// Result of one segment upload. Names are the `result` label values.
enum class IngestOutcome : int {
  kStored = 0,        // 200 stored
  kDuplicate,         // 200 duplicate (idempotent re-upload)
  kMalformed,         // 400 framing/header invalid
  kTruncated,         // 400 body shorter than its framing says
  kOversized,         // 413 larger than kMaxSegmentBytes
  kUnauthenticated,   // 401 missing/unknown device token
  kWrongDevice,       // 403 header device id != token's device
  kWrongContributor,  // 403 header contributor id != device's contributor
  kWrongKey,          // 403 sealed to a key that is not the contributor's current key
  kConflict,          // 409 same segment id, different bytes
  kStorageError,      // 503 blob or metadata write failed; retry later
  kNumOutcomes,
};
const char* IngestOutcomeName(IngestOutcome o);
int IngestOutcomeHttpStatus(IngestOutcome o);

enum class EnrollOutcome : int {
  kEnrolled = 0,     // 200
  kUnauthenticated,  // 401 wrong enrolment secret
  kInvalid,          // 400 bad JSON or name
  kStorageError,     // 503
  kNameTaken,        // 409 the name belongs to an existing contributor
  kCodeRefused,      // 403 a device code that is unknown, used or expired
  kNumOutcomes,
};
const char* EnrollOutcomeName(EnrollOutcome o);

// Routes with their own latency histogram.
enum class Route : int { kEnroll = 0, kSegments, kDeviceState, kHealthz, kMetrics, kOther, kNum };
const char* RouteName(Route r);

class VaultMetrics {
 public:
  VaultMetrics();
  void CountIngest(IngestOutcome o, uint64_t bytes_stored);
  void CountEnroll(EnrollOutcome o);
  void ObserveLatency(Route r, int64_t micros);

  uint64_t ingest(IngestOutcome o) const;
  uint64_t ingest_bytes() const;
  uint64_t enroll(EnrollOutcome o) const;

  // Prometheus text exposition format (version 0.0.4). `counts` adds the
  // store gauges when not null.
  std::string RenderPrometheus(const StoreCounts* counts) const;

 private:
  static constexpr int kBuckets = 10;
  static constexpr int64_t kBucketMicros[kBuckets] = {500,    1000,   5000,    10000,   50000,
                                                      100000, 500000, 1000000, 5000000, 30000000};
  struct Histogram {
    std::array<std::atomic<uint64_t>, kBuckets> le{};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_micros{0};
  };
  std::array<std::atomic<uint64_t>, static_cast<int>(IngestOutcome::kNumOutcomes)> ingest_{};
  std::atomic<uint64_t> ingest_bytes_{0};
  std::array<std::atomic<uint64_t>, static_cast<int>(EnrollOutcome::kNumOutcomes)> enroll_{};
  std::array<Histogram, static_cast<int>(Route::kNum)> latency_;
};

}  // namespace sealtrace::vault
