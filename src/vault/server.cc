#include "vault/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "vault/enroll.h"

namespace sealtrace::vault {
namespace {

constexpr char kJson[] = "application/json";

std::string ErrorBody(const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", code}, {"message", message}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  res.status = status;
  res.set_content(ErrorBody(code, message), kJson);
}

std::optional<uint64_t> ContentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  uint64_t n = 0;
  if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &n)) {
    return std::numeric_limits<uint64_t>::max();
  }
  return n;
}

// Reads the request body through `reader`, stopping once it exceeds `cap`.
// Returns false if the client went away or the body exceeded `cap` (then *over = true).
bool ReadCapped(const httplib::ContentReader& reader, size_t cap, std::string* body, bool* over) {
  *over = false;
  return reader([&](const char* data, size_t n) {
    if (body->size() + n > cap) {
      *over = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
}

}  // namespace

struct VaultServer::Impl {
  static std::unique_ptr<httplib::Server> MakeServer(const ServerOptions& o, bool* valid,
                                                     bool* tls) {
    if (!o.tls_cert_file.empty() && !o.tls_key_file.empty()) {
      auto ssl =
          std::make_unique<httplib::SSLServer>(o.tls_cert_file.c_str(), o.tls_key_file.c_str());
      *valid = ssl->is_valid();
      *tls = true;
      return ssl;
    }
    return std::make_unique<httplib::Server>();
  }
  Impl(Vault* v, ServerOptions o)
      : vault(v), options(std::move(o)), owned(MakeServer(options, &valid, &tls)), svr(*owned) {}
  Vault* vault;
  ServerOptions options;
  bool valid = true;
  bool tls = false;
  std::unique_ptr<httplib::Server> owned;
  httplib::Server& svr;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> serving{false};
  bool bound = false;

  int64_t Now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void Observe(Route r, int64_t start) { vault->metrics()->ObserveLatency(r, Now() - start); }

  void HandleSegments(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) {
    const int64_t start = Now();
    IngestRequest in;
    const std::string auth = req.get_header_value("Authorization");
    const std::string declared = req.get_header_value("X-Sealtrace-Segment-Id");
    in.authorization = auth;
    in.declared_segment_id = declared;
    in.content_length = ContentLength(req);
    std::string body;
    bool consumed = false;
    // Refuse before reading the body when the token or the declared size already fail:
    // IngestService checks the token first, then the size.
    auto pre = AuthenticateDevice(vault->store(), auth);
    bool early =
        !pre.ok() || (in.content_length && *in.content_length > vault->max_segment_bytes());
    if (!early && req.is_multipart_form_data()) {
      in.content_length.reset();
      early = true;  // empty body -> malformed
    }
    if (!early) {
      bool over = false;
      bool ok = ReadCapped(reader, vault->max_segment_bytes(), &body, &over);
      consumed = ok;
      if (over) in.content_length = vault->max_segment_bytes() + 1;
      // A body cut short (client gone, timeout) is judged as sent: truncated or malformed.
    }
    in.body = body;
    IngestResult r = vault->ingest()->Ingest(in);
    if (!consumed) res.set_header("Connection", "close");
    if (r.ok()) {
      nlohmann::json j = {{"status", IngestOutcomeName(r.outcome)},
                          {"segment_id", r.segment_id},
                          {"sequence", r.sequence}};
      res.status = 200;
      res.set_content(j.dump(), kJson);
    } else {
      nlohmann::json j = {{"error", IngestOutcomeName(r.outcome)}, {"message", r.message}};
      if (!r.segment_id.empty()) j["segment_id"] = r.segment_id;
      res.status = r.http_status();
      if (r.outcome == IngestOutcome::kStorageError) res.set_header("Retry-After", "5");
      if (r.outcome == IngestOutcome::kUnauthenticated) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
      }
      res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
    }
    Observe(Route::kSegments, start);
  }

  void HandleEnroll(const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) {
    const int64_t start = Now();
    auto len = ContentLength(req);
    if (len && *len > kMaxEnrollBodyBytes) {
      vault->metrics()->CountEnroll(EnrollOutcome::kInvalid);
      res.set_header("Connection", "close");
      SendError(res, 413, "invalid", "enrolment request body is too large");
      Observe(Route::kEnroll, start);
      return;
    }
    std::string body;
    bool over = false;
    bool ok = ReadCapped(reader, kMaxEnrollBodyBytes, &body, &over);
    if (!ok) res.set_header("Connection", "close");
    if (over) body.assign(kMaxEnrollBodyBytes + 1, ' ');  // ParseEnrollBody refuses: too large
    const std::string auth = req.get_header_value("Authorization");
    EnrollResult r = vault->enroll()->Enroll({auth, body});
    res.status = r.http_status();
    if (r.outcome == EnrollOutcome::kStorageError) res.set_header("Retry-After", "5");
    res.set_header("Cache-Control", "no-store");
    std::string out = r.ToJson();
    if (r.outcome == EnrollOutcome::kEnrolled && options.api != nullptr) {
      // The access layer records the enrolment in the audit log and, for a new
      // contributor, issues the single-use sign-in code for their first passkey;
      // if it cannot, the device token is never shown.
      auto extra = options.api->OnEnrolled(r.contributor_id, r.device_id, r.name,
                                           r.new_contributor, r.via);
      if (!extra.ok()) {
        // Nothing partially enrolled: undo it, so the same name can retry.
        if (auto s = vault->enroll()->Abandon(r); !s.ok()) {
          spdlog::error("enroll: cannot undo device {}: {}", r.device_id, std::string(s.message()));
        }
        res.status = 503;
        res.set_header("Retry-After", "5");
        out = ErrorBody("storage_error", "enrolment could not be recorded in the audit log");
      } else {
        nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
        for (const auto& [k, v] : *extra) j[k] = v;
        out = j.dump();
      }
    }
    res.set_content(out, kJson);
    Observe(Route::kEnroll, start);
  }

  void HandleDeviceState(const httplib::Request& req, httplib::Response& res) {
    const int64_t start = Now();
    std::optional<SpoolReport> spool;
    if (req.has_header("X-Sealtrace-Spool")) {
      spool = ParseSpoolHeader(req.get_header_value("X-Sealtrace-Spool"));
    }
    auto st = vault->GetDeviceState(req.get_header_value("Authorization"), spool);
    if (st.ok()) {
      nlohmann::json j = {{"programme_state", st->programme_state},
                          {"recording_allowed", st->recording_allowed},
                          {"contributor_paused", st->contributor_paused},
                          {"title_policy", st->title_policy}};
      res.status = 200;
      res.set_content(j.dump(), kJson);
    } else if (absl::IsUnauthenticated(st.status())) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
      SendError(res, 401, "unauthenticated", std::string(st.status().message()));
    } else {
      res.set_header("Retry-After", "5");
      SendError(res, 503, "storage_error", "store unavailable");
    }
    Observe(Route::kDeviceState, start);
  }

  void Register() {
    if (options.register_routes) options.register_routes(svr);
    svr.set_payload_max_length(vault->max_segment_bytes());
    svr.Post("/v1/segments",
             [this](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) { HandleSegments(req, res, reader); });
    svr.Post("/v1/enroll",
             [this](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) { HandleEnroll(req, res, reader); });
    svr.Get("/v1/device/state", [this](const httplib::Request& req, httplib::Response& res) {
      HandleDeviceState(req, res);
    });
    svr.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      const int64_t start = Now();
      absl::Status s = vault->Health();
      if (s.ok()) {
        res.status = 200;
        res.set_content("ok\n", "text/plain");
      } else {
        SendError(res, 503, "unavailable", "metadata store does not answer");
      }
      Observe(Route::kHealthz, start);
    });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const int64_t start = Now();
      auto counts = vault->store()->Counts();
      res.status = 200;
      res.set_content(vault->metrics()->RenderPrometheus(counts.ok() ? &*counts : nullptr),
                      "text/plain; version=0.0.4");
      Observe(Route::kMetrics, start);
    });
    if (options.api != nullptr) {
      auto forward = [this](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader* reader) {
        ApiRequest a;
        a.method = req.method;
        a.path = req.path;
        a.authorization = req.get_header_value("Authorization");
        for (const auto& [k, v] : req.params) a.params.emplace(k, v);
        const size_t cap = options.api->MaxBodyBytes();
        auto len = ContentLength(req);
        if (len && *len > cap) {
          a.body_too_large = true;
          res.set_header("Connection", "close");
        } else if (reader != nullptr) {
          bool over = false;
          bool ok = ReadCapped(*reader, cap, &a.body, &over);
          if (over) {
            a.body_too_large = true;
            a.body.clear();
          }
          if (!ok) res.set_header("Connection", "close");
        }
        ApiResponse out = options.api->Handle(a);
        res.status = out.status;
        res.set_header("Cache-Control", "no-store");
        if (out.status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
        res.set_content(out.body, out.content_type.c_str());
      };
      const char* pattern = R"(/v1/.+)";
      svr.Get(pattern, [forward](const httplib::Request& req, httplib::Response& res) {
        forward(req, res, nullptr);
      });
      svr.Post(pattern,
               [forward](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) { forward(req, res, &reader); });
      svr.Put(pattern,
              [forward](const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) { forward(req, res, &reader); });
      svr.Delete(pattern, [forward](const httplib::Request& req, httplib::Response& res) {
        forward(req, res, nullptr);
      });
    }
    svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      switch (res.status) {
        case 404:
          SendError(res, 404, "not_found", "no such route");
          break;
        case 405:
          SendError(res, 405, "method_not_allowed", "method not allowed");
          break;
        case 413:
          SendError(res, 413, "oversized", "request body too large");
          break;
        default:
          SendError(res, res.status, "bad_request", "request could not be processed");
      }
    });
    svr.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          SendError(res, 500, "internal", "internal error");
        });
    svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      // Method, path and status only: never headers (tokens) or bodies.
      if (req.path == "/healthz" || req.path == "/metrics") {
        spdlog::debug("http {} {} -> {}", req.method, req.path, res.status);
      } else {
        spdlog::info("http {} {} -> {}", req.method, req.path, res.status);
      }
    });
  }
};

VaultServer::VaultServer(Vault* vault, ServerOptions options)
    : impl_(std::make_unique<Impl>(vault, std::move(options))) {
  if (impl_->valid) impl_->Register();
}

bool VaultServer::valid() const { return impl_->valid; }
bool VaultServer::tls() const { return impl_->tls; }

VaultServer::~VaultServer() { Stop(); }

absl::StatusOr<int> VaultServer::Bind(const std::string& host, int port) {
  if (impl_->bound) return absl::FailedPreconditionError("server already bound");
  if (!impl_->valid) {
    return absl::FailedPreconditionError("TLS certificate or key could not be loaded (" +
                                         impl_->options.tls_cert_file + ", " +
                                         impl_->options.tls_key_file + ")");
  }
  int bound = port;
  if (port == 0) {
    bound = impl_->svr.bind_to_any_port(host);
    if (bound < 0) return absl::UnavailableError("cannot bind " + host + " to a free port");
  } else if (!impl_->svr.bind_to_port(host, port)) {
    return absl::UnavailableError("cannot bind " + host + ":" + std::to_string(port) +
                                  " (in use, or not a local address?)");
  }
  impl_->bound = true;
  return bound;
}

absl::Status VaultServer::Serve() {
  if (!impl_->bound) return absl::FailedPreconditionError("Serve() before Bind()");
  impl_->serving = true;
  absl::Status s = absl::OkStatus();
  if (!impl_->stop_requested) {
    if (!impl_->svr.listen_after_bind() && !impl_->stop_requested) {
      s = absl::UnavailableError("HTTP listen loop failed");
    }
  }
  impl_->serving = false;
  return s;
}

void VaultServer::Stop() {
  impl_->stop_requested = true;
  // Serve() may be between its flag check and the listen loop's start: wait for the
  // loop to run (or for Serve to return) so stop() takes effect.
  while (impl_->serving && !impl_->svr.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->svr.stop();
}

}  // namespace sealtrace::vault
