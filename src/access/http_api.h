// AccessApi: the access layer's HTTP routes (JSON, bearer tokens), registered
// on the vault's HTTP server (net/http_server.h) through vault::ApiHandler. Routes are listed in
// docs/API.md. Request bodies are capped at kMaxApiBodyBytes (413 beyond);
// malformed JSON or parameters get 400 with a reason; refusals get 401/403
// with {"error", "rule", "message"}; audit-log failures 503 (fail closed).
//
// Ownership: borrows the AccessService. Thread-safety: safe for concurrent use.
#pragma once

#include "access/access_service.h"
#include "access/signin.h"
#include "vault/server.h"

namespace sealtrace::access {

inline constexpr size_t kMaxApiBodyBytes = 64 << 10;

class AccessApi final : public vault::ApiHandler {
 public:
  // `signin` may be null (then the sign-in routes answer 501 and enrolment
  // issues no sign-in code).
  AccessApi(AccessService* service, SignInService* signin) : service_(service), signin_(signin) {}
  void RegisterRoutes(net::HttpServer& server) override;
  // One request (as RegisterRoutes' routes call it; public for tests).
  net::HttpResponse Handle(const net::HttpRequest& req);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> OnEnrolled(
      const std::string& contributor_id_hex, const std::string& device_id_hex,
      const std::string& name, bool new_contributor, const std::string& via) override;

 private:
  net::HttpResponse HandleSignIn(const net::HttpRequest& req);
  AccessService* service_;
  SignInService* signin_;
};

}  // namespace sealtrace::access
