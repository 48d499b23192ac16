#include "export/random.h"

#include <sodium.h>

#include <cstring>

#include "crypto/crypto.h"

namespace sealtrace::exporter {

uint32_t SodiumRandom::Uniform(uint32_t upper) { return randombytes_uniform(upper); }

void SodiumRandom::Fill(void* out, size_t n) { randombytes_buf(out, n); }

SodiumRandom* SodiumRandom::Get() {
  static SodiumRandom* r = [] {
    InitCrypto();
    return new SodiumRandom();
  }();
  return r;
}

namespace {
uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

DeterministicRandom::DeterministicRandom(uint64_t seed) {
  for (auto& s : s_) s = SplitMix(&seed);
}

uint64_t DeterministicRandom::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint32_t DeterministicRandom::Uniform(uint32_t upper) {
  if (upper < 2) return 0;
  // Rejection sampling as randombytes_uniform does.
  const uint32_t min = static_cast<uint32_t>(-upper) % upper;
  for (;;) {
    const uint32_t r = static_cast<uint32_t>(Next() >> 32);
    if (r >= min) return r % upper;
  }
}

void DeterministicRandom::Fill(void* out, size_t n) {
  auto* p = static_cast<uint8_t*>(out);
  while (n > 0) {
    const uint64_t v = Next();
    const size_t k = n < 8 ? n : 8;
    std::memcpy(p, &v, k);
    p += k;
    n -= k;
  }
}

u128 UniformBelow(RandomSource& rng, u128 n) {
  if (n <= 1) return 0;
  if (n <= 0xffffffffu) return rng.Uniform(static_cast<uint32_t>(n));
  // Rejection sampling on the smallest power-of-two range covering n.
  int bits = 0;
  for (u128 v = n - 1; v != 0; v >>= 1) ++bits;
  const u128 mask = bits >= 128 ? ~u128{0} : ((u128{1} << bits) - 1);
  for (;;) {
    u128 r = 0;
    rng.Fill(&r, sizeof(r));
    r &= mask;
    if (r < n) return r;
  }
}

}  // namespace sealtrace::exporter
