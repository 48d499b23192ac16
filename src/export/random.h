// Randomness for the export pipeline (DP noise, timing jitter).
//
// Production code uses SodiumRandom (libsodium's CSPRNG: randombytes_uniform /
// randombytes_buf). DeterministicRandom exists ONLY for tests and benchmarks:
// it is a seeded xoshiro256** generator, predictable by design, and must never
// be used for a real release.
//
// Thread-safety: SodiumRandom is thread-safe; DeterministicRandom is not.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sealtrace::exporter {

using u128 = unsigned __int128;

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Uniform integer in [0, upper); upper >= 1.
  virtual uint32_t Uniform(uint32_t upper) = 0;
  // Uniform random bytes.
  virtual void Fill(void* out, size_t n) = 0;
};

class SodiumRandom final : public RandomSource {
 public:
  uint32_t Uniform(uint32_t upper) override;
  void Fill(void* out, size_t n) override;
  static SodiumRandom* Get();  // process-wide instance, never deleted
};

class DeterministicRandom final : public RandomSource {
 public:
  explicit DeterministicRandom(uint64_t seed);
  uint32_t Uniform(uint32_t upper) override;
  void Fill(void* out, size_t n) override;
  uint64_t Next();

 private:
  uint64_t s_[4];
};

// Uniform integer in [0, n) for n >= 1, exact (rejection sampling; no modulo bias).
u128 UniformBelow(RandomSource& rng, u128 n);

}  // namespace sealtrace::exporter
