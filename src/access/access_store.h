// AccessStore: durable storage of principals, API tokens (SHA-256 only),
// grants, programme-state proposals, the device directory and access settings.
//
// Implementations: SQLite (SqliteAccessStore, its own file <data>/access.db,
// the embedded default); PostgreSQL can be added behind this interface.
// Nothing here decides anything: the policy (policy.h) and AccessService do.
//
// Ownership: AccessService borrows a store.
// Thread-safety: implementations must be safe for concurrent use.
// Failure: every call returns absl::Status; lookups return OK + nullopt when
// absent; mutations are durable and all-or-nothing when they return OK;
// UNAVAILABLE when the store cannot answer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "access/policy.h"

struct sqlite3;

namespace sealtrace::access {

struct TokenRecord {
  std::string id;  // "t_" + hex; public handle used to revoke
  std::string principal_id;
  std::string token_sha256;  // 32 raw bytes
  std::vector<std::string> scopes;
  int64_t created_us = 0;
  int64_t expires_us = 0;
  int64_t revoked_us = 0;  // 0 = live
  // How the holder proved who they are when the token was issued: "token"
  // (minted by an administrator or at bootstrap), "passkey" (a dashboard
  // sign-in), "device_flow" (a terminal approved from a passkey session).
  std::string method = "token";
  std::string client;  // e.g. "dashboard", "cli:<name>"; "" if unknown
};

// A contributor's registered WebAuthn credential (passkey).
struct PasskeyRecord {
  std::string credential_id;  // raw bytes from the authenticator
  std::string principal_id;
  int alg = 0;             // COSE algorithm: -7 ES256, -8 EdDSA
  std::string public_key;  // webauthn::PublicKey::key
  uint32_t sign_count = 0;
  std::string label;       // e.g. "passkey 2026-12-06" (never content)
  int64_t created_us = 0;
  int64_t last_used_us = 0;
  int64_t revoked_us = 0;  // 0 = live
};

// A single-use code (a first-passkey sign-in code, a recovery code, or a code
// that lets a new device join a contributor). Only SHA-256 of the code is kept.
struct OneTimeCode {
  std::string code_sha256;  // 32 raw bytes; the key
  std::string kind;         // kCodeSignIn or kCodeDevice (access_service.h)
  std::string principal_id;    // whose code
  std::string contributor_id;  // hex, contributors only
  std::string issuer_id;       // who created it ("enrolment", an officer, the contributor)
  std::string label;           // invitations: the invited contributor's name
  int64_t created_us = 0;
  int64_t expires_us = 0;
  int64_t used_us = 0;  // 0 = not used
};

enum class ProposalStatus { kPending, kConfirmed, kExpired };

struct StateProposal {
  std::string id;  // "sp_" + hex
  std::string proposer_id;
  ProgrammeState state = ProgrammeState::kActive;
  std::string reason;
  int64_t created_us = 0;
  int64_t expires_us = 0;
  ProposalStatus status = ProposalStatus::kPending;
  std::string confirmer_id;
};

struct DeviceEntry {
  std::string device_id;       // hex
  std::string contributor_id;  // hex
  int64_t enrolled_us = 0;
};

class AccessStore {
 public:
  virtual ~AccessStore() = default;

  // ALREADY_EXISTS if the id is taken (or a contributor principal exists for the contributor).
  virtual absl::Status CreatePrincipal(const Principal& p) = 0;
  virtual absl::StatusOr<std::optional<Principal>> GetPrincipal(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<Principal>> FindContributorPrincipal(
      const std::string& contributor_id) = 0;
  virtual absl::StatusOr<std::vector<Principal>> ListPrincipals() = 0;
  virtual absl::Status SetPrincipalDisabled(const std::string& id, bool disabled) = 0;

  // ALREADY_EXISTS if the id or hash is taken.
  virtual absl::Status PutToken(const TokenRecord& t) = 0;
  virtual absl::StatusOr<std::optional<TokenRecord>> FindTokenByHash(
      const std::string& token_sha256) = 0;
  virtual absl::StatusOr<std::optional<TokenRecord>> GetToken(const std::string& id) = 0;
  // NOT_FOUND if unknown; OK if already revoked (keeps the first time).
  virtual absl::Status RevokeToken(const std::string& id, int64_t now_us) = 0;

  virtual absl::Status CreateGrant(const Grant& g) = 0;
  virtual absl::StatusOr<std::optional<Grant>> GetGrant(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<Grant>> ListGrants() = 0;
  // Replaces the grant only if its stored status is still `expected`;
  // FAILED_PRECONDITION otherwise (a concurrent decision won).
  virtual absl::Status UpdateGrantIf(const Grant& g, GrantStatus expected) = 0;

  virtual absl::Status CreateProposal(const StateProposal& p) = 0;
  virtual absl::StatusOr<std::optional<StateProposal>> GetProposal(const std::string& id) = 0;
  // Proposals still marked pending (expired ones included: the caller filters
  // by time), oldest first.
  virtual absl::StatusOr<std::vector<StateProposal>> ListPendingProposals() = 0;
  // Replaces the proposal only if it is still pending; FAILED_PRECONDITION otherwise.
  virtual absl::Status UpdateProposalIfPending(const StateProposal& p) = 0;

  // Device directory (filled at enrolment). Idempotent.
  virtual absl::Status RecordDevice(const DeviceEntry& d) = 0;
  virtual absl::StatusOr<std::vector<DeviceEntry>> ListDevices() = 0;

  // Passkeys. PutPasskey: ALREADY_EXISTS if the credential id is registered.
  virtual absl::Status PutPasskey(const PasskeyRecord& k) = 0;
  virtual absl::StatusOr<std::optional<PasskeyRecord>> GetPasskey(
      const std::string& credential_id) = 0;
  virtual absl::StatusOr<std::vector<PasskeyRecord>> ListPasskeys(
      const std::string& principal_id) = 0;
  // Records a use: sets sign_count and last_used_us only if the stored
  // sign_count is still `expected` (FAILED_PRECONDITION otherwise: a
  // concurrent sign-in with a cloned authenticator raced this one).
  virtual absl::Status UpdatePasskeyUse(const std::string& credential_id, uint32_t expected,
                                        uint32_t sign_count, int64_t now_us) = 0;

  // Single-use codes. PutCode: ALREADY_EXISTS on a hash collision.
  virtual absl::Status PutCode(const OneTimeCode& c) = 0;
  // The code with this hash, or nullopt.
  virtual absl::StatusOr<std::optional<OneTimeCode>> GetCode(const std::string& code_sha256) = 0;
  // Marks the code used at `now_us` if it is of `kind`, unused and unexpired
  // at `now_us`, atomically (two concurrent uses: one wins). Returns whether
  // this call used it.
  virtual absl::StatusOr<bool> UseCode(const std::string& code_sha256, std::string_view kind,
                                       int64_t now_us) = 0;

  virtual absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  virtual absl::Status PutSetting(const std::string& key, const std::string& value) = 0;
};

// SQLite implementation (WAL, synchronous=FULL). One connection behind a mutex.
class SqliteAccessStore;
absl::StatusOr<std::unique_ptr<AccessStore>> OpenSqliteAccessStore(const std::string& path);

}  // namespace sealtrace::access
