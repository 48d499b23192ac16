// EnrollService: creates contributors, their key pairs and devices.
//
// Pure logic, no HTTP (the server maps requests/results; the fuzzer calls
// ParseEnrollBody directly). The caller proves it may enrol with the
// enrolment secret (32 random bytes, base64url, in <data>/enroll.secret).
// A new name creates a contributor and its X25519 key pair; a known name
// reuses that contributor and adds a device. Each enrolment makes a new device
// with a fresh token ("std_" + base64url(32 random bytes)); the vault stores
// only SHA-256(token), so the token is shown exactly once, in the result.
//
// Crash behaviour: the contributor key row is written before the contributor
// row. A crash between them leaves a key row no contributor refers to
// (harmless: no data is sealed to it, no device knows it).
//
// Thread-safety: safe for concurrent use; concurrent enrolments of one new name
// converge on one contributor.
#pragma once

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
// Parses {"name": "..."} (other members ignored) and validates the name.
// INVALID_ARGUMENT with a reason on anything else. Never throws.
absl::StatusOr<std::string> ParseEnrollBody(std::string_view body);

struct EnrollRequest {
  std::string_view authorization;  // "Bearer <enrolment secret>"
  std::string_view body;           // JSON
};

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

 private:
  EnrollResult Handle(const EnrollRequest& req);
  absl::StatusOr<ContributorRecord> FindOrCreateContributor(const std::string& name, bool* created);

  MetadataStore* store_;
  KeyService* keys_;
  Env* env_;
  VaultMetrics* metrics_;
  std::string secret_hash_;  // SHA-256 of the enrolment secret
};

// Reads a secret file (creating it with 32 random bytes, base64url, mode 0600,
// when absent) and refuses one that group or others may access.
absl::StatusOr<std::string> LoadOrCreateSecretFile(Env* env, const std::string& path);

}  // namespace sealtrace::vault
