#include "vault/server.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "vault/enroll.h"
#include "vault/http_routes.h"

namespace sealtrace::vault {

struct VaultServer::Impl {
  Impl(Vault* v, ServerOptions o)
      : vault(v),
        options(std::move(o)),
        http(net::HttpServerOptions{options.tls_cert_file, options.tls_key_file, 0, "http"}) {}
  Vault* vault;
  ServerOptions options;
  net::HttpServer http;

  void Observe(Route r, int64_t start) {
    vault->metrics()->ObserveLatency(r, SteadyMicros() - start);
  }

  net::HttpResponse HandleEnroll(const net::HttpRequest& req) {
    const int64_t start = SteadyMicros();
    if (req.body_too_large) {
      vault->metrics()->CountEnroll(EnrollOutcome::kInvalid);
      Observe(Route::kEnroll, start);
      return net::ErrorResponse(413, "invalid", "enrolment request body is too large");
    }
    EnrollResult r = vault->enroll()->Enroll({req.Header("Authorization"), req.body});
    auto out = net::HttpResponse::Json(r.http_status(), r.ToJson());
    if (r.outcome == EnrollOutcome::kStorageError) out.SetHeader("Retry-After", "5");
    out.SetHeader("Cache-Control", "no-store");
    if (r.outcome == EnrollOutcome::kEnrolled && options.api != nullptr) {
      // The access layer records the enrolment in the audit log and, for a new
      // contributor, issues the single-use sign-in code for their first passkey;
      // if it cannot, the device token is never shown.
      auto extra =
          options.api->OnEnrolled(r.contributor_id, r.device_id, r.name, r.new_contributor, r.via);
      if (!extra.ok()) {
        // Nothing partially enrolled: undo it, so the same name can retry.
        if (auto s = vault->enroll()->Abandon(r); !s.ok()) {
          spdlog::error("enroll: cannot undo device {}: {}", r.device_id, std::string(s.message()));
        }
        out = net::ErrorResponse(503, "storage_error",
                                 "enrolment could not be recorded in the audit log");
        out.SetHeader("Retry-After", "5");
        out.SetHeader("Cache-Control", "no-store");
      } else {
        nlohmann::json j = nlohmann::json::parse(out.body, nullptr, false);
        for (const auto& [k, v] : *extra) j[k] = v;
        out.body = j.dump();
      }
    }
    Observe(Route::kEnroll, start);
    return out;
  }

  net::HttpResponse HandleDeviceState(const net::HttpRequest& req) {
    const int64_t start = SteadyMicros();
    std::optional<SpoolReport> spool;
    if (req.HasHeader("X-Sealtrace-Spool")) {
      spool = ParseSpoolHeader(req.Header("X-Sealtrace-Spool"));
    }
    auto out = DeviceStateResponse(vault->GetDeviceState(req.Header("Authorization"), spool));
    Observe(Route::kDeviceState, start);
    return out;
  }

  net::HttpResponse HandleHealth() {
    const int64_t start = SteadyMicros();
    // The store down: 503 (this node cannot ingest). The keys down: still 200,
    // since ingest goes on, but the body says reads are refused.
    net::HttpResponse out = net::HttpResponse::Text(200, "ok\n");
    if (!vault->Health().ok()) {
      out = net::ErrorResponse(503, "unavailable", "metadata store does not answer");
    } else if (absl::Status k = vault->KeysHealth(); !k.ok()) {
      out = net::HttpResponse::Text(
          200, "degraded: master keys unavailable (" + std::string(k.message()) +
                   "); reads are refused, ingest continues\n");
    }
    Observe(Route::kHealthz, start);
    return out;
  }

  net::HttpResponse HandleMetrics() {
    const int64_t start = SteadyMicros();
    auto counts = vault->store()->Counts();
    std::string text = vault->metrics()->RenderPrometheus(counts.ok() ? &*counts : nullptr);
    text += "# HELP sealtrace_vault_keys_available 1 when the master keys (key file or HSM) "
            "can be used; reads are refused while 0.\n# TYPE sealtrace_vault_keys_available "
            "gauge\nsealtrace_vault_keys_available ";
    text += vault->KeysHealth().ok() ? "1\n" : "0\n";
    auto out = net::HttpResponse::Text(200, text, "text/plain; version=0.0.4");
    Observe(Route::kMetrics, start);
    return out;
  }

  void Register() {
    SegmentsRouteOptions so;
    so.max_segment_bytes = vault->max_segment_bytes();
    so.device_known = [this](std::string_view auth) {
      return AuthenticateDevice(vault->store(), auth).ok();
    };
    so.ingest = [this](const IngestRequest& in) { return vault->ingest()->Ingest(in); };
    so.observe_latency = [this](int64_t us) {
      vault->metrics()->ObserveLatency(Route::kSegments, us);
    };
    http.AddRoute(SegmentsRoute(std::move(so)));
    http.AddRoute(net::Route::Post("/v1/enroll", kMaxEnrollBodyBytes,
                                   [this](const net::HttpRequest& r) { return HandleEnroll(r); }));
    http.AddRoute(net::Route::Get(
        "/v1/device/state", [this](const net::HttpRequest& r) { return HandleDeviceState(r); }));
    http.AddRoute(net::Route::Get("/healthz", [this](const net::HttpRequest&) {
                    return HandleHealth();
                  }).Quiet());
    http.AddRoute(net::Route::Get("/metrics", [this](const net::HttpRequest&) {
                    return HandleMetrics();
                  }).Quiet());
    if (options.api != nullptr) options.api->RegisterRoutes(http);
    if (options.register_routes) options.register_routes(http);
  }
};

VaultServer::VaultServer(Vault* vault, ServerOptions options)
    : impl_(std::make_unique<Impl>(vault, std::move(options))) {
  if (impl_->http.valid()) impl_->Register();
}

bool VaultServer::valid() const { return impl_->http.valid(); }
bool VaultServer::tls() const { return impl_->http.tls(); }

VaultServer::~VaultServer() { Stop(); }

absl::StatusOr<int> VaultServer::Bind(const std::string& host, int port) {
  return impl_->http.Bind(host, port);
}

absl::Status VaultServer::Serve() { return impl_->http.Serve(); }

void VaultServer::Stop() { impl_->http.Stop(); }

}  // namespace sealtrace::vault
