#include "audit/entry.h"

#include <array>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "crypto/crypto.h"

namespace sealtrace::audit {
namespace {

constexpr std::array<std::pair<AuditKind, std::string_view>, 13> kKinds = {{
    {AuditKind::kEnrol, "enrol"},
    {AuditKind::kKeyUse, "key_use"},
    {AuditKind::kRead, "read"},
    {AuditKind::kExport, "export"},
    {AuditKind::kGrantRequest, "grant_request"},
    {AuditKind::kGrantApprove, "grant_approve"},
    {AuditKind::kGrantDeny, "grant_deny"},
    {AuditKind::kDeletion, "deletion"},
    {AuditKind::kPolicyChange, "policy_change"},
    {AuditKind::kProgrammeState, "programme_state"},
    {AuditKind::kTokenIssue, "token_issue"},
    {AuditKind::kRefused, "refused"},
    {AuditKind::kKeyRotation, "key_rotation"},
}};

constexpr int kVersion = 1;

}  // namespace

std::string_view AuditKindName(AuditKind kind) {
  for (const auto& [k, n] : kKinds) {
    if (k == kind) return n;
  }
  return "unknown";
}

std::optional<AuditKind> AuditKindFromName(std::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kAllow:
      return "allow";
    case Decision::kRefuse:
      return "refuse";
    case Decision::kNone:
      break;
  }
  return "none";
}

absl::StatusOr<std::string> SerializeEntry(const AuditEntry& e) {
  try {
    nlohmann::json j = nlohmann::json::object();
    j["v"] = kVersion;
    j["kind"] = std::string(AuditKindName(e.kind));
    j["time_us"] = e.time_us;
    j["actor"] = e.actor_id;
    j["role"] = e.actor_role;
    j["subject"] = e.subject_contributor;
    j["purpose"] = e.purpose;
    j["grant"] = e.grant_id;
    j["object"] = e.object_id;
    j["decision"] = std::string(DecisionName(e.decision));
    j["rule"] = e.rule;
    j["extra"] = nlohmann::json::object();
    for (const auto& [k, v] : e.extra) j["extra"][k] = v;
    return j.dump();  // std::map-backed object: keys sorted, compact
  } catch (const std::exception& ex) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit entry cannot be serialised (field not valid UTF-8?)"));
  }
}

absl::StatusOr<AuditEntry> ParseEntry(std::string_view data) {
  try {
    const nlohmann::json j = nlohmann::json::parse(data.begin(), data.end());
    if (!j.is_object()) return absl::InvalidArgumentError("audit entry: not a JSON object");
    if (j.size() != 12) return absl::InvalidArgumentError("audit entry: unexpected set of fields");
    if (j.at("v").get<int>() != kVersion) {
      return absl::InvalidArgumentError("audit entry: unsupported version");
    }
    AuditEntry e;
    auto kind = AuditKindFromName(j.at("kind").get<std::string>());
    if (!kind) return absl::InvalidArgumentError("audit entry: unknown kind");
    e.kind = *kind;
    e.time_us = j.at("time_us").get<int64_t>();
    e.actor_id = j.at("actor").get<std::string>();
    e.actor_role = j.at("role").get<std::string>();
    e.subject_contributor = j.at("subject").get<std::string>();
    e.purpose = j.at("purpose").get<std::string>();
    e.grant_id = j.at("grant").get<std::string>();
    e.object_id = j.at("object").get<std::string>();
    const std::string d = j.at("decision").get<std::string>();
    if (d == "allow") {
      e.decision = Decision::kAllow;
    } else if (d == "refuse") {
      e.decision = Decision::kRefuse;
    } else if (d == "none") {
      e.decision = Decision::kNone;
    } else {
      return absl::InvalidArgumentError("audit entry: unknown decision");
    }
    e.rule = j.at("rule").get<std::string>();
    for (const auto& [k, v] : j.at("extra").items()) e.extra[k] = v.get<std::string>();
    auto again = SerializeEntry(e);
    if (!again.ok() || *again != data) {
      return absl::InvalidArgumentError("audit entry: not in canonical form");
    }
    return e;
  } catch (const std::exception& ex) {
    return absl::InvalidArgumentError(absl::StrCat("audit entry: malformed JSON: ", ex.what()));
  }
}

std::string KeyedFieldHash(std::string_view key, std::string_view value) {
  return ToHex(HmacSha256(key, value));
}

}  // namespace sealtrace::audit
