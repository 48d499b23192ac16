// VaultServer: the vault's HTTP API (cpp-httplib; plain HTTP until TLS lands
// with the access issue, so the CLI binds loopback unless told otherwise).
//
//   POST /v1/enroll        Authorization: Bearer <enrolment secret>, JSON {"name": "..."}
//   POST /v1/segments      Authorization: Bearer <device token>, body = sealed segment file
//   GET  /v1/device/state  Authorization: Bearer <device token>
//   GET  /healthz          "ok" when the metadata store answers
//   GET  /metrics          Prometheus text format
// Errors are JSON {"error": code, "message": reason}. See server.cc for details.
//
// Never logs tokens, secrets or body bytes.
//
// Ownership: borrows the Vault, which must outlive the server.
// Thread-safety: Bind and Serve from one thread; Stop from any thread (also
// from a signal-handling thread); requests are served by a thread pool.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vault/vault.h"

namespace sealtrace::vault {

class VaultServer {
 public:
  explicit VaultServer(Vault* vault);
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
