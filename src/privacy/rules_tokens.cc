#include "privacy/redactor_rules.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sealtrace::privacy {
namespace rules {
namespace {

// --- e-mail ----------------------------------------------------------------
bool IsLocalByte(unsigned char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool IsDomainByte(unsigned char c) { return IsAlnum(c) || c == '.' || c == '-'; }

// True when `pos` lies in the authority of a URL (scheme://user:pass@host):
// what precedes it back to "://" holds no space, slash or quote. The userinfo
// there is a login and a password (the credential rules cover the password),
// and the host after its '@' is not an e-mail domain.
bool InUrlAuthority(std::string_view text, size_t pos) {
  size_t k = pos;
  while (k > 0 && pos - k < 256) {
    unsigned char c = text[k - 1];
    // What cannot be in an authority ends it: a path, query or fragment,
    // quotes, brackets, or punctuation of the prose around a URL.
    if (IsSpace(c) || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' ||
        c == '>' || c == '`' || c == ',' || c == ';' || c == '(' || c == ')')
      break;
    --k;
  }
  return k >= 3 && text[k - 1] == '/' && text[k - 2] == '/' && text[k - 3] == ':';
}

bool ValidateEmail(ScanState& st, size_t rule, size_t from, size_t, Finding* out) {
  size_t at = from + 1;
  if (at < (*st.skip_until)[rule]) return false;
  // Local part: walk left.
  size_t lb = at;
  while (lb > 0 && at - lb < 65 && IsLocalByte(st.text[lb - 1])) --lb;
  if (at - lb > 64 || at == lb) return false;
  while (lb < at && (st.text[lb] == '.' || st.text[lb] == '-')) ++lb;
  if (lb == at || st.text[at - 1] == '.') return false;
  if (InUrlAuthority(st.text, lb)) return false;
  // Domain: walk right.
  size_t de = Extend(st, at + 1, 254, IsDomainByte);
  (*st.skip_until)[rule] = de;
  while (de > at + 1 && (st.text[de - 1] == '.' || st.text[de - 1] == '-')) --de;
  std::string_view domain = st.text.substr(at + 1, de - at - 1);
  if (domain.size() < 4 || domain.find('.') == std::string_view::npos) return false;
  if (domain.find("..") != std::string_view::npos) return false;
  size_t last_dot = domain.rfind('.');
  std::string_view tld = domain.substr(last_dot + 1);
  if (tld.size() < 2 || tld.size() > 24) return false;
  for (unsigned char c : tld)
    if (!IsAlpha(c)) return false;
  // Labels: 1..63, no leading/trailing '-'.
  size_t s = 0;
  while (s <= domain.size()) {
    size_t e = domain.find('.', s);
    if (e == std::string_view::npos) e = domain.size();
    std::string_view label = domain.substr(s, e - s);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    s = e + 1;
  }
  if (IsWordByte(At(st, de)) || At(st, de) == '@') return false;
  // scp-style git remotes (git@host:org/repo) are not personal addresses.
  if (At(st, de) == ':' && st.text.substr(lb, at - lb) == "git") return false;
  *out = {Kind::kEmail, lb, de};
  return true;
}

// --- phone numbers -----------------------------------------------------------
bool PhoneCueBefore(const ScanState& st, size_t s) {
  // Order numbers, invoices, tickets etc. are not phone numbers.
  size_t b = s > 28 ? s - 28 : 0;
  std::string ctx;
  for (size_t i = b; i < s; ++i) ctx.push_back(Lower(st.text[i]));
  static constexpr std::string_view kCues[] = {
      "order",    "invoice", "ticket",  "ref",   "tracking", "sku",     "serial",   "id:",
      "id ",      "no.",     "nr",      "#",     "case",     "isbn",    "version",  "build",
      "po ",      "part",    "account", "acct",  "iban",     "bestell", "rechnung", "kunden",
      "commande", "facture", "pedido",  "batch", "lot ",     "issue",   "pr ",
  };
  for (auto cue : kCues)
    if (ctx.find(cue) != std::string::npos) return true;
  return false;
}

// The separator between two digit groups (at most 3 bytes, else the number
// is refused): a fixed buffer, no allocation per candidate.
struct Sep {
  char c[4] = {};
  uint8_t n = 0;
  bool Has(char x) const { return std::memchr(c, x, n) != nullptr; }
  bool Is(char x) const { return n == 1 && c[0] == x; }
  bool operator==(const Sep& o) const { return n == o.n && std::memcmp(c, o.c, n) == 0; }
};

bool ParsePhone(const ScanState& st, size_t s, size_t to) {
  struct G {
    size_t b, e;
  };
  G g[16];
  size_t ng = 0;
  Sep seps[16];
  int open = 0, close = 0;
  size_t paren_group = 99;
  size_t i = s;
  bool plus = false;
  if (st.text[i] == '+') {
    plus = true;
    ++i;
  }
  Sep cur_sep;
  while (i < to) {
    unsigned char c = st.text[i];
    if (IsDigit(c)) {
      size_t b = i;
      while (i < to && IsDigit(st.text[i])) ++i;
      if (ng == 16) return false;
      if (ng > 0) seps[ng] = cur_sep;
      cur_sep = Sep{};
      g[ng++] = {b, i};
      continue;
    }
    if (c == '(') {
      if (++open > 1 || (ng > 0 && cur_sep.Has(')'))) return false;
      paren_group = ng;
    } else if (c == ')') {
      if (++close > open || paren_group != ng - 1 || ng == 0) return false;
    } else if (c != ' ' && c != '-' && c != '.' && c != '/') {
      return false;
    }
    if (cur_sep.n == 3) return false;  // a fourth separator byte
    cur_sep.c[cur_sep.n++] = static_cast<char>(c);
    ++i;
  }
  if (ng == 0 || open != close || cur_sep.n != 0) return false;
  size_t digits = 0;
  for (size_t k = 0; k < ng; ++k) digits += g[k].e - g[k].b;
  auto glen = [&](size_t k) { return g[k].e - g[k].b; };
  // Separator sanity: a group separator is one of " ", "-", ".", "/", or a
  // space/dash next to a paren.
  char plain = 0;
  for (size_t k = 1; k < ng; ++k) {
    const Sep& sp = seps[k];
    char stripped[4];
    size_t ns = 0;
    bool paren = false;
    for (size_t j = 0; j < sp.n; ++j) {
      if (sp.c[j] == '(' || sp.c[j] == ')') {
        paren = true;
      } else {
        stripped[ns++] = sp.c[j];
      }
    }
    if (ns > 1) return false;
    if (ns == 0 && !paren) return false;
    if (ns != 0) {
      if (plain == 0) plain = stripped[0];
      // Mixed '.' with others looks like versions/IPs; '/' only once.
      if ((stripped[0] == '.') != (plain == '.')) return false;
    }
  }
  if (plus || (st.text[s] == '0' && At(st, s + 1) == '0' && IsDigit(At(st, s + 2)) &&
               At(st, s + 2) != '0')) {
    size_t d = plus ? digits : digits - 2;
    if (d < 8 || d > 15) return false;
    if (plus && ng > 1 && glen(0) > 3) return false;
    if (plain == '.' && ng > 1 && glen(0) > 3) return false;
    return ng <= 7;
  }
  if (st.text[s] == '(') {
    if (paren_group != 0 || glen(0) < 2 || glen(0) > 5) return false;
    if (digits < 9 || digits > 12 || ng < 2 || ng > 4) return false;
    for (size_t k = 1; k < ng; ++k)
      if (glen(k) < 2) return false;
    return true;
  }
  if (open > 0) return false;
  // NANP: 3-3-4 or 1-3-3-4, one separator kind, area code 2-9.
  if (ng == 3 && glen(0) == 3 && glen(1) == 3 && glen(2) == 4 && seps[1] == seps[2] &&
      st.text[g[0].b] >= '2' && st.text[g[1].b] >= '2' && !seps[1].Is('/'))
    return true;
  if (ng == 4 && glen(0) == 1 && st.text[g[0].b] == '1' && glen(1) == 3 && glen(2) == 3 &&
      glen(3) == 4 && seps[1] == seps[2] && seps[2] == seps[3] && !seps[1].Is('/'))
    return true;
  // National trunk prefix 0 (Europe, UK, ...): 0xx[x[x]] then 2-3 groups.
  if (st.text[g[0].b] == '0' && At(st, g[0].b + 1) != '0' && glen(0) >= 3 && glen(0) <= 5 &&
      ng >= 2 && ng <= 4 && digits >= 9 && digits <= 12 && plain != '.') {
    for (size_t k = 1; k < ng; ++k)
      if (glen(k) < 3) return false;
    return true;
  }
  return false;
}

bool ValidatePhone(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (IsAlnum(At(st, to))) return false;
  if ((At(st, to) == '.' || At(st, to) == '-' || At(st, to) == ':' || At(st, to) == '/') &&
      IsDigit(At(st, to + 1)))
    return false;
  int attempts = 0;
  for (size_t s = from; s + 7 < to && attempts < 6; ++s) {
    unsigned char c = st.text[s];
    if (s != from && Before(st, s) != ' ' && Before(st, s) != '(') continue;
    if (!(IsDigit(c) || c == '+' || c == '(')) continue;
    if (c == '(' && s != from && Before(st, s) == '(') continue;
    unsigned char pb = Before(st, s);
    if (IsWordByte(pb) || pb == '.' || pb == '-' || pb == '/' || pb == '#' || pb == '+' ||
        pb == ':' || pb == '$' || pb == ',' || pb == '=')
      continue;
    if (pb == ' ' && (Before(st, s - 1) == ':' || Before(st, s - 1) == '=') && s >= 2 &&
        IsDigit(Before(st, s - 2)))
      continue;
    // Part of a longer digit-group sequence (card-like, account numbers).
    if (pb == ' ' && s >= 2 && IsDigit(Before(st, s - 1))) continue;
    ++attempts;
    if (!ParsePhone(st, s, to)) continue;
    if (PhoneCueBefore(st, s)) return false;
    *out = {Kind::kPhone, s, to};
    return true;
  }
  return false;
}

// --- prefixed tokens -----------------------------------------------------------
// Generic: the hit covers the prefix plus a minimum body; extend over the
// token alphabet; check length and that the token ends at a boundary.
template <bool (*CharOk)(unsigned char), size_t kMinBody, size_t kMaxTotal>
bool ExtendToken(ScanState& st, size_t rule, size_t from, size_t to, size_t* end) {
  if (from < (*st.skip_until)[rule]) return false;
  size_t e = Extend(st, to, kMaxTotal > (to - from) ? kMaxTotal - (to - from) : 0, CharOk);
  (*st.skip_until)[rule] = e;
  if (e - from > kMaxTotal) return false;
  if (e < st.text.size() && CharOk(static_cast<unsigned char>(st.text[e])) && e - from >= kMaxTotal)
    return false;  // longer than any real token of this kind
  (void)kMinBody;
  *end = e;
  return true;
}

bool AlnumOk(unsigned char c) { return IsAlnum(c); }
bool AlnumUnderOk(unsigned char c) { return IsAlnum(c) || c == '_'; }
bool B64UrlOk(unsigned char c) { return IsB64Url(c); }
bool SlackOk(unsigned char c) { return IsAlnum(c) || c == '-'; }
bool WebhookOk(unsigned char c) {
  return IsAlnum(c) || c == '_' || c == '/' || c == '+' || c == '-';
}

bool HasDigitUpperLower(std::string_view s, bool need_upper = true) {
  bool d = false, u = false, l = false;
  for (unsigned char c : s) {
    d |= IsDigit(c);
    u |= IsUpper(c);
    l |= IsLower(c);
  }
  return d && l && (u || !need_upper);
}

template <Kind K, bool (*CharOk)(unsigned char), size_t kMinBody, size_t kMaxTotal>
bool ValidatePrefixed(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (IsWordByte(Before(st, from)) && K != Kind::kSlackWebhook) return false;
  size_t e;
  if (!ExtendToken<CharOk, kMinBody, kMaxTotal>(st, rule, from, to, &e)) return false;
  if (K == Kind::kOpenaiKey || K == Kind::kStripeKey || K == Kind::kSlackToken) {
    // Body must look random: digits and letters.
    size_t dash = st.text.find_first_of("-_", from + 2);
    std::string_view body = st.text.substr(dash + 1, e - dash - 1);
    if (!HasDigitUpperLower(body, K != Kind::kSlackToken)) return false;
  }
  *out = {K, from, e};
  return true;
}

bool ValidateFixedToken(ScanState& st, size_t rule, size_t from, size_t to, Finding* out, Kind kind,
                        bool (*char_ok)(unsigned char)) {
  if (IsWordByte(Before(st, from))) return false;
  if (char_ok(At(st, to))) return false;
  *out = {kind, from, to};
  return true;
}

bool ValidateAwsAccess(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  return ValidateFixedToken(st, rule, from, to, out, Kind::kAwsAccessKey, AlnumOk);
}
bool ValidateGoogle(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  return ValidateFixedToken(st, rule, from, to, out, Kind::kGoogleApiKey, B64UrlOk);
}
bool ValidateNpm(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  return ValidateFixedToken(st, rule, from, to, out, Kind::kNpmToken, AlnumOk);
}

bool ValidateAwsSecretCue(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (IsB64Std(At(st, to)) || At(st, to) == '=') return false;
  *out = {Kind::kAwsSecretKey, to - 40, to};
  return true;
}

bool ValidateAwsSecretBare(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  unsigned char pb = Before(st, from), na = At(st, to);
  if (IsB64Std(pb) || pb == '_' || pb == '-' || IsB64Std(na) || na == '=' || na == '_' || na == '-')
    return false;
  std::string_view s = st.text.substr(from, to - from);
  if (!HasDigitUpperLower(s)) return false;
  if (ShannonEntropy(s) < 4.2) return false;
  *out = {Kind::kAwsSecretKey, from, to};
  return true;
}

// --- whole-text scans: phone numbers and bare AWS secrets ----------------------
// As Vectorscan patterns, `[+(]?\d[\d ()./-]{5,24}\d` (phone) and
// `[A-Za-z0-9/+]{40}` (bare AWS secret) have no literal to anchor on: the
// scan ran their automata over every byte and reported a candidate at nearly
// every digit of logs and CSV and at every offset of long alphanumeric runs
// (2.7 M and 2.5 M candidates on 64 MB of mixed text, most of the redactor's
// time). They are whole-text rules instead (kWholeTextPattern, redactor.cc):
// their validator runs once per scanned text, finds the character-class runs
// with a byte-class scan, and hands the same per-candidate validator exactly
// the candidates Vectorscan reported for those patterns (leftmost start, every
// end offset, in end order), adding each confirmed finding to st.out.

// Byte classes of the two scans: bit 1 a phone-run byte [0-9 ()./-], bit 2
// a bare-secret byte [A-Za-z0-9/+].
constexpr std::array<uint8_t, 256> kRunClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if ((c >= '0' && c <= '9') || c == ' ' || c == '(' || c == ')' || c == '.' || c == '/' ||
        c == '-')
      t[c] |= 1;
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '+' ||
        c == '/')
      t[c] |= 2;
  }
  return t;
}();
inline bool IsPhoneRunByte(unsigned char c) { return kRunClass[c] & 1; }

#if defined(__SSE2__)
inline __m128i Load16(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i InRange(__m128i v, char lo, char hi) {
  return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                       _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
}
inline __m128i Eq(__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); }
inline unsigned Bits(__m128i m) { return static_cast<unsigned>(_mm_movemask_epi8(m)); }
// Digits and phone-run bytes [0-9 ()./-] of 16 bytes.
inline void PhoneMasks16(const char* p, unsigned* digit, unsigned* run) {
  const __m128i v = Load16(p);
  const __m128i d = InRange(v, '0', '9');
  // ( ) and - . / are 0x28 0x29 and 0x2d 0x2e 0x2f.
  const __m128i r = _mm_or_si128(_mm_or_si128(d, Eq(v, ' ')),
                                 _mm_or_si128(InRange(v, '(', ')'), InRange(v, '-', '/')));
  *digit = Bits(d);
  *run = Bits(r);
}
inline unsigned B64StdMask16(const char* p) {
  const __m128i v = Load16(p);
  const __m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));
  return Bits(_mm_or_si128(_mm_or_si128(InRange(v, '0', '9'), InRange(l, 'a', 'z')),
                           _mm_or_si128(Eq(v, '+'), Eq(v, '/'))));
}
#endif

uint64_t LowBits(size_t k) { return k >= 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1; }

// Bit k of *digit / *run set iff p[k] is a digit / a phone-run byte, for
// k < len <= 64; loads never leave [begin, p + len).
void PhoneMasks(const char* begin, const char* p, size_t len, uint64_t* digit, uint64_t* run) {
  uint64_t d = 0, r = 0;
  size_t k = 0;
#if defined(__SSE2__)
  unsigned dm, rm;
  for (; k + 16 <= len; k += 16) {
    PhoneMasks16(p + k, &dm, &rm);
    d |= static_cast<uint64_t>(dm) << k;
    r |= static_cast<uint64_t>(rm) << k;
  }
  if (k < len && p + len - begin >= 16) {
    PhoneMasks16(p + len - 16, &dm, &rm);  // a load that ends at p + len
    const unsigned shift = static_cast<unsigned>(16 - (len - k));
    d |= static_cast<uint64_t>(dm >> shift) << k;
    r |= static_cast<uint64_t>(rm >> shift) << k;
    k = len;
  }
#endif
  for (; k < len; ++k) {
    const unsigned char c = static_cast<unsigned char>(p[k]);
    if (IsDigit(c)) d |= uint64_t{1} << k;
    if (IsPhoneRunByte(c)) r |= uint64_t{1} << k;
  }
  *digit = d;
  *run = r;
}

// The phone pattern's matches, as Vectorscan reports them with leftmost start
// of match: for every end `t` (a digit) such that some digit p with
// 7 <= t - p <= 26 starts a run [p, t) of [0-9 ()./-], the leftmost such p,
// extended by one byte to a '+' or '(' right before it. Only runs in which a
// digit starts 7 run bytes can hold a match: 64-byte masks find them, and
// each such run is walked once. Linear.
// `want_end(t)` may skip ends whose candidates would be refused anyway (it
// only saves work: the starts of the other ends do not depend on it).
template <typename WantEnd, typename Emit>
void ForEachPhoneCandidate(std::string_view text, WantEnd&& want_end, Emit&& emit) {
  const size_t n = text.size();
  if (n < 7) return;
  const char* base = text.data();
  size_t next = 0;  // runs before this are done; text[next - 1] is not a run byte
  uint64_t digit = 0, run = 0, run_next = 0, digit_next = 0;
  PhoneMasks(base, base, std::min<size_t>(64, n), &digit_next, &run_next);
  for (size_t b = 0; b < n; b += 64) {
    digit = digit_next;
    run = run_next;
    digit_next = run_next = 0;
    if (b + 64 < n) PhoneMasks(base, base + b + 64, std::min<size_t>(64, n - b - 64), &digit_next, &run_next);
    if (next >= b + 64) continue;
    // Bit k: a digit at b + k followed by 6 more run bytes.
    uint64_t w = digit & run;
    for (unsigned j = 1; j <= 6; ++j) w &= (run >> j) | (run_next << (64 - j));
    if (next > b) w &= ~LowBits(next - b);
    // (base[], not text[]: no bounds assertion per byte; every index is < n.)
    while (w != 0) {
      const size_t p = b + static_cast<size_t>(std::countr_zero(w));
      size_t r0 = p;
      while (r0 > next && IsPhoneRunByte(base[r0 - 1])) --r0;
      size_t r1 = p + 7;
      while (r1 < n && IsPhoneRunByte(base[r1])) ++r1;
      size_t d = r0;
      while (!IsDigit(base[d])) ++d;  // the run's first digit (<= p)
      size_t q = d;                   // first digit >= max(r0, t - 26)
      for (size_t t = d + 7; t <= r1; ++t) {
        if (!IsDigit(base[t - 1]) || !want_end(t)) continue;
        size_t lo = t > r0 + 26 ? t - 26 : r0;
        if (q < lo) q = lo;
        while (!IsDigit(base[q])) ++q;  // stops at t - 1 at the latest
        if (q + 7 > t) continue;
        size_t f = q > 0 && (base[q - 1] == '+' || base[q - 1] == '(') ? q - 1 : q;
        emit(f, t);
      }
      next = r1 + 1;  // text[r1] is not a run byte
      if (next >= b + 64) break;
      w &= ~LowBits(next - b);
    }
  }
}

// Bit k set iff p[k] is in [A-Za-z0-9/+], for k < len <= 64; `begin` is the
// start of the text (loads never leave [begin, p + len)).
uint64_t B64StdMask(const char* begin, const char* p, size_t len) {
  uint64_t m = 0;
#if defined(__SSE2__)
  size_t k = 0;
  for (; k + 16 <= len; k += 16) m |= static_cast<uint64_t>(B64StdMask16(p + k)) << k;
  if (k < len && p + len - begin >= 16) {
    // The last bytes: a load that ends at p + len.
    m |= static_cast<uint64_t>(B64StdMask16(p + len - 16) >> (16 - (len - k))) << k;
    return m;
  }
  for (; k < len; ++k)
    if (kRunClass[static_cast<unsigned char>(p[k])] & 2) m |= uint64_t{1} << k;
#else
  for (size_t k = 0; k < len; ++k)
    if (kRunClass[static_cast<unsigned char>(p[k])] & 2) m |= uint64_t{1} << k;
#endif
  return m;
}

// The maximal runs of exactly 40 [A-Za-z0-9/+] bytes: of the candidates the
// pattern [A-Za-z0-9/+]{40} gave (every 40-byte window of a run), the only
// ones the bare-secret validator can accept (it wants no run byte on either
// side). 64 bytes at a time; runs shorter than 40 cost one mask each.
template <typename Emit>
void ForEachAwsSecretRun(std::string_view text, Emit&& emit) {
  const size_t n = text.size();
  size_t run = 0;  // length of the run ending right before block b
  for (size_t b = 0; b < n; b += 64) {
    const size_t len = std::min<size_t>(64, n - b);
    const uint64_t m = B64StdMask(text.data(), text.data() + b, len);
    if (m == LowBits(len)) {  // the whole block continues the run
      run += len;
      continue;
    }
    // The run reaching into this block ends at its first non-run byte.
    const size_t lead = static_cast<size_t>(std::countr_one(m));
    if (run + lead == 40) emit(b + lead - 40, b + lead);
    // Runs that start inside the block: only look at them one by one when
    // one is 40 or longer (rare in text).
    uint64_t x = m & ~LowBits(lead + 1);
    uint64_t a2 = x & (x >> 1), a4 = a2 & (a2 >> 2), a8 = a4 & (a4 >> 4),
             a16 = a8 & (a8 >> 8), a32 = a16 & (a16 >> 16), a40 = a32 & (a8 >> 32);
    run = 0;
    if (a40 == 0) {
      // No run of 40 inside; the run at the top (if any) continues.
      if (len == 64 && (m >> 63) != 0) run = static_cast<size_t>(std::countl_one(m));
      continue;
    }
    while (x != 0) {
      const size_t s = static_cast<size_t>(std::countr_zero(x));
      const size_t e = s + static_cast<size_t>(std::countr_one(x >> s));
      if (e >= len) {  // runs on into the next block (or to the end)
        run = e - s;
        break;
      }
      if (e - s == 40) emit(b + s, b + e);
      x &= ~LowBits(e);
    }
  }
  if (run == 40) emit(n - 40, n);
}

// Whole-text validator for phone numbers: every candidate through
// ValidatePhone, confirmed findings added to st.out.
bool ScanPhones(ScanState& st, size_t rule, size_t, size_t, Finding*) {
  // ValidatePhone refuses an end followed by a letter or digit, or by . - : /
  // and a digit, whatever the start: skip those before finding the start.
  auto want_end = [&](size_t t) {
    unsigned char na = At(st, t);
    return !(IsAlnum(na) ||
             ((na == '.' || na == '-' || na == ':' || na == '/') && IsDigit(At(st, t + 1))));
  };
  ForEachPhoneCandidate(st.text, want_end, [&](size_t from, size_t to) {
    Finding f{};
    if (ValidatePhone(st, rule, from, to, &f) && f.end > f.begin) st.out->push_back(f);
  });
  return false;
}

// Whole-text validator for bare AWS secret keys.
bool ScanAwsSecrets(ScanState& st, size_t rule, size_t, size_t, Finding*) {
  ForEachAwsSecretRun(st.text, [&](size_t from, size_t to) {
    Finding f{};
    if (ValidateAwsSecretBare(st, rule, from, to, &f) && f.end > f.begin) st.out->push_back(f);
  });
  return false;
}

// --- JWT -------------------------------------------------------------------
int B64UrlValue(unsigned char c) {
  if (IsUpper(c)) return c - 'A';
  if (IsLower(c)) return c - 'a' + 26;
  if (IsDigit(c)) return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

std::string B64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = B64UrlValue(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool ValidateJwt(ScanState& st, size_t rule, size_t from, size_t, Finding* out) {
  if (from < (*st.skip_until)[rule]) return false;
  if (IsB64Url(Before(st, from))) return false;
  size_t h_end = Extend(st, from, 2048, IsB64Url);
  (*st.skip_until)[rule] = h_end;
  if (At(st, h_end) != '.') return false;
  std::string header = B64UrlDecode(st.text.substr(from, h_end - from));
  size_t p = header.find_first_not_of(" \t\r\n");
  if (p == std::string::npos || header[p] != '{' || header.find("\"alg\"") == std::string::npos)
    return false;
  size_t p_end = Extend(st, h_end + 1, 16384, IsB64Url);
  if (p_end - (h_end + 1) < 4) return false;
  size_t e = p_end;
  if (At(st, p_end) == '.') e = Extend(st, p_end + 1, 16384, IsB64Url);
  (*st.skip_until)[rule] = e;
  *out = {Kind::kJwt, from, e};
  return true;
}

// --- PEM private keys --------------------------------------------------------
bool ValidatePem(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // The block runs to the matching END line; without one, to the end of the
  // text (everything after a private-key header is key material).
  size_t end_pos;
  if (st.pem_end_cache_from != std::string_view::npos && from >= st.pem_end_cache_from &&
      (st.pem_end_cache_pos == std::string_view::npos || st.pem_end_cache_pos >= to)) {
    end_pos = st.pem_end_cache_pos;
  } else {
    end_pos = st.text.find("-----END", to);
    st.pem_end_cache_from = from;
    st.pem_end_cache_pos = end_pos;
  }
  size_t e = st.text.size();
  if (end_pos != std::string_view::npos) {
    size_t close = st.text.find("-----", end_pos + 8);
    e = close == std::string_view::npos ? st.text.size() : close + 5;
  }
  *out = {Kind::kPrivateKey, from, e};
  return true;
}

// --- never-record words ----------------------------------------------------------
bool ValidateNeverRecord(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (to <= from) return false;
  if (IsWordByte(st.text[from]) && IsWordByte(Before(st, from))) return false;
  if (IsWordByte(st.text[to - 1]) && IsWordByte(At(st, to))) return false;
  *out = {Kind::kNeverRecord, from, to};
  return true;
}

}  // namespace

// For redactor_test: the candidates the whole-text scans produce, to compare
// with what Vectorscan reports for the patterns they replace.
void PhoneCandidatesForTest(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) {
  ForEachPhoneCandidate(
      text, [](size_t) { return true; }, [&](size_t f, size_t t) { out->emplace_back(f, t); });
}
void AwsSecretRunsForTest(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) {
  ForEachAwsSecretRun(text, [&](size_t f, size_t t) { out->emplace_back(f, t); });
}

Rule NeverRecordRule() { return Rule{Kind::kNeverRecord, {}, ValidateNeverRecord}; }

void AddTokenRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  r.push_back(R{Kind::kEmail, {{R"([A-Za-z0-9._%+\-]@[A-Za-z0-9])", kSom}}, ValidateEmail});
  r.push_back(R{Kind::kPhone, {{kWholeTextPattern, kSom}}, ScanPhones});
  r.push_back(R{
      Kind::kAwsAccessKey,
      {{R"(\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16})", kSom}},
      ValidateAwsAccess});
  r.push_back(
      R{Kind::kAwsSecretKey,
        {{R"(aws.{0,20}(?:secret|sk)[A-Za-z_ ]{0,20}["']?\s{0,3}[:=]\s{0,3}["']?[A-Za-z0-9/+]{40})",
          kSom | kCi}},
        ValidateAwsSecretCue});
  r.push_back(R{Kind::kAwsSecretKey, {{kWholeTextPattern, kSom}}, ScanAwsSecrets});
  r.push_back(R{Kind::kGithubToken,
                {{R"(\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36})", kSom}},
                ValidatePrefixed<Kind::kGithubToken, AlnumOk, 36, 255>});
  r.push_back(R{Kind::kGithubToken,
                {{R"(\bgithub_pat_[A-Za-z0-9_]{40})", kSom}},
                ValidatePrefixed<Kind::kGithubToken, AlnumUnderOk, 40, 255>});
  r.push_back(
      R{Kind::kGitlabToken,
        {{R"(\b(?:glpat|gldt|glrt|glcbt|glptt|glft|glimt|glsoat)-[A-Za-z0-9_\-]{20})", kSom}},
        ValidatePrefixed<Kind::kGitlabToken, B64UrlOk, 20, 128>});
  r.push_back(
      R{Kind::kSlackToken,
        {{R"(\bxox[abposre]-[A-Za-z0-9\-]{10})", kSom}, {R"(\bxapp-\d-[A-Za-z0-9\-]{10})", kSom}},
        ValidatePrefixed<Kind::kSlackToken, SlackOk, 10, 255>});
  r.push_back(
      R{Kind::kSlackWebhook,
        {{R"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+\-]{16})",
          kSom | kCi}},
        ValidatePrefixed<Kind::kSlackWebhook, WebhookOk, 16, 255>});
  r.push_back(R{Kind::kStripeKey,
                {{R"(\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16})", kSom}},
                ValidatePrefixed<Kind::kStripeKey, AlnumOk, 16, 255>});
  r.push_back(R{Kind::kGoogleApiKey, {{R"(\bAIza[0-9A-Za-z_\-]{35})", kSom}}, ValidateGoogle});
  r.push_back(R{Kind::kNpmToken, {{R"(\bnpm_[A-Za-z0-9]{36})", kSom}}, ValidateNpm});
  r.push_back(R{Kind::kOpenaiKey,
                {{R"(\bsk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20})", kSom}},
                ValidatePrefixed<Kind::kOpenaiKey, B64UrlOk, 20, 255>});
  r.push_back(R{Kind::kJwt, {{R"(eyJ[A-Za-z0-9_\-]{8})", kSom}}, ValidateJwt});
  r.push_back(R{Kind::kPrivateKey,
                {{R"(-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)", kSom}},
                ValidatePem});
}

}  // namespace rules
}  // namespace sealtrace::privacy
