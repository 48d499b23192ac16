// Access policy: who may do what, as one pure function.
//
// Evaluate(principal, action, target, grants, programme state, now) -> Decision
// {allow, rule, explanation}. Default deny: an action is allowed only when a
// named rule below allows it; every refusal names the rule that refused.
//
//   contributor     reads, lists and deletes their own data; reads the audit
//                   entries about themselves. Never anyone else's data.
//   privacy_officer requests grants (for themselves or a service principal),
//                   approves or denies grants requested by another officer
//                   (two-person rule: never their own request, never a grant
//                   naming them as grantee), proposes / confirms programme
//                   state changes (confirmation by a different officer), and
//                   reads other people's data only through an approved grant.
//   auditor         reads the audit log (entries, proofs, checkpoints). Nothing else.
//   operator        manages principals, tokens, devices, retention, purge, key
//                   rotation and checkpoints. No rule ever allows an operator a
//                   read of content or a key release.
//   service         export reads (per segment) within an approved grant naming it.
//
// A read of someone else's data needs a grant that (a) names the reader as
// grantee, (b) names a purpose, (c) is approved by a privacy officer who is
// neither the requester nor the grantee, (d) is not revoked, denied, expired or
// not yet valid by the server clock `now`, and (e) whose scope covers the
// contributor, the time range and the channels asked for.
//
// Programme state: INCIDENT refuses every read and export (own reads too),
// except auditors reading the audit log. PAUSED stops recorders (the vault's
// device-state route) and does not change read rules.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sealtrace::access {

enum class Role { kContributor, kPrivacyOfficer, kAuditor, kOperator, kService };
std::string_view RoleName(Role r);
std::optional<Role> RoleFromName(std::string_view name);

// Token scopes: what a token may be used for (on top of the role's rules).
inline constexpr char kScopeMe[] = "me";          // own data, own audit entries
inline constexpr char kScopeGrants[] = "grants";  // request / approve / deny / revoke / list
inline constexpr char kScopeRead[] = "read";      // reads under a grant
inline constexpr char kScopeState[] = "state";    // programme state propose / confirm
inline constexpr char kScopeAudit[] = "audit";    // the audit log
inline constexpr char kScopeAdmin[] = "admin";    // operator administration
inline constexpr char kScopeExport[] = "export";  // export reads (service)
// The scopes a token of `role` may carry (and gets by default).
std::vector<std::string> DefaultScopes(Role r);
bool ScopeAllowedForRole(Role r, std::string_view scope);

// Event channels a grant can cover (bit set).
enum Channel : uint32_t {
  kChannelKeys = 1,     // key events and redaction markers
  kChannelPointer = 2,  // pointer events
  kChannelFocus = 4,    // focus events (application, redacted title)
  kChannelFrames = 8,   // screen frame references and frame segments
};
inline constexpr uint32_t kAllChannels = 15;
// "keys,pointer,focus,frames" (any subset, any order) -> bit set. Empty or
// unknown names -> nullopt.
std::optional<uint32_t> ParseChannels(std::string_view csv);
std::string ChannelsToString(uint32_t channels);

enum class ProgrammeState { kActive, kPaused, kIncident };
std::string_view ProgrammeStateName(ProgrammeState s);
std::optional<ProgrammeState> ProgrammeStateFromName(std::string_view name);

struct Principal {
  std::string id;  // "p_" + hex
  Role role = Role::kContributor;
  std::string name;            // display name (never content)
  std::string contributor_id;  // hex; contributors only
  int64_t created_us = 0;
  bool disabled = false;
  // Set by AccessService::Authenticate from the credential used (never stored
  // with the principal): the token id, how it was obtained ("token",
  // "passkey", "device_flow") and the client it was issued to. Audit entries
  // name them.
  std::string token_id;
  std::string auth_method;
  std::string client;
  int64_t token_created_us = 0;
};

struct GrantScope {
  std::vector<std::string> contributors;  // hex contributor ids; required
  std::vector<std::string> datasets;      // optional: if set, export reads must name one
  int64_t from_us = 0;                    // wall clock, [from, to)
  int64_t to_us = 0;
  uint32_t channels = 0;
};

enum class GrantStatus { kPending, kApproved, kDenied, kRevoked };
std::string_view GrantStatusName(GrantStatus s);
std::optional<GrantStatus> GrantStatusFromName(std::string_view name);

struct Grant {
  std::string id;  // "g_" + hex
  std::string requester_id;
  Role requester_role = Role::kPrivacyOfficer;
  std::string grantee_id;
  Role grantee_role = Role::kPrivacyOfficer;
  std::string purpose;
  GrantScope scope;
  int64_t created_us = 0;
  int64_t not_before_us = 0;
  int64_t expires_us = 0;
  GrantStatus status = GrantStatus::kPending;
  std::string approver_id;  // set when approved or denied
  Role approver_role = Role::kPrivacyOfficer;
  int64_t decided_us = 0;
  std::string seal;  // HMAC over the other fields (see AccessService); not checked here
};

enum class Action {
  kReadOwn,          // own segments / events
  kDeleteOwn,        // own data (range or all)
  kRead,             // someone's data under a grant (human reader)
  kExportRead,       // one segment under a grant (service principal)
  kReadAuditLog,     // all entries
  kReadOwnAuditLog,  // entries about oneself (contributors)
  kReadAuditProofs,  // checkpoint, inclusion and consistency proofs (no entry content)
  kRequestGrant,
  kDecideGrant,  // approve or deny
  kRevokeGrant,
  kListGrants,
  kProposeState,
  kConfirmState,
  kManagePrincipals,   // create principals, list them, revoke tokens
  kIssueToken,         // a new token for an existing principal (target.principal_*)
  kActivatePrincipal,  // a privacy officer activates a pending officer/auditor/service
  kListDevices,        // fleet health (no content)
  kSetRetention,
  kRunPurge,
  kRotateKeys,
  kCheckpoint,  // sign a fresh checkpoint on demand
  kSetTitlePolicy,  // the programme's window-title policy for devices
};
std::string_view ActionName(Action a);

struct Target {
  std::string contributor_id;  // whose data (reads, exports, deletion)
  std::string dataset_id;      // export reads
  std::string grant_id;        // the grant a read relies on, or the grant being decided
  int64_t from_us = 0;         // requested range [from, to)
  int64_t to_us = 0;
  uint32_t channels = 0;               // requested channels (0 = the grant's channels)
  std::string proposer_id;             // kConfirmState: who proposed
  std::string grant_requester_id;      // kDecideGrant / kRevokeGrant
  std::string grant_grantee_id;        // kDecideGrant / kRequestGrant
  std::optional<Role> grantee_role;    // kRequestGrant
  std::string principal_id;            // kIssueToken / kActivatePrincipal
  std::optional<Role> principal_role;  // kManagePrincipals (create) / kIssueToken
};

struct Decision {
  bool allow = false;
  std::string rule;         // e.g. "grant.expired"
  std::string explanation;  // one human-readable sentence
};

Decision Evaluate(const Principal& principal, Action action, const Target& target,
                  const std::vector<Grant>& grants, ProgrammeState state, int64_t now_us);

}  // namespace sealtrace::access
