// AuditEntry: one leaf of the audit log, and its canonical byte form.
//
// The leaf data is sorted-key compact JSON (deterministic: the same entry
// always gives the same bytes), e.g.
//   {"actor":"po-1","decision":"allow","extra":{},"grant":"g-7","kind":"read",...,"v":1}
// Fields that would reveal content (file names, window titles, query text)
// must be passed through KeyedFieldHash before they go into an entry.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sealtrace::audit {

enum class AuditKind {
  kEnrol,
  kKeyUse,
  kRead,
  kExport,
  kGrantRequest,
  kGrantApprove,
  kGrantDeny,
  kDeletion,
  kPolicyChange,
  kProgrammeState,
  kTokenIssue,
  kRefused,
  kKeyRotation,
};
std::string_view AuditKindName(AuditKind kind);
std::optional<AuditKind> AuditKindFromName(std::string_view name);

enum class Decision { kNone, kAllow, kRefuse };
std::string_view DecisionName(Decision d);

struct AuditEntry {
  AuditKind kind = AuditKind::kRead;
  int64_t time_us = 0;              // wall clock, µs since the epoch (0: AuditLog fills it)
  std::string actor_id;             // principal id
  std::string actor_role;           // contributor, privacy_officer, auditor, operator, service
  std::string subject_contributor;  // whose data; may be empty
  std::string purpose;
  std::string grant_id;
  std::string object_id;  // e.g. segment id
  Decision decision = Decision::kNone;
  std::string rule;  // which rule decided
  std::map<std::string, std::string> extra;
  bool operator==(const AuditEntry&) const = default;
};

// Canonical leaf bytes. Error if a field is not valid UTF-8.
absl::StatusOr<std::string> SerializeEntry(const AuditEntry& e);
// Parses leaf bytes (untrusted). Requires the canonical form.
absl::StatusOr<AuditEntry> ParseEntry(std::string_view data);

// HMAC-SHA-256(key, value) as lowercase hex; for fields that would reveal content.
std::string KeyedFieldHash(std::string_view key, std::string_view value);

}  // namespace sealtrace::audit
