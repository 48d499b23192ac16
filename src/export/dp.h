// Differential privacy for export statistics.
//
// Samplers implemented exactly as published in Canonne, Kamath & Steinke,
// "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020,
// arXiv:2004.00010):
//   Algorithm 1  BernoulliExp(gamma)         Bernoulli(exp(-gamma)), gamma = num/den >= 0
//   Algorithm 2  SampleDiscreteLaplace(s,t)  Lap_Z(t/s): P[x] ∝ exp(-|x|·s/t)
//   Algorithm 3  SampleDiscreteGaussian(σ²)  N_Z(0, σ²):  P[x] ∝ exp(-x²/(2σ²))
// Parameters are rationals; every step uses integer arithmetic (128-bit, with
// overflow checks that return INVALID_ARGUMENT/OUT_OF_RANGE rather than
// approximate) and a RandomSource (libsodium in production). There is no
// floating point anywhere in sampling.
//
// BudgetLedger: per-contributor privacy budget. Spend() refuses a charge that
// would exceed the contributor's budget. InMemoryBudgetLedger here; a SQLite
// one in export/ledger_sqlite.h (the vault will host one later).
//
// BoundedHistogram: contribution bounding (per-contributor cap per cell and
// on the number of cells) for counts released with the discrete Laplace
// mechanism (pure ε-DP, L1 sensitivity = per_cell_cap × max_cells).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "export/random.h"

namespace sealtrace::exporter {

// A non-negative rational num/den (den >= 1), kept reduced.
struct Rational {
  uint64_t num = 0;
  uint64_t den = 1;
  // Parses "a/b", an integer "a" or a decimal "0.25" (exactly).
  static absl::StatusOr<Rational> Parse(std::string_view text);
  static absl::StatusOr<Rational> Make(u128 num, u128 den);  // reduces; fails if it won't fit
  std::string ToString() const;                              // "a/b" or "a"
  double ToDouble() const { return static_cast<double>(num) / static_cast<double>(den); }
  bool IsZero() const { return num == 0; }
};
bool operator<(const Rational& a, const Rational& b);
bool operator<=(const Rational& a, const Rational& b);
bool operator==(const Rational& a, const Rational& b);
absl::StatusOr<Rational> Add(const Rational& a, const Rational& b);

// Algorithm 1: returns true with probability exp(-num/den). den >= 1.
absl::StatusOr<bool> BernoulliExp(RandomSource& rng, u128 num, u128 den);
// Algorithm 2: one sample of the discrete Laplace Lap_Z(t/s); s, t >= 1.
absl::StatusOr<int64_t> SampleDiscreteLaplace(RandomSource& rng, uint64_t s, uint64_t t);
// Algorithm 3: one sample of the discrete Gaussian N_Z(0, sigma2); sigma2 > 0,
// numerator and denominator below 2^32.
absl::StatusOr<int64_t> SampleDiscreteGaussian(RandomSource& rng, Rational sigma2);

// ---------------------------------------------------------------------------
// Privacy-budget ledger.
//
// Thread-safety: implementations are thread-safe.
class BudgetLedger {
 public:
  virtual ~BudgetLedger() = default;
  // Charges `epsilon` to `contributor` for `release_id`. Idempotent per
  // (contributor, release_id): a repeated call (e.g. a resumed export) charges
  // nothing more and returns OK. Returns RESOURCE_EXHAUSTED, charging nothing,
  // if the contributor's total would exceed their budget.
  virtual absl::Status Spend(std::string_view contributor, std::string_view release_id,
                             const Rational& epsilon) = 0;
  virtual absl::StatusOr<Rational> Spent(std::string_view contributor) = 0;
  virtual absl::StatusOr<Rational> Budget(std::string_view contributor) = 0;
  virtual absl::Status SetBudget(std::string_view contributor, const Rational& budget) = 0;
};

class InMemoryBudgetLedger final : public BudgetLedger {
 public:
  explicit InMemoryBudgetLedger(Rational default_budget) : default_budget_(default_budget) {}
  absl::Status Spend(std::string_view contributor, std::string_view release_id,
                     const Rational& epsilon) override;
  absl::StatusOr<Rational> Spent(std::string_view contributor) override;
  absl::StatusOr<Rational> Budget(std::string_view contributor) override;
  absl::Status SetBudget(std::string_view contributor, const Rational& budget) override;

 private:
  std::mutex mu_;
  Rational default_budget_;
  std::map<std::string, Rational, std::less<>> budgets_;
  std::map<std::string, Rational, std::less<>> spent_;
  std::set<std::pair<std::string, std::string>> releases_;
};

// ---------------------------------------------------------------------------
// Contribution-bounded histogram.
struct DpOptions {
  Rational epsilon{1, 1};
  uint32_t per_cell_cap = 20;  // max count one contributor adds to one cell
  uint32_t max_cells = 10;     // max cells one contributor touches
};

// Not thread-safe.
class BoundedHistogram {
 public:
  explicit BoundedHistogram(DpOptions o) : opt_(o) {}
  void BeginContributor();
  // One action in `cell`; beyond the bounds it is dropped (counted).
  void Add(const std::string& cell);
  // Folds the current contributor in (include=false discards them, e.g. no budget).
  void EndContributor(bool include);
  const std::map<std::string, uint64_t>& totals() const { return totals_; }
  void set_totals(std::map<std::string, uint64_t> t) { totals_ = std::move(t); }
  uint64_t clipped() const { return clipped_; }
  void set_clipped(uint64_t c) { clipped_ = c; }
  uint64_t sensitivity() const { return uint64_t{opt_.per_cell_cap} * opt_.max_cells; }

 private:
  DpOptions opt_;
  std::map<std::string, uint64_t> current_;
  std::map<std::string, uint64_t> totals_;
  uint64_t clipped_ = 0;
};

// Adds discrete Laplace noise with scale sensitivity/epsilon to every cell of
// `domain` (cells missing from `totals` count 0). Cells of `totals` outside the
// domain are dropped. Result keyed like the domain.
absl::StatusOr<std::map<std::string, int64_t>> ReleaseLaplace(
    const std::map<std::string, uint64_t>& totals, const std::vector<std::string>& domain,
    const DpOptions& o, uint64_t sensitivity, RandomSource& rng);

}  // namespace sealtrace::exporter
