// Entry points of the scale roles (`sealtrace server --role ingest|writer`,
// `sealtrace scale run`). Each blocks until `stop` becomes true (or a fatal
// error) and returns how it ended.
//
//   RunIngestGateway: HTTP front with the embedded vault's contract
//     (POST /v1/segments, GET /v1/device/state, GET /healthz, GET /metrics, and
//     POST /v1/enroll when gateway.enroll is set) over IngestGateway ->
//     JetStream (stream created/updated with R=nats.replicas, file storage,
//     duplicate window).
//   RunWriter: writer.threads pull loops on the shared durable consumer; stores
//     blob then metadata; acks after both; parks poison messages on
//     nats.park_stream (with the reason in a header) and counts them in
//     metrics and logs.
//
// Thread-safety: call from one thread; `stop` may be set from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "scale/config.h"

namespace sealtrace::scale {

struct RoleOptions {
  const std::atomic<bool>* stop = nullptr;  // nullptr = run until a fatal error
  // Called once the gateway listens (with the bound port; useful with port 0).
  std::function<void(int port)> on_listening;
};

absl::Status RunIngestGateway(const ScaleConfig& config, const RoleOptions& options = {});
absl::Status RunWriter(const ScaleConfig& config, const RoleOptions& options = {});

}  // namespace sealtrace::scale
