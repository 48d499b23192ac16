// EnrollService: creates contributors, their key pairs and devices.
//
// Pure logic, no HTTP (the server maps requests/results; the fuzzer calls
// ParseEnrollBody directly). Two ways in, and neither reaches an existing
// contributor with the fleet's secret alone:
//  - the enrolment secret (32 random bytes, base64url, in <data>/enroll.secret)
//    creates a NEW contributor and its X25519 key pair; a name that is taken
//    is refused (kNameTaken, 409) with a message that says how to add a device;
//  - a single-use, expiring invitation an operator issued for one name
//    (large sites: no fleet secret on devices) creates that contributor;
//  - a single-use device code, created by the contributor from a signed-in
//    session and checked by the access layer (DeviceCodeCheck), adds a device
//    to that contributor (no secret needed, the name is ignored).
// Each enrolment makes a new device
// with a fresh token ("std_" + base64url(32 random bytes)); the vault stores
// only SHA-256(token), so the token is shown exactly once, in the result.
//
// Crash behaviour: the contributor key row is written before the contributor
// row. A crash between them leaves a key row no contributor refers to
// (harmless: no data is sealed to it, no device knows it).
//
// Thread-safety: safe for concurrent use; of concurrent enrolments of one new
// name exactly one creates the contributor, the others get kNameTaken.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "vault/key_service.h"
#include "vault/metadata_store.h"
#include "vault/metrics.h"

namespace sealtrace::vault {

inline constexpr size_t kMaxEnrollBodyBytes = 4096;
inline constexpr size_t kMaxNameChars = 64;

// 1..64 Unicode code points of valid UTF-8, no control characters, no
// leading or trailing whitespace.
absl::Status ValidateContributorName(std::string_view name);
struct EnrollBody {
  std::string name;         // validated; may be empty when device_code or invitation is set
  std::string device_code;  // a device joining an existing contributor
  std::string invitation;   // a new contributor invited by name by an operator
};
// Parses {"name": "..."} or {"device_code": "...", "name"?: "..."} (other
// members ignored) and validates the name. INVALID_ARGUMENT with a reason on
// anything else. Never throws.
absl::StatusOr<EnrollBody> ParseEnrollBody(std::string_view body);

struct EnrollRequest {
  std::string_view authorization;  // "Bearer <enrolment secret>" (new contributors)
  std::string_view body;           // JSON
};

// Checks and uses up a device code; returns the hex id of the contributor
// who created it. PERMISSION_DENIED with a reason for an unknown, used or
// expired code (the checker audits it); UNAVAILABLE when it cannot answer.
using DeviceCodeCheck = std::function<absl::StatusOr<std::string>(std::string_view code)>;
// Checks and uses up a per-person invitation; returns the invited name.
// PERMISSION_DENIED for an unknown, used or expired invitation.
using InvitationCheck = std::function<absl::StatusOr<std::string>(std::string_view code)>;

struct EnrollResult {
  EnrollOutcome outcome = EnrollOutcome::kInvalid;
  std::string message;  // reason on refusal
  // Set when outcome == kEnrolled:
  std::string contributor_id;          // hex
  std::string device_id;               // hex
  std::string device_token;            // shown once, never stored or logged
  std::string contributor_public_key;  // 32 raw bytes
  std::string key_id;                  // hex of KeyIdOf(public key)
  bool new_contributor = false;
  std::string via;   // "secret", "invitation" or "device_code"
  std::string name;  // the new contributor's name ("" when a device joined)
  int http_status() const;
  // {"contributor_id", "device_id", "device_token", "contributor_public_key" (standard
  // base64), "key_id"} on success; {"error", "message"} otherwise.
  std::string ToJson() const;
};

class EnrollService {
 public:
  // Pointers are borrowed and must outlive the service.
  EnrollService(MetadataStore* store, KeyService* keys, Env* env, VaultMetrics* metrics,
                std::string enrolment_secret);
  EnrollResult Enroll(const EnrollRequest& req);
  // Undoes a successful Enroll whose recording in the access layer failed (the
  // device token was never shown): the device, and a new contributor with
  // their key, are deleted, so a retry with the same name works.
  absl::Status Abandon(const EnrollResult& r);
  // Set once, before serving (the access layer's check). Without one, device
  // codes are refused.
  void SetDeviceCodeCheck(DeviceCodeCheck check) { device_code_check_ = std::move(check); }
  void SetInvitationCheck(InvitationCheck check) { invitation_check_ = std::move(check); }
  // Set once, before serving: told of every refused attempt to enrol under an
  // existing contributor's name (the access layer audits it so the
  // contributor sees it).
  using NameTakenAudit = std::function<void(const std::string& contributor_hex)>;
  void SetNameTakenAudit(NameTakenAudit audit) { name_taken_audit_ = std::move(audit); }

 private:
  absl::StatusOr<ContributorRecord> ContributorForCode(const std::string& code,
                                                       EnrollResult* refused);
  EnrollResult Handle(const EnrollRequest& req);
  absl::StatusOr<ContributorRecord> CreateContributor(const std::string& name, bool* taken);

  MetadataStore* store_;
  KeyService* keys_;
  Env* env_;
  VaultMetrics* metrics_;
  std::string secret_hash_;  // SHA-256 of the enrolment secret
  DeviceCodeCheck device_code_check_;
  InvitationCheck invitation_check_;
  NameTakenAudit name_taken_audit_;
};

// Reads a secret file (creating it with 32 random bytes, base64url, mode 0600,
// when absent) and refuses one that group or others may access.
absl::StatusOr<std::string> LoadOrCreateSecretFile(Env* env, const std::string& path);

}  // namespace sealtrace::vault
