#include <sqlite3.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "access/access_store.h"
#include "access/store_rows.h"

namespace sealtrace::access {
namespace {

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Int(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  std::string Col(int i) {
    const void* p = sqlite3_column_blob(s_, i);
    int n = sqlite3_column_bytes(s_, i);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

class SqliteAccessStoreImpl final : public AccessStore {
 public:
  explicit SqliteAccessStoreImpl(sqlite3* db) : db_(db) {}
  ~SqliteAccessStoreImpl() override { sqlite3_close(db_); }

  absl::Status Init() {
    const char* sql =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS principals(id TEXT PRIMARY KEY, role TEXT NOT NULL,"
        " name TEXT NOT NULL, contributor_id TEXT UNIQUE, created_us INTEGER NOT NULL,"
        " disabled INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, principal_id TEXT NOT NULL,"
        " token_sha256 BLOB NOT NULL UNIQUE, scopes TEXT NOT NULL, created_us INTEGER NOT NULL,"
        " expires_us INTEGER NOT NULL, revoked_us INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS grants(id TEXT PRIMARY KEY, status TEXT NOT NULL,"
        " data TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS proposals(id TEXT PRIMARY KEY, status INTEGER NOT NULL,"
        " data TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS devices(device_id TEXT PRIMARY KEY, contributor_id TEXT NOT "
        "NULL, enrolled_us INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS settings(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS passkeys(id BLOB PRIMARY KEY, principal_id TEXT NOT NULL,"
        " sign_count INTEGER NOT NULL, data TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS passkeys_principal ON passkeys(principal_id);"
        "CREATE TABLE IF NOT EXISTS codes(code_sha256 BLOB PRIMARY KEY, kind TEXT NOT NULL,"
        " expires_us INTEGER NOT NULL, used_us INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);";
    if (auto s = Exec(sql); !s.ok()) return s;
    // Columns added after the first release: add them to older files.
    bool has_method = false;
    {
      Stmt q(db_, "SELECT 1 FROM pragma_table_info('tokens') WHERE name = 'method'");
      has_method = q.Step() == SQLITE_ROW;
    }
    if (!has_method) {
      return Exec(
          "ALTER TABLE tokens ADD COLUMN method TEXT NOT NULL DEFAULT 'token';"
          "ALTER TABLE tokens ADD COLUMN client TEXT NOT NULL DEFAULT '';");
    }
    return absl::OkStatus();
  }

  absl::Status CreatePrincipal(const Principal& p) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_,
           "INSERT INTO principals(id, role, name, contributor_id, created_us, disabled) "
           "VALUES(?,?,?,?,?,?)");
    s.Text(1, p.id).Text(2, std::string(RoleName(p.role))).Text(3, p.name);
    if (p.contributor_id.empty()) {
      s.Null(4);
    } else {
      s.Text(4, p.contributor_id);
    }
    s.Int(5, p.created_us).Int(6, p.disabled ? 1 : 0);
    return Done(s.Step(), "create principal");
  }

  absl::StatusOr<std::optional<Principal>> GetPrincipal(const std::string& id) override {
    return OnePrincipal("WHERE id = ?", id);
  }
  absl::StatusOr<std::optional<Principal>> FindContributorPrincipal(
      const std::string& contributor_id) override {
    return OnePrincipal("WHERE contributor_id = ?", contributor_id);
  }
  absl::StatusOr<std::vector<Principal>> ListPrincipals() override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_,
           "SELECT id, role, name, contributor_id, created_us, disabled FROM principals "
           "ORDER BY created_us, id");
    std::vector<Principal> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(RowPrincipal(s));
    if (rc != SQLITE_DONE) return Err(rc, "list principals");
    return out;
  }
  absl::Status SetPrincipalDisabled(const std::string& id, bool disabled) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "UPDATE principals SET disabled = ? WHERE id = ?");
    s.Int(1, disabled ? 1 : 0).Text(2, id);
    if (auto st = Done(s.Step(), "disable principal"); !st.ok()) return st;
    if (sqlite3_changes(db_) == 0) return absl::NotFoundError("no principal " + id);
    return absl::OkStatus();
  }

  absl::Status PutToken(const TokenRecord& t) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_,
           "INSERT INTO tokens(id, principal_id, token_sha256, scopes, created_us, expires_us, "
           "revoked_us, method, client) VALUES(?,?,?,?,?,?,?,?,?)");
    s.Text(1, t.id)
        .Text(2, t.principal_id)
        .Blob(3, t.token_sha256)
        .Text(4, JoinScopes(t.scopes))
        .Int(5, t.created_us)
        .Int(6, t.expires_us)
        .Int(7, t.revoked_us)
        .Text(8, t.method)
        .Text(9, t.client);
    return Done(s.Step(), "put token");
  }
  absl::StatusOr<std::optional<TokenRecord>> FindTokenByHash(const std::string& h) override {
    return OneToken("WHERE token_sha256 = ?", h, true);
  }
  absl::StatusOr<std::optional<TokenRecord>> GetToken(const std::string& id) override {
    return OneToken("WHERE id = ?", id, false);
  }
  absl::Status RevokeToken(const std::string& id, int64_t now) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "UPDATE tokens SET revoked_us = ? WHERE id = ? AND revoked_us = 0");
    s.Int(1, now).Text(2, id);
    if (auto st = Done(s.Step(), "revoke token"); !st.ok()) return st;
    if (sqlite3_changes(db_) == 0) {
      Stmt q(db_, "SELECT 1 FROM tokens WHERE id = ?");
      q.Text(1, id);
      if (q.Step() != SQLITE_ROW) return absl::NotFoundError("no token " + id);
    }
    return absl::OkStatus();
  }

  absl::Status CreateGrant(const Grant& g) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "INSERT INTO grants(id, status, data) VALUES(?,?,?)");
    s.Text(1, g.id).Text(2, std::string(GrantStatusName(g.status))).Text(3, EncodeGrantRow(g));
    return Done(s.Step(), "create grant");
  }
  absl::StatusOr<std::optional<Grant>> GetGrant(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data FROM grants WHERE id = ?");
    s.Text(1, id);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<Grant>();
    if (rc != SQLITE_ROW) return Err(rc, "get grant");
    auto g = DecodeGrantRow(s.Col(0));
    if (!g.ok()) return g.status();
    return std::optional<Grant>(*std::move(g));
  }
  absl::StatusOr<std::vector<Grant>> ListGrants() override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data FROM grants ORDER BY rowid");
    std::vector<Grant> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto g = DecodeGrantRow(s.Col(0));
      if (!g.ok()) return g.status();
      out.push_back(*std::move(g));
    }
    if (rc != SQLITE_DONE) return Err(rc, "list grants");
    return out;
  }
  absl::Status UpdateGrantIf(const Grant& g, GrantStatus expected) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "UPDATE grants SET status = ?, data = ? WHERE id = ? AND status = ?");
    s.Text(1, std::string(GrantStatusName(g.status)))
        .Text(2, EncodeGrantRow(g))
        .Text(3, g.id)
        .Text(4, std::string(GrantStatusName(expected)));
    if (auto st = Done(s.Step(), "update grant"); !st.ok()) return st;
    if (sqlite3_changes(db_) == 0) {
      return absl::FailedPreconditionError("grant " + g.id + " is no longer " +
                                           std::string(GrantStatusName(expected)));
    }
    return absl::OkStatus();
  }

  absl::Status CreateProposal(const StateProposal& p) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "INSERT INTO proposals(id, status, data) VALUES(?,?,?)");
    s.Text(1, p.id).Int(2, static_cast<int>(p.status)).Text(3, EncodeProposalRow(p));
    return Done(s.Step(), "create proposal");
  }
  absl::StatusOr<std::optional<StateProposal>> GetProposal(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data FROM proposals WHERE id = ?");
    s.Text(1, id);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<StateProposal>();
    if (rc != SQLITE_ROW) return Err(rc, "get proposal");
    auto p = DecodeProposalRow(s.Col(0));
    if (!p.ok()) return p.status();
    return std::optional<StateProposal>(*std::move(p));
  }
  absl::StatusOr<std::vector<StateProposal>> ListPendingProposals() override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data FROM proposals WHERE status = ? ORDER BY rowid");
    s.Int(1, static_cast<int>(ProposalStatus::kPending));
    std::vector<StateProposal> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto p = DecodeProposalRow(s.Col(0));
      if (!p.ok()) return p.status();
      out.push_back(*std::move(p));
    }
    if (rc != SQLITE_DONE) return Err(rc, "list proposals");
    return out;
  }
  absl::Status UpdateProposalIfPending(const StateProposal& p) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "UPDATE proposals SET status = ?, data = ? WHERE id = ? AND status = ?");
    s.Int(1, static_cast<int>(p.status))
        .Text(2, EncodeProposalRow(p))
        .Text(3, p.id)
        .Int(4, static_cast<int>(ProposalStatus::kPending));
    if (auto st = Done(s.Step(), "update proposal"); !st.ok()) return st;
    if (sqlite3_changes(db_) == 0) {
      return absl::FailedPreconditionError("proposal " + p.id + " is no longer pending");
    }
    return absl::OkStatus();
  }

  absl::Status RecordDevice(const DeviceEntry& d) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_,
           "INSERT OR IGNORE INTO devices(device_id, contributor_id, enrolled_us) VALUES(?,?,?)");
    s.Text(1, d.device_id).Text(2, d.contributor_id).Int(3, d.enrolled_us);
    return Done(s.Step(), "record device");
  }
  absl::StatusOr<std::vector<DeviceEntry>> ListDevices() override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT device_id, contributor_id, enrolled_us FROM devices ORDER BY enrolled_us");
    std::vector<DeviceEntry> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      out.push_back({s.Col(0), s.Col(1), s.ColInt(2)});
    }
    if (rc != SQLITE_DONE) return Err(rc, "list devices");
    return out;
  }

  absl::Status PutPasskey(const PasskeyRecord& k) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "INSERT INTO passkeys(id, principal_id, sign_count, data) VALUES(?,?,?,?)");
    s.Blob(1, k.credential_id).Text(2, k.principal_id).Int(3, k.sign_count);
    s.Text(4, EncodePasskeyRow(k));
    return Done(s.Step(), "put passkey");
  }
  absl::StatusOr<std::optional<PasskeyRecord>> GetPasskey(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data FROM passkeys WHERE id = ?");
    s.Blob(1, id);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<PasskeyRecord>();
    if (rc != SQLITE_ROW) return Err(rc, "get passkey");
    auto k = DecodePasskeyRow(s.Col(0));
    if (!k.ok()) return k.status();
    return std::optional<PasskeyRecord>(*std::move(k));
  }
  absl::StatusOr<std::vector<PasskeyRecord>> ListPasskeys(const std::string& principal) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data FROM passkeys WHERE principal_id = ? ORDER BY rowid");
    s.Text(1, principal);
    std::vector<PasskeyRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto k = DecodePasskeyRow(s.Col(0));
      if (!k.ok()) return k.status();
      out.push_back(*std::move(k));
    }
    if (rc != SQLITE_DONE) return Err(rc, "list passkeys");
    return out;
  }
  absl::Status UpdatePasskeyUse(const std::string& id, uint32_t expected, uint32_t count,
                                int64_t now) override {
    auto k = GetPasskey(id);
    if (!k.ok()) return k.status();
    if (!k->has_value()) return absl::NotFoundError("no such passkey");
    PasskeyRecord rec = **k;
    rec.sign_count = count;
    rec.last_used_us = now;
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "UPDATE passkeys SET sign_count = ?, data = ? WHERE id = ? AND sign_count = ?");
    s.Int(1, count).Text(2, EncodePasskeyRow(rec)).Blob(3, id).Int(4, expected);
    if (auto st = Done(s.Step(), "update passkey"); !st.ok()) return st;
    if (sqlite3_changes(db_) == 0) {
      return absl::FailedPreconditionError("passkey counter changed concurrently");
    }
    return absl::OkStatus();
  }

  absl::Status PutCode(const OneTimeCode& c) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "INSERT INTO codes(code_sha256, kind, expires_us, used_us, data) VALUES(?,?,?,?,?)");
    s.Blob(1, c.code_sha256).Text(2, c.kind).Int(3, c.expires_us).Int(4, c.used_us);
    s.Text(5, EncodeCodeRow(c));
    return Done(s.Step(), "put code");
  }
  absl::StatusOr<std::optional<OneTimeCode>> GetCode(const std::string& h) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT data, used_us FROM codes WHERE code_sha256 = ?");
    s.Blob(1, h);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<OneTimeCode>();
    if (rc != SQLITE_ROW) return Err(rc, "get code");
    auto c = DecodeCodeRow(s.Col(0));
    if (!c.ok()) return c.status();
    c->code_sha256 = h;
    c->used_us = s.ColInt(1);
    return std::optional<OneTimeCode>(*std::move(c));
  }
  absl::StatusOr<bool> UseCode(const std::string& h, std::string_view kind, int64_t now) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_,
           "UPDATE codes SET used_us = ? WHERE code_sha256 = ? AND kind = ? AND used_us = 0 "
           "AND expires_us > ?");
    s.Int(1, now).Blob(2, h).Text(3, std::string(kind)).Int(4, now);
    if (auto st = Done(s.Step(), "use code"); !st.ok()) return st;
    return sqlite3_changes(db_) == 1;
  }

  absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "SELECT v FROM settings WHERE k = ?");
    s.Text(1, key);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return Err(rc, "get setting");
    return std::optional<std::string>(s.Col(0));
  }
  absl::Status PutSetting(const std::string& key, const std::string& value) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt s(db_, "INSERT INTO settings(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET v = ?");
    s.Text(1, key).Text(2, value).Text(3, value);
    return Done(s.Step(), "put setting");
  }

 private:
  absl::Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) return absl::UnavailableError("access store: " + msg);
    return absl::OkStatus();
  }
  absl::Status Err(int rc, const char* what) {
    std::string m = absl::StrCat("access store ", what, ": ", sqlite3_errmsg(db_));
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(m);
    return absl::UnavailableError(m);
  }
  absl::Status Done(int rc, const char* what) {
    if (rc == SQLITE_DONE) return absl::OkStatus();
    return Err(rc, what);
  }
  Principal RowPrincipal(Stmt& s) {
    Principal p;
    p.id = s.Col(0);
    p.name = s.Col(2);
    p.contributor_id = s.Col(3);
    p.created_us = s.ColInt(4);
    p.disabled = s.ColInt(5) != 0;
    SetRoleFromRow(s.Col(1), &p);
    return p;
  }
  absl::StatusOr<std::optional<Principal>> OnePrincipal(const char* where, const std::string& v) {
    std::lock_guard<std::mutex> l(mu_);
    std::string sql = std::string(
                          "SELECT id, role, name, contributor_id, created_us, disabled "
                          "FROM principals ") +
                      where;
    Stmt s(db_, sql.c_str());
    s.Text(1, v);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<Principal>();
    if (rc != SQLITE_ROW) return Err(rc, "get principal");
    return std::optional<Principal>(RowPrincipal(s));
  }
  absl::StatusOr<std::optional<TokenRecord>> OneToken(const char* where, const std::string& v,
                                                      bool blob) {
    std::lock_guard<std::mutex> l(mu_);
    std::string sql = std::string(
                          "SELECT id, principal_id, token_sha256, scopes, created_us, "
                          "expires_us, revoked_us, method, client FROM tokens ") +
                      where;
    Stmt s(db_, sql.c_str());
    if (blob) {
      s.Blob(1, v);
    } else {
      s.Text(1, v);
    }
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<TokenRecord>();
    if (rc != SQLITE_ROW) return Err(rc, "get token");
    TokenRecord t;
    t.id = s.Col(0);
    t.principal_id = s.Col(1);
    t.token_sha256 = s.Col(2);
    t.scopes = SplitScopes(s.Col(3));
    t.created_us = s.ColInt(4);
    t.expires_us = s.ColInt(5);
    t.revoked_us = s.ColInt(6);
    t.method = s.Col(7);
    t.client = s.Col(8);
    return std::optional<TokenRecord>(std::move(t));
  }

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccessStore>> OpenSqliteAccessStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError("cannot open access store " + path + ": " + m);
  }
  sqlite3_busy_timeout(db, 5000);
  auto store = std::make_unique<SqliteAccessStoreImpl>(db);
  if (auto s = store->Init(); !s.ok()) return s;
  return std::unique_ptr<AccessStore>(std::move(store));
}

}  // namespace sealtrace::access
