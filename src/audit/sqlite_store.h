// SqliteAuditStore: the embedded AuditStore, in its own SQLite database file
// (WAL journal, synchronous=FULL: a commit returns after the WAL is fsync'd).
//
// Schema: leaves(idx PRIMARY KEY, data BLOB, leaf_hash BLOB, contributor TEXT),
//         checkpoints(seq PRIMARY KEY, size, note TEXT).
// Thread-safe (one connection guarded by a mutex). Errors are Status values
// naming the SQLite error; an append that fails is rolled back.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "audit/store.h"

struct sqlite3;

namespace sealtrace::audit {

class SqliteAuditStore : public AuditStore {
 public:
  struct Options {
    bool create_if_missing = true;
    bool read_only = false;
  };
  static absl::StatusOr<std::unique_ptr<SqliteAuditStore>> Open(const std::string& path,
                                                                Options options);
  static absl::StatusOr<std::unique_ptr<SqliteAuditStore>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~SqliteAuditStore() override;

  absl::StatusOr<uint64_t> Size() override;
  absl::Status AppendLeaf(uint64_t index, std::string_view data, std::string_view leaf_hash,
                          std::string_view contributor) override;
  absl::StatusOr<std::vector<StoredLeaf>> ReadLeaves(uint64_t begin, uint64_t end) override;
  absl::StatusOr<std::vector<uint64_t>> LeavesForContributor(std::string_view contributor) override;
  absl::Status StoreCheckpoint(uint64_t size, std::string_view note) override;
  absl::StatusOr<std::optional<std::string>> LoadLatestCheckpoint() override;

 private:
  explicit SqliteAuditStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);
  absl::StatusOr<uint64_t> SizeLocked();

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace sealtrace::audit
