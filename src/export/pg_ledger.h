// PgBudgetLedger: the privacy-budget ledger on PostgreSQL, for vaults run with
// `--backend postgres` (several vault processes charge the same budgets).
// Same contract as SqliteBudgetLedger (export/ledger_sqlite.h).
//
// Schema (migrations in schema_migrations, component "dp_ledger"):
//   dp_budget(contributor TEXT PRIMARY KEY, num BIGINT, den BIGINT)
//   dp_spend(contributor TEXT, release_id TEXT, num BIGINT, den BIGINT,
//            PRIMARY KEY(contributor, release_id))
// Spend() runs in one transaction holding a transaction-scoped advisory lock
// on the contributor, so check-then-insert is atomic across processes.
// Values are integer numerator/denominator: no floating point.
// Failure: connection loss -> UNAVAILABLE. Thread-safety: thread-safe.
#pragma once

#include <memory>
#include <string>

#include "export/dp.h"

namespace sealtrace::storage {
class PgPool;
}

namespace sealtrace::exporter {

class PgBudgetLedger final : public BudgetLedger {
 public:
  static absl::StatusOr<std::unique_ptr<PgBudgetLedger>> Open(const std::string& conninfo,
                                                              Rational default_budget,
                                                              int max_connections = 2);
  ~PgBudgetLedger() override;

  absl::Status Spend(std::string_view contributor, std::string_view release_id,
                     const Rational& epsilon) override;
  absl::StatusOr<Rational> Spent(std::string_view contributor) override;
  absl::StatusOr<Rational> Budget(std::string_view contributor) override;
  absl::Status SetBudget(std::string_view contributor, const Rational& budget) override;

 private:
  PgBudgetLedger(std::unique_ptr<storage::PgPool> pool, Rational default_budget);
  std::unique_ptr<storage::PgPool> pool_;
  Rational default_;
};

}  // namespace sealtrace::exporter
