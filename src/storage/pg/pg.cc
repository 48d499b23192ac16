#include "storage/pg/pg.h"

#include <cstdlib>
#include <cstring>

namespace sealtrace::storage {

int64_t PgResult::affected() const {
  const char* t = r_ ? PQcmdTuples(r_) : "";
  return (t && *t) ? std::strtoll(t, nullptr, 10) : 0;
}

std::string PgResult::Text(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  return v ? std::string(v, static_cast<size_t>(PQgetlength(r_, row, col))) : std::string();
}

int64_t PgResult::Int(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  return v ? std::strtoll(v, nullptr, 10) : 0;
}

std::string PgResult::Bytes(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  if (!v || PQgetisnull(r_, row, col)) return "";
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n);
  if (!raw) return "";
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

PgConn::~PgConn() {
  if (c_) PQfinish(c_);
}

absl::Status PgError(PGconn* conn, PGresult* r, const std::string& what) {
  std::string msg = "postgres " + what + ": ";
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* text = r ? PQresultErrorMessage(r) : nullptr;
  if (!text || !*text) text = conn ? PQerrorMessage(conn) : "no connection";
  msg += text;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (conn && PQstatus(conn) != CONNECTION_OK) return absl::UnavailableError(msg);
  if (!state) return absl::UnavailableError(msg);  // no server answer: connection-level
  std::string s(state);
  if (s == "23505") return absl::AlreadyExistsError(msg);
  if (s == "23503") return absl::NotFoundError(msg);
  if (s.rfind("08", 0) == 0 || s.rfind("53", 0) == 0 || s.rfind("57P", 0) == 0 || s == "40001" ||
      s == "40P01" || s == "55P03" || s.rfind("58", 0) == 0) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

absl::StatusOr<PgResult> PgConn::Exec(const std::string& name, const char* sql,
                                      const std::vector<PgParam>& params) {
  if (!prepared_.count(name)) {
    PgResult p(PQprepare(c_, name.c_str(), sql, static_cast<int>(params.size()), nullptr));
    if (PQresultStatus(p.raw()) != PGRES_COMMAND_OK) return PgError(c_, p.raw(), "prepare " + name);
    prepared_.insert(name);
  }
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size()), formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].is_null ? nullptr : params[i].value.data();
    lengths[i] = static_cast<int>(params[i].value.size());
    formats[i] = params[i].kind == PgParam::kBinary ? 1 : 0;
  }
  PgResult r(PQexecPrepared(c_, name.c_str(), static_cast<int>(params.size()), values.data(),
                            lengths.data(), formats.data(), 0));
  ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(c_, r.raw(), name);
  return r;
}

absl::Status PgConn::ExecSimple(const char* sql, const std::string& what) {
  PgResult r(PQexec(c_, sql));
  ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(c_, r.raw(), what);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Open(const std::string& conninfo, int max_conns) {
  std::string ci = conninfo;
  if (ci.find("connect_timeout") == std::string::npos) ci += " connect_timeout=5";
  std::unique_ptr<PgPool> pool(new PgPool(ci, max_conns < 1 ? 1 : max_conns));
  auto c = pool->Connect();
  if (!c.ok()) return c.status();
  pool->idle_.push_back(std::move(*c));
  return pool;
}

PgPool::~PgPool() = default;

absl::StatusOr<std::unique_ptr<PgConn>> PgPool::Connect() {
  PGconn* c = PQconnectdb(conninfo_.c_str());
  if (c == nullptr) return absl::UnavailableError("postgres: out of memory connecting");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(c);
    return absl::UnavailableError("postgres connect: " + msg);
  }
  auto conn = std::make_unique<PgConn>(c);
  // Quiet NOTICEs (e.g. "relation already exists, skipping") go nowhere.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return conn;
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return !idle_.empty() || lent_ < max_; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    ++lent_;
    return Lease(this, std::move(c));
  }
  ++lent_;
  l.unlock();
  auto c = Connect();
  if (!c.ok()) {
    std::lock_guard<std::mutex> g(mu_);
    --lent_;
    cv_.notify_one();
    return c.status();
  }
  return Lease(this, std::move(*c));
}

void PgPool::Return(std::unique_ptr<PgConn> c) {
  std::lock_guard<std::mutex> l(mu_);
  --lent_;
  // A connection that went bad (server restarted) or is inside a failed
  // transaction is dropped; the next Acquire connects afresh.
  if (c && !c->bad() && PQtransactionStatus(c->raw()) == PQTRANS_IDLE)
    idle_.push_back(std::move(c));
  cv_.notify_one();
}

PgPool::Lease::~Lease() {
  if (pool_ && c_) pool_->Return(std::move(c_));
}

absl::Status PgPool::InTransaction(const std::function<absl::Status(PgConn*)>& body) {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  PgConn* c = lease->get();
  if (auto s = c->ExecSimple("BEGIN", "begin"); !s.ok()) return s;
  absl::Status s = body(c);
  if (s.ok()) s = c->ExecSimple("COMMIT", "commit");
  if (!s.ok() && !c->bad()) c->ExecSimple("ROLLBACK", "rollback").IgnoreError();
  return s;
}

namespace {
constexpr char kMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations("
    "  component TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    "  PRIMARY KEY(component, version))";
// Arbitrary constant: the advisory lock that serialises migrations across processes.
constexpr char kLockMigrations[] = "SELECT pg_advisory_xact_lock(736561)";
}  // namespace

absl::StatusOr<int> PgPool::SchemaVersion(const std::string& component) {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Exec("schema_version",
                          "SELECT coalesce(max(version), 0) FROM schema_migrations "
                          "WHERE component=$1",
                          {PgParam::Text(component)});
  if (!r.ok()) return r.status();
  return static_cast<int>(r->Int(0, 0));
}

absl::Status PgPool::Migrate(const std::string& component,
                             const std::vector<const char*>& migrations) {
  // All missing migrations run in one transaction: a failure leaves the schema
  // exactly as it was (PostgreSQL DDL is transactional).
  const int target = static_cast<int>(migrations.size());
  return InTransaction([&](PgConn* c) -> absl::Status {
    if (auto s = c->ExecSimple(kLockMigrations, "migration lock"); !s.ok()) return s;
    if (auto s = c->ExecSimple(kMigrationsTable, "create schema_migrations"); !s.ok()) return s;
    auto v = c->Exec("migrate_version",
                     "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component=$1",
                     {PgParam::Text(component)});
    if (!v.ok()) return v.status();
    int have = static_cast<int>(v->Int(0, 0));
    if (have > target) {
      return absl::FailedPreconditionError(
          "postgres schema of " + component + " is at version " + std::to_string(have) +
          ", newer than this binary supports (" + std::to_string(target) + ")");
    }
    for (int i = have; i < target; ++i) {
      if (auto s = c->ExecSimple(migrations[i], component + " migration v" + std::to_string(i + 1));
          !s.ok()) {
        return s;
      }
      auto ins = c->Exec("migrate_record",
                         "INSERT INTO schema_migrations(component, version) VALUES($1, $2)",
                         {PgParam::Text(component), PgParam::Int(i + 1)});
      if (!ins.ok()) return ins.status();
    }
    return absl::OkStatus();
  });
}

}  // namespace sealtrace::storage
