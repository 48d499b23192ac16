#include "privacy/redactor.h"
#include "privacy/hs_compile.h"

#include <hs.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sealtrace::privacy {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(Kind::kCount)> kKindNames = {
    "payment_card",   "iban",           "us_ssn",         "email",
    "phone",          "aws_access_key", "aws_secret_key", "github_token",
    "gitlab_token",   "slack_token",    "slack_webhook",  "stripe_key",
    "google_api_key", "npm_token",      "openai_key",     "jwt",
    "private_key",    "password",       "generic_secret", "never_record",
};

inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool IsAlnum(unsigned char c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
// Word bytes for whole-word checks: ASCII alnum, '_' and any non-ASCII byte
// (so UTF-8 letters count as word characters).
inline bool IsWordByte(unsigned char c) { return IsAlnum(c) || c == '_' || c >= 0x80; }
inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool IsB64Url(unsigned char c) { return IsAlnum(c) || c == '-' || c == '_'; }
inline bool IsB64Std(unsigned char c) { return IsAlnum(c) || c == '+' || c == '/'; }

char Lower(unsigned char c) { return static_cast<char>(IsUpper(c) ? c + 32 : c); }

}  // namespace

// ---------------------------------------------------------------------------
// Public helpers

std::string_view KindName(Kind kind) {
  size_t i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : "unknown";
}

bool KindFromName(std::string_view name, Kind* kind) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      *kind = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

std::string Placeholder(Kind kind) {
  std::string s = "[REDACTED:";
  s.append(KindName(kind));
  s.push_back(']');
  return s;
}

uint32_t LengthBucket(size_t length) {
  uint64_t b = 8;
  while (b < length && b < (1ull << 31)) b <<= 1;
  return static_cast<uint32_t>(b);
}

bool LuhnValid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!IsDigit(digits[i])) return false;
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

namespace {
struct IbanCountry {
  const char cc[3];
  int length;
};
// ISO 13616 registry (SWIFT IBAN registry, plus common partial-IBAN countries).
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

int IbanLength(char a, char b) {
  for (const auto& c : kIbanCountries) {
    if (c.cc[0] == a && c.cc[1] == b) return c.length;
  }
  return 0;
}
}  // namespace

bool IbanValid(std::string_view s) {
  if (s.size() < 15 || s.size() > 34) return false;
  if (!IsUpper(s[0]) || !IsUpper(s[1]) || !IsDigit(s[2]) || !IsDigit(s[3])) return false;
  if (IbanLength(s[0], s[1]) != static_cast<int>(s.size())) return false;
  int rem = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    char c = s[(k + 4) % s.size()];
    if (IsDigit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (IsUpper(c)) {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (unsigned char c : s) counts[c]++;
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (int c : counts) {
    if (c == 0) continue;
    double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

// ---------------------------------------------------------------------------
// Validators

namespace {

struct ScanState;
using Validator = bool (*)(ScanState& st, size_t rule, size_t from, size_t to, Finding* out);

struct ScanState {
  std::string_view text;
  const Redactor* redactor;
  std::vector<Finding>* out;
  std::vector<size_t>* skip_until;  // per rule: hits starting before this are skipped
  std::vector<size_t>* last_from;   // per rule: last SOM start examined
  size_t pem_end_cache_from = std::string_view::npos;
  size_t pem_end_cache_pos = std::string_view::npos;
  const std::vector<std::string>* never_record;
};

unsigned char At(const ScanState& st, size_t i) {
  return i < st.text.size() ? static_cast<unsigned char>(st.text[i]) : 0;
}
unsigned char Before(const ScanState& st, size_t i) {
  return i > 0 && i <= st.text.size() ? static_cast<unsigned char>(st.text[i - 1]) : 0;
}

// Extends from `pos` over bytes accepted by `pred`, at most `max` bytes.
template <typename Pred>
size_t Extend(const ScanState& st, size_t pos, size_t max, Pred pred) {
  size_t lim = std::min(st.text.size(), pos + max);
  while (pos < lim && pred(static_cast<unsigned char>(st.text[pos]))) ++pos;
  return pos;
}

// --- payment cards ---------------------------------------------------------
bool CardBrandOk(std::string_view d) {
  const size_t n = d.size();
  auto pre = [&](size_t len) {
    int v = 0;
    for (size_t i = 0; i < len && i < n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  if (d[0] == '4') return n == 13 || n == 16 || n == 19;
  int p2 = pre(2), p3 = pre(3), p4 = pre(4), p6 = pre(6);
  if (p2 >= 51 && p2 <= 55) return n == 16;
  if (p4 >= 2221 && p4 <= 2720) return n == 16;
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19;  // Mir
  if (p2 == 34 || p2 == 37) return n == 15;
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
    return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;  // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14 && n <= 19;
  if (p2 == 62 || p2 == 81) return n >= 16 && n <= 19;  // UnionPay
  if (p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 63 || p2 == 67 || p2 == 60)
    return n >= 13 && n <= 19;  // Maestro and friends
  return false;
}

bool ValidateCard(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // Not part of a longer dotted/dashed/slashed number.
  unsigned char pb = Before(st, from), na = At(st, to);
  if ((pb == '.' || pb == '-' || pb == '/' || pb == ',') && IsDigit(Before(st, from - 1)))
    return false;
  if ((na == '.' || na == '-' || na == '/' || na == ',') && IsDigit(At(st, to + 1))) return false;
  // A grouped number that goes on with another group is a different number
  // (the longer candidate is validated on its own).
  if (na == ' ' && IsDigit(At(st, to + 1)) && to > from + 4 && st.text[to - 5] == ' ' &&
      IsDigit(At(st, to + 2)) && IsDigit(At(st, to + 3)) && !IsDigit(At(st, to + 4)) &&
      !IsAlpha(At(st, to + 4)))
    return false;
  // Groups and separators.
  struct Group {
    size_t begin, end;
  };
  Group groups[24];
  size_t ng = 0;
  char sep = 0;
  size_t i = from;
  while (i < to) {
    size_t g = i;
    while (i < to && IsDigit(st.text[i])) ++i;
    if (ng == 24) return false;
    groups[ng++] = {g, i};
    if (i < to) {
      char c = st.text[i];
      if (sep == 0) sep = c;
      if (c != sep) return false;
      ++i;
    }
  }
  for (size_t start = 0; start < ng; ++start) {
    std::string digits;
    for (size_t k = start; k < ng; ++k)
      digits.append(st.text.substr(groups[k].begin, groups[k].end - groups[k].begin));
    if (digits.size() < 13) break;
    if (digits.size() > 19) continue;
    if (start > 0 && IsDigit(st.text[groups[start].begin - 1])) continue;
    if (ng - start > 1) {
      // Human grouping: first group of 4, middle groups of 4-6, last of 2-6.
      if (groups[start].end - groups[start].begin != 4) continue;
      bool ok = true;
      for (size_t k = start + 1; k < ng; ++k) {
        size_t len = groups[k].end - groups[k].begin;
        if (len > 6 || len < (k + 1 == ng ? 1u : 4u)) ok = false;
      }
      if (!ok) continue;
    }
    if (!CardBrandOk(digits) || !LuhnValid(digits)) continue;
    // All-same-digit numbers are test patterns, not cards we must hide, but
    // hiding them is harmless; keep them.
    *out = {Kind::kPaymentCard, groups[start].begin, to};
    return true;
  }
  return false;
}

// --- IBAN ------------------------------------------------------------------
bool ValidateIban(ScanState& st, size_t rule, size_t from, size_t, Finding* out) {
  if ((*st.last_from)[rule] == from) return false;
  (*st.last_from)[rule] = from;
  if (IsWordByte(Before(st, from))) return false;
  char a = static_cast<char>(absl::ascii_toupper(At(st, from)));
  char b = static_cast<char>(absl::ascii_toupper(At(st, from + 1)));
  int len = IbanLength(a, b);
  if (len == 0) return false;
  std::string compact;
  size_t i = from;
  while (i < st.text.size() && static_cast<int>(compact.size()) < len) {
    unsigned char c = st.text[i];
    if (IsAlnum(c)) {
      compact.push_back(static_cast<char>(absl::ascii_toupper(c)));
      ++i;
    } else if (c == ' ' && !compact.empty() && IsAlnum(At(st, i + 1))) {
      ++i;
    } else {
      break;
    }
  }
  if (static_cast<int>(compact.size()) != len) return false;
  if (IsWordByte(At(st, i))) return false;
  if (!IbanValid(compact)) return false;
  *out = {Kind::kIban, from, i};
  return true;
}

// --- US SSN ----------------------------------------------------------------
bool SsnDigitsOk(std::string_view d) {
  auto num = [&](size_t b, size_t len) {
    int v = 0;
    for (size_t i = b; i < b + len; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  int area = num(0, 3), group = num(3, 2), serial = num(5, 4);
  if (area == 0 || area == 666 || area >= 900) return false;
  if (group == 0 || serial == 0) return false;
  if (d == "078051120" || d == "219099999") return false;  // famous invalid/advertised
  return true;
}

bool ValidateSsn(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // The number is the last 11 (separated) or 9 (bare) bytes of the match.
  size_t b = to;
  std::string digits;
  while (b > from && digits.size() < 9) {
    unsigned char c = st.text[b - 1];
    if (IsDigit(c)) {
      digits.insert(digits.begin(), static_cast<char>(c));
    } else if (c != '-' && c != ' ') {
      break;
    }
    --b;
  }
  if (digits.size() != 9) return false;
  unsigned char pb = Before(st, b), na = At(st, to);
  if (IsWordByte(pb) || IsWordByte(na)) return false;
  if ((pb == '-' || pb == '.' || pb == '/') && IsDigit(Before(st, b - 1))) return false;
  if ((na == '-' || na == '.' || na == '/') && IsDigit(At(st, to + 1))) return false;
  if (!SsnDigitsOk(digits)) return false;
  *out = {Kind::kUsSsn, b, to};
  return true;
}

// --- e-mail ----------------------------------------------------------------
bool IsLocalByte(unsigned char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool IsDomainByte(unsigned char c) { return IsAlnum(c) || c == '.' || c == '-'; }

bool ValidateEmail(ScanState& st, size_t rule, size_t from, size_t, Finding* out) {
  size_t at = from + 1;
  if (at < (*st.skip_until)[rule]) return false;
  // Local part: walk left.
  size_t lb = at;
  while (lb > 0 && at - lb < 65 && IsLocalByte(st.text[lb - 1])) --lb;
  if (at - lb > 64 || at == lb) return false;
  while (lb < at && (st.text[lb] == '.' || st.text[lb] == '-')) ++lb;
  if (lb == at || st.text[at - 1] == '.') return false;
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

bool ParsePhone(const ScanState& st, size_t s, size_t to) {
  struct G {
    size_t b, e;
  };
  G g[16];
  size_t ng = 0;
  std::string seps[16];
  int open = 0, close = 0;
  size_t paren_group = 99;
  size_t i = s;
  bool plus = false;
  if (st.text[i] == '+') {
    plus = true;
    ++i;
  }
  std::string cur_sep;
  while (i < to) {
    unsigned char c = st.text[i];
    if (IsDigit(c)) {
      size_t b = i;
      while (i < to && IsDigit(st.text[i])) ++i;
      if (ng == 16) return false;
      if (ng > 0) seps[ng] = cur_sep;
      cur_sep.clear();
      g[ng++] = {b, i};
      continue;
    }
    if (c == '(') {
      if (++open > 1 || (ng > 0 && cur_sep.find(')') != std::string::npos)) return false;
      paren_group = ng;
    } else if (c == ')') {
      if (++close > open || paren_group != ng - 1 || ng == 0) return false;
    } else if (c != ' ' && c != '-' && c != '.' && c != '/') {
      return false;
    }
    cur_sep.push_back(static_cast<char>(c));
    if (cur_sep.size() > 3) return false;
    ++i;
  }
  if (ng == 0 || open != close || !cur_sep.empty()) return false;
  size_t digits = 0;
  for (size_t k = 0; k < ng; ++k) digits += g[k].e - g[k].b;
  auto glen = [&](size_t k) { return g[k].e - g[k].b; };
  // Separator sanity: a group separator is one of " ", "-", ".", "/", or a
  // space/dash next to a paren.
  char plain = 0;
  for (size_t k = 1; k < ng; ++k) {
    std::string_view sp = seps[k];
    std::string stripped;
    for (char c : sp)
      if (c != '(' && c != ')') stripped.push_back(c);
    if (stripped.size() > 1) return false;
    if (stripped.empty() && sp.find_first_of("()") == std::string_view::npos) return false;
    if (!stripped.empty()) {
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
      st.text[g[0].b] >= '2' && st.text[g[1].b] >= '2' && seps[1] != "/")
    return true;
  if (ng == 4 && glen(0) == 1 && st.text[g[0].b] == '1' && glen(1) == 3 && glen(2) == 3 &&
      glen(3) == 4 && seps[1] == seps[2] && seps[2] == seps[3] && seps[1] != "/")
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

// --- passwords and generic secrets after cues ----------------------------------
// Reads the value after a cue ending at `to`. Returns false if there is none.
bool ReadValue(const ScanState& st, size_t to, bool stop_at_amp, size_t max_len, size_t* vb,
               size_t* ve) {
  size_t i = to;
  while (i < st.text.size() && i < to + 4 && (st.text[i] == ' ' || st.text[i] == '\t')) ++i;
  unsigned char q = At(st, i);
  if (q == '"' || q == '\'' || q == '`') {
    size_t b = i + 1;
    size_t lim = std::min(st.text.size(), b + max_len + 1);
    size_t e = b;
    while (e < lim && static_cast<unsigned char>(st.text[e]) != q && st.text[e] != '\n') ++e;
    if (e >= lim || static_cast<unsigned char>(st.text[e]) != q) {
      // Unterminated: take up to whitespace.
      e = b;
      while (e < lim && !IsSpace(st.text[e])) ++e;
    }
    *vb = b;
    *ve = e;
    return e > b;
  }
  size_t b = i;
  size_t lim = std::min(st.text.size(), b + max_len + 1);
  size_t e = b;
  while (e < lim) {
    unsigned char c = st.text[e];
    if (IsSpace(c) || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>') break;
    if (stop_at_amp && c == '&') break;
    ++e;
  }
  // Sentence punctuation right after the value is not part of it.
  while (e > b + 4 && (st.text[e - 1] == '.' || st.text[e - 1] == ',' || st.text[e - 1] == ';' ||
                       st.text[e - 1] == ')'))
    --e;
  *vb = b;
  *ve = e;
  return e > b;
}

bool PasswordStopword(std::string_view v) {
  std::string l;
  for (char c : v) l.push_back(Lower(c));
  static constexpr std::string_view kStop[] = {
      "required",  "optional", "none",      "null",      "empty",   "hidden",  "incorrect",
      "invalid",   "expired",  "changed",   "protected", "reset",   "manager", "policy",
      "strength",  "field",    "here",      "below",     "above",   "missing", "wrong",
      "forgotten", "forgot",   "undefined", "redacted",  "example", "true",    "false",
      "string",    "password", "secret",    "token",     "value",   "your",    "the",
      "and",       "for",      "with",      "was",       "is",      "not",     "has",
  };
  for (auto s : kStop)
    if (l == s) return true;
  return false;
}

bool LooksLikeCode(std::string_view v) {
  unsigned char c0 = v[0];
  if (c0 == '{' || c0 == '<' || c0 == '(' || c0 == '[') return true;
  if (c0 == '$') {
    // $VAR, ${VAR}, $(cmd): references, not values.
    if (v.size() > 1 && (v[1] == '{' || v[1] == '(')) return true;
    bool ref = true;
    for (size_t i = 1; i < v.size(); ++i) {
      unsigned char c = v[i];
      if (!(IsUpper(c) || IsDigit(c) || c == '_')) ref = false;
    }
    if (ref) return true;
  }
  if (c0 == '%' && v.size() > 1 && (v[1] == 's' || v[1] == 'd' || v[1] == '(') && v.size() <= 3)
    return true;
  if (v.find('(') != std::string_view::npos || v.find('[') != std::string_view::npos) return true;
  if (v.find("{{") != std::string_view::npos) return true;
  // Dotted or underscored identifiers without digits: config.password, self.pw.
  bool has_digit = false, ident_only = true, has_dot = false;
  for (unsigned char c : v) {
    has_digit |= IsDigit(c);
    if (!(IsAlpha(c) || c == '_' || c == '.')) ident_only = false;
    has_dot |= (c == '.' || c == '_');
  }
  return ident_only && has_dot && !has_digit;
}

bool AllSame(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [&](char c) { return c == v[0]; });
}

bool ValidatePasswordImpl(ScanState& st, size_t from, size_t to, bool strict, Finding* out) {
  bool amp = from > 0 && (Before(st, from) == '?' || Before(st, from) == '&');
  size_t vb, ve;
  if (!ReadValue(st, to, amp, 128, &vb, &ve)) return false;
  std::string_view v = st.text.substr(vb, ve - vb);
  if (v.size() < 4 || v.size() > 128) return false;
  if (AllSame(v) || PasswordStopword(v) || LooksLikeCode(v)) return false;
  if (v.find("***") != std::string_view::npos || v.find("\xe2\x80\xa2\xe2\x80\xa2") != v.npos)
    return false;  // masked
  if (ShannonEntropy(v) < 1.5) return false;
  if (strict) {
    bool letter = false, other = false;
    for (unsigned char c : v) {
      letter |= IsAlpha(c) || c >= 0x80;
      other |= IsDigit(c) || (!IsAlpha(c) && c < 0x80);
    }
    if (v.size() < 6 || !letter || !other) return false;
  }
  *out = {Kind::kPassword, vb, ve};
  return true;
}

bool ValidatePassword(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  return ValidatePasswordImpl(st, from, to, false, out);
}
bool ValidatePasswordStrict(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  return ValidatePasswordImpl(st, from, to, true, out);
}

bool SecretValueByte(unsigned char c) {
  return IsAlnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == '+' || c == '=' ||
         c == '~' || c == ':';
}

bool ValidateGenericSecret(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  size_t i = to;
  while (i < st.text.size() && i < to + 4 &&
         (st.text[i] == ' ' || st.text[i] == '"' || st.text[i] == '\'' || st.text[i] == '\t'))
    ++i;
  size_t e = Extend(st, i, 513, SecretValueByte);
  while (e > i && (st.text[e - 1] == '.' || st.text[e - 1] == ':' || st.text[e - 1] == ',')) --e;
  std::string_view v = st.text.substr(i, e - i);
  if (v.size() < 16 || v.size() > 512) return false;
  bool digit = false, alpha = false;
  for (unsigned char c : v) {
    digit |= IsDigit(c);
    alpha |= IsAlpha(c);
  }
  if (!digit || !alpha || ShannonEntropy(v) < 3.0) return false;
  *out = {Kind::kGenericSecret, i, e};
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

// --- rule table ---------------------------------------------------------------------
struct PatternSpec {
  const char* expr;
  unsigned flags;
};

constexpr unsigned kSom = HS_FLAG_SOM_LEFTMOST;
constexpr unsigned kCi = HS_FLAG_CASELESS;

// Password cues ending in a ':' or '=' separator (with optional quote/space).
#define SEP R"(["']?\s{0,3}(?:[:=]|\xEF\xBC\x9A)>?\s{0,3})"

}  // namespace

struct Redactor::Rule {
  Kind kind;
  std::vector<PatternSpec> patterns;
  Validator validate;
};

namespace {

std::vector<Redactor::Rule> BuiltinRules() {
  using R = Redactor::Rule;
  std::vector<R> r;
  r.push_back(R{Kind::kPaymentCard, {{R"(\b\d(?:[ -]?\d){12,22}\b)", kSom}}, ValidateCard});
  r.push_back(
      R{Kind::kIban, {{R"(\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30})", kSom}}, ValidateIban});
  r.push_back(R{Kind::kUsSsn,
                {{R"(\b\d{3}-\d{2}-\d{4}\b)", kSom},
                 {R"(\b\d{3} \d{2} \d{4}\b)", kSom},
                 {R"(\b(?:ssn|social security(?: number| no\.?)?|ss#)\s{0,3}[:#]?\s{0,3}\d{9}\b)",
                  kSom | kCi}},
                ValidateSsn});
  r.push_back(R{Kind::kEmail, {{R"([A-Za-z0-9._%+\-]@[A-Za-z0-9])", kSom}}, ValidateEmail});
  r.push_back(R{Kind::kPhone, {{R"([+(]?\d[\d ()./-]{5,24}\d)", kSom}}, ValidatePhone});
  r.push_back(R{
      Kind::kAwsAccessKey,
      {{R"(\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16})", kSom}},
      ValidateAwsAccess});
  r.push_back(
      R{Kind::kAwsSecretKey,
        {{R"(aws.{0,20}(?:secret|sk)[A-Za-z_ ]{0,20}["']?\s{0,3}[:=]\s{0,3}["']?[A-Za-z0-9/+]{40})",
          kSom | kCi}},
        ValidateAwsSecretCue});
  r.push_back(R{Kind::kAwsSecretKey, {{R"([A-Za-z0-9/+]{40})", kSom}}, ValidateAwsSecretBare});
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
  r.push_back(R{
      Kind::kPassword,
      {{R"(\b(?:password|passwd|passwort|kennwort|pwd|passcode|passphrase|pass|pw|contrase(?:ñ|n)a|senha|wachtwoord|has(?:ł|l)o|parola|mot de passe|secret|token|pin))" SEP,
        kSom | kCi},
       {R"((?:пароль|Пароль|ПАРОЛЬ|密码|密碼|パスワード|비밀번호|סיסמה|كلمة المرور))" SEP, kSom}},
      ValidatePassword});
  r.push_back(R{Kind::kPassword,
                {{R"(\b(?:password|passwort|pass|pwd|passwd)\s{1,2})", kSom | kCi}},
                ValidatePasswordStrict});
  r.push_back(R{
      Kind::kGenericSecret,
      {{R"(\b(?:api[_\-]?key|apikey|api[_\-]?secret|api[_\-]?token|access[_\-]?key(?:[_\-]?id)?|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token|secret[_\-]?key|client[_\-]?secret|private[_\-]?key|session[_\-]?token|x-api-key|bearer|token|secret)["']?\s{0,3}[:=]?\s{0,3}["']?)",
        kSom | kCi}},
      ValidateGenericSecret});
  return r;
}

std::string EscapeLiteral(std::string_view w) {
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : w) {
    if (IsAlnum(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* ctx);

}  // namespace

// ---------------------------------------------------------------------------
// Redactor

absl::StatusOr<std::shared_ptr<const Redactor>> Redactor::Create(const RedactorOptions& options) {
  std::shared_ptr<Redactor> r(new Redactor());
  r->rules_ = BuiltinRules();
  for (const std::string& w : options.never_record) {
    if (w.empty()) continue;
    if (w.size() > kMaxFindingBytes)
      return absl::InvalidArgumentError(
          absl::StrCat("never-record entry longer than ", kMaxFindingBytes, " bytes"));
    r->never_record_.push_back(w);
  }
  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  for (size_t i = 0; i < r->rules_.size(); ++i) {
    for (const auto& p : r->rules_[i].patterns) {
      exprs.push_back(p.expr);
      flags.push_back(p.flags);
      r->pattern_rule_.push_back(static_cast<uint32_t>(i));
    }
  }
  if (!r->never_record_.empty()) {
    size_t rule = r->rules_.size();
    r->rules_.push_back(Rule{Kind::kNeverRecord, {}, ValidateNeverRecord});
    for (const auto& w : r->never_record_) {
      exprs.push_back(EscapeLiteral(w));
      flags.push_back(kSom | kCi);
      r->pattern_rule_.push_back(static_cast<uint32_t>(rule));
    }
  }
  std::vector<const char*> cexprs;
  std::vector<unsigned> ids;
  for (size_t i = 0; i < exprs.size(); ++i) {
    cexprs.push_back(exprs[i].c_str());
    ids.push_back(static_cast<unsigned>(i));
  }
  int expr = -1;
  auto compiled = CompileHsBlockDatabase(cexprs, flags, ids, &expr);
  if (!compiled.ok()) {
    return absl::InternalError(absl::StrCat("redaction engine: cannot compile pattern ", expr,
                                            ": ", std::string(compiled.status().message())));
  }
  r->db_ = *compiled;
  if (hs_alloc_scratch(r->db_, &r->proto_scratch_) != HS_SUCCESS)
    return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  return std::shared_ptr<const Redactor>(std::move(r));
}

Redactor::~Redactor() {
  for (hs_scratch* s : free_scratch_) hs_free_scratch(s);
  if (proto_scratch_) hs_free_scratch(proto_scratch_);
  if (db_) hs_free_database(db_);
}

hs_scratch* Redactor::AcquireScratch() const {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!free_scratch_.empty()) {
      hs_scratch* s = free_scratch_.back();
      free_scratch_.pop_back();
      return s;
    }
  }
  hs_scratch* s = nullptr;
  if (hs_clone_scratch(proto_scratch_, &s) != HS_SUCCESS) return nullptr;
  return s;
}

void Redactor::ReleaseScratch(hs_scratch* s) const {
  std::lock_guard<std::mutex> l(mu_);
  free_scratch_.push_back(s);
}

namespace {
struct CallbackCtx {
  ScanState* st;
  const std::vector<Redactor::Rule>* rules;
  const std::vector<uint32_t>* pattern_rule;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* ctx) {
  auto* c = static_cast<CallbackCtx*>(ctx);
  uint32_t rule = (*c->pattern_rule)[id];
  Finding f{};
  if ((*c->rules)[rule].validate(*c->st, rule, static_cast<size_t>(from), static_cast<size_t>(to),
                                 &f) &&
      f.end > f.begin) {
    c->st->out->push_back(f);
  }
  return 0;
}

int KindPriority(Kind k) {
  switch (k) {
    case Kind::kPaymentCard:
    case Kind::kIban:
    case Kind::kUsSsn:
      return 1;
    case Kind::kEmail:
    case Kind::kPhone:
      return 2;
    case Kind::kPassword:
    case Kind::kGenericSecret:
      return 3;
    case Kind::kNeverRecord:
      return 4;
    default:
      return 0;  // provider-specific secrets
  }
}

// Sorts and merges overlapping findings. The merged finding takes the kind of
// the most specific member (lowest Kind value).
std::vector<Finding> Merge(std::vector<Finding> v) {
  std::sort(v.begin(), v.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Finding> out;
  for (const Finding& f : v) {
    if (!out.empty() && f.begin < out.back().end) {
      Finding& m = out.back();
      // Prefer the more specific kind (secrets > identifiers > contact data >
      // cue-based); ties: the longer finding.
      size_t mlen = m.end - m.begin, flen = f.end - f.begin;
      int mp = KindPriority(m.kind), fp = KindPriority(f.kind);
      if (fp < mp || (fp == mp && flen > mlen)) m.kind = f.kind;
      m.end = std::max(m.end, f.end);
    } else {
      out.push_back(f);
    }
  }
  return out;
}
}  // namespace

absl::StatusOr<std::vector<Finding>> Redactor::Scan(std::string_view text) const {
  std::vector<Finding> raw;
  if (text.empty()) return raw;
  if (text.size() > 0xffffffffu) return absl::InvalidArgumentError("text too large to scan");
  std::vector<size_t> skip(rules_.size(), 0);
  std::vector<size_t> last_from(rules_.size(), std::string_view::npos);
  ScanState st{
      text,          this, &raw, &skip, &last_from, std::string_view::npos, std::string_view::npos,
      &never_record_};
  CallbackCtx ctx{&st, &rules_, &pattern_rule_};
  hs_scratch* scratch = AcquireScratch();
  if (!scratch) return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  hs_error_t rc =
      hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch, OnMatch, &ctx);
  ReleaseScratch(scratch);
  if (rc != HS_SUCCESS) return absl::InternalError(absl::StrCat("redaction scan failed: ", rc));
  return Merge(std::move(raw));
}

std::string Redactor::Apply(std::string_view text, const std::vector<Finding>& findings) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.begin < pos || f.end > text.size()) continue;
    out.append(text.substr(pos, f.begin - pos));
    out += Placeholder(f.kind);
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

absl::StatusOr<std::string> Redactor::Redact(std::string_view text,
                                             std::vector<Finding>* findings) const {
  auto f = Scan(text);
  if (!f.ok()) return f.status();
  std::string out = Apply(text, *f);
  if (findings) *findings = std::move(*f);
  return out;
}

// ---------------------------------------------------------------------------
// StreamRedactor

namespace {
constexpr size_t kStreamBatch = 256;
}

StreamRedactor::StreamRedactor(std::shared_ptr<const Redactor> redactor)
    : redactor_(std::move(redactor)) {}

absl::Status StreamRedactor::Append(std::string_view text, std::string* out,
                                    std::vector<Finding>* findings) {
  buf_.append(text);
  size_t end = buf_base_ + buf_.size();
  if (end - decided_ >= Redactor::kHoldBytes + kStreamBatch) return Decide(false, out, findings);
  return absl::OkStatus();
}

absl::Status StreamRedactor::EndRun(std::string* out, std::vector<Finding>* findings) {
  absl::Status s = Decide(true, out, findings);
  buf_.clear();
  buf_base_ = 0;
  decided_ = 0;
  continuing_ = false;
  return s;
}

absl::Status StreamRedactor::Decide(bool final, std::string* out, std::vector<Finding>* findings) {
  const size_t end = buf_base_ + buf_.size();
  auto local = [&](size_t abs) { return abs - buf_base_; };
  // 1. A finding that ran into the undecided tail last time continues.
  if (continuing_) {
    size_t e;
    if (continue_kind_ == Kind::kPrivateKey) {
      size_t p = buf_.find("-----END", local(decided_));
      size_t close = p == std::string::npos ? std::string::npos : buf_.find("-----", p + 8);
      e = close == std::string::npos ? end : buf_base_ + close + 5;
    } else {
      size_t i = local(decided_);
      while (i < buf_.size() && !IsSpace(buf_[i])) ++i;
      e = buf_base_ + i;
    }
    if (e > decided_ && findings) findings->push_back({continue_kind_, decided_, e});
    decided_ = e;
    if (e < end || final) continuing_ = false;
    if (continuing_) {
      // Keep only the context.
      size_t keep_from = decided_ > Redactor::kHoldBytes ? decided_ - Redactor::kHoldBytes : 0;
      if (keep_from > buf_base_) {
        buf_.erase(0, keep_from - buf_base_);
        buf_base_ = keep_from;
      }
      return absl::OkStatus();
    }
  }
  size_t target = final ? end : (end > Redactor::kHoldBytes ? end - Redactor::kHoldBytes : 0);
  if (target <= decided_ && !final) return absl::OkStatus();
  auto scanned = redactor_->Scan(buf_);
  if (!scanned.ok()) return scanned.status();
  size_t new_decided = std::max(target, decided_);
  std::vector<Finding> take;
  for (const Finding& lf : *scanned) {
    Finding f{lf.kind, lf.begin + buf_base_, lf.end + buf_base_};
    if (f.end <= decided_) continue;
    if (f.begin >= new_decided && f.begin >= target) break;
    f.begin = std::max(f.begin, decided_);
    take.push_back(f);
    new_decided = std::max(new_decided, f.end);
  }
  if (out) {
    size_t pos = decided_;
    for (const Finding& f : take) {
      out->append(buf_, local(pos), f.begin - pos);
      out->append(Placeholder(f.kind));
      pos = f.end;
    }
    out->append(buf_, local(pos), new_decided - pos);
  }
  if (!take.empty() && take.back().end == end && !final) {
    continuing_ = true;
    continue_kind_ = take.back().kind;
  }
  if (findings) findings->insert(findings->end(), take.begin(), take.end());
  decided_ = new_decided;
  size_t keep_from = decided_ > Redactor::kHoldBytes ? decided_ - Redactor::kHoldBytes : 0;
  if (keep_from > buf_base_) {
    buf_.erase(0, keep_from - buf_base_);
    buf_base_ = keep_from;
  }
  return absl::OkStatus();
}

}  // namespace sealtrace::privacy
