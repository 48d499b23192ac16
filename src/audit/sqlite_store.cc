#include "audit/sqlite_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace sealtrace::audit {
namespace {

absl::Status SqlError(sqlite3* db, std::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("audit store: ", std::string(what), ": ", db ? sqlite3_errmsg(db) : "no db"));
}

// RAII prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::string ColumnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(const std::string& path,
                                                                         Options options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_FULLMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    absl::Status s = absl::NotFoundError(
        absl::StrCat("audit store: cannot open ", path, ": ", db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteAuditStore> store(new SqliteAuditStore(db));
  sqlite3_busy_timeout(db, 5000);
  if (!options.read_only) {
    for (const char* sql : {
             "PRAGMA journal_mode=WAL",
             "PRAGMA synchronous=FULL",
             "CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, data BLOB NOT NULL,"
             " leaf_hash BLOB NOT NULL, contributor TEXT NOT NULL)",
             "CREATE INDEX IF NOT EXISTS leaves_by_contributor ON leaves(contributor, idx)",
             "CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
             " size INTEGER NOT NULL, note TEXT NOT NULL)",
         }) {
      if (auto s = store->Exec(sql); !s.ok()) return s;
    }
  } else {
    Stmt check(db, "SELECT 1 FROM leaves LIMIT 1");
    if (!check.ok()) return SqlError(db, absl::StrCat(path, " is not an audit log database"));
  }
  return store;
}

SqliteAuditStore::~SqliteAuditStore() { sqlite3_close(db_); }

absl::Status SqliteAuditStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s =
        absl::UnavailableError(absl::StrCat("audit store: ", sql, ": ", err ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SqliteAuditStore::SizeLocked() {
  Stmt s(db_, "SELECT COALESCE(MAX(idx) + 1, 0) FROM leaves");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return SqlError(db_, "size");
  return static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
}

absl::StatusOr<uint64_t> SqliteAuditStore::Size() {
  std::lock_guard<std::mutex> l(mu_);
  return SizeLocked();
}

absl::Status SqliteAuditStore::AppendLeaf(uint64_t index, std::string_view data,
                                          std::string_view leaf_hash,
                                          std::string_view contributor) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto fail = [&](absl::Status s) {
    Exec("ROLLBACK").IgnoreError();
    return s;
  };
  auto size = SizeLocked();
  if (!size.ok()) return fail(size.status());
  if (*size != index) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("audit store: append at ", index, " but size is ", *size)));
  }
  Stmt ins(db_, "INSERT INTO leaves (idx, data, leaf_hash, contributor) VALUES (?, ?, ?, ?)");
  if (!ins.ok()) return fail(SqlError(db_, "prepare insert"));
  sqlite3_bind_int64(ins.get(), 1, static_cast<sqlite3_int64>(index));
  sqlite3_bind_blob(ins.get(), 2, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
  sqlite3_bind_blob(ins.get(), 3, leaf_hash.data(), static_cast<int>(leaf_hash.size()),
                    SQLITE_STATIC);
  sqlite3_bind_text(ins.get(), 4, contributor.data(), static_cast<int>(contributor.size()),
                    SQLITE_STATIC);
  if (sqlite3_step(ins.get()) != SQLITE_DONE) return fail(SqlError(db_, "insert leaf"));
  if (auto s = Exec("COMMIT"); !s.ok()) return fail(s);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredLeaf>> SqliteAuditStore::ReadLeaves(uint64_t begin, uint64_t end) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT idx, data, leaf_hash FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx");
  if (!s.ok()) return SqlError(db_, "prepare read");
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(begin));
  sqlite3_bind_int64(s.get(), 2, static_cast<sqlite3_int64>(end));
  std::vector<StoredLeaf> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    StoredLeaf leaf;
    leaf.index = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
    leaf.data = ColumnBlob(s.get(), 1);
    leaf.leaf_hash = ColumnBlob(s.get(), 2);
    out.push_back(std::move(leaf));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read leaves");
  return out;
}

absl::StatusOr<std::vector<uint64_t>> SqliteAuditStore::LeavesForContributor(
    std::string_view contributor) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT idx FROM leaves WHERE contributor = ? ORDER BY idx");
  if (!s.ok()) return SqlError(db_, "prepare lookup");
  sqlite3_bind_text(s.get(), 1, contributor.data(), static_cast<int>(contributor.size()),
                    SQLITE_STATIC);
  std::vector<uint64_t> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    out.push_back(static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0)));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "lookup contributor");
  return out;
}

absl::Status SqliteAuditStore::StoreCheckpoint(uint64_t size, std::string_view note) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "INSERT INTO checkpoints (size, note) VALUES (?, ?)");
  if (!s.ok()) return SqlError(db_, "prepare checkpoint");
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(size));
  sqlite3_bind_text(s.get(), 2, note.data(), static_cast<int>(note.size()), SQLITE_STATIC);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db_, "store checkpoint");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> SqliteAuditStore::LoadLatestCheckpoint() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "SELECT note FROM checkpoints ORDER BY seq DESC LIMIT 1");
  if (!s.ok()) return SqlError(db_, "prepare load checkpoint");
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqlError(db_, "load checkpoint");
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
  return std::optional<std::string>(
      std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s.get(), 0))));
}

}  // namespace sealtrace::audit
