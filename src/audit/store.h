// AuditStore: durable storage behind the audit log. Implementations: SQLite
// (sqlite_store.h, the embedded default), in-memory (memory_store.h, tests
// only); PostgreSQL can be added behind the same interface.
//
// Contract: AppendLeaf returns OK only once the leaf is on stable storage, and
// on error nothing of it is visible. Leaves are dense: index == Size().
// Implementations must be thread-safe. Nothing here verifies anything: the
// AuditLog recomputes hashes and checks signed checkpoints on top.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace::audit {

struct StoredLeaf {
  uint64_t index = 0;
  std::string data;       // canonical entry bytes
  std::string leaf_hash;  // 32 bytes, as stored (untrusted until recomputed)
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  virtual absl::StatusOr<uint64_t> Size() = 0;
  // Appends leaf `index` (must equal Size()); `contributor` is indexed for lookups.
  virtual absl::Status AppendLeaf(uint64_t index, std::string_view data, std::string_view leaf_hash,
                                  std::string_view contributor) = 0;
  // Leaves [begin, end) in index order.
  virtual absl::StatusOr<std::vector<StoredLeaf>> ReadLeaves(uint64_t begin, uint64_t end) = 0;
  // Indexes of leaves whose subject is `contributor`, ascending.
  virtual absl::StatusOr<std::vector<uint64_t>> LeavesForContributor(
      std::string_view contributor) = 0;
  // Durably records a signed checkpoint note for tree size `size`.
  virtual absl::Status StoreCheckpoint(uint64_t size, std::string_view note) = 0;
  // The most recently stored checkpoint, if any.
  virtual absl::StatusOr<std::optional<std::string>> LoadLatestCheckpoint() = 0;
};

}  // namespace sealtrace::audit
