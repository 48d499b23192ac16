// Internal to the corpus generator: what its per-family files share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gen_redaction_corpus/corpus.h"

namespace sealtrace::corpus {

// splitmix64: fully specified, portable.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
  size_t Range(size_t lo, size_t hi) { return lo + Below(hi - lo + 1); }
  bool Chance(double p) { return (Next() >> 11) * (1.0 / 9007199254740992.0) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
  std::string Chars(std::string_view alphabet, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(alphabet[Below(alphabet.size())]);
    return s;
  }
};

inline constexpr std::string_view kDigits = "0123456789";
inline constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
inline constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kB64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
inline constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr std::string_view kHex = "0123456789abcdef";

std::string Mixed(Rng& r, std::string_view alphabet, size_t n);
int LuhnCheckDigit(const std::string& body);
// A card number's digits (valid Luhn and brand, or a Luhn failure).
std::string CardDigits(Rng& r, bool valid, size_t* len_out);
// Groups card digits as people write them (spaces, dashes, dots, none).
std::string GroupCard(Rng& r, const std::string& d);
std::string Iban(Rng& r, bool valid);
std::string Pad(size_t v, size_t w);  // zero-padded decimal
std::string D(Rng& r, size_t n);      // n random digits
std::string NZ(Rng& r);               // one digit 2-9
std::string Password(Rng& r);

struct Gen {
  Rng r;
  std::vector<Line> out;

  // Puts `secret` (labelled `kind`) into `tmpl` at "{}".
  void Emit(const std::string& family, const std::string& tmpl, const std::string& secret,
            const std::string& kind) {
    Line l;
    l.family = family;
    size_t p = tmpl.find("{}");
    l.text = tmpl.substr(0, p);
    size_t b = l.text.size();
    l.text += secret;
    l.labels.push_back({kind, b, l.text.size()});
    l.text += tmpl.substr(p + 2);
    out.push_back(std::move(l));
  }
  void Neg(const std::string& family, const std::string& text) {
    out.push_back(Line{family, text, {}});
  }

  std::string Wrap(const std::vector<std::string>& own) {
    static const std::vector<std::string> kGeneric = {
        "{}",
        "here it is: {}",
        "ok so {} and then we go",
        "please use {} for the test account",
        "note to self {}",
        "\"{}\"",
        "({})",
        "sent {} to finance yesterday",
        "can you check {} thanks",
        "{} <- this one",
        "   {}   ",
        "Re: {}",
    };
    if (r.Chance(0.5)) return r.Pick(own);
    return r.Pick(kGeneric);
  }

  void Positives(size_t n);
  void Negatives(size_t n);
};

// Per-family lines, called once per round by Gen::Positives/Negatives.
void IdentifierPositives(Gen& g);  // corpus_identifiers.cc
void IdentifierNegatives(Gen& g);
void CredentialPositives(Gen& g);  // corpus_credentials.cc
void CredentialNegatives(Gen& g);

}  // namespace sealtrace::corpus
