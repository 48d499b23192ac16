// SqliteBudgetLedger: a BudgetLedger persisted in a SQLite database.
//
// Schema (created if missing):
//   dp_budget(contributor TEXT PRIMARY KEY, num INTEGER, den INTEGER)
//   dp_spend(contributor TEXT, release_id TEXT, num INTEGER, den INTEGER,
//            PRIMARY KEY(contributor, release_id))
// Spend() runs in one IMMEDIATE transaction (check and insert are atomic even
// with several processes on the same file). Values are rationals stored as
// integer numerator/denominator: no floating point.
//
// The database holds contributor ids and budgets, never content. SQLite does
// its own file I/O (not through Env), as the vault's metadata store will.
// Thread-safety: thread-safe (one connection guarded by a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "export/dp.h"

struct sqlite3;

namespace sealtrace::exporter {

class SqliteBudgetLedger final : public BudgetLedger {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteBudgetLedger>> Open(const std::string& path,
                                                                  Rational default_budget);
  ~SqliteBudgetLedger() override;

  absl::Status Spend(std::string_view contributor, std::string_view release_id,
                     const Rational& epsilon) override;
  absl::StatusOr<Rational> Spent(std::string_view contributor) override;
  absl::StatusOr<Rational> Budget(std::string_view contributor) override;
  absl::Status SetBudget(std::string_view contributor, const Rational& budget) override;

 private:
  SqliteBudgetLedger(sqlite3* db, Rational default_budget) : db_(db), default_(default_budget) {}
  absl::Status Exec(const char* sql);
  absl::StatusOr<Rational> SpentLocked(std::string_view contributor);
  absl::StatusOr<Rational> BudgetLocked(std::string_view contributor);

  std::mutex mu_;
  sqlite3* db_;
  Rational default_;
};

}  // namespace sealtrace::exporter
