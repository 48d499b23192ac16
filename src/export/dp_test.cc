// Stochastic tests of the CKS20 samplers (deterministic RNG injected, fixed
// tolerances that do not depend on the seed) and of the budget ledgers.
#include "export/dp.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <thread>

#include "export/ledger_sqlite.h"

namespace sealtrace::exporter {
namespace {

// Chi-square critical value for `df` degrees of freedom at p ~ 1e-6
// (Wilson-Hilferty; z = 4.753).
double ChiSquareCritical(int df) {
  const double d = df;
  const double z = 4.753;
  const double a = 1 - 2 / (9 * d) + z * std::sqrt(2 / (9 * d));
  return d * a * a * a;
}

// Chi-square statistic of integer samples against pmf over [-range, range]
// with both tails merged into one bin each.
struct ChiResult {
  double stat = 0;
  int df = 0;
};
ChiResult ChiSquare(const std::map<int64_t, uint64_t>& counts, uint64_t n,
                    const std::function<double(int64_t)>& pmf) {
  // Bins with expected >= 10.
  int64_t range = 0;
  while (pmf(range + 1) * n >= 10) ++range;
  double p_in = 0;
  ChiResult r;
  uint64_t in_count = 0;
  for (int64_t x = -range; x <= range; ++x) {
    const double e = pmf(x) * n;
    p_in += pmf(x);
    auto it = counts.find(x);
    const double o = it == counts.end() ? 0 : static_cast<double>(it->second);
    in_count += static_cast<uint64_t>(o);
    r.stat += (o - e) * (o - e) / e;
    ++r.df;
  }
  const double e_tail = (1 - p_in) * n;
  const double o_tail = static_cast<double>(n - in_count);
  if (e_tail >= 1) {
    r.stat += (o_tail - e_tail) * (o_tail - e_tail) / e_tail;
    ++r.df;
  }
  r.df -= 1;
  return r;
}

TEST(BernoulliExpTest, MatchesExpMinusGamma) {
  DeterministicRandom rng(42);
  const std::vector<std::pair<uint64_t, uint64_t>> gammas = {
      {0, 1}, {1, 3}, {1, 1}, {5, 2}, {7, 3}};
  const int n = 200000;
  for (auto [num, den] : gammas) {
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      auto b = BernoulliExp(rng, num, den);
      ASSERT_TRUE(b.ok());
      hits += *b ? 1 : 0;
    }
    const double p = std::exp(-static_cast<double>(num) / den);
    const double sd = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(static_cast<double>(hits) / n, p, 5 * sd + 1e-9) << num << "/" << den;
  }
}

TEST(DiscreteLaplaceTest, MatchesPmf) {
  const int n = 200000;
  for (auto [s, t] : std::vector<std::pair<uint64_t, uint64_t>>{{1, 3}, {2, 5}, {3, 1}}) {
    DeterministicRandom rng(1000 + s * 10 + t);
    std::map<int64_t, uint64_t> counts;
    for (int i = 0; i < n; ++i) {
      auto x = SampleDiscreteLaplace(rng, s, t);
      ASSERT_TRUE(x.ok());
      ++counts[*x];
    }
    const double a = static_cast<double>(s) / t;
    auto pmf = [a](int64_t x) {
      return (std::exp(a) - 1) / (std::exp(a) + 1) * std::exp(-a * std::llabs(x));
    };
    ChiResult r = ChiSquare(counts, n, pmf);
    EXPECT_LT(r.stat, ChiSquareCritical(r.df)) << "s=" << s << " t=" << t << " df=" << r.df;
    EXPECT_GT(r.df, 2);
  }
}

TEST(DiscreteGaussianTest, MatchesPmf) {
  const int n = 100000;
  for (Rational sigma2 : {Rational{4, 1}, Rational{3, 2}, Rational{25, 1}}) {
    DeterministicRandom rng(7 + sigma2.num);
    std::map<int64_t, uint64_t> counts;
    for (int i = 0; i < n; ++i) {
      auto x = SampleDiscreteGaussian(rng, sigma2);
      ASSERT_TRUE(x.ok());
      ++counts[*x];
    }
    const double s2 = sigma2.ToDouble();
    double z = 0;
    for (int x = -400; x <= 400; ++x) z += std::exp(-x * x / (2 * s2));
    auto pmf = [s2, z](int64_t x) { return std::exp(-static_cast<double>(x * x) / (2 * s2)) / z; };
    ChiResult r = ChiSquare(counts, n, pmf);
    EXPECT_LT(r.stat, ChiSquareCritical(r.df)) << "sigma2=" << sigma2.ToString();
  }
}

TEST(DiscreteLaplaceTest, WrongDistributionIsDetected) {
  // The test's power: Lap(t=3) samples judged against the Lap(t=4) pmf fail.
  DeterministicRandom rng(5);
  const int n = 200000;
  std::map<int64_t, uint64_t> counts;
  for (int i = 0; i < n; ++i) ++counts[*SampleDiscreteLaplace(rng, 1, 3)];
  const double a = 1.0 / 4;
  auto pmf = [a](int64_t x) {
    return (std::exp(a) - 1) / (std::exp(a) + 1) * std::exp(-a * std::llabs(x));
  };
  ChiResult r = ChiSquare(counts, n, pmf);
  EXPECT_GT(r.stat, ChiSquareCritical(r.df));
}

TEST(DiscreteSamplersTest, SodiumRandomWorks) {
  SodiumRandom* rng = SodiumRandom::Get();
  int64_t sum = 0;
  for (int i = 0; i < 1000; ++i) {
    auto x = SampleDiscreteGaussian(*rng, Rational{9, 1});
    ASSERT_TRUE(x.ok());
    EXPECT_LT(std::llabs(*x), 60);
    sum += *x;
  }
  EXPECT_LT(std::llabs(sum), 600);  // mean 0, sd of the sum ~95
}

TEST(DiscreteSamplersTest, BadParameters) {
  DeterministicRandom rng(1);
  EXPECT_FALSE(SampleDiscreteLaplace(rng, 0, 1).ok());
  EXPECT_FALSE(SampleDiscreteGaussian(rng, Rational{0, 1}).ok());
  EXPECT_FALSE(SampleDiscreteGaussian(rng, Rational{uint64_t{1} << 40, 1}).ok());
  EXPECT_FALSE(BernoulliExp(rng, 1, 0).ok());
}

TEST(RationalTest, ParseAndCompare) {
  EXPECT_EQ(Rational::Parse("1/2")->ToString(), "1/2");
  EXPECT_EQ(Rational::Parse("0.25")->ToString(), "1/4");
  EXPECT_EQ(Rational::Parse("3")->ToString(), "3");
  EXPECT_EQ(Rational::Parse("4/8")->ToString(), "1/2");
  EXPECT_FALSE(Rational::Parse("1/0").ok());
  EXPECT_FALSE(Rational::Parse("-1").ok());
  EXPECT_FALSE(Rational::Parse("1e3").ok());
  EXPECT_FALSE(Rational::Parse("").ok());
  EXPECT_TRUE((Rational{1, 3} < Rational{1, 2}));
  EXPECT_EQ(*Add({1, 3}, {1, 6}), (Rational{1, 2}));
}

TEST(BoundedHistogramTest, CapsPerCellAndCells) {
  DpOptions o;
  o.per_cell_cap = 2;
  o.max_cells = 2;
  BoundedHistogram h(o);
  h.BeginContributor();
  for (int i = 0; i < 5; ++i) h.Add("a");
  h.Add("b");
  h.Add("c");  // third cell: dropped
  h.EndContributor(true);
  h.BeginContributor();
  h.Add("a");
  h.EndContributor(false);  // excluded
  EXPECT_EQ(h.totals().at("a"), 2u);
  EXPECT_EQ(h.totals().at("b"), 1u);
  EXPECT_EQ(h.totals().count("c"), 0u);
  EXPECT_EQ(h.clipped(), 4u);
  EXPECT_EQ(h.sensitivity(), 4u);
}

TEST(ReleaseLaplaceTest, NoisesEveryDomainCell) {
  DeterministicRandom rng(3);
  DpOptions o;
  o.epsilon = {1, 1};
  auto out = ReleaseLaplace({{"a", 100}, {"zz", 5}}, {"a", "b"}, o, 4, rng);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), 2u);
  EXPECT_EQ(out->count("zz"), 0u);  // outside the domain
  // Huge epsilon: noise is (almost surely) zero.
  o.epsilon = {1'000'000'000, 1};
  out = ReleaseLaplace({{"a", 100}}, {"a", "b"}, o, 4, rng);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->at("a"), 100);
  EXPECT_EQ(out->at("b"), 0);
}

void LedgerContract(BudgetLedger& l) {
  EXPECT_TRUE(l.Spend("c1", "r1", {1, 2}).ok());
  EXPECT_TRUE(l.Spend("c1", "r1", {1, 2}).ok());  // idempotent
  EXPECT_EQ(*l.Spent("c1"), (Rational{1, 2}));
  EXPECT_TRUE(l.Spend("c1", "r2", {1, 3}).ok());
  absl::Status s = l.Spend("c1", "r3", {1, 5});  // 1/2 + 1/3 + 1/5 > 1
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(*l.Spent("c1"), (Rational{5, 6}));
  EXPECT_TRUE(l.Spend("c1", "r4", {1, 6}).ok());  // exactly 1
  EXPECT_TRUE(absl::IsResourceExhausted(l.Spend("c1", "r5", {1, 1000000})));
  EXPECT_TRUE(l.Spend("c2", "r1", {1, 1}).ok());  // separate contributor
  ASSERT_TRUE(l.SetBudget("c2", {3, 2}).ok());
  EXPECT_TRUE(l.Spend("c2", "r2", {1, 2}).ok());
  EXPECT_EQ(*l.Budget("c2"), (Rational{3, 2}));
  EXPECT_EQ(*l.Budget("c9"), (Rational{1, 1}));
}

TEST(BudgetLedgerTest, InMemory) {
  InMemoryBudgetLedger l({1, 1});
  LedgerContract(l);
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid());
}

TEST(BudgetLedgerTest, SqliteContractAndPersistence) {
  const std::string path = TempPath("ledger.sqlite");
  std::remove(path.c_str());
  {
    auto l = SqliteBudgetLedger::Open(path, {1, 1});
    ASSERT_TRUE(l.ok()) << l.status();
    LedgerContract(**l);
  }
  auto l = SqliteBudgetLedger::Open(path, {1, 1});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*(*l)->Spent("c1"), (Rational{1, 1}));
  EXPECT_TRUE(absl::IsResourceExhausted((*l)->Spend("c1", "r9", {1, 100})));
  std::remove(path.c_str());
}

TEST(BudgetLedgerTest, ConcurrentSpendsNeverExceedTheBudget) {
  const std::string path = TempPath("ledger-conc.sqlite");
  std::remove(path.c_str());
  auto l = SqliteBudgetLedger::Open(path, {1, 2});
  ASSERT_TRUE(l.ok());
  InMemoryBudgetLedger mem({1, 2});
  for (BudgetLedger* ledger :
       {static_cast<BudgetLedger*>(l->get()), static_cast<BudgetLedger*>(&mem)}) {
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        if (ledger->Spend("c", "release-" + std::to_string(i), {1, 10}).ok()) ++ok;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 5);
    EXPECT_EQ(*ledger->Spent("c"), (Rational{1, 2}));
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace sealtrace::exporter
