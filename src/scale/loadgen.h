// Load generator: N simulated devices upload realistic sealed segments
// (SegmentBuilder, the agent's HTTP client) at a fixed total rate and report
// throughput and acknowledgement latency. Like an agent, it retries an upload
// that was not acknowledged (network error, 5xx) until it is, or until
// give_up_after_ms; permanent refusals (400/403/409/413) count as failed.
//
// Devices are enrolled through POST /v1/enroll with the enrolment secret, or
// read from a devices file (JSON lines written by a previous run with
// --save-devices: {"device_token", "contributor_id", "device_id",
// "contributor_public_key" (base64url)}). The file holds device tokens: keep it
// 0600 (it is created so).
//
// Thread-safety: RunLoadgen is self-contained; `stop` may be set from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace::scale {

struct LoadgenOptions {
  std::vector<std::string> servers;  // http://host:port; devices are spread over them
  int devices = 10;
  double rate = 10;           // segments per second, all devices together
  double duration_s = 10;     // sending time (acks of the last uploads may take longer)
  uint64_t max_segments = 0;  // 0 = rate * duration
  std::string enrol_secret;   // enrol devices with it ...
  std::string devices_file;   // ... or read them from here
  std::string save_devices;   // write the enrolled devices here (0600)
  std::string name_prefix = "loadgen";
  double segment_seconds = 10;  // simulated time per segment
  double events_per_second = 13;
  int frame_every = 0;             // every Nth segment is a frame segment (0 = none)
  size_t frame_bytes = 300 << 10;  // payload of a frame segment
  int threads = 8;                 // concurrent uploads
  int64_t give_up_after_ms = 120000;
  uint64_t seed = 1;
};

struct LoadgenReport {
  uint64_t sent = 0;     // distinct segments attempted
  uint64_t acked = 0;    // acknowledged (stored or duplicate)
  uint64_t failed = 0;   // refused permanently or given up
  uint64_t retried = 0;  // extra attempts
  uint64_t bytes = 0;    // bytes of acknowledged segments
  uint64_t events = 0;   // events in acknowledged segments
  double elapsed_s = 0;
  // Latency of the acknowledging request, and from the first attempt to the ack.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  double e2e_p50_ms = 0, e2e_p99_ms = 0, e2e_max_ms = 0;
  std::vector<std::string> acked_ids;  // segment ids (hex) acknowledged
  std::string ToText() const;
};

absl::StatusOr<LoadgenReport> RunLoadgen(const LoadgenOptions& options,
                                         const std::atomic<bool>* stop = nullptr);

}  // namespace sealtrace::scale
