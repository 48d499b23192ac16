#include "access/policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sealtrace::access {
namespace {

Decision Allow(std::string rule, std::string why) {
  return {true, std::move(rule), std::move(why)};
}
Decision Refuse(std::string rule, std::string why) {
  return {false, std::move(rule), std::move(why)};
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool IsContentRead(Action a) {
  return a == Action::kReadOwn || a == Action::kRead || a == Action::kExportRead;
}
bool IsAuditRead(Action a) {
  return a == Action::kReadAuditLog || a == Action::kReadOwnAuditLog ||
         a == Action::kReadAuditProofs;
}

// Checks a grant for a read by `p`. `containment`: the requested range must lie
// inside the scope (human reads); otherwise it must overlap it (export of a segment).
Decision CheckGrant(const Principal& p, const Target& t, const std::vector<Grant>& grants,
                    int64_t now, bool containment) {
  if (t.grant_id.empty()) {
    return Refuse("grant.missing", "a read of someone else's data needs a grant (grant_id)");
  }
  const Grant* g = nullptr;
  for (const auto& x : grants) {
    if (x.id == t.grant_id) g = &x;
  }
  if (g == nullptr) return Refuse("grant.unknown", "no grant " + t.grant_id);
  if (g->grantee_id != p.id) {
    return Refuse("grant.not_grantee", "grant " + g->id + " does not name this principal");
  }
  if (g->purpose.empty()) return Refuse("grant.no_purpose", "the grant names no purpose");
  switch (g->status) {
    case GrantStatus::kPending:
      return Refuse("grant.not_approved",
                    "grant " + g->id + " has not been approved by a second privacy officer");
    case GrantStatus::kDenied:
      return Refuse("grant.denied", "grant " + g->id + " was denied");
    case GrantStatus::kRevoked:
      return Refuse("grant.revoked", "grant " + g->id + " was revoked");
    case GrantStatus::kApproved:
      break;
  }
  if (g->approver_id.empty() || g->approver_role != Role::kPrivacyOfficer) {
    return Refuse("grant.not_approved", "grant " + g->id + " has no privacy-officer approval");
  }
  if (g->approver_id == g->requester_id || g->approver_id == g->grantee_id ||
      g->approver_id == p.id) {
    return Refuse("grant.self_approved",
                  "grant " + g->id + " was approved by its requester or grantee (two-person rule)");
  }
  if (g->expires_us <= 0) return Refuse("grant.no_expiry", "the grant has no expiry");
  if (now < g->not_before_us) {
    return Refuse("grant.not_yet_valid",
                  absl::StrCat("grant ", g->id, " is valid only from ", g->not_before_us,
                               " (server clock now ", now, ")"));
  }
  if (now >= g->expires_us) {
    return Refuse("grant.expired", absl::StrCat("grant ", g->id, " expired at ", g->expires_us,
                                                " (server clock now ", now, ")"));
  }
  if (t.contributor_id.empty() || !Contains(g->scope.contributors, t.contributor_id)) {
    return Refuse("grant.scope_contributor",
                  "grant " + g->id + " does not cover contributor " + t.contributor_id);
  }
  if (!g->scope.datasets.empty() && !t.dataset_id.empty() &&
      !Contains(g->scope.datasets, t.dataset_id)) {
    return Refuse("grant.scope_dataset",
                  "grant " + g->id + " does not cover dataset " + t.dataset_id);
  }
  if (t.to_us <= t.from_us) {
    return Refuse("request.bad_range", "the requested time range is empty");
  }
  const bool in_range = containment ? (t.from_us >= g->scope.from_us && t.to_us <= g->scope.to_us)
                                    : (t.from_us < g->scope.to_us && t.to_us > g->scope.from_us);
  if (!in_range) {
    return Refuse("grant.scope_time", absl::StrCat("the requested range [", t.from_us, ", ",
                                                   t.to_us, ") is outside the grant's range [",
                                                   g->scope.from_us, ", ", g->scope.to_us, ")"));
  }
  const uint32_t want = t.channels == 0 ? g->scope.channels : t.channels;
  if (want == 0 || (want & ~g->scope.channels) != 0) {
    return Refuse("grant.scope_channel", "channels " + ChannelsToString(want) +
                                             " are not all in the grant's channels " +
                                             ChannelsToString(g->scope.channels));
  }
  return Allow("grant.approved",
               "approved grant " + g->id + " for purpose \"" + g->purpose + "\" covers this read");
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kContributor:
      return "contributor";
    case Role::kPrivacyOfficer:
      return "privacy_officer";
    case Role::kAuditor:
      return "auditor";
    case Role::kOperator:
      return "operator";
    case Role::kService:
      return "service";
  }
  return "unknown";
}

std::optional<Role> RoleFromName(std::string_view n) {
  for (Role r : {Role::kContributor, Role::kPrivacyOfficer, Role::kAuditor, Role::kOperator,
                 Role::kService}) {
    if (RoleName(r) == n) return r;
  }
  return std::nullopt;
}

std::vector<std::string> DefaultScopes(Role r) {
  switch (r) {
    case Role::kContributor:
      return {kScopeMe};
    case Role::kPrivacyOfficer:
      return {kScopeGrants, kScopeRead, kScopeState, kScopeAudit};
    case Role::kAuditor:
      return {kScopeAudit};
    case Role::kOperator:
      return {kScopeAdmin};
    case Role::kService:
      return {kScopeExport};
  }
  return {};
}

bool ScopeAllowedForRole(Role r, std::string_view scope) {
  return Contains(DefaultScopes(r), scope);
}

std::optional<uint32_t> ParseChannels(std::string_view csv) {
  uint32_t out = 0;
  for (absl::string_view p : absl::StrSplit(absl::string_view(csv.data(), csv.size()), ',')) {
    std::string_view part(p.data(), p.size());
    if (part == "keys") {
      out |= kChannelKeys;
    } else if (part == "pointer") {
      out |= kChannelPointer;
    } else if (part == "focus") {
      out |= kChannelFocus;
    } else if (part == "frames") {
      out |= kChannelFrames;
    } else {
      return std::nullopt;
    }
  }
  if (out == 0) return std::nullopt;
  return out;
}

std::string ChannelsToString(uint32_t c) {
  std::string out;
  auto add = [&](uint32_t bit, const char* name) {
    if (c & bit) {
      if (!out.empty()) out += ",";
      out += name;
    }
  };
  add(kChannelKeys, "keys");
  add(kChannelPointer, "pointer");
  add(kChannelFocus, "focus");
  add(kChannelFrames, "frames");
  return out.empty() ? "none" : out;
}

std::string_view ProgrammeStateName(ProgrammeState s) {
  switch (s) {
    case ProgrammeState::kActive:
      return "ACTIVE";
    case ProgrammeState::kPaused:
      return "PAUSED";
    case ProgrammeState::kIncident:
      return "INCIDENT";
  }
  return "INCIDENT";
}

std::optional<ProgrammeState> ProgrammeStateFromName(std::string_view n) {
  for (auto s : {ProgrammeState::kActive, ProgrammeState::kPaused, ProgrammeState::kIncident}) {
    if (ProgrammeStateName(s) == n) return s;
  }
  return std::nullopt;
}

std::string_view GrantStatusName(GrantStatus s) {
  switch (s) {
    case GrantStatus::kPending:
      return "pending";
    case GrantStatus::kApproved:
      return "approved";
    case GrantStatus::kDenied:
      return "denied";
    case GrantStatus::kRevoked:
      return "revoked";
  }
  return "unknown";
}

std::optional<GrantStatus> GrantStatusFromName(std::string_view n) {
  for (auto s : {GrantStatus::kPending, GrantStatus::kApproved, GrantStatus::kDenied,
                 GrantStatus::kRevoked}) {
    if (GrantStatusName(s) == n) return s;
  }
  return std::nullopt;
}

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kReadOwn:
      return "read_own";
    case Action::kDeleteOwn:
      return "delete_own";
    case Action::kRead:
      return "read";
    case Action::kExportRead:
      return "export_read";
    case Action::kReadAuditLog:
      return "read_audit_log";
    case Action::kReadOwnAuditLog:
      return "read_own_audit_log";
    case Action::kReadAuditProofs:
      return "read_audit_proofs";
    case Action::kRequestGrant:
      return "request_grant";
    case Action::kDecideGrant:
      return "decide_grant";
    case Action::kRevokeGrant:
      return "revoke_grant";
    case Action::kListGrants:
      return "list_grants";
    case Action::kProposeState:
      return "propose_state";
    case Action::kConfirmState:
      return "confirm_state";
    case Action::kManagePrincipals:
      return "manage_principals";
    case Action::kIssueToken:
      return "issue_token";
    case Action::kActivatePrincipal:
      return "activate_principal";
    case Action::kListDevices:
      return "list_devices";
    case Action::kSetRetention:
      return "set_retention";
    case Action::kRunPurge:
      return "run_purge";
    case Action::kRotateKeys:
      return "rotate_keys";
    case Action::kCheckpoint:
      return "checkpoint";
    case Action::kSetTitlePolicy:
      return "set_title_policy";
  }
  return "unknown";
}

namespace {

// A token for oneself, an operator's for an operator; nothing else.
Decision IssueTokenRule(const Principal& p, const Target& t) {
  if (p.role == Role::kContributor) {
    return Refuse("token.contributor_signin",
                  "contributors get tokens only by signing in with their passkey (dashboard, or "
                  "a terminal approved from it), never by minting one from another token");
  }
  if (!t.principal_id.empty() && t.principal_id == p.id) {
    return Allow("token.self", "a principal may mint a new token for itself");
  }
  if (p.role == Role::kOperator && t.principal_role == Role::kOperator) {
    return Allow("operator.manage", "operators issue tokens for operator principals");
  }
  return Refuse("token.issue_forbidden",
                "tokens for officers, auditors, services and contributors are issued only to "
                "themselves (an operator must never hold another role's credential)");
}

// What a contributor may do.
Decision ContributorRules(const Principal& p, Action a, const Target& t,
                          const std::vector<Grant>& grants, int64_t now) {
  switch (a) {
    case Action::kReadOwn:
    case Action::kDeleteOwn:
    case Action::kReadOwnAuditLog:
      if (p.contributor_id.empty() ||
          (!t.contributor_id.empty() && t.contributor_id != p.contributor_id)) {
        return Refuse("contributor.not_own",
                      "a contributor may read and delete only their own data");
      }
      return Allow("contributor.own", "contributors read, delete and audit their own data");
    case Action::kReadAuditProofs:
      return Allow("audit.proofs", "checkpoints and proofs reveal no entry content");
    case Action::kRead:
    case Action::kExportRead:
      return Refuse("contributor.not_own",
                    "a contributor may read only their own data; grants are not issued "
                    "to contributors");
    default:
      return Refuse("deny.default", "contributors may not " + std::string(ActionName(a)));
  }
}

// What an operator may do.
Decision OperatorRules(const Principal& p, Action a, const Target& t,
                       const std::vector<Grant>& grants, int64_t now) {
  switch (a) {
    case Action::kManagePrincipals:
      if (t.principal_role == Role::kContributor) {
        return Refuse("principal.contributor_by_enrolment",
                      "contributor principals are created only by enrolment");
      }
      return Allow("operator.manage", "operators manage principals");
    case Action::kListDevices:
    case Action::kSetRetention:
    case Action::kSetTitlePolicy:
    case Action::kRunPurge:
    case Action::kRotateKeys:
    case Action::kCheckpoint:
      return Allow("operator.manage", "operators manage the system");
    case Action::kReadAuditProofs:
      return Allow("audit.proofs", "checkpoints and proofs reveal no entry content");
    case Action::kReadOwn:
    case Action::kRead:
    case Action::kExportRead:
    case Action::kDeleteOwn:
      return Refuse("operator.no_content",
                    "operators manage devices, policy and retention but never read content "
                    "or obtain a key");
    default:
      return Refuse("deny.default", "operators may not " + std::string(ActionName(a)));
  }
}

// What an auditor may do.
Decision AuditorRules(const Principal& p, Action a, const Target& t,
                      const std::vector<Grant>& grants, int64_t now) {
  switch (a) {
    case Action::kReadAuditLog:
    case Action::kReadOwnAuditLog:
    case Action::kReadAuditProofs:
    case Action::kCheckpoint:
      return Allow("auditor.audit_log", "auditors read the audit log");
    case Action::kReadOwn:
    case Action::kRead:
    case Action::kExportRead:
      return Refuse("auditor.audit_only", "auditors read the audit log only, never content");
    default:
      return Refuse("auditor.audit_only", "auditors may only read the audit log");
  }
}

// What a service principal may do.
Decision ServiceRules(const Principal& p, Action a, const Target& t,
                      const std::vector<Grant>& grants, int64_t now) {
  switch (a) {
    case Action::kExportRead:
      return CheckGrant(p, t, grants, now, /*containment=*/false);
    case Action::kReadAuditProofs:
      return Allow("audit.proofs", "checkpoints and proofs reveal no entry content");
    case Action::kRead:
    case Action::kReadOwn:
      return Refuse("service.export_only",
                    "service principals only perform export reads within their grant");
    default:
      return Refuse("service.export_only",
                    "service principals may not " + std::string(ActionName(a)));
  }
}

// What a privacy officer may do.
Decision OfficerRules(const Principal& p, Action a, const Target& t,
                      const std::vector<Grant>& grants, int64_t now) {
  switch (a) {
    case Action::kRead:
      return CheckGrant(p, t, grants, now, /*containment=*/true);
    case Action::kExportRead:
      return Refuse("export.service_only",
                    "export reads are made by service principals; humans read through "
                    "/v1/read under a grant");
    case Action::kReadOwn:
    case Action::kDeleteOwn:
      return Refuse("deny.default", "privacy officers hold no contributor data");
    case Action::kRequestGrant:
      if (!t.grantee_role ||
          (*t.grantee_role != Role::kPrivacyOfficer && *t.grantee_role != Role::kService)) {
        return Refuse("grant.bad_grantee",
                      "grants are issued only to privacy officers or service principals");
      }
      return Allow("officer.request_grant", "privacy officers may request grants");
    case Action::kDecideGrant:
      if (t.grant_requester_id == p.id || t.grant_grantee_id == p.id) {
        return Refuse("grant.two_person",
                      "a grant must be approved or denied by a second privacy officer, "
                      "never its requester or grantee");
      }
      return Allow("officer.second_approver",
                   "a privacy officer other than the requester and grantee decides");
    case Action::kRevokeGrant:
    case Action::kListGrants:
      return Allow("officer.grants", "privacy officers list and revoke grants");
    case Action::kActivatePrincipal:
      if (t.principal_id == p.id) {
        return Refuse("principal.self_activation", "a principal cannot activate itself");
      }
      return Allow("officer.activate",
                   "a privacy officer activates a principal an operator created");
    case Action::kProposeState:
      return Allow("officer.propose_state", "a privacy officer proposes a state change");
    case Action::kConfirmState:
      if (t.proposer_id == p.id) {
        return Refuse("state.two_person",
                      "a programme state change must be confirmed by a second privacy "
                      "officer, not its proposer");
      }
      return Allow("officer.confirm_state", "a second privacy officer confirms the state change");
    case Action::kReadAuditLog:
    case Action::kReadOwnAuditLog:
    case Action::kReadAuditProofs:
      return Allow("officer.audit_log", "privacy officers answer who read what");
    default:
      return Refuse("deny.default", "privacy officers may not " + std::string(ActionName(a)));
  }
}

}  // namespace

Decision Evaluate(const Principal& p, Action a, const Target& t, const std::vector<Grant>& grants,
                  ProgrammeState state, int64_t now) {
  const std::string role(RoleName(p.role));
  if (p.id.empty()) return Refuse("deny.no_principal", "no authenticated principal");
  if (p.disabled) return Refuse("deny.disabled", "principal " + p.id + " is disabled");

  // INCIDENT freezes every read and export, except auditors reading the audit log.
  if (state == ProgrammeState::kIncident) {
    const bool auditor_log = p.role == Role::kAuditor && IsAuditRead(a);
    if ((IsContentRead(a) || IsAuditRead(a)) && !auditor_log) {
      return Refuse("incident.freeze",
                    "the programme is in INCIDENT: all reads and exports are frozen (only "
                    "auditors may read the audit log)");
    }
  }

  if (a == Action::kIssueToken) return IssueTokenRule(p, t);
  switch (p.role) {
    case Role::kContributor:
      return ContributorRules(p, a, t, grants, now);
    case Role::kOperator:
      return OperatorRules(p, a, t, grants, now);
    case Role::kAuditor:
      return AuditorRules(p, a, t, grants, now);
    case Role::kService:
      return ServiceRules(p, a, t, grants, now);
    case Role::kPrivacyOfficer:
      return OfficerRules(p, a, t, grants, now);
  }
  return Refuse("deny.default", "no rule allows this (role " + role + ")");
}

}  // namespace sealtrace::access
