// PgAuditStore: the AuditStore on PostgreSQL (libpq), for multi-machine
// deployments (docs/DEPLOY.md). Same contract as SqliteAuditStore.
//
// Schema (migrations in schema_migrations, component "audit"):
//   audit_leaves(idx BIGINT PRIMARY KEY, data BYTEA, leaf_hash BYTEA, contributor TEXT),
//   audit_checkpoints(seq BIGSERIAL PRIMARY KEY, size BIGINT, note TEXT).
// AppendLeaf runs in one transaction that takes a transaction-scoped advisory
// lock, checks index == Size() and inserts: appends from several processes are
// serialised and stay dense; OK only after COMMIT (durable with the server's
// synchronous_commit=on). On error nothing is visible.
// Failure: connection loss -> UNAVAILABLE (the AuditLog then fails closed).
// Thread-safety: safe for concurrent use (a small connection pool).
#pragma once

#include <memory>
#include <string>

#include "audit/store.h"

namespace sealtrace::storage {
class PgPool;
}

namespace sealtrace::audit {

class PgAuditStore final : public AuditStore {
 public:
  static constexpr int kSchemaVersion = 1;
  static absl::StatusOr<std::unique_ptr<PgAuditStore>> Open(const std::string& conninfo,
                                                            int max_connections = 2);
  ~PgAuditStore() override;

  absl::StatusOr<uint64_t> Size() override;
  absl::Status AppendLeaf(uint64_t index, std::string_view data, std::string_view leaf_hash,
                          std::string_view contributor) override;
  absl::StatusOr<std::vector<StoredLeaf>> ReadLeaves(uint64_t begin, uint64_t end) override;
  absl::StatusOr<std::vector<uint64_t>> LeavesForContributor(std::string_view contributor) override;
  absl::Status StoreCheckpoint(uint64_t size, std::string_view note) override;
  absl::StatusOr<std::optional<std::string>> LoadLatestCheckpoint() override;

 private:
  explicit PgAuditStore(std::unique_ptr<storage::PgPool> pool);
  std::unique_ptr<storage::PgPool> pool_;
};

}  // namespace sealtrace::audit
