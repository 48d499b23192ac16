#include "audit/pg_audit_store.h"

#include "storage/pg/pg.h"

namespace sealtrace::audit {
namespace {

using storage::PgConn;
using storage::PgParam;

const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE audit_leaves(
  idx BIGINT PRIMARY KEY,
  data BYTEA NOT NULL,
  leaf_hash BYTEA NOT NULL,
  contributor TEXT NOT NULL
);
CREATE INDEX audit_leaves_by_contributor ON audit_leaves(contributor, idx);
CREATE TABLE audit_checkpoints(
  seq BIGSERIAL PRIMARY KEY,
  size BIGINT NOT NULL,
  note TEXT NOT NULL
);
)sql",
};

// Serialises appenders across processes (arbitrary constant).
constexpr char kAppendLock[] = "SELECT pg_advisory_xact_lock(617564)";

absl::StatusOr<uint64_t> SizeOn(PgConn* c) {
  auto r = c->Exec("audit_size", "SELECT coalesce(max(idx) + 1, 0) FROM audit_leaves", {});
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(r->Int(0, 0));
}

}  // namespace

PgAuditStore::PgAuditStore(std::unique_ptr<storage::PgPool> pool) : pool_(std::move(pool)) {}
PgAuditStore::~PgAuditStore() = default;

absl::StatusOr<std::unique_ptr<PgAuditStore>> PgAuditStore::Open(const std::string& conninfo,
                                                                 int max_connections) {
  static_assert(kSchemaVersion == 1);
  auto pool = storage::PgPool::Open(conninfo, max_connections);
  if (!pool.ok()) return pool.status();
  if (auto s = (*pool)->Migrate("audit", kMigrations); !s.ok()) return s;
  return std::unique_ptr<PgAuditStore>(new PgAuditStore(std::move(*pool)));
}

absl::StatusOr<uint64_t> PgAuditStore::Size() {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return SizeOn(lease->get());
}

absl::Status PgAuditStore::AppendLeaf(uint64_t index, std::string_view data,
                                      std::string_view leaf_hash, std::string_view contributor) {
  return pool_->InTransaction([&](PgConn* c) -> absl::Status {
    if (auto s = c->ExecSimple(kAppendLock, "audit append lock"); !s.ok()) return s;
    auto size = SizeOn(c);
    if (!size.ok()) return size.status();
    if (*size != index) {
      return absl::FailedPreconditionError("audit store: append at " + std::to_string(index) +
                                           " but size is " + std::to_string(*size));
    }
    return c
        ->Exec("audit_append",
               "INSERT INTO audit_leaves(idx, data, leaf_hash, contributor) VALUES($1,$2,$3,$4)",
               {PgParam::Int(static_cast<int64_t>(index)), PgParam::Bytes(data),
                PgParam::Bytes(leaf_hash), PgParam::Text(std::string(contributor))})
        .status();
  });
}

absl::StatusOr<std::vector<StoredLeaf>> PgAuditStore::ReadLeaves(uint64_t begin, uint64_t end) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Exec(
      "audit_read",
      "SELECT idx, data, leaf_hash FROM audit_leaves WHERE idx >= $1 AND "
      "idx < $2 ORDER BY idx",
      {PgParam::Int(static_cast<int64_t>(begin)), PgParam::Int(static_cast<int64_t>(end))});
  if (!r.ok()) return r.status();
  std::vector<StoredLeaf> out;
  for (int i = 0; i < r->rows(); ++i) {
    StoredLeaf leaf;
    leaf.index = static_cast<uint64_t>(r->Int(i, 0));
    leaf.data = r->Bytes(i, 1);
    leaf.leaf_hash = r->Bytes(i, 2);
    out.push_back(std::move(leaf));
  }
  return out;
}

absl::StatusOr<std::vector<uint64_t>> PgAuditStore::LeavesForContributor(
    std::string_view contributor) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Exec("audit_by_contributor",
                          "SELECT idx FROM audit_leaves WHERE contributor=$1 ORDER BY idx",
                          {PgParam::Text(std::string(contributor))});
  if (!r.ok()) return r.status();
  std::vector<uint64_t> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(static_cast<uint64_t>(r->Int(i, 0)));
  return out;
}

absl::Status PgAuditStore::StoreCheckpoint(uint64_t size, std::string_view note) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)
      ->Exec("audit_checkpoint", "INSERT INTO audit_checkpoints(size, note) VALUES($1,$2)",
             {PgParam::Int(static_cast<int64_t>(size)), PgParam::Text(std::string(note))})
      .status();
}

absl::StatusOr<std::optional<std::string>> PgAuditStore::LoadLatestCheckpoint() {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Exec("audit_latest_checkpoint",
                          "SELECT note FROM audit_checkpoints ORDER BY seq DESC LIMIT 1", {});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->Text(0, 0));
}

}  // namespace sealtrace::audit
