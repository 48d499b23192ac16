#include "privacy/redactor_rules.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"

namespace sealtrace::privacy {
using rules::IsDigit;
using rules::IsUpper;

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

namespace rules {
namespace {

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

}  // namespace

void AddIdentifierRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  r.push_back(R{Kind::kPaymentCard, {{R"(\b\d(?:[ -]?\d){12,22}\b)", kSom}}, ValidateCard});
  r.push_back(
      R{Kind::kIban, {{R"(\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30})", kSom}}, ValidateIban});
  r.push_back(R{Kind::kUsSsn,
                {{R"(\b\d{3}-\d{2}-\d{4}\b)", kSom},
                 {R"(\b\d{3} \d{2} \d{4}\b)", kSom},
                 {R"(\b(?:ssn|social security(?: number| no\.?)?|ss#)\s{0,3}[:#]?\s{0,3}\d{9}\b)",
                  kSom | kCi}},
                ValidateSsn});
}

}  // namespace rules
}  // namespace sealtrace::privacy
