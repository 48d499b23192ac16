// The device-facing HTTP routes, written once for the two processes that
// serve them: the vault (vault/server.cc) and the scale-out ingest gateway
// (scale/roles.cc). Each takes the process's own ingest and authentication
// as functions, so the wire behaviour (statuses, headers, JSON, when the body
// is read) cannot drift between them.
//
//   POST /v1/segments      Authorization: Bearer <device token>, body = sealed segment
//   GET  /v1/device/state  Authorization: Bearer <device token>
//
// Thread-safety: the functions passed in are called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "net/http_server.h"
#include "vault/ingest.h"
#include "vault/vault.h"

namespace sealtrace::vault {

struct SegmentsRouteOptions {
  size_t max_segment_bytes = 0;
  // True when the Authorization header names a known device: the body is
  // read only then (and only within max_segment_bytes); otherwise ingest
  // judges the request without it and the connection is closed.
  std::function<bool(std::string_view authorization)> device_known;
  std::function<IngestResult(const IngestRequest&)> ingest;
  int retry_after_s = 5;                                // Retry-After on storage errors
  std::function<void(int64_t micros)> observe_latency;  // optional
};
net::Route SegmentsRoute(SegmentsRouteOptions o);

// 200 {"programme_state", "recording_allowed", "contributor_paused",
// "title_policy"}, 401 for an unknown token, 503 when the store fails.
net::HttpResponse DeviceStateResponse(const absl::StatusOr<DeviceState>& st);

// Microseconds of a steady clock, for route latency metrics.
int64_t SteadyMicros();

}  // namespace sealtrace::vault
