#include "audit/audit_log.h"

#include "absl/strings/str_cat.h"
#include "common/env.h"

namespace sealtrace::audit {
namespace {
constexpr uint64_t kReadBatch = 4096;
}

AuditLog::AuditLog(std::unique_ptr<AuditStore> store, AuditSigner* signer, AuditLogOptions options)
    : store_(std::move(store)),
      signer_(signer),
      options_(std::move(options)),
      env_(options_.env ? options_.env : Env::Default()) {}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(std::unique_ptr<AuditStore> store,
                                                         AuditSigner* signer,
                                                         AuditLogOptions options) {
  if (store == nullptr || signer == nullptr) {
    return absl::InvalidArgumentError("audit log: store and signer are required");
  }
  if (signer->name() != options.origin) {
    return absl::InvalidArgumentError(absl::StrCat("audit log: signing key is named \"",
                                                   signer->name(), "\" but the origin is \"",
                                                   options.origin, "\""));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(store), signer, std::move(options)));
  if (auto s = log->Load(); !s.ok()) return s;
  return log;
}

absl::Status AuditLog::Load() {
  std::lock_guard<std::mutex> l(mu_);
  auto size = store_->Size();
  if (!size.ok()) return size.status();
  for (uint64_t begin = 0; begin < *size; begin += kReadBatch) {
    const uint64_t end = std::min(*size, begin + kReadBatch);
    auto leaves = store_->ReadLeaves(begin, end);
    if (!leaves.ok()) return leaves.status();
    if (leaves->size() != end - begin) {
      return absl::DataLossError(
          absl::StrCat("audit log tampered: leaves missing in [", begin, ", ", end, ")"));
    }
    for (const StoredLeaf& leaf : *leaves) {
      if (leaf.index != tree_.size()) {
        return absl::DataLossError(absl::StrCat("audit log tampered: leaf ", tree_.size(),
                                                " missing (found ", leaf.index, ")"));
      }
      const std::string h = HashLeaf(leaf.data);
      if (h != leaf.leaf_hash) {
        return absl::DataLossError(
            absl::StrCat("audit log tampered: leaf ", leaf.index,
                         " data does not match its stored leaf hash (row edited in the database)"));
      }
      tree_.AppendLeafHash(h);
    }
  }
  auto note = store_->LoadLatestCheckpoint();
  if (!note.ok()) return note.status();
  if (!note->has_value()) return absl::OkStatus();
  auto cp = VerifyCheckpoint(**note, signer_->Verifiers(), options_.origin);
  if (!cp.ok()) {
    return absl::DataLossError(absl::StrCat(
        "audit log tampered: latest stored checkpoint does not verify: ", cp.status().message()));
  }
  const uint64_t cp_size = cp->checkpoint.size;
  if (cp_size > tree_.size()) {
    return absl::DataLossError(absl::StrCat("audit log tampered: checkpoint covers ", cp_size,
                                            " leaves but the store holds ", tree_.size(),
                                            " (leaves removed)"));
  }
  auto root = tree_.RootAt(cp_size);
  if (!root.ok()) return root.status();
  if (*root != cp->checkpoint.root_hash) {
    return absl::DataLossError(
        absl::StrCat("audit log tampered: the first ", cp_size,
                     " leaves do not hash to the signed checkpoint root (leaves rewritten)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::Append(const AuditEntry& entry) {
  std::lock_guard<std::mutex> l(mu_);
  if (poisoned_) {
    return absl::FailedPreconditionError(
        "audit log: an earlier store failure left the log in an unknown state; reopen it");
  }
  AuditEntry e = entry;
  if (e.time_us == 0) e.time_us = env_->NowWallMicros();
  auto data = SerializeEntry(e);
  if (!data.ok()) return data.status();
  const std::string h = HashLeaf(*data);
  const uint64_t index = tree_.size();
  absl::Status s = store_->AppendLeaf(index, *data, h, e.subject_contributor);
  if (!s.ok()) {
    // Fail closed. If the store cannot confirm nothing was written, stop.
    auto size = store_->Size();
    if (!size.ok() || *size != index) poisoned_ = true;
    return absl::UnavailableError(
        absl::StrCat("audit append failed (action must be refused): ", s.message()));
  }
  tree_.AppendLeafHash(h);
  return index;
}

absl::StatusOr<std::string> AuditLog::Checkpoint() {
  std::lock_guard<std::mutex> l(mu_);
  audit::Checkpoint cp;
  cp.origin = options_.origin;
  cp.size = tree_.size();
  cp.root_hash = tree_.Root();
  auto note = signer_->SignCheckpoint(cp);
  if (!note.ok()) return note.status();
  if (auto s = store_->StoreCheckpoint(cp.size, *note); !s.ok()) return s;
  return note;
}

absl::StatusOr<std::string> AuditLog::LatestCheckpoint() {
  std::lock_guard<std::mutex> l(mu_);
  auto note = store_->LoadLatestCheckpoint();
  if (!note.ok()) return note.status();
  if (!note->has_value()) return absl::NotFoundError("audit log: no checkpoint yet");
  return **note;
}

uint64_t AuditLog::Size() {
  std::lock_guard<std::mutex> l(mu_);
  return tree_.size();
}

std::string AuditLog::Root() {
  std::lock_guard<std::mutex> l(mu_);
  return tree_.Root();
}

absl::StatusOr<std::string> AuditLog::RootAt(uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  return tree_.RootAt(size);
}

absl::StatusOr<std::vector<std::string>> AuditLog::InclusionProof(uint64_t index, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  return tree_.InclusionProof(index, size);
}

absl::StatusOr<std::vector<std::string>> AuditLog::ConsistencyProof(uint64_t old_size,
                                                                    uint64_t new_size) {
  std::lock_guard<std::mutex> l(mu_);
  return tree_.ConsistencyProof(old_size, new_size);
}

absl::StatusOr<std::string> AuditLog::LeafHash(uint64_t index) {
  std::lock_guard<std::mutex> l(mu_);
  if (index >= tree_.size()) return absl::OutOfRangeError("audit log: no such leaf");
  return tree_.leaf_hashes()[index];
}

absl::StatusOr<AuditEntry> AuditLog::Entry(uint64_t index) {
  std::lock_guard<std::mutex> l(mu_);
  if (index >= tree_.size()) return absl::OutOfRangeError("audit log: no such leaf");
  auto leaves = store_->ReadLeaves(index, index + 1);
  if (!leaves.ok()) return leaves.status();
  if (leaves->size() != 1 || HashLeaf((*leaves)[0].data) != tree_.leaf_hashes()[index]) {
    return absl::DataLossError(absl::StrCat("audit log tampered: leaf ", index, " changed"));
  }
  return ParseEntry((*leaves)[0].data);
}

absl::StatusOr<std::vector<std::pair<uint64_t, AuditEntry>>> AuditLog::EntriesForContributor(
    std::string_view contributor_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto idx = store_->LeavesForContributor(contributor_id);
  if (!idx.ok()) return idx.status();
  std::vector<std::pair<uint64_t, AuditEntry>> out;
  for (uint64_t i : *idx) {
    if (i >= tree_.size()) continue;  // not (yet) part of this log's tree
    auto leaves = store_->ReadLeaves(i, i + 1);
    if (!leaves.ok()) return leaves.status();
    if (leaves->size() != 1 || HashLeaf((*leaves)[0].data) != tree_.leaf_hashes()[i]) {
      return absl::DataLossError(absl::StrCat("audit log tampered: leaf ", i, " changed"));
    }
    auto e = ParseEntry((*leaves)[0].data);
    if (!e.ok()) return e.status();
    if (e->subject_contributor != contributor_id) {
      return absl::DataLossError(
          absl::StrCat("audit log tampered: leaf ", i, " indexed under the wrong contributor"));
    }
    out.emplace_back(i, *std::move(e));
  }
  return out;
}

}  // namespace sealtrace::audit
