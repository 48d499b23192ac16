// MemoryAuditStore: a non-durable AuditStore for tests and benchmarks'
// baselines. Thread-safe. Never use it where durability is promised.
#pragma once

#include <mutex>

#include "audit/store.h"

namespace sealtrace::audit {

class MemoryAuditStore : public AuditStore {
 public:
  absl::StatusOr<uint64_t> Size() override;
  absl::Status AppendLeaf(uint64_t index, std::string_view data, std::string_view leaf_hash,
                          std::string_view contributor) override;
  absl::StatusOr<std::vector<StoredLeaf>> ReadLeaves(uint64_t begin, uint64_t end) override;
  absl::StatusOr<std::vector<uint64_t>> LeavesForContributor(std::string_view contributor) override;
  absl::Status StoreCheckpoint(uint64_t size, std::string_view note) override;
  absl::StatusOr<std::optional<std::string>> LoadLatestCheckpoint() override;

  // Test hook: overwrite a stored leaf's data (simulates a tampered row).
  void TamperData(uint64_t index, std::string data);

 private:
  std::mutex mu_;
  std::vector<StoredLeaf> leaves_;
  std::vector<std::string> contributors_;
  std::optional<std::string> checkpoint_;
};

}  // namespace sealtrace::audit
