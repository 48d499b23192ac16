// AuditLog: the append-only, tamper-evident audit log (RFC 6962 Merkle tree
// over canonical AuditEntry bytes, C2SP checkpoints signed by AuditSigner).
//
// Durability and fail-closed: Append returns an index only after the store
// reports the leaf durable; on any store error it returns that error, the
// in-memory tree is unchanged, and the caller must refuse the audited action.
// If the store's state is unknown after a failure, the log refuses all further
// appends until it is reopened (reopening re-verifies everything).
//
// Open() verifies the whole store: every leaf's data is re-hashed and compared
// with its stored hash, and the tree's root at the latest stored checkpoint's
// size must equal that checkpoint's signed root. A row edited in the database
// is reported as DataLoss naming the leaf. Leaves after the latest checkpoint
// are only covered once the next Checkpoint() signs them.
//
// Thread-safe: all methods take an internal mutex. Owns the store; the signer
// is borrowed and must outlive the log.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/checkpoint.h"
#include "audit/entry.h"
#include "audit/merkle.h"
#include "audit/signer.h"
#include "audit/store.h"

namespace sealtrace {
class Env;
}

namespace sealtrace::audit {

constexpr char kDefaultOrigin[] = "sealtrace.local/audit";

struct AuditLogOptions {
  std::string origin = kDefaultOrigin;  // must equal the signer's key name
  Env* env = nullptr;                   // clock; Env::Default() if null
};

class AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(std::unique_ptr<AuditStore> store,
                                                        AuditSigner* signer,
                                                        AuditLogOptions options = {});

  // Appends `entry` (time_us 0 is set from the env's wall clock). Returns its index.
  absl::StatusOr<uint64_t> Append(const AuditEntry& entry);
  // Signs a checkpoint of the current tree, stores it durably, returns the note.
  absl::StatusOr<std::string> Checkpoint();
  // The latest stored checkpoint note, NotFound if none.
  absl::StatusOr<std::string> LatestCheckpoint();

  uint64_t Size();
  std::string Root();
  absl::StatusOr<std::string> RootAt(uint64_t size);
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t size);
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size);
  absl::StatusOr<std::string> LeafHash(uint64_t index);
  absl::StatusOr<AuditEntry> Entry(uint64_t index);
  absl::StatusOr<std::vector<std::pair<uint64_t, AuditEntry>>> EntriesForContributor(
      std::string_view contributor_id);

  std::vector<NoteVerifier> Verifiers() const { return signer_->Verifiers(); }
  const std::string& origin() const { return options_.origin; }

 private:
  AuditLog(std::unique_ptr<AuditStore> store, AuditSigner* signer, AuditLogOptions options);
  absl::Status Load();

  std::mutex mu_;
  std::unique_ptr<AuditStore> store_;
  AuditSigner* const signer_;
  const AuditLogOptions options_;
  Env* const env_;
  MerkleTree tree_;
  bool poisoned_ = false;
};

}  // namespace sealtrace::audit
