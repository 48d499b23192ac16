#include "vault/metrics.h"

#include <cstdio>

namespace sealtrace::vault {
namespace {

template <typename T>
int Idx(T v) {
  return static_cast<int>(v);
}

std::string Seconds(uint64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6f", static_cast<double>(micros) / 1e6);
  return buf;
}

}  // namespace

const char* IngestOutcomeName(IngestOutcome o) {
  switch (o) {
    case IngestOutcome::kStored:
      return "stored";
    case IngestOutcome::kDuplicate:
      return "duplicate";
    case IngestOutcome::kMalformed:
      return "malformed";
    case IngestOutcome::kTruncated:
      return "truncated";
    case IngestOutcome::kOversized:
      return "oversized";
    case IngestOutcome::kUnauthenticated:
      return "unauthenticated";
    case IngestOutcome::kWrongDevice:
      return "wrong_device";
    case IngestOutcome::kWrongContributor:
      return "wrong_contributor";
    case IngestOutcome::kWrongKey:
      return "wrong_key";
    case IngestOutcome::kConflict:
      return "conflict";
    case IngestOutcome::kStorageError:
      return "storage_error";
    case IngestOutcome::kNumOutcomes:
      break;
  }
  return "unknown";
}

int IngestOutcomeHttpStatus(IngestOutcome o) {
  switch (o) {
    case IngestOutcome::kStored:
    case IngestOutcome::kDuplicate:
      return 200;
    case IngestOutcome::kMalformed:
    case IngestOutcome::kTruncated:
      return 400;
    case IngestOutcome::kOversized:
      return 413;
    case IngestOutcome::kUnauthenticated:
      return 401;
    case IngestOutcome::kWrongDevice:
    case IngestOutcome::kWrongContributor:
    case IngestOutcome::kWrongKey:
      return 403;
    case IngestOutcome::kConflict:
      return 409;
    case IngestOutcome::kStorageError:
    case IngestOutcome::kNumOutcomes:
      break;
  }
  return 503;
}

const char* EnrollOutcomeName(EnrollOutcome o) {
  switch (o) {
    case EnrollOutcome::kEnrolled:
      return "enrolled";
    case EnrollOutcome::kUnauthenticated:
      return "unauthenticated";
    case EnrollOutcome::kInvalid:
      return "invalid";
    case EnrollOutcome::kStorageError:
      return "storage_error";
    case EnrollOutcome::kNameTaken:
      return "name_taken";
    case EnrollOutcome::kCodeRefused:
      return "device_code_refused";
    case EnrollOutcome::kNumOutcomes:
      break;
  }
  return "unknown";
}

const char* RouteName(Route r) {
  switch (r) {
    case Route::kEnroll:
      return "/v1/enroll";
    case Route::kSegments:
      return "/v1/segments";
    case Route::kDeviceState:
      return "/v1/device/state";
    case Route::kHealthz:
      return "/healthz";
    case Route::kMetrics:
      return "/metrics";
    case Route::kOther:
    case Route::kNum:
      break;
  }
  return "other";
}

VaultMetrics::VaultMetrics() = default;

void VaultMetrics::CountIngest(IngestOutcome o, uint64_t bytes_stored) {
  ingest_[Idx(o)].fetch_add(1, std::memory_order_relaxed);
  if (bytes_stored) ingest_bytes_.fetch_add(bytes_stored, std::memory_order_relaxed);
}

void VaultMetrics::CountEnroll(EnrollOutcome o) {
  enroll_[Idx(o)].fetch_add(1, std::memory_order_relaxed);
}

void VaultMetrics::ObserveLatency(Route r, int64_t micros) {
  if (micros < 0) micros = 0;
  Histogram& h = latency_[Idx(r)];
  for (int i = 0; i < kBuckets; ++i) {
    if (micros <= kBucketMicros[i]) h.le[i].fetch_add(1, std::memory_order_relaxed);
  }
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_micros.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
}

uint64_t VaultMetrics::ingest(IngestOutcome o) const {
  return ingest_[Idx(o)].load(std::memory_order_relaxed);
}
uint64_t VaultMetrics::ingest_bytes() const {
  return ingest_bytes_.load(std::memory_order_relaxed);
}
uint64_t VaultMetrics::enroll(EnrollOutcome o) const {
  return enroll_[Idx(o)].load(std::memory_order_relaxed);
}

std::string VaultMetrics::RenderPrometheus(const StoreCounts* counts) const {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line("# HELP sealtrace_ingest_segments_total Segment uploads by result.");
  line("# TYPE sealtrace_ingest_segments_total counter");
  for (int i = 0; i < Idx(IngestOutcome::kNumOutcomes); ++i) {
    line(std::string("sealtrace_ingest_segments_total{result=\"") +
         IngestOutcomeName(static_cast<IngestOutcome>(i)) + "\"} " +
         std::to_string(ingest_[i].load(std::memory_order_relaxed)));
  }
  line("# HELP sealtrace_ingest_bytes_total Bytes of newly stored sealed segments.");
  line("# TYPE sealtrace_ingest_bytes_total counter");
  line("sealtrace_ingest_bytes_total " + std::to_string(ingest_bytes()));
  line("# HELP sealtrace_enrolments_total Enrolment requests by result.");
  line("# TYPE sealtrace_enrolments_total counter");
  for (int i = 0; i < Idx(EnrollOutcome::kNumOutcomes); ++i) {
    line(std::string("sealtrace_enrolments_total{result=\"") +
         EnrollOutcomeName(static_cast<EnrollOutcome>(i)) + "\"} " +
         std::to_string(enroll_[i].load(std::memory_order_relaxed)));
  }
  if (counts != nullptr) {
    line("# HELP sealtrace_segments_stored Segments held by the vault.");
    line("# TYPE sealtrace_segments_stored gauge");
    line("sealtrace_segments_stored " + std::to_string(counts->segments));
    line("# HELP sealtrace_segment_bytes_stored Bytes of sealed segments held by the vault.");
    line("# TYPE sealtrace_segment_bytes_stored gauge");
    line("sealtrace_segment_bytes_stored " + std::to_string(counts->segment_bytes));
    line("# HELP sealtrace_devices Enrolled devices.");
    line("# TYPE sealtrace_devices gauge");
    line("sealtrace_devices " + std::to_string(counts->devices));
    line("# HELP sealtrace_contributors Enrolled contributors.");
    line("# TYPE sealtrace_contributors gauge");
    line("sealtrace_contributors " + std::to_string(counts->contributors));
  }
  line("# HELP sealtrace_http_request_duration_seconds HTTP request latency by route.");
  line("# TYPE sealtrace_http_request_duration_seconds histogram");
  for (int r = 0; r < Idx(Route::kNum); ++r) {
    const Histogram& h = latency_[r];
    std::string route = RouteName(static_cast<Route>(r));
    for (int i = 0; i < kBuckets; ++i) {
      line("sealtrace_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" +
           Seconds(static_cast<uint64_t>(kBucketMicros[i])) + "\"} " +
           std::to_string(h.le[i].load(std::memory_order_relaxed)));
    }
    std::string count = std::to_string(h.count.load(std::memory_order_relaxed));
    line("sealtrace_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
         count);
    line("sealtrace_http_request_duration_seconds_sum{route=\"" + route + "\"} " +
         Seconds(h.sum_micros.load(std::memory_order_relaxed)));
    line("sealtrace_http_request_duration_seconds_count{route=\"" + route + "\"} " + count);
  }
  return out;
}

}  // namespace sealtrace::vault
