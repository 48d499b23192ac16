#include "export/dp.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "absl/strings/str_cat.h"

namespace sealtrace::exporter {
namespace {

u128 Gcd(u128 a, u128 b) {
  while (b != 0) {
    const u128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

bool MulOverflow(u128 a, u128 b, u128* out) { return __builtin_mul_overflow(a, b, out); }

// Bernoulli(num/den) with num <= den, exactly: U uniform in [0, den), U < num.
bool BernoulliRational(RandomSource& rng, u128 num, u128 den) {
  return UniformBelow(rng, den) < num;
}

}  // namespace

absl::StatusOr<Rational> Rational::Make(u128 num, u128 den) {
  if (den == 0) return absl::InvalidArgumentError("rational with zero denominator");
  const u128 g = num == 0 ? den : Gcd(num, den);
  num /= g;
  den /= g;
  if (num > std::numeric_limits<uint64_t>::max() || den > std::numeric_limits<uint64_t>::max()) {
    return absl::OutOfRangeError("rational does not fit 64-bit numerator/denominator");
  }
  return Rational{static_cast<uint64_t>(num), static_cast<uint64_t>(den)};
}

absl::StatusOr<Rational> Rational::Parse(std::string_view text) {
  auto bad = [&] { return absl::InvalidArgumentError("bad rational '" + std::string(text) + "'"); };
  if (text.empty() || text.size() > 40) return bad();
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    uint64_t a = 0, b = 0;
    const std::string_view sa = text.substr(0, slash), sb = text.substr(slash + 1);
    auto ra = std::from_chars(sa.data(), sa.data() + sa.size(), a);
    auto rb = std::from_chars(sb.data(), sb.data() + sb.size(), b);
    if (sa.empty() || sb.empty() || ra.ec != std::errc() || rb.ec != std::errc() ||
        ra.ptr != sa.data() + sa.size() || rb.ptr != sb.data() + sb.size() || b == 0) {
      return bad();
    }
    return Make(a, b);
  }
  uint64_t num = 0, den = 1;
  bool dot = false;
  for (char c : text) {
    if (c == '.') {
      if (dot) return bad();
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    if (num > (std::numeric_limits<uint64_t>::max() - 9) / 10) return bad();
    num = num * 10 + static_cast<uint64_t>(c - '0');
    if (dot) {
      if (den > std::numeric_limits<uint64_t>::max() / 10) return bad();
      den *= 10;
    }
  }
  return Make(num, den);
}

std::string Rational::ToString() const {
  if (den == 1) return absl::StrCat(num);
  return absl::StrCat(num, "/", den);
}

bool operator<(const Rational& a, const Rational& b) {
  return u128{a.num} * b.den < u128{b.num} * a.den;
}
bool operator<=(const Rational& a, const Rational& b) { return !(b < a); }
bool operator==(const Rational& a, const Rational& b) {
  return u128{a.num} * b.den == u128{b.num} * a.den;
}

absl::StatusOr<Rational> Add(const Rational& a, const Rational& b) {
  // 64x64 products fit in 128 bits; the sum of two of them may not.
  const u128 x = u128{a.num} * b.den;
  const u128 y = u128{b.num} * a.den;
  u128 n;
  if (__builtin_add_overflow(x, y, &n)) return absl::OutOfRangeError("rational overflow");
  return Rational::Make(n, u128{a.den} * b.den);
}

// Algorithm 1 (CKS20): Bernoulli(exp(-gamma)), gamma = num/den.
absl::StatusOr<bool> BernoulliExp(RandomSource& rng, u128 num, u128 den) {
  if (den == 0) return absl::InvalidArgumentError("BernoulliExp: zero denominator");
  if (num <= den) {
    // gamma in [0, 1]: K <- 1; loop { A ~ Bernoulli(gamma/K); if A = 0 break; K <- K+1 }
    // return 1 iff K is odd.
    u128 k = 1;
    for (;;) {
      u128 dk;
      if (MulOverflow(den, k, &dk)) return absl::OutOfRangeError("BernoulliExp: overflow");
      if (!BernoulliRational(rng, num, dk)) break;
      ++k;
    }
    return (k & 1) == 1;
  }
  // gamma > 1: for k = 1..floor(gamma): B ~ Bernoulli(exp(-1)); if B = 0 return 0.
  // Then return C ~ Bernoulli(exp(-(gamma - floor(gamma)))).
  const u128 whole = num / den;
  for (u128 i = 0; i < whole; ++i) {
    absl::StatusOr<bool> b = BernoulliExp(rng, 1, 1);
    if (!b.ok()) return b.status();
    if (!*b) return false;
  }
  return BernoulliExp(rng, num % den, den);
}

// Algorithm 2 (CKS20): discrete Laplace Lap_Z(t/s).
absl::StatusOr<int64_t> SampleDiscreteLaplace(RandomSource& rng, uint64_t s, uint64_t t) {
  if (s < 1 || t < 1) return absl::InvalidArgumentError("discrete Laplace needs s, t >= 1");
  for (;;) {
    const u128 u = UniformBelow(rng, t);  // U uniform in {0..t-1}
    absl::StatusOr<bool> d = BernoulliExp(rng, u, t);
    if (!d.ok()) return d.status();
    if (!*d) continue;  // reject
    u128 v = 0;
    for (;;) {
      absl::StatusOr<bool> a = BernoulliExp(rng, 1, 1);
      if (!a.ok()) return a.status();
      if (!*a) break;
      ++v;
    }
    u128 tv;
    if (MulOverflow(u128{t}, v, &tv)) return absl::OutOfRangeError("discrete Laplace overflow");
    const u128 x = u + tv;
    const u128 y = x / s;
    const bool b = rng.Uniform(2) == 1;  // Bernoulli(1/2)
    if (b && y == 0) continue;           // reject
    if (y > static_cast<u128>(std::numeric_limits<int64_t>::max())) {
      return absl::OutOfRangeError("discrete Laplace sample out of range");
    }
    const int64_t yy = static_cast<int64_t>(y);
    return b ? -yy : yy;
  }
}

// Algorithm 3 (CKS20): discrete Gaussian N_Z(0, sigma2).
absl::StatusOr<int64_t> SampleDiscreteGaussian(RandomSource& rng, Rational sigma2) {
  if (sigma2.num == 0) return absl::InvalidArgumentError("sigma^2 must be > 0");
  if (sigma2.num >= (uint64_t{1} << 32) || sigma2.den >= (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError("sigma^2 numerator/denominator must be < 2^32");
  }
  const u128 a = sigma2.num, b = sigma2.den;
  // t <- floor(sigma) + 1, floor(sigma) = max r with r^2 * b <= a.
  u128 lo = 0, hi = (u128{1} << 32);
  while (lo < hi) {
    const u128 mid = (lo + hi + 1) / 2;
    if (mid * mid * b <= a) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const u128 t = lo + 1;
  // gamma = (|Y| - sigma2/t)^2 / (2 sigma2) = (|Y| t b - a)^2 / (2 a t^2 b)
  u128 den;
  if (MulOverflow(2 * a, t * t, &den) || MulOverflow(den, b, &den)) {
    return absl::OutOfRangeError("discrete Gaussian overflow");
  }
  for (;;) {
    absl::StatusOr<int64_t> y = SampleDiscreteLaplace(rng, 1, static_cast<uint64_t>(t));
    if (!y.ok()) return y.status();
    const u128 abs_y = static_cast<u128>(*y < 0 ? -static_cast<__int128>(*y) : *y);
    u128 ytb;
    if (MulOverflow(abs_y, t, &ytb) || MulOverflow(ytb, b, &ytb)) {
      return absl::OutOfRangeError("discrete Gaussian overflow");
    }
    const u128 diff = ytb >= a ? ytb - a : a - ytb;
    u128 num;
    if (MulOverflow(diff, diff, &num)) return absl::OutOfRangeError("discrete Gaussian overflow");
    absl::StatusOr<bool> c = BernoulliExp(rng, num, den);
    if (!c.ok()) return c.status();
    if (*c) return *y;
  }
}

// ---------------------------------------------------------------------------

absl::Status InMemoryBudgetLedger::Spend(std::string_view contributor, std::string_view release_id,
                                         const Rational& epsilon) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key = std::make_pair(std::string(contributor), std::string(release_id));
  if (releases_.count(key)) return absl::OkStatus();
  auto bit = budgets_.find(contributor);
  const Rational budget = bit == budgets_.end() ? default_budget_ : bit->second;
  auto sit = spent_.find(contributor);
  const Rational spent = sit == spent_.end() ? Rational{} : sit->second;
  absl::StatusOr<Rational> total = Add(spent, epsilon);
  if (!total.ok()) return total.status();
  if (budget < *total) {
    return absl::ResourceExhaustedError(absl::StrCat("privacy budget exhausted: spent ",
                                                     spent.ToString(), " + ", epsilon.ToString(),
                                                     " > budget ", budget.ToString()));
  }
  spent_[std::string(contributor)] = *total;
  releases_.insert(key);
  return absl::OkStatus();
}

absl::StatusOr<Rational> InMemoryBudgetLedger::Spent(std::string_view contributor) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = spent_.find(contributor);
  return it == spent_.end() ? Rational{} : it->second;
}

absl::StatusOr<Rational> InMemoryBudgetLedger::Budget(std::string_view contributor) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = budgets_.find(contributor);
  return it == budgets_.end() ? default_budget_ : it->second;
}

absl::Status InMemoryBudgetLedger::SetBudget(std::string_view contributor, const Rational& budget) {
  std::lock_guard<std::mutex> lock(mu_);
  budgets_[std::string(contributor)] = budget;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

void BoundedHistogram::BeginContributor() { current_.clear(); }

void BoundedHistogram::Add(const std::string& cell) {
  auto it = current_.find(cell);
  if (it == current_.end()) {
    if (current_.size() >= opt_.max_cells) {
      ++clipped_;
      return;
    }
    it = current_.emplace(cell, 0).first;
  }
  if (it->second >= opt_.per_cell_cap) {
    ++clipped_;
    return;
  }
  ++it->second;
}

void BoundedHistogram::EndContributor(bool include) {
  if (include) {
    for (const auto& [cell, n] : current_) totals_[cell] += n;
  }
  current_.clear();
}

absl::StatusOr<std::map<std::string, int64_t>> ReleaseLaplace(
    const std::map<std::string, uint64_t>& totals, const std::vector<std::string>& domain,
    const DpOptions& o, uint64_t sensitivity, RandomSource& rng) {
  if (o.epsilon.num == 0) return absl::InvalidArgumentError("epsilon must be > 0");
  if (sensitivity == 0) return absl::InvalidArgumentError("sensitivity must be > 0");
  // Scale sensitivity/epsilon = sensitivity*den/num = t/s.
  u128 t;
  if (MulOverflow(u128{sensitivity}, u128{o.epsilon.den}, &t) ||
      t > std::numeric_limits<uint64_t>::max()) {
    return absl::OutOfRangeError("Laplace scale out of range");
  }
  std::map<std::string, int64_t> out;
  for (const std::string& cell : domain) {
    auto it = totals.find(cell);
    const int64_t count = it == totals.end() ? 0 : static_cast<int64_t>(it->second);
    absl::StatusOr<int64_t> noise =
        SampleDiscreteLaplace(rng, o.epsilon.num, static_cast<uint64_t>(t));
    if (!noise.ok()) return noise.status();
    out[cell] = count + *noise;
  }
  return out;
}

}  // namespace sealtrace::exporter
