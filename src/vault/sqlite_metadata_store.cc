#include "vault/sqlite_metadata_store.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

namespace sealtrace::vault {
namespace {

// Schema migrations, index i brings user_version from i to i+1. Append only:
// never edit a migration that has shipped.
const char* const kMigrations[] = {
    // v1: initial schema.
    R"sql(
CREATE TABLE contributors(
  id TEXT PRIMARY KEY,                 -- 32 hex chars
  name TEXT NOT NULL UNIQUE,
  public_key BLOB NOT NULL,            -- current X25519 public key
  created_us INTEGER NOT NULL
);
CREATE TABLE contributor_keys(
  contributor_id TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  master_key_version INTEGER NOT NULL, -- master key that wrapped the secret key
  public_key BLOB NOT NULL,
  wrapped_secret_key BLOB NOT NULL,    -- zero-length once destroyed
  created_us INTEGER NOT NULL,
  destroyed INTEGER NOT NULL DEFAULT 0,
  destroyed_us INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(contributor_id, key_version)
);
CREATE TABLE devices(
  id TEXT PRIMARY KEY,
  contributor_id TEXT NOT NULL REFERENCES contributors(id),
  token_sha256 BLOB NOT NULL UNIQUE,
  created_us INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL DEFAULT 0,
  last_upload_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_by_contributor ON devices(contributor_id);
CREATE TABLE segments(
  segment_id TEXT PRIMARY KEY,
  contributor_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,           -- u64 stored as its two's-complement i64
  wall_anchor_us INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  size INTEGER NOT NULL,
  blob_sha256 TEXT NOT NULL,
  flags INTEGER NOT NULL,
  received_us INTEGER NOT NULL
);
CREATE INDEX segments_by_contributor ON segments(contributor_id, device_id, sequence);
CREATE INDEX segments_by_blob ON segments(blob_sha256);
CREATE TABLE settings(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO settings(key, value) VALUES('programme_state', 'ACTIVE');
)sql",
    // v2: devices a contributor revoked.
    R"sql(
ALTER TABLE devices ADD COLUMN revoked_us INTEGER NOT NULL DEFAULT 0;
)sql",
    // v3: segments keep only a coarse time range (whole UTC hours) and the
    // ingest time floored to the hour; exact anchor, duration and the (always
    // 0) event count are dropped (FORMAT.md §1: they are sealed in the segment).
    R"sql(
CREATE TABLE segments_v3(
  segment_id TEXT PRIMARY KEY,
  contributor_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,           -- u64 stored as its two's-complement i64
  wall_start_us INTEGER NOT NULL,      -- UTC hour boundary
  wall_end_us INTEGER NOT NULL,        -- UTC hour boundary, exclusive
  size INTEGER NOT NULL,
  blob_sha256 TEXT NOT NULL,
  flags INTEGER NOT NULL,
  received_us INTEGER NOT NULL         -- floored to the UTC hour
);
INSERT INTO segments_v3(segment_id, contributor_id, device_id, sequence, wall_start_us,
                        wall_end_us, size, blob_sha256, flags, received_us)
  SELECT segment_id, contributor_id, device_id, sequence,
         (wall_anchor_us) - ((((wall_anchor_us) % 3600000000) + 3600000000) % 3600000000),
         (wall_anchor_us + duration_us) - ((((wall_anchor_us + duration_us) % 3600000000) + 3600000000) % 3600000000) + 3600000000,
         size, blob_sha256, flags,
         (received_us) - ((((received_us) % 3600000000) + 3600000000) % 3600000000)
  FROM segments;
DROP TABLE segments;
ALTER TABLE segments_v3 RENAME TO segments;
CREATE INDEX segments_by_contributor ON segments(contributor_id, device_id, sequence);
CREATE INDEX segments_by_blob ON segments(blob_sha256);
)sql",
};
constexpr int kNumMigrations = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kNumMigrations == SqliteMetadataStore::kSchemaVersion);

absl::Status SqlError(sqlite3* db, int rc, const std::string& what) {
  std::string msg = "sqlite " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) return absl::NotFoundError(msg);
      return absl::AlreadyExistsError(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// A prepared statement, finalised on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  absl::Status status(const char* what) const {
    return rc_ == SQLITE_OK ? absl::OkStatus() : SqlError(db_, rc_, std::string("prepare ") + what);
  }
  Stmt& Text(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Blob(int i, std::string_view s) {
    sqlite3_bind_blob(st_, i, s.empty() ? "" : s.data(), static_cast<int>(s.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Int(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  // Returns SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(st_); }
  std::string ColText(int i) const {
    const unsigned char* p = sqlite3_column_text(st_, i);
    int n = sqlite3_column_bytes(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : "";
  }
  std::string ColBlob(int i) const {
    const void* p = sqlite3_column_blob(st_, i);
    int n = sqlite3_column_bytes(st_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : "";
  }
  int64_t ColInt(int i) const { return sqlite3_column_int64(st_, i); }
  Id16 ColId(int i) const {
    auto id = Id16::FromHex(ColText(i));
    return id ? *id : Id16{};
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
};

absl::Status Exec(sqlite3* db, const char* sql, const char* what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    absl::Status s = SqlError(db, rc, what);
    return absl::Status(s.code(), std::string("sqlite ") + what + ": " + msg);
  }
  return absl::OkStatus();
}

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on any failure.
template <typename F>
absl::Status InTransaction(sqlite3* db, F&& body) {
  if (auto s = Exec(db, "BEGIN IMMEDIATE", "begin"); !s.ok()) return s;
  absl::Status s = body();
  if (s.ok()) s = Exec(db, "COMMIT", "commit");
  if (!s.ok()) Exec(db, "ROLLBACK", "rollback").IgnoreError();
  return s;
}

absl::Status StepDone(sqlite3* db, Stmt& st, const char* what) {
  int rc = st.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqlError(db, rc, what);
  return absl::OkStatus();
}

ContributorRecord ReadContributor(const Stmt& st) {
  ContributorRecord c;
  c.id = st.ColId(0);
  c.name = st.ColText(1);
  c.public_key = st.ColBlob(2);
  c.created_us = st.ColInt(3);
  return c;
}

DeviceRecord ReadDevice(const Stmt& st) {
  DeviceRecord d;
  d.id = st.ColId(0);
  d.contributor_id = st.ColId(1);
  d.token_sha256 = st.ColBlob(2);
  d.created_us = st.ColInt(3);
  d.last_seen_us = st.ColInt(4);
  d.last_upload_us = st.ColInt(5);
  d.revoked_us = st.ColInt(6);
  return d;
}

constexpr char kSegmentCols[] =
    "segment_id, contributor_id, device_id, sequence, wall_start_us, wall_end_us, size, "
    "blob_sha256, flags, received_us";

SegmentRecord ReadSegment(const Stmt& st) {
  SegmentRecord s;
  s.segment_id = st.ColId(0);
  s.contributor_id = st.ColId(1);
  s.device_id = st.ColId(2);
  s.sequence = static_cast<uint64_t>(st.ColInt(3));
  s.wall_start_us = st.ColInt(4);
  s.wall_end_us = st.ColInt(5);
  s.size = static_cast<uint64_t>(st.ColInt(6));
  s.blob_sha256 = st.ColText(7);
  s.flags = static_cast<uint32_t>(st.ColInt(8));
  s.received_us = st.ColInt(9);
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(
    const std::string& path, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqlError(db, rc, "open " + path);
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteMetadataStore> store(new SqliteMetadataStore(db));
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  if (path != ":memory:") {
    Stmt wal(db, "PRAGMA journal_mode=WAL");
    if (auto s = wal.status("journal_mode"); !s.ok()) return s;
    if (wal.Step() != SQLITE_ROW || wal.ColText(0) != "wal") {
      return absl::UnavailableError("sqlite: cannot switch " + path + " to WAL mode");
    }
  }
  if (auto s = Exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                    "pragmas");
      !s.ok()) {
    return s;
  }
  if (auto s = store->Migrate(); !s.ok()) return s;
  return store;
}

SqliteMetadataStore::~SqliteMetadataStore() { sqlite3_close(db_); }

absl::StatusOr<int> SqliteMetadataStore::UserVersion() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "PRAGMA user_version");
  if (auto s = st.status("user_version"); !s.ok()) return s;
  if (st.Step() != SQLITE_ROW) return SqlError(db_, SQLITE_ERROR, "user_version");
  return static_cast<int>(st.ColInt(0));
}

absl::Status SqliteMetadataStore::Migrate() {
  auto v = UserVersion();
  if (!v.ok()) return v.status();
  if (*v > kSchemaVersion) {
    return absl::FailedPreconditionError("metadata database schema version " + std::to_string(*v) +
                                         " is newer than this binary supports (" +
                                         std::to_string(kSchemaVersion) + ")");
  }
  std::lock_guard<std::mutex> l(mu_);
  const bool migrated = *v < kNumMigrations;
  for (int i = *v; i < kNumMigrations; ++i) {
    std::string pragma = "PRAGMA user_version=" + std::to_string(i + 1);
    absl::Status s = InTransaction(db_, [&]() -> absl::Status {
      if (auto s = Exec(db_, kMigrations[i], "migration"); !s.ok()) return s;
      return Exec(db_, pragma.c_str(), "set user_version");
    });
    if (!s.ok()) {
      return absl::Status(s.code(), "schema migration to v" + std::to_string(i + 1) + ": " +
                                        std::string(s.message()));
    }
  }
  // v3 dropped exact segment times: secure_delete zeroed the freed pages of
  // the main file; push the WAL in so the old pages leave the log too.
  if (migrated) Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint").IgnoreError();
  return absl::OkStatus();
}

absl::Status SqliteMetadataStore::Ping() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "SELECT 1 FROM settings LIMIT 1");
  if (auto s = st.status("ping"); !s.ok()) return s;
  return StepDone(db_, st, "ping");
}

absl::Status SqliteMetadataStore::CreateContributor(const ContributorRecord& c) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "INSERT INTO contributors(id, name, public_key, created_us) VALUES(?,?,?,?)");
  if (auto s = st.status("insert contributor"); !s.ok()) return s;
  st.Text(1, c.id.Hex()).Text(2, c.name).Blob(3, c.public_key).Int(4, c.created_us);
  return StepDone(db_, st, "insert contributor");
}

absl::StatusOr<std::optional<ContributorRecord>> SqliteMetadataStore::GetContributor(
    const Id16& id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "SELECT id, name, public_key, created_us FROM contributors WHERE id=?");
  if (auto s = st.status("get contributor"); !s.ok()) return s;
  st.Text(1, id.Hex());
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<ContributorRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "get contributor");
  return std::optional<ContributorRecord>(ReadContributor(st));
}

absl::StatusOr<std::optional<ContributorRecord>> SqliteMetadataStore::FindContributorByName(
    const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "SELECT id, name, public_key, created_us FROM contributors WHERE name=?");
  if (auto s = st.status("find contributor"); !s.ok()) return s;
  st.Text(1, name);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<ContributorRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "find contributor");
  return std::optional<ContributorRecord>(ReadContributor(st));
}

absl::Status SqliteMetadataStore::PutContributorKey(const ContributorKeyRecord& k) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "INSERT INTO contributor_keys(contributor_id, key_version, master_key_version, "
          "public_key, wrapped_secret_key, created_us, destroyed) VALUES(?,?,?,?,?,?,?)");
  if (auto s = st.status("insert key"); !s.ok()) return s;
  st.Text(1, k.contributor_id.Hex())
      .Int(2, k.key_version)
      .Int(3, k.master_key_version)
      .Blob(4, k.public_key)
      .Blob(5, k.wrapped_secret_key)
      .Int(6, k.created_us)
      .Int(7, k.destroyed ? 1 : 0);
  return StepDone(db_, st, "insert key");
}

absl::StatusOr<std::optional<ContributorKeyRecord>> SqliteMetadataStore::GetLatestContributorKey(
    const Id16& contributor_id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "SELECT key_version, master_key_version, public_key, wrapped_secret_key, created_us, "
          "destroyed FROM contributor_keys WHERE contributor_id=? ORDER BY key_version DESC "
          "LIMIT 1");
  if (auto s = st.status("get key"); !s.ok()) return s;
  st.Text(1, contributor_id.Hex());
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<ContributorKeyRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "get key");
  ContributorKeyRecord k;
  k.contributor_id = contributor_id;
  k.key_version = static_cast<uint32_t>(st.ColInt(0));
  k.master_key_version = static_cast<uint32_t>(st.ColInt(1));
  k.public_key = st.ColBlob(2);
  k.wrapped_secret_key = st.ColBlob(3);
  k.created_us = st.ColInt(4);
  k.destroyed = st.ColInt(5) != 0;
  return std::optional<ContributorKeyRecord>(std::move(k));
}

absl::StatusOr<int> SqliteMetadataStore::DestroyContributorKeys(const Id16& contributor_id,
                                                                int64_t now_us) {
  std::lock_guard<std::mutex> l(mu_);
  int live = 0;
  absl::Status s = InTransaction(db_, [&]() -> absl::Status {
    // Overwrite in place first (zeroblob of the same length) so the old bytes do not
    // survive in the page, then truncate. secure_delete (set at open) zeroes freed cells.
    Stmt zero(db_,
              "UPDATE contributor_keys SET wrapped_secret_key=zeroblob(length(wrapped_secret_key)) "
              "WHERE contributor_id=? AND destroyed=0");
    if (auto s = zero.status("zero key"); !s.ok()) return s;
    zero.Text(1, contributor_id.Hex());
    if (auto s = StepDone(db_, zero, "zero key"); !s.ok()) return s;
    live = sqlite3_changes(db_);
    Stmt st(db_,
            "UPDATE contributor_keys SET wrapped_secret_key=X'', destroyed=1, destroyed_us=? "
            "WHERE contributor_id=? AND destroyed=0");
    if (auto s = st.status("destroy key"); !s.ok()) return s;
    st.Int(1, now_us).Text(2, contributor_id.Hex());
    return StepDone(db_, st, "destroy key");
  });
  if (!s.ok()) return s;
  // Push the WAL into the main file so the old pages leave the log too.
  Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint").IgnoreError();
  return live;
}

absl::StatusOr<std::vector<ContributorKeyRecord>> SqliteMetadataStore::ListContributorKeys() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "SELECT contributor_id, key_version, master_key_version, public_key, "
          "wrapped_secret_key, created_us FROM contributor_keys WHERE destroyed=0 "
          "ORDER BY contributor_id, key_version");
  if (auto s = st.status("list keys"); !s.ok()) return s;
  std::vector<ContributorKeyRecord> out;
  for (;;) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqlError(db_, rc, "list keys");
    ContributorKeyRecord k;
    k.contributor_id = st.ColId(0);
    k.key_version = static_cast<uint32_t>(st.ColInt(1));
    k.master_key_version = static_cast<uint32_t>(st.ColInt(2));
    k.public_key = st.ColBlob(3);
    k.wrapped_secret_key = st.ColBlob(4);
    k.created_us = st.ColInt(5);
    out.push_back(std::move(k));
  }
  return out;
}

absl::StatusOr<bool> SqliteMetadataStore::UpdateWrappedKey(const Id16& contributor_id,
                                                           uint32_t key_version,
                                                           uint32_t from_master_version,
                                                           uint32_t master_key_version,
                                                           const std::string& wrapped_secret_key) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "UPDATE contributor_keys SET master_key_version=?, wrapped_secret_key=? "
          "WHERE contributor_id=? AND key_version=? AND master_key_version=? AND destroyed=0");
  if (auto s = st.status("rewrap key"); !s.ok()) return s;
  st.Int(1, master_key_version)
      .Blob(2, wrapped_secret_key)
      .Text(3, contributor_id.Hex())
      .Int(4, key_version)
      .Int(5, from_master_version);
  if (auto s = StepDone(db_, st, "rewrap key"); !s.ok()) return s;
  return sqlite3_changes(db_) > 0;
}

absl::Status SqliteMetadataStore::CreateDevice(const DeviceRecord& d) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "INSERT INTO devices(id, contributor_id, token_sha256, created_us, last_seen_us, "
          "last_upload_us) VALUES(?,?,?,?,?,?)");
  if (auto s = st.status("insert device"); !s.ok()) return s;
  st.Text(1, d.id.Hex())
      .Text(2, d.contributor_id.Hex())
      .Blob(3, d.token_sha256)
      .Int(4, d.created_us)
      .Int(5, d.last_seen_us)
      .Int(6, d.last_upload_us);
  return StepDone(db_, st, "insert device");
}

absl::StatusOr<std::optional<DeviceRecord>> SqliteMetadataStore::GetDevice(const Id16& id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "SELECT id, contributor_id, token_sha256, created_us, last_seen_us, last_upload_us, "
          "revoked_us FROM devices WHERE id=?");
  if (auto s = st.status("get device"); !s.ok()) return s;
  st.Text(1, id.Hex());
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<DeviceRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "get device");
  return std::optional<DeviceRecord>(ReadDevice(st));
}

absl::StatusOr<std::optional<DeviceRecord>> SqliteMetadataStore::FindDeviceByTokenHash(
    const std::string& token_sha256) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "SELECT id, contributor_id, token_sha256, created_us, last_seen_us, last_upload_us, "
          "revoked_us FROM devices WHERE token_sha256=?");
  if (auto s = st.status("find device"); !s.ok()) return s;
  st.Blob(1, token_sha256);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<DeviceRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "find device");
  return std::optional<DeviceRecord>(ReadDevice(st));
}

absl::Status SqliteMetadataStore::RevokeDevice(const Id16& id, int64_t now_us) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "UPDATE devices SET revoked_us=? WHERE id=? AND revoked_us=0");
  if (auto s = st.status("revoke device"); !s.ok()) return s;
  st.Int(1, now_us).Text(2, id.Hex());
  if (auto s = StepDone(db_, st, "revoke device"); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) {
    Stmt q(db_, "SELECT 1 FROM devices WHERE id=?");
    q.Text(1, id.Hex());
    if (q.Step() != SQLITE_ROW) return absl::NotFoundError("no device " + id.Hex());
  }
  return absl::OkStatus();
}

absl::Status SqliteMetadataStore::DeleteEnrolment(const Id16& device_id,
                                                  const Id16& contributor_id,
                                                  bool new_contributor) {
  std::lock_guard<std::mutex> l(mu_);
  return InTransaction(db_, [&]() -> absl::Status {
    Stmt used(db_, "SELECT 1 FROM segments WHERE device_id=? OR (? AND contributor_id=?) LIMIT 1");
    if (auto s = used.status("check segments"); !s.ok()) return s;
    used.Text(1, device_id.Hex()).Int(2, new_contributor ? 1 : 0).Text(3, contributor_id.Hex());
    int rc = used.Step();
    if (rc == SQLITE_ROW) return absl::FailedPreconditionError("the enrolment already has segments");
    if (rc != SQLITE_DONE) return SqlError(db_, rc, "check segments");
    Stmt dev(db_, "DELETE FROM devices WHERE id=?");
    if (auto s = dev.status("delete device"); !s.ok()) return s;
    dev.Text(1, device_id.Hex());
    if (auto s = StepDone(db_, dev, "delete device"); !s.ok()) return s;
    if (!new_contributor) return absl::OkStatus();
    for (const char* sql : {"DELETE FROM contributor_keys WHERE contributor_id=?",
                            "DELETE FROM contributors WHERE id=?"}) {
      Stmt st(db_, sql);
      if (auto s = st.status("delete contributor"); !s.ok()) return s;
      st.Text(1, contributor_id.Hex());
      if (auto s = StepDone(db_, st, "delete contributor"); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteMetadataStore::TouchDevice(const Id16& id, int64_t last_seen_us) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "UPDATE devices SET last_seen_us=max(last_seen_us, ?) WHERE id=?");
  if (auto s = st.status("touch device"); !s.ok()) return s;
  st.Int(1, last_seen_us).Text(2, id.Hex());
  return StepDone(db_, st, "touch device");
}

absl::StatusOr<InsertSegmentResult> SqliteMetadataStore::InsertSegment(const SegmentRecord& r) {
  std::lock_guard<std::mutex> l(mu_);
  InsertSegmentResult result = InsertSegmentResult::kInserted;
  absl::Status s = InTransaction(db_, [&]() -> absl::Status {
    Stmt st(db_,
            "INSERT INTO segments(segment_id, contributor_id, device_id, sequence, wall_start_us, "
            "wall_end_us, size, blob_sha256, flags, received_us) "
            "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(segment_id) DO NOTHING");
    if (auto s = st.status("insert segment"); !s.ok()) return s;
    st.Text(1, r.segment_id.Hex())
        .Text(2, r.contributor_id.Hex())
        .Text(3, r.device_id.Hex())
        .Int(4, static_cast<int64_t>(r.sequence))
        .Int(5, r.wall_start_us)
        .Int(6, r.wall_end_us)
        .Int(7, static_cast<int64_t>(r.size))
        .Text(8, r.blob_sha256)
        .Int(9, r.flags)
        .Int(10, r.received_us);
    if (auto s = StepDone(db_, st, "insert segment"); !s.ok()) return s;
    if (sqlite3_changes(db_) == 0) {
      result = InsertSegmentResult::kExists;
      return absl::OkStatus();
    }
    Stmt dev(db_,
             "UPDATE devices SET last_seen_us=max(last_seen_us, ?1), "
             "last_upload_us=max(last_upload_us, ?1) WHERE id=?2");
    if (auto s = dev.status("update device"); !s.ok()) return s;
    dev.Int(1, r.received_us).Text(2, r.device_id.Hex());
    return StepDone(db_, dev, "update device");
  });
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<std::optional<SegmentRecord>> SqliteMetadataStore::GetSegment(
    const Id16& segment_id) {
  std::lock_guard<std::mutex> l(mu_);
  std::string sql = std::string("SELECT ") + kSegmentCols + " FROM segments WHERE segment_id=?";
  Stmt st(db_, sql.c_str());
  if (auto s = st.status("get segment"); !s.ok()) return s;
  st.Text(1, segment_id.Hex());
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<SegmentRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "get segment");
  return std::optional<SegmentRecord>(ReadSegment(st));
}

absl::StatusOr<std::vector<SegmentRecord>> SqliteMetadataStore::ListSegments(
    const Id16& contributor_id, int limit) {
  std::lock_guard<std::mutex> l(mu_);
  std::string sql = std::string("SELECT ") + kSegmentCols +
                    " FROM segments WHERE contributor_id=? ORDER BY device_id, sequence LIMIT ?";
  Stmt st(db_, sql.c_str());
  if (auto s = st.status("list segments"); !s.ok()) return s;
  st.Text(1, contributor_id.Hex()).Int(2, limit);
  std::vector<SegmentRecord> out;
  for (;;) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqlError(db_, rc, "list segments");
    out.push_back(ReadSegment(st));
  }
  return out;
}

absl::Status SqliteMetadataStore::DeleteSegment(const Id16& segment_id) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "DELETE FROM segments WHERE segment_id=?");
  if (auto s = st.status("delete segment"); !s.ok()) return s;
  st.Text(1, segment_id.Hex());
  return StepDone(db_, st, "delete segment");
}

absl::StatusOr<bool> SqliteMetadataStore::BlobReferenced(const std::string& blob_sha256) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "SELECT 1 FROM segments WHERE blob_sha256=? LIMIT 1");
  if (auto s = st.status("blob referenced"); !s.ok()) return s;
  st.Text(1, blob_sha256);
  int rc = st.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqlError(db_, rc, "blob referenced");
}

absl::StatusOr<StoreCounts> SqliteMetadataStore::Counts() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "SELECT (SELECT count(*) FROM contributors), (SELECT count(*) FROM devices), "
          "(SELECT count(*) FROM segments), (SELECT coalesce(sum(size),0) FROM segments)");
  if (auto s = st.status("counts"); !s.ok()) return s;
  int rc = st.Step();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "counts");
  StoreCounts c;
  c.contributors = st.ColInt(0);
  c.devices = st.ColInt(1);
  c.segments = st.ColInt(2);
  c.segment_bytes = st.ColInt(3);
  return c;
}

absl::StatusOr<std::optional<std::string>> SqliteMetadataStore::GetSetting(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_, "SELECT value FROM settings WHERE key=?");
  if (auto s = st.status("get setting"); !s.ok()) return s;
  st.Text(1, key);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "get setting");
  return std::optional<std::string>(st.ColText(0));
}

absl::Status SqliteMetadataStore::PutSetting(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt st(db_,
          "INSERT INTO settings(key, value) VALUES(?,?) "
          "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  if (auto s = st.status("put setting"); !s.ok()) return s;
  st.Text(1, key).Text(2, value);
  return StepDone(db_, st, "put setting");
}

}  // namespace sealtrace::vault
