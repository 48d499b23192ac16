#include "vault/http_routes.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace sealtrace::vault {

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

net::HttpResponse IngestResponse(const IngestResult& r, int retry_after_s) {
  if (r.ok()) {
    nlohmann::json j = {{"status", IngestOutcomeName(r.outcome)},
                        {"segment_id", r.segment_id},
                        {"sequence", r.sequence}};
    return net::HttpResponse::Json(200, j.dump());
  }
  nlohmann::json j = {{"error", IngestOutcomeName(r.outcome)}, {"message", r.message}};
  if (!r.segment_id.empty()) j["segment_id"] = r.segment_id;
  auto out = net::HttpResponse::Json(
      r.http_status(), j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (r.outcome == IngestOutcome::kStorageError) {
    out.SetHeader("Retry-After", std::to_string(retry_after_s));
  }
  if (r.outcome == IngestOutcome::kUnauthenticated) {
    out.SetHeader("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
  }
  return out;
}

}  // namespace

net::Route SegmentsRoute(SegmentsRouteOptions o) {
  net::Route r;
  r.method = "POST";
  r.pattern = "/v1/segments";
  r.max_body = o.max_segment_bytes;
  // IngestService checks the token first, then the size: refuse both before
  // reading the body.
  r.read_body_if = [device_known = o.device_known](const net::HttpRequest& req) {
    return device_known(req.Header("Authorization"));
  };
  r.handler = [o](const net::HttpRequest& req) {
    const int64_t start = SteadyMicros();
    const std::string auth = req.Header("Authorization");
    const std::string declared = req.Header("X-Sealtrace-Segment-Id");
    IngestRequest in;
    in.authorization = auth;
    in.declared_segment_id = declared;
    in.content_length = req.content_length;
    if (req.multipart) in.content_length.reset();  // empty body -> malformed
    // A body beyond the cap is judged by its size; one cut short (client
    // gone, timeout) as sent: truncated or malformed.
    if (req.body_too_large) in.content_length = o.max_segment_bytes + 1;
    in.body = req.body;
    auto out = IngestResponse(o.ingest(in), o.retry_after_s);
    if (o.observe_latency) o.observe_latency(SteadyMicros() - start);
    return out;
  };
  return r;
}

net::HttpResponse DeviceStateResponse(const absl::StatusOr<DeviceState>& st) {
  if (st.ok()) {
    nlohmann::json j = {{"programme_state", st->programme_state},
                        {"recording_allowed", st->recording_allowed},
                        {"contributor_paused", st->contributor_paused},
                        {"title_policy", st->title_policy}};
    return net::HttpResponse::Json(200, j.dump());
  }
  if (absl::IsUnauthenticated(st.status())) {
    return net::ErrorResponse(401, "unauthenticated", std::string(st.status().message()));
  }
  auto out = net::ErrorResponse(503, "storage_error", "store unavailable");
  out.SetHeader("Retry-After", "5");
  return out;
}

}  // namespace sealtrace::vault
