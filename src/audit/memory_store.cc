#include "audit/memory_store.h"

#include "absl/strings/str_cat.h"

namespace sealtrace::audit {

absl::StatusOr<uint64_t> MemoryAuditStore::Size() {
  std::lock_guard<std::mutex> l(mu_);
  return leaves_.size();
}

absl::Status MemoryAuditStore::AppendLeaf(uint64_t index, std::string_view data,
                                          std::string_view leaf_hash,
                                          std::string_view contributor) {
  std::lock_guard<std::mutex> l(mu_);
  if (index != leaves_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit store: append at ", index, " but size is ", leaves_.size()));
  }
  leaves_.push_back({index, std::string(data), std::string(leaf_hash)});
  contributors_.emplace_back(contributor);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredLeaf>> MemoryAuditStore::ReadLeaves(uint64_t begin, uint64_t end) {
  std::lock_guard<std::mutex> l(mu_);
  if (begin > end || end > leaves_.size()) return absl::OutOfRangeError("audit store: bad range");
  return std::vector<StoredLeaf>(leaves_.begin() + begin, leaves_.begin() + end);
}

absl::StatusOr<std::vector<uint64_t>> MemoryAuditStore::LeavesForContributor(
    std::string_view contributor) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < contributors_.size(); ++i) {
    if (contributors_[i] == contributor) out.push_back(i);
  }
  return out;
}

absl::Status MemoryAuditStore::StoreCheckpoint(uint64_t size, std::string_view note) {
  std::lock_guard<std::mutex> l(mu_);
  checkpoint_ = std::string(note);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryAuditStore::LoadLatestCheckpoint() {
  std::lock_guard<std::mutex> l(mu_);
  return checkpoint_;
}

void MemoryAuditStore::TamperData(uint64_t index, std::string data) {
  std::lock_guard<std::mutex> l(mu_);
  leaves_.at(index).data = std::move(data);
}

}  // namespace sealtrace::audit
