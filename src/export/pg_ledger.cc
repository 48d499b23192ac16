#include "export/pg_ledger.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "storage/pg/pg.h"

namespace sealtrace::exporter {
namespace {

using storage::PgConn;
using storage::PgParam;

const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE dp_budget(
  contributor TEXT PRIMARY KEY,
  num BIGINT NOT NULL CHECK (num >= 0),
  den BIGINT NOT NULL CHECK (den > 0)
);
CREATE TABLE dp_spend(
  contributor TEXT NOT NULL,
  release_id TEXT NOT NULL,
  num BIGINT NOT NULL CHECK (num >= 0),
  den BIGINT NOT NULL CHECK (den > 0),
  PRIMARY KEY(contributor, release_id)
);
)sql",
};

constexpr uint64_t kMaxStored = static_cast<uint64_t>(INT64_MAX);

absl::StatusOr<Rational> SpentOn(PgConn* c, std::string_view contributor) {
  auto r = c->Exec("dp_spent", "SELECT num, den FROM dp_spend WHERE contributor = $1",
                   {PgParam::Text(std::string(contributor))});
  if (!r.ok()) return r.status();
  Rational total;
  for (int i = 0; i < r->rows(); ++i) {
    auto one = Rational::Make(static_cast<uint64_t>(r->Int(i, 0)),
                              static_cast<uint64_t>(r->Int(i, 1)));
    if (!one.ok()) return absl::DataLossError("budget ledger: corrupt spend row");
    auto sum = Add(total, *one);
    if (!sum.ok()) return sum.status();
    total = *sum;
  }
  return total;
}

absl::StatusOr<Rational> BudgetOn(PgConn* c, std::string_view contributor, Rational def) {
  auto r = c->Exec("dp_budget", "SELECT num, den FROM dp_budget WHERE contributor = $1",
                   {PgParam::Text(std::string(contributor))});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return def;
  auto b = Rational::Make(static_cast<uint64_t>(r->Int(0, 0)), static_cast<uint64_t>(r->Int(0, 1)));
  if (!b.ok()) return absl::DataLossError("budget ledger: corrupt budget row");
  return b;
}

}  // namespace

PgBudgetLedger::PgBudgetLedger(std::unique_ptr<storage::PgPool> pool, Rational default_budget)
    : pool_(std::move(pool)), default_(default_budget) {}
PgBudgetLedger::~PgBudgetLedger() = default;

absl::StatusOr<std::unique_ptr<PgBudgetLedger>> PgBudgetLedger::Open(const std::string& conninfo,
                                                                     Rational default_budget,
                                                                     int max_connections) {
  auto pool = storage::PgPool::Open(conninfo, max_connections);
  if (!pool.ok()) return pool.status();
  if (auto s = (*pool)->Migrate("dp_ledger", kMigrations); !s.ok()) return s;
  return std::unique_ptr<PgBudgetLedger>(new PgBudgetLedger(*std::move(pool), default_budget));
}

absl::Status PgBudgetLedger::Spend(std::string_view contributor, std::string_view release_id,
                                   const Rational& epsilon) {
  if (epsilon.num > kMaxStored || epsilon.den > kMaxStored) {
    return absl::InvalidArgumentError("epsilon too large to store");
  }
  const std::string who(contributor), release(release_id);
  return pool_->InTransaction([&](PgConn* c) -> absl::Status {
    // Serialises charges of one contributor across processes.
    auto lock = c->Exec("dp_lock", "SELECT pg_advisory_xact_lock(hashtext($1))",
                        {PgParam::Text("dp:" + who)});
    if (!lock.ok()) return lock.status();
    auto seen = c->Exec("dp_seen", "SELECT 1 FROM dp_spend WHERE contributor = $1 AND release_id = $2",
                        {PgParam::Text(who), PgParam::Text(release)});
    if (!seen.ok()) return seen.status();
    if (seen->rows() > 0) return absl::OkStatus();  // already charged for this release
    auto spent = SpentOn(c, who);
    if (!spent.ok()) return spent.status();
    auto budget = BudgetOn(c, who, default_);
    if (!budget.ok()) return budget.status();
    auto total = Add(*spent, epsilon);
    if (!total.ok()) return total.status();
    if (*budget < *total) {
      return absl::ResourceExhaustedError(
          absl::StrCat("privacy budget exhausted: spent ", spent->ToString(), " + ",
                       epsilon.ToString(), " > budget ", budget->ToString()));
    }
    return c
        ->Exec("dp_insert",
               "INSERT INTO dp_spend(contributor, release_id, num, den) VALUES($1,$2,$3,$4)",
               {PgParam::Text(who), PgParam::Text(release),
                PgParam::Int(static_cast<int64_t>(epsilon.num)),
                PgParam::Int(static_cast<int64_t>(epsilon.den))})
        .status();
  });
}

absl::StatusOr<Rational> PgBudgetLedger::Spent(std::string_view contributor) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return SpentOn(lease->get(), contributor);
}

absl::StatusOr<Rational> PgBudgetLedger::Budget(std::string_view contributor) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return BudgetOn(lease->get(), contributor, default_);
}

absl::Status PgBudgetLedger::SetBudget(std::string_view contributor, const Rational& budget) {
  if (budget.num > kMaxStored || budget.den > kMaxStored) {
    return absl::InvalidArgumentError("budget too large to store");
  }
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)
      ->Exec("dp_set_budget",
             "INSERT INTO dp_budget(contributor, num, den) VALUES($1,$2,$3) ON CONFLICT "
             "(contributor) DO UPDATE SET num = EXCLUDED.num, den = EXCLUDED.den",
             {PgParam::Text(std::string(contributor)),
              PgParam::Int(static_cast<int64_t>(budget.num)),
              PgParam::Int(static_cast<int64_t>(budget.den))})
      .status();
}

}  // namespace sealtrace::exporter
