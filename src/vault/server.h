// VaultServer: the vault's HTTP API, on the one HTTP core (net/http_server.h).
// HTTPS when ServerOptions names a certificate and key; plain HTTP only
// when the caller allows it (the CLI permits it on loopback with
// --allow-plain-http).
//
//   POST /v1/enroll        Authorization: Bearer <enrolment secret>, JSON {"name": "..."}
//   POST /v1/segments      Authorization: Bearer <device token>, body = sealed segment file
//   GET  /v1/device/state  Authorization: Bearer <device token>
//   GET  /healthz          "ok" when the metadata store answers
//   GET  /metrics          Prometheus text format
//   /v1/...                every other /v1 route goes to ServerOptions::api (the
//                          access layer, src/access/http_api.h) when set
// Errors are JSON {"error": code, "message": reason} (net::ErrorResponse).
//
// Never logs tokens, secrets or body bytes.
//
// Ownership: borrows the Vault, which must outlive the server.
// Thread-safety: Bind and Serve from one thread; Stop from any thread (also
// from a signal-handling thread); requests are served by a thread pool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "net/http_server.h"
#include "vault/vault.h"

namespace sealtrace::vault {

// An extension serving further /v1 routes (the access layer implements it).
// Thread-safety: OnEnrolled is called concurrently from the server's pool.
class ApiHandler {
 public:
  virtual ~ApiHandler() = default;
  // Adds its routes; called once, after the vault's own.
  virtual void RegisterRoutes(net::HttpServer& server) = 0;
  // After a successful enrolment, before its response is sent: returns extra
  // string members for the JSON response (e.g. a contributor login token). An
  // error turns the response into 503 (the device token is then never shown).
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> OnEnrolled(
      const std::string& contributor_id_hex, const std::string& device_id_hex,
      const std::string& name, bool new_contributor, const std::string& via) = 0;
};

struct ServerOptions {
  std::string tls_cert_file;  // PEM; both set = HTTPS
  std::string tls_key_file;   // PEM private key
  ApiHandler* api = nullptr;  // borrowed; must outlive the server
  // Registers further routes (the dashboard) on the server, after the api's.
  std::function<void(net::HttpServer&)> register_routes;
};

class VaultServer {
 public:
  explicit VaultServer(Vault* vault, ServerOptions options = {});
  // Whether the certificate and key loaded (always true for plain HTTP).
  bool valid() const;
  bool tls() const;
  ~VaultServer();
  VaultServer(const VaultServer&) = delete;
  VaultServer& operator=(const VaultServer&) = delete;

  // Binds and listens; port 0 picks a free port. Returns the bound port.
  // Connections queue from here on and are served once Serve() runs.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(). Returns an error if the listen loop failed.
  absl::Status Serve();
  // Stops accepting, lets in-flight requests finish, makes Serve() return.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealtrace::vault
