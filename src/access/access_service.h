// AccessService: authentication, grants, audited reads, deletion, programme
// state, retention and the audit-log queries of the vault.
//
// It is the ONLY product code that calls KeyReleaser::ReleaseSecretKey and
// OpenSegment. Every read goes: authenticate -> policy (policy.h) -> append
// the audit entry (durable, inside the key releaser's audit_first callback)
// -> unwrap the contributor key -> open -> filter by the grant's channels and
// time range -> return events. If the audit append fails the read is refused
// (UNAVAILABLE) and no key is unwrapped. Every refusal is an audit leaf too
// (kRefused, naming the rule); if even that append fails the refusal stands.
//
// Errors carry the deciding rule: PERMISSION_DENIED / UNAUTHENTICATED with a
// message "<rule>: <explanation>" (see RuleOf()). INVALID_ARGUMENT for bad
// requests, NOT_FOUND for unknown ids, FAILED_PRECONDITION for state races,
// UNAVAILABLE when the audit log or a store cannot answer.
//
// Tokens: "stp_" + base64url(32 random bytes); only SHA-256 is stored; each
// has scopes (policy.h kScope*) and an expiry.
//
// Ownership: borrows the vault, the store, the audit log and the signer; all
// must outlive the service. Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "access/access_store.h"
#include "access/policy.h"
#include "audit/audit_log.h"
#include "audit/signer.h"
#include "export/dp.h"
#include "segment/format.h"
#include "vault/vault.h"

namespace sealtrace::access {

class SignInService;

inline constexpr char kApiTokenPrefix[] = "stp_";
// Setting keys in the AccessStore.
inline constexpr char kSettingRetentionDays[] = "retention_days";

// The rule named by a refusal status ("" if none).
std::string RuleOf(const absl::Status& s);

struct AccessOptions {
  Env* env = nullptr;          // nullptr = Env::Default()
  std::string field_hash_key;  // 32 bytes: keyed hashes in audit fields
  std::string grant_seal_key;  // 32 bytes: HMAC over stored grants
  int64_t default_token_ttl_us = 90LL * 86400 * 1000000;
  int64_t max_token_ttl_us = 366LL * 86400 * 1000000;
  int64_t max_grant_ttl_us = 90LL * 86400 * 1000000;
  int64_t proposal_ttl_us = 3600LL * 1000000;
  // A read returns at most this many segments (those whose exact span meets
  // the range), and opens at most max_segments_opened_per_read candidates:
  // the index knows whole hours only, so a narrow range over a busy hour
  // (segments of <= 1 s) opens the hour's segments to find its own.
  size_t max_segments_per_read = 256;
  size_t max_segments_opened_per_read = 8192;
  // OpenAccessStack only: open the access store / the audit store. Empty =
  // SQLite files <data>/access.db and <data>/audit.db. (PostgreSQL: `sealtrace
  // server --backend postgres`.)
  std::function<absl::StatusOr<std::unique_ptr<AccessStore>>()> open_access_store;
  std::function<absl::StatusOr<std::unique_ptr<audit::AuditStore>>()> open_audit_store;
  // The per-contributor differential-privacy budget ledger the vault hosts for
  // exports (borrowed; null = no DP releases through this vault). OpenAccessStack
  // opens <data>/dp_ledger.db (SQLite) unless open_budget_ledger is given, with
  // dp_default_budget (total epsilon per contributor, a rational) for everyone.
  exporter::BudgetLedger* budget_ledger = nullptr;
  std::function<absl::StatusOr<std::unique_ptr<exporter::BudgetLedger>>(exporter::Rational)>
      open_budget_ledger;
  std::string dp_default_budget = "4";
  // OpenAccessStack only: the WebAuthn relying-party id of the passkey
  // sign-in (the host name contributors reach the dashboard by).
  std::string webauthn_rp_id = "localhost";
};

struct BudgetCharge {
  exporter::Rational spent;   // the contributor's total after this charge
  exporter::Rational budget;  // their total budget
};

struct IssuedToken {
  std::string principal_id;
  std::string token;  // shown once
  std::string token_id;
  std::vector<std::string> scopes;
  int64_t expires_us = 0;
};

struct GrantRequest {
  std::string grantee_id;  // "" = the requester
  std::string purpose;
  GrantScope scope;
  int64_t not_before_us = 0;  // 0 = now
  int64_t expires_us = 0;     // required
};

struct ReadSegment {
  SegmentHeader header;  // as opened: exact times and counts (sealed info record)
  std::string segment_id;  // hex
  std::string contributor_id;
  uint64_t sequence = 0;
  int64_t wall_anchor_us = 0;
  bool frame = false;
  std::vector<v1::Event> events;  // filtered: channels and time range
  std::string raw;                // frame payload, only with the frames channel
};

struct ReadResult {
  uint64_t audit_index = 0;  // the leaf recorded before release
  std::vector<ReadSegment> segments;
  std::vector<std::string> errors;  // per-segment failures (ids and reasons, never content)
};

// A segment as the vault's index knows it, without decrypting: ids, the
// coarse range (whole UTC hours, end exclusive) and size. Exact times and
// event counts are sealed in the segment: ReadSegment.header has them.
struct SegmentRef {
  std::string segment_id;
  std::string contributor_id;
  std::string device_id;
  uint64_t sequence = 0;
  int64_t wall_start_us = 0;
  int64_t wall_end_us = 0;
  bool frame = false;
  uint64_t size = 0;
};

struct RetentionChange {
  bool applied = false;     // true: in force now; false: awaits a privacy officer
  std::string proposal_id;  // "rp_" + hex when pending
  int days = 0;
  std::string proposer_id;
  int64_t expires_us = 0;
};

// A change of the programme's window-title policy ("full", "app-and-domain",
// "app-only"; docs/REDACTION.md §2.1).
struct TitlePolicyChange {
  bool applied = false;     // true: in force now; false: awaits a privacy officer
  std::string proposal_id;  // "tp_" + hex when pending
  std::string policy;
  std::string proposer_id;
  int64_t expires_us = 0;
};

struct DeletionReport {
  bool key_destroyed = false;
  int segments_deleted = 0;
  int blobs_deleted = 0;
};

// What operators see of a device: no contributor, times floored to the hour.
struct DeviceHealth {
  std::string device_id;
  int64_t enrolled_us = 0;
  int64_t last_seen_us = 0;
  int64_t last_upload_us = 0;
  bool spool_reported = false;  // the agent reported its backlog with a state poll
  uint64_t spool_segments = 0;
  uint64_t spool_bytes = 0;
  int64_t spool_reported_us = 0;
};

struct AuditLeafOut {
  uint64_t index = 0;
  audit::AuditEntry entry;
};

class AccessService {
 public:
  AccessService(vault::Vault* vault, AccessStore* store, audit::AuditLog* log,
                audit::AuditSigner* signer, AccessOptions options);
  ~AccessService();

  // --- authentication ---
  // Checks "Bearer stp_..." and that the token carries `scope` ("" = any).
  // Refusals (malformed, unknown, expired, revoked, wrong scope, disabled) are
  // UNAUTHENTICATED / PERMISSION_DENIED and each leaves an audit leaf naming `route`.
  absl::StatusOr<Principal> Authenticate(std::string_view authorization, std::string_view scope,
                                         std::string_view route);
  // Logs a refusal leaf (for callers that refuse before reaching the service).
  void AuditRefusal(const Principal* p, std::string_view rule, std::string_view route,
                    std::string_view detail);

  // --- principals and tokens ---
  // Bootstrap (no actor): used by `sealtrace server init`. Audited as kTokenIssue.
  absl::StatusOr<IssuedToken> BootstrapPrincipal(Role role, const std::string& name);
  absl::StatusOr<IssuedToken> CreatePrincipal(const Principal& actor, Role role,
                                              const std::string& name,
                                              std::vector<std::string> scopes, int64_t ttl_us);
  absl::StatusOr<IssuedToken> IssueToken(const Principal& actor, const std::string& principal_id,
                                         std::vector<std::string> scopes, int64_t ttl_us);
  // Operators revoke any token; anyone may revoke their own.
  absl::Status RevokeToken(const Principal& actor, const std::string& token_id);
  absl::StatusOr<std::vector<Principal>> ListPrincipals(const Principal& actor);
  // Officers, auditors and services created by an operator start disabled until
  // a privacy officer activates them (so an operator can never mint itself an
  // officer's credential).
  absl::Status ActivatePrincipal(const Principal& actor, const std::string& principal_id);
  // After a successful enrolment: audits kEnrol, records the device, and
  // creates the contributor principal for a new contributor. Returns the
  // contributor's principal. Mints no token: a device never holds a reader
  // credential (the new contributor's first sign-in is by SignInService's
  // single-use code).
  absl::StatusOr<Principal> OnEnrolled(const std::string& contributor_id_hex,
                                       const std::string& device_id_hex, const std::string& name,
                                       bool new_contributor, std::string_view via = "");
  // The contributor principal of a contributor the vault knows, created if an
  // enrolment elsewhere (a scale ingest gateway) did not create it.
  absl::StatusOr<Principal> EnsureContributorPrincipal(const std::string& contributor_id_hex);
  // A contributor `me` token after a completed sign-in (SignInService only):
  // `method` is "passkey" or "device_flow", `client` names where it is used.
  // Audited as kTokenIssue (fail closed).
  absl::StatusOr<IssuedToken> MintSignInToken(const Principal& p, std::string_view method,
                                              std::string_view client, int64_t ttl_us);
  // The audit entry for `kind` by `p` (null = anonymous), stamped with the
  // credential p authenticated with; and its durable append (time set here).
  audit::AuditEntry NewAuditEntry(audit::AuditKind kind, const Principal* p) { return Entry(kind, p); }
  absl::StatusOr<uint64_t> AppendAudit(audit::AuditEntry e) { return Append(std::move(e)); }
  // The keyed hash audit entries use for fields that would reveal content (names).
  std::string FieldHash(std::string_view v) const { return Hash(v); }
  absl::StatusOr<std::optional<Principal>> GetPrincipal(const std::string& id) {
    return store_->GetPrincipal(id);
  }
  absl::StatusOr<bool> ContributorNameTaken(const std::string& name) {
    auto c = vault_->store()->FindContributorByName(name);
    if (!c.ok()) return c.status();
    return c->has_value();
  }
  absl::StatusOr<std::optional<Principal>> FindContributorPrincipal(const std::string& cid) {
    return store_->FindContributorPrincipal(cid);
  }

  // --- grants ---
  absl::StatusOr<Grant> RequestGrant(const Principal& actor, const GrantRequest& req);
  absl::StatusOr<Grant> ApproveGrant(const Principal& actor, const std::string& grant_id);
  absl::StatusOr<Grant> DenyGrant(const Principal& actor, const std::string& grant_id);
  absl::StatusOr<Grant> RevokeGrant(const Principal& actor, const std::string& grant_id);
  absl::StatusOr<std::vector<Grant>> ListGrants(const Principal& actor);
  // The grant as its grantee (e.g. an export job's service principal) may see
  // it: purpose, scope, status and expiry. PERMISSION_DENIED (rule
  // grant.not_grantee, audited) for anyone else; DATA_LOSS if its seal fails.
  absl::StatusOr<Grant> GetOwnGrant(const Principal& actor, const std::string& grant_id);

  // --- reads ---
  // A human's read of someone's data under a grant. `channels` 0 = the grant's.
  absl::StatusOr<ReadResult> Read(const Principal& actor, const std::string& grant_id,
                                  const std::string& contributor_id, int64_t from_us, int64_t to_us,
                                  uint32_t channels);
  // A contributor's read of their own data: the events in [from, to) (exact,
  // after opening the segments whose coarse hours overlap it).
  absl::StatusOr<ReadResult> ReadOwn(const Principal& actor, int64_t from_us, int64_t to_us);
  // A contributor's read of some of their own segments, whole (ids from
  // ListOwnSegments; ids that are not the actor's are left out). The own views
  // (timeline, preview, download) read by id: the index has only whole hours.
  absl::StatusOr<ReadResult> ReadOwnSegments(const Principal& actor,
                                             const std::vector<std::string>& segment_ids);
  absl::StatusOr<std::vector<SegmentRef>> ListOwnSegments(const Principal& actor);
  // Export APIs (service principals): the segments the grant covers (no key use,
  // but policy-checked and audited), and one audited open per segment.
  absl::StatusOr<std::vector<SegmentRef>> ListSegmentsInScope(const Principal& actor,
                                                              const std::string& grant_id,
                                                              const std::string& dataset_id = "");
  absl::StatusOr<OpenedSegment> OpenSegmentForGrant(const Principal& actor,
                                                    const std::string& grant_id,
                                                    const std::string& segment_id_hex,
                                                    const std::string& dataset_id = "");
  // Charges `epsilon` (a rational, e.g. "1/2") of `contributor_id`'s privacy
  // budget for the DP statistics of release `release_id` (the dataset id), on
  // behalf of the grantee of `grant_id` whose scope covers the contributor.
  // Idempotent per (contributor, release): a resumed export is not charged
  // twice. Audited before the charge (fail closed). RESOURCE_EXHAUSTED (rule
  // dp.budget_exhausted, audited as a refusal) when the charge would exceed
  // the budget; then nothing is charged and the exporter leaves the
  // contributor out of the statistics.
  absl::StatusOr<BudgetCharge> SpendPrivacyBudget(const Principal& actor,
                                                  const std::string& grant_id,
                                                  const std::string& contributor_id,
                                                  const std::string& release_id,
                                                  const std::string& epsilon);

  // --- deletion and retention ---
  // all: crypto-shreds the contributor key and purges every segment; otherwise
  // purges segments whose exact span overlaps [from, to). The index has only
  // whole hours: segments whose hours lie inside the range go unopened, those
  // in the range's first and last hour are opened (key use, audited) to decide
  // (one that cannot be opened is purged when its hours overlap).
  absl::StatusOr<DeletionReport> DeleteOwn(const Principal& actor, bool all, int64_t from_us,
                                           int64_t to_us);
  // How many segments DeleteOwn(actor, false, from, to) would purge (the same
  // selection, the same audited key use for the edge hours).
  absl::StatusOr<size_t> CountOwnInRange(const Principal& actor, int64_t from_us, int64_t to_us);
  // Operators change retention. A change that deletes nobody's data (keeping
  // longer, or for ever) applies at once; one that shortens it (and so would
  // purge other people's recordings) only becomes a proposal that a privacy
  // officer must confirm (ConfirmRetention), like programme state. Both audited.
  absl::StatusOr<RetentionChange> SetRetentionDays(const Principal& actor, int days);
  absl::StatusOr<int> ConfirmRetention(const Principal& actor, const std::string& proposal_id);
  // The pending (unexpired) shortening, if any.
  absl::StatusOr<std::optional<RetentionChange>> PendingRetention();
  absl::StatusOr<int> RetentionDays();
  // Purges segments received more than the retention period ago. `actor` null = the
  // background job.
  absl::StatusOr<DeletionReport> RunPurge(const Principal* actor);

  // --- window-title policy (served to devices with the programme state) ---
  // Operators set it. A change that records less (a stricter policy, or the
  // same) applies at once; one that records more of every contributor's window
  // titles becomes a proposal a privacy officer other than the proposer
  // confirms (ConfirmTitlePolicy), like a shorter retention. Both audited
  // (kPolicyChange, object "title_policy") before anything changes.
  absl::StatusOr<TitlePolicyChange> SetTitlePolicy(const Principal& actor,
                                                   const std::string& policy);
  absl::StatusOr<std::string> ConfirmTitlePolicy(const Principal& actor,
                                                 const std::string& proposal_id);
  // The pending (unexpired) loosening, if any.
  absl::StatusOr<std::optional<TitlePolicyChange>> PendingTitlePolicy();
  // The policy in force, as devices get it (absent = "full"; unknown = "app-only").
  absl::StatusOr<std::string> CurrentTitlePolicy();

  // --- programme state ---
  ProgrammeState CurrentState();
  absl::StatusOr<StateProposal> ProposeState(const Principal& actor, ProgrammeState state,
                                             const std::string& reason);
  absl::StatusOr<ProgrammeState> ConfirmState(const Principal& actor,
                                              const std::string& proposal_id);
  // Pending, unexpired proposals, oldest first (privacy officers).
  absl::StatusOr<std::vector<StateProposal>> ListPendingProposals(const Principal& actor);

  // The contributor's own devices (contributors only; no audit entry: ids only).
  absl::StatusOr<std::vector<DeviceEntry>> ListOwnDevices(const Principal& actor);
  // Revokes one of the contributor's own devices: its token no longer uploads
  // (ingest answers 401 "revoked"). Audited first (fail closed).
  absl::Status RevokeOwnDevice(const Principal& actor, const std::string& device_id_hex);

  // --- fleet ---
  absl::StatusOr<std::vector<DeviceHealth>> ListDevices(const Principal& actor);

  // --- audit ---
  absl::StatusOr<std::string> Checkpoint(const Principal& actor, bool fresh);
  absl::StatusOr<std::vector<std::string>> InclusionProof(const Principal& actor, uint64_t index,
                                                          uint64_t size);
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(const Principal& actor,
                                                            uint64_t old_size, uint64_t new_size);
  // Contributors get only their own entries (contributor must be "" or theirs).
  absl::StatusOr<std::vector<AuditLeafOut>> AuditEntries(const Principal& actor,
                                                         const std::string& contributor);
  // Raw leaves [begin, end) for offline verification (auditors / officers).
  absl::StatusOr<std::vector<std::string>> AuditLeaves(const Principal& actor, uint64_t begin,
                                                       uint64_t end);
  absl::Status RotateAuditKey(const Principal& actor);
  // Master-key rotation (operators; rule as RotateAuditKey). The audit leaf
  // (kKeyRotation, object "master_key") is appended before anything changes
  // (fail closed); a second leaf records the outcome. A rotation that fails
  // midway leaves every key unwrappable; calling again finishes it (see
  // vault::KeyService::RotateMasterKey).
  absl::StatusOr<vault::MasterKeyRotation> RotateMasterKey(const Principal& actor);
  // Removes master key `version` from the key file once no contributor key is
  // wrapped under it (FAILED_PRECONDITION otherwise; the current version can
  // never be retired). Operators only; audited before it happens (fail closed).
  absl::Status RetireMasterKey(const Principal& actor, uint32_t version);
  std::vector<std::string> VerifierKeys() const;
  uint64_t AuditSize() { return log_->Size(); }

  // Periodic checkpoints (when the tree grew) and retention purges on a thread.
  void StartBackground(int64_t checkpoint_interval_us, int64_t purge_interval_us);
  void StopBackground();

  Env* env() const { return env_; }

 private:
  absl::Status Refuse(const Principal* p, const Decision& d, audit::AuditKind attempted,
                      std::string_view object, const std::string& subject,
                      const std::string& grant_id);
  absl::StatusOr<Decision> Decide(const Principal& p, Action a, const Target& t,
                                  const std::vector<Grant>& grants, audit::AuditKind kind,
                                  std::string_view object);
  absl::StatusOr<uint64_t> Append(audit::AuditEntry e);
  audit::AuditEntry Entry(audit::AuditKind kind, const Principal* p);
  absl::StatusOr<IssuedToken> MintToken(const std::string& principal_id, Role role,
                                        std::vector<std::string> scopes, int64_t ttl_us,
                                        const Principal* actor, std::string_view method = "token",
                                        std::string_view client = "");
  std::string SealGrant(const Grant& g) const;
  absl::StatusOr<std::vector<Grant>> LoadGrantChecked(const std::string& grant_id);
  absl::StatusOr<std::vector<vault::SegmentRecord>> SegmentsOf(const std::string& contributor);
  absl::Status TooManyInRange(size_t n, size_t max, const char* where) const;
  absl::StatusOr<ReadResult> ReleaseAndOpen(const Principal& actor, audit::AuditKind kind,
                                            const std::string& contributor,
                                            const std::vector<vault::SegmentRecord>& segs,
                                            const Grant* grant, const Decision& d, int64_t from_us,
                                            int64_t to_us, uint32_t channels,
                                            bool drop_outside = true);
  absl::StatusOr<DeletionReport> PurgeSegments(const std::vector<vault::SegmentRecord>& segs);
  absl::StatusOr<std::vector<vault::SegmentRecord>> OwnSegmentsSpanning(const Principal& actor,
                                                                        const Decision& d,
                                                                        int64_t from_us,
                                                                        int64_t to_us);
  std::string Hash(std::string_view v) const;

  vault::Vault* vault_;
  AccessStore* store_;
  audit::AuditLog* log_;
  audit::AuditSigner* signer_;
  AccessOptions options_;
  Env* env_;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  std::thread bg_;
};

// Everything an embedded vault's access layer needs, opened from the data dir:
//   <data>/access.db            AccessStore (SQLite)
//   <data>/audit.db             audit log (SqliteAuditStore)
//   <data>/keys/audit.key       Ed25519 checkpoint signing key (0600)
//   <data>/keys/access.key      field-hash key and grant-seal key (0600)
//   <data>/dp_ledger.db         privacy-budget ledger (SqliteBudgetLedger, 0600)
struct AccessStack {
  std::unique_ptr<AccessStore> store;
  std::unique_ptr<exporter::BudgetLedger> ledger;
  std::unique_ptr<audit::AuditSigner> signer;
  std::unique_ptr<audit::AuditLog> log;
  std::unique_ptr<AccessService> service;
  std::shared_ptr<SignInService> signin;  // borrows service and store; destroyed first
};
absl::StatusOr<std::unique_ptr<AccessStack>> OpenAccessStack(vault::Vault* vault,
                                                             AccessOptions options = {});

}  // namespace sealtrace::access
