#include "export/ledger_sqlite.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace sealtrace::exporter {
namespace {

// RAII statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, uint64_t v) { sqlite3_bind_int64(s_, i, static_cast<sqlite3_int64>(v)); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

absl::Status Err(sqlite3* db, std::string_view what) {
  return absl::InternalError("budget ledger: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Rationals are stored as signed 64-bit integers in SQLite.
constexpr uint64_t kMaxStored = static_cast<uint64_t>(INT64_MAX);

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteBudgetLedger>> SqliteBudgetLedger::Open(
    const std::string& path, Rational default_budget) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("cannot open budget ledger ", path, ": ", db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<SqliteBudgetLedger> l(new SqliteBudgetLedger(db, default_budget));
  absl::Status s = l->Exec(
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS dp_budget(contributor TEXT PRIMARY KEY, num INTEGER NOT NULL,"
      " den INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS dp_spend(contributor TEXT NOT NULL, release_id TEXT NOT NULL,"
      " num INTEGER NOT NULL, den INTEGER NOT NULL, PRIMARY KEY(contributor, release_id));");
  if (!s.ok()) return s;
  return l;
}

SqliteBudgetLedger::~SqliteBudgetLedger() { sqlite3_close(db_); }

absl::Status SqliteBudgetLedger::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("budget ledger: ", err ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<Rational> SqliteBudgetLedger::SpentLocked(std::string_view contributor) {
  Stmt st(db_, "SELECT num, den FROM dp_spend WHERE contributor = ?1");
  if (!st.ok()) return Err(db_, "prepare");
  st.Text(1, contributor);
  Rational total;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const sqlite3_int64 n = sqlite3_column_int64(st.get(), 0);
    const sqlite3_int64 d = sqlite3_column_int64(st.get(), 1);
    if (n < 0 || d <= 0) return absl::DataLossError("budget ledger: corrupt spend row");
    absl::StatusOr<Rational> r = Rational::Make(static_cast<uint64_t>(n), static_cast<uint64_t>(d));
    if (!r.ok()) return r.status();
    absl::StatusOr<Rational> sum = Add(total, *r);
    if (!sum.ok()) return sum.status();
    total = *sum;
  }
  if (rc != SQLITE_DONE) return Err(db_, "read spends");
  return total;
}

absl::StatusOr<Rational> SqliteBudgetLedger::BudgetLocked(std::string_view contributor) {
  Stmt st(db_, "SELECT num, den FROM dp_budget WHERE contributor = ?1");
  if (!st.ok()) return Err(db_, "prepare");
  st.Text(1, contributor);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return default_;
  if (rc != SQLITE_ROW) return Err(db_, "read budget");
  const sqlite3_int64 n = sqlite3_column_int64(st.get(), 0);
  const sqlite3_int64 d = sqlite3_column_int64(st.get(), 1);
  if (n < 0 || d <= 0) return absl::DataLossError("budget ledger: corrupt budget row");
  return Rational::Make(static_cast<uint64_t>(n), static_cast<uint64_t>(d));
}

absl::Status SqliteBudgetLedger::Spend(std::string_view contributor, std::string_view release_id,
                                       const Rational& epsilon) {
  if (epsilon.num > kMaxStored || epsilon.den > kMaxStored) {
    return absl::InvalidArgumentError("epsilon too large to store");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto rollback = [&](absl::Status s) {
    Exec("ROLLBACK").IgnoreError();
    return s;
  };
  {
    Stmt st(db_, "SELECT 1 FROM dp_spend WHERE contributor = ?1 AND release_id = ?2");
    if (!st.ok()) return rollback(Err(db_, "prepare"));
    st.Text(1, contributor);
    st.Text(2, release_id);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) return Exec("COMMIT");  // already charged for this release
    if (rc != SQLITE_DONE) return rollback(Err(db_, "lookup"));
  }
  absl::StatusOr<Rational> spent = SpentLocked(contributor);
  if (!spent.ok()) return rollback(spent.status());
  absl::StatusOr<Rational> budget = BudgetLocked(contributor);
  if (!budget.ok()) return rollback(budget.status());
  absl::StatusOr<Rational> total = Add(*spent, epsilon);
  if (!total.ok()) return rollback(total.status());
  if (*budget < *total) {
    return rollback(absl::ResourceExhaustedError(
        absl::StrCat("privacy budget exhausted: spent ", spent->ToString(), " + ",
                     epsilon.ToString(), " > budget ", budget->ToString())));
  }
  {
    Stmt st(db_, "INSERT INTO dp_spend(contributor, release_id, num, den) VALUES (?1, ?2, ?3, ?4)");
    if (!st.ok()) return rollback(Err(db_, "prepare"));
    st.Text(1, contributor);
    st.Text(2, release_id);
    st.Int(3, epsilon.num);
    st.Int(4, epsilon.den);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return rollback(Err(db_, "insert spend"));
  }
  return Exec("COMMIT");
}

absl::StatusOr<Rational> SqliteBudgetLedger::Spent(std::string_view contributor) {
  std::lock_guard<std::mutex> lock(mu_);
  return SpentLocked(contributor);
}

absl::StatusOr<Rational> SqliteBudgetLedger::Budget(std::string_view contributor) {
  std::lock_guard<std::mutex> lock(mu_);
  return BudgetLocked(contributor);
}

absl::Status SqliteBudgetLedger::SetBudget(std::string_view contributor, const Rational& budget) {
  if (budget.num > kMaxStored || budget.den > kMaxStored) {
    return absl::InvalidArgumentError("budget too large to store");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_,
          "INSERT INTO dp_budget(contributor, num, den) VALUES (?1, ?2, ?3) "
          "ON CONFLICT(contributor) DO UPDATE SET num = excluded.num, den = excluded.den");
  if (!st.ok()) return Err(db_, "prepare");
  st.Text(1, contributor);
  st.Int(2, budget.num);
  st.Int(3, budget.den);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Err(db_, "set budget");
  return absl::OkStatus();
}

}  // namespace sealtrace::exporter
