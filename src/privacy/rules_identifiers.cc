// Identifier rules: payment cards and their context (expiry, security code),
// IBAN, bank data (US routing numbers, account numbers, UK sort codes),
// national identifiers with their check digits, and dates of birth in forms.
//
// Two shapes of rule (docs/REDACTION.md, "National identifiers, bank, card
// and birth-date kinds"):
//  * format rules: a distinctive written form (letters in fixed places,
//    punctuation in fixed places) is a candidate by itself; the validator
//    checks the check digits/letters and the boundaries.
//  * cue rules: the pattern is only the cue word(s) (literals, cheap for
//    Vectorscan); the validator skips a little filler (":", "=", quotes,
//    "number", "no.", "is", HTML/JSON punctuation, ...) and parses the value
//    that follows, at most kCueWindow bytes after the cue, then checks it.
//    Weak 8-11 digit checksums are only ever found this way.
// Every validator looks at most kCueWindow bytes after its candidate and a
// fixed number of bytes before it (each backward walk states its own bound,
// e.g. BackOverCardCtx and CardEndsAt), and is linear in that.
#include "privacy/redactor_rules.h"

#include <algorithm>
#include <bit>
#include <initializer_list>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

constexpr size_t kCueWindow = 64;  // bytes a cue validator reads after the cue

int Dg(char c) { return c - '0'; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

bool AllSame(std::string_view s) {
  for (char c : s)
    if (c != s[0]) return false;
  return true;
}

int Num(std::string_view s, size_t b, size_t len) {
  int v = 0;
  for (size_t i = b; i < b + len; ++i) v = v * 10 + Dg(s[i]);
  return v;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Day `d` of month `m` in year `y` (y < 0: unknown year, 29 February allowed).
bool DateOk(int y, int m, int d) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  if (d > kDays[m - 1]) return false;
  if (m == 2 && d == 29 && y >= 0 && !IsLeap(y)) return false;
  return true;
}

// --- check digits and formats (compact, upper-case values) ------------------

bool NinoOk(std::string_view s, bool need_suffix) {
  if (s.size() != 9 && (need_suffix || s.size() != 8)) return false;
  char a = s[0], b = s[1];
  if (!IsUpper(a) || !IsUpper(b)) return false;
  if (std::string_view("DFIQUV").find(a) != std::string_view::npos) return false;
  if (std::string_view("DFIOQUV").find(b) != std::string_view::npos) return false;
  std::string_view pre = s.substr(0, 2);
  for (std::string_view bad : {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})
    if (pre == bad) return false;
  if (!AllDigits(s.substr(2, 6))) return false;
  return s.size() == 8 || (s[8] >= 'A' && s[8] <= 'D');
}

bool BsnOk(std::string_view s) {
  if (!AllDigits(s) || (s.size() != 9 && s.size() != 8)) return false;
  std::string d(9 - s.size(), '0');
  d += s;
  if (AllSame(d)) return false;
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += (9 - i) * Dg(d[i]);
  sum -= Dg(d[8]);
  return sum % 11 == 0;
}

bool DniOk(std::string_view s) {
  static constexpr std::string_view kLetters = "TRWAGMYFPDXBNJZSQVHLCKE";
  if (s.size() != 9 && s.size() != 8) return false;
  if (!IsUpper(s.back())) return false;
  std::string_view body = s.substr(0, s.size() - 1);
  long n = 0;
  if (body[0] == 'X' || body[0] == 'Y' || body[0] == 'Z') {
    if (body.size() != 8 || !AllDigits(body.substr(1))) return false;
    n = body[0] - 'X';
    for (char c : body.substr(1)) n = n * 10 + Dg(c);
  } else {
    if (!AllDigits(body)) return false;
    for (char c : body) n = n * 10 + Dg(c);
  }
  return kLetters[static_cast<size_t>(n % 23)] == s.back();
}

// Codice fiscale: omocodia replaces digits by L M N P Q R S T U V.
int CfDigit(char c) {
  if (IsDigit(c)) return Dg(c);
  size_t p = std::string_view("LMNPQRSTUV").find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

bool CfOk(std::string_view s) {
  if (s.size() != 16) return false;
  for (int i : {0, 1, 2, 3, 4, 5, 8, 11, 15})
    if (!IsUpper(s[i])) return false;
  for (int i : {6, 7, 9, 10, 12, 13, 14})
    if (CfDigit(s[i]) < 0) return false;
  size_t month = std::string_view("ABCDEHLMPRST").find(s[8]);
  if (month == std::string_view::npos) return false;
  int day = CfDigit(s[9]) * 10 + CfDigit(s[10]);
  if (day > 40) day -= 40;
  if (!DateOk(-1, static_cast<int>(month) + 1, day)) return false;
  static constexpr int kOdd[] = {1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                                 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};
  int sum = 0;
  for (int i = 0; i < 15; ++i) {
    char c = s[i];
    int v = IsDigit(c) ? Dg(c) : c - 'A';
    sum += (i % 2 == 0) ? kOdd[v] : v;
  }
  return s[15] == 'A' + sum % 26;
}

bool VerhoeffOk(std::string_view s) {
  static constexpr int kD[10][10] = {
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
      {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
      {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
      {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
      {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
  static constexpr int kP[8][10] = {
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
      {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
      {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
      {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
  int c = 0;
  for (size_t i = 0; i < s.size(); ++i) c = kD[c][kP[i % 8][Dg(s[s.size() - 1 - i])]];
  return c == 0;
}

bool AadhaarOk(std::string_view s) {
  return s.size() == 12 && AllDigits(s) && s[0] >= '2' && !AllSame(s) && VerhoeffOk(s);
}

bool PanOk(std::string_view s) {
  if (s.size() != 10) return false;
  for (int i : {0, 1, 2, 3, 4, 9})
    if (!IsUpper(s[i])) return false;
  if (std::string_view("PCHFATBLJGE").find(s[3]) == std::string_view::npos) return false;
  return AllDigits(s.substr(5, 4));
}

bool CpfOk(std::string_view s) {
  if (s.size() != 11 || !AllDigits(s) || AllSame(s)) return false;
  int a = 0, b = 0;
  for (int i = 0; i < 9; ++i) a += Dg(s[i]) * (10 - i);
  a = a * 10 % 11 % 10;
  if (a != Dg(s[9])) return false;
  for (int i = 0; i < 10; ++i) b += Dg(s[i]) * (11 - i);
  b = b * 10 % 11 % 10;
  return b == Dg(s[10]);
}

bool PeselOk(std::string_view s) {
  if (s.size() != 11 || !AllDigits(s) || AllSame(s)) return false;
  int yy = Num(s, 0, 2), mm = Num(s, 2, 2), dd = Num(s, 4, 2);
  int century = 1900;
  if (mm > 80) {
    century = 1800, mm -= 80;
  } else if (mm > 60) {
    century = 2200, mm -= 60;
  } else if (mm > 40) {
    century = 2100, mm -= 40;
  } else if (mm > 20) {
    century = 2000, mm -= 20;
  }
  if (!DateOk(century + yy, mm, dd)) return false;
  static constexpr int kW[] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
  int sum = 0;
  for (int i = 0; i < 10; ++i) sum += kW[i] * Dg(s[i]);
  return (10 - sum % 10) % 10 == Dg(s[10]);
}

// Swedish personnummer / samordningsnummer: 10 digits YYMMDDNNNC or 12
// digits CCYYMMDDNNNC; the day is +60 for a samordningsnummer.
bool SePnOk(std::string_view s) {
  if (!AllDigits(s) || (s.size() != 10 && s.size() != 12)) return false;
  int year = -1;
  if (s.size() == 12) {
    int cc = Num(s, 0, 2);
    if (cc < 18 || cc > 20) return false;
    year = cc * 100 + Num(s, 2, 2);
    s = s.substr(2);
  }
  int mm = Num(s, 2, 2), dd = Num(s, 4, 2);
  if (dd > 60) dd -= 60;
  if (!DateOk(year, mm, dd)) return false;
  if (Num(s, 6, 3) == 0) return false;
  return LuhnValid(s);
}

// French NIR: sex, YY, MM, department (2A/2B for Corsica), commune, order,
// key = 97 - (first 13 digits mod 97), Corsica counted as 19 (2A) / 18 (2B).
bool NirOk(std::string_view s) {
  if (s.size() != 15) return false;
  if (s[0] != '1' && s[0] != '2' && s[0] != '7' && s[0] != '8') return false;
  if (!AllDigits(s.substr(0, 5)) || !AllDigits(s.substr(7))) return false;
  int mm = Num(s, 3, 2);
  if (!((mm >= 1 && mm <= 12) || (mm >= 20 && mm <= 42) || mm >= 50)) return false;
  std::string n(s.substr(0, 13));
  if (n[5] == '2' && (n[6] == 'A' || n[6] == 'B')) {
    n[5] = '1';
    n[6] = n[6] == 'A' ? '9' : '8';
  } else if (!IsDigit(n[5]) || !IsDigit(n[6]) || (n[5] == '0' && n[6] == '0')) {
    return false;
  }
  long rem = 0;
  for (char c : n) rem = (rem * 10 + Dg(c)) % 97;
  return 97 - rem == Num(s, 13, 2);
}

bool SinOk(std::string_view s) {
  return s.size() == 9 && AllDigits(s) && s[0] != '0' && s[0] != '8' && !AllSame(s) &&
         LuhnValid(s);
}

bool TfnOk(std::string_view s) {
  if (!AllDigits(s) || AllSame(s)) return false;
  static constexpr int kW9[] = {1, 4, 3, 7, 5, 8, 6, 9, 10};
  static constexpr int kW8[] = {10, 7, 8, 4, 6, 3, 5, 1};
  const int* w = s.size() == 9 ? kW9 : s.size() == 8 ? kW8 : nullptr;
  if (!w) return false;
  int sum = 0;
  for (size_t i = 0; i < s.size(); ++i) sum += w[i] * Dg(s[i]);
  return sum % 11 == 0;
}

bool SteuerIdOk(std::string_view s) {
  if (s.size() != 11 || !AllDigits(s) || s[0] == '0') return false;
  int count[10] = {};
  for (int i = 0; i < 10; ++i) count[Dg(s[i])]++;
  int multi = 0, triple = -1;
  for (int d = 0; d < 10; ++d) {
    if (count[d] > 3) return false;
    if (count[d] > 1) ++multi;
    if (count[d] == 3) triple = d;
  }
  if (multi != 1) return false;
  if (triple >= 0) {
    for (int i = 0; i + 2 < 10; ++i)
      if (Dg(s[i]) == triple && Dg(s[i + 1]) == triple && Dg(s[i + 2]) == triple) return false;
  }
  int product = 10;
  for (int i = 0; i < 10; ++i) {
    int sum = (Dg(s[i]) + product) % 10;
    if (sum == 0) sum = 10;
    product = sum * 2 % 11;
  }
  int check = 11 - product;
  if (check == 10) check = 0;
  return check == Dg(s[10]);
}

bool ItinOk(std::string_view s) {
  if (s.size() != 9 || !AllDigits(s) || s[0] != '9') return false;
  int g = Num(s, 3, 2);
  return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
         (g >= 94 && g <= 99);
}

bool RoutingOk(std::string_view s) {
  if (s.size() != 9 || !AllDigits(s) || AllSame(s)) return false;
  int p = Num(s, 0, 2);
  if (!(p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p == 80)) return false;
  int sum = 0;
  for (int i = 0; i < 9; i += 3) sum += 3 * Dg(s[i]) + 7 * Dg(s[i + 1]) + Dg(s[i + 2]);
  return sum % 10 == 0;
}

bool CheckKind(Kind k, std::string_view s) {
  switch (k) {
    case Kind::kUkNino:
      return NinoOk(s, false);
    case Kind::kNlBsn:
      return BsnOk(s);
    case Kind::kEsDni:
      return DniOk(s);
    case Kind::kItCodiceFiscale:
      return CfOk(s);
    case Kind::kInAadhaar:
      return AadhaarOk(s);
    case Kind::kInPan:
      return PanOk(s);
    case Kind::kBrCpf:
      return CpfOk(s);
    case Kind::kPlPesel:
      return PeselOk(s);
    case Kind::kSePersonnummer:
      return SePnOk(s);
    case Kind::kFrNir:
      return NirOk(s);
    case Kind::kCaSin:
      return SinOk(s);
    case Kind::kAuTfn:
      return TfnOk(s);
    case Kind::kDeSteuerId:
      return SteuerIdOk(s);
    case Kind::kUsItin:
      return ItinOk(s);
    case Kind::kUsRoutingNumber:
      return RoutingOk(s);
    default:
      return false;
  }
}

// --- reading values ----------------------------------------------------------

bool IsSep(unsigned char c) { return c == ' ' || c == '-' || c == '.' || c == '/'; }

// Alphanumeric groups separated by single separators (space - . /):
// "12.345.678-Z", "123 456 782", "AB 12 34 56 C".
struct Groups {
  static constexpr size_t kMax = 12;
  std::string compact;  // upper-case alnum
  size_t end[kMax];     // text offset after group k
  size_t clen[kMax];    // compact length after group k
  char sep[kMax];       // separator before group k (0 for the first)
  size_t n = 0;
};

void ReadGroups(const ScanState& st, size_t p, size_t max_compact, Groups* g) {
  const size_t lim = std::min(st.text.size(), p + kCueWindow);
  size_t i = p;
  char sep = 0;
  while (i < lim && g->n < Groups::kMax) {
    size_t b = i;
    while (i < lim && IsAlnum(st.text[i])) ++i;
    if (i == b || g->compact.size() + (i - b) > max_compact) break;
    for (size_t k = b; k < i; ++k) g->compact.push_back(absl::ascii_toupper(st.text[k]));
    g->end[g->n] = i;
    g->clen[g->n] = g->compact.size();
    g->sep[g->n] = sep;
    ++g->n;
    if (i + 1 < lim && IsSep(st.text[i]) && IsAlnum(st.text[i + 1])) {
      sep = st.text[i];
      ++i;
    } else {
      break;
    }
  }
}

// The longest prefix of whole groups that is a valid `kind`; refuses a value
// that a further digit group continues with a separator the value uses.
bool GroupsValue(const Groups& g, Kind kind, size_t* end) {
  for (size_t k = g.n; k-- > 0;) {
    std::string_view v(g.compact.data(), g.clen[k]);
    if (!CheckKind(kind, v)) continue;
    if (k + 1 < g.n && IsDigit(g.compact[g.clen[k]])) {
      char next = g.sep[k + 1];
      bool used = false;
      for (size_t j = 1; j <= k; ++j) used |= g.sep[j] == next;
      if (used || next != ' ') return false;
    }
    *end = g.end[k];
    return true;
  }
  return false;
}

// Nothing glued to the value: no word byte, no separator followed by an
// alphanumeric continuing it.
bool ClearBefore(const ScanState& st, size_t b) {
  unsigned char pb = Before(st, b);
  if (IsWordByte(pb)) return false;
  if ((pb == '.' || pb == '-' || pb == '/' || pb == ',') && IsAlnum(Before(st, b - 1))) return false;
  return true;
}
bool ClearAfter(const ScanState& st, size_t e) {
  unsigned char na = At(st, e);
  if (IsWordByte(na)) return false;
  if ((na == '.' || na == '-' || na == '/' || na == ',') && IsAlnum(At(st, e + 1))) return false;
  return true;
}

// --- filler between a cue and its value ----------------------------------------

bool IsFillerPunct(unsigned char c) {
  switch (c) {
    case ' ': case '\t': case ':': case '=': case '#': case '"': case '\'': case '>': case '<':
    case '(': case ')': case '[': case ']': case '{': case '}': case '|': case '/': case '.':
    case ',': case '-': case '_': case ';': case '\\': case '`':
      return true;
    default:
      return false;
  }
}

bool FillerWord(std::string_view w) {
  static constexpr std::string_view kWords[] = {
      "is", "was", "are", "be", "the", "a", "an", "of", "on", "at", "am", "um", "op", "le", "la",
      "el", "em", "il", "de", "del", "do", "da", "du", "der", "des", "den", "die", "das", "no",
      "nr", "nro", "num", "number", "nummer", "numer", "numero", "n\xC3\xBAmero", "n",
      "n\xC2\xBA", "n\xC2\xB0", "card", "id", "lautet", "est", "es", "\xC3\xA8", "\xC3\xA9",
      "ist", "\xC3\xA4r", "er", "jest", "wynosi", "my", "your", "his", "her", "our", "their",
      "mein", "meine", "ma", "mon", "mi", "mio", "mia", "mijn", "minha", "meu", "code", "value",
      "val", "td", "th", "span", "div", "dd", "dt", "b", "strong", "label", "li", "p", "input",
      "field", "text", "string", "here", "hier", "please", "mm", "yyyy", "yy", "jj", "aaaa",
      "jjjj", "tt", "rrrr", "datum", "date", "mf", "format", "given", "provided"};
  static const std::vector<std::string_view> kSorted = [] {
    std::vector<std::string_view> v(std::begin(kWords), std::end(kWords));
    std::sort(v.begin(), v.end());
    return v;
  }();
  char buf[16];
  if (w.empty() || w.size() > sizeof buf) return false;
  for (size_t i = 0; i < w.size(); ++i) buf[i] = Lower(w[i]);
  return std::binary_search(kSorted.begin(), kSorted.end(), std::string_view(buf, w.size()));
}

// Skips filler after a cue ending at `p`; returns where the value starts, or
// npos. A word glued to digits ("AB123456C", "n123") starts the value. The
// starts of skipped words go to `skipped` (a value may begin with letters that
// are also a filler word: "NINO: MA 12 34 56 C").
struct Skipped {
  size_t pos[4];
  int n = 0;
};
size_t SkipFiller(const ScanState& st, size_t p, Skipped* skipped = nullptr) {
  const size_t lim = std::min(st.text.size(), p + 40);
  int words = 0, newlines = 0;
  while (p < lim) {
    unsigned char c = st.text[p];
    if (IsFillerPunct(c)) {
      ++p;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (++newlines > 2) return std::string_view::npos;
      ++p;
      continue;
    }
    // U+00A0, U+2013/2014 dashes, U+FF1A fullwidth colon.
    if (c == 0xC2 && At(st, p + 1) == 0xA0) {
      p += 2;
      continue;
    }
    if (c == 0xE2 && At(st, p + 1) == 0x80 && (At(st, p + 2) == 0x93 || At(st, p + 2) == 0x94)) {
      p += 3;
      continue;
    }
    if (c == 0xEF && At(st, p + 1) == 0xBC && At(st, p + 2) == 0x9A) {
      p += 3;
      continue;
    }
    if (IsDigit(c)) return p;
    if (IsAlpha(c) || c >= 0x80) {
      size_t e = p;
      while (e < st.text.size() && e < p + 16 &&
             (IsAlpha(st.text[e]) || static_cast<unsigned char>(st.text[e]) >= 0x80))
        ++e;
      if (IsDigit(At(st, e))) return p;
      if (words < 4 && FillerWord(st.text.substr(p, e - p))) {
        if (skipped) skipped->pos[skipped->n++] = p;
        ++words;
        p = e;
        continue;
      }
      return p;
    }
    return p;
  }
  return std::string_view::npos;
}

// A cue must not be the start of a longer word ("sin" in "single"); cues
// that end in punctuation are fine.
bool CueEnds(const ScanState& st, size_t to) {
  return !(IsAlnum(Before(st, to)) && IsAlpha(At(st, to)));
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

// Whether a card whose first digits are `d` may have 19 digits.
bool Allows19(std::string_view d) {
  std::string x(d);
  x.resize(19, '0');
  return CardBrandOk(x);
}

// A card number in [from, to) (digits with one uniform separator: space,
// dash or dot); *begin receives where it starts (a suffix of the groups),
// *digits (if not null) its digits.
bool CardSpan(const ScanState& st, size_t from, size_t to, size_t* begin, bool prefer_short,
              std::string* digits_out = nullptr) {
  // Not part of a longer dotted/dashed/slashed number.
  unsigned char pb = Before(st, from), na = At(st, to);
  if ((pb == '.' || pb == '-' || pb == '/' || pb == ',') && IsDigit(Before(st, from - 1)))
    return false;
  if ((na == '.' || na == '-' || na == '/' || na == ',') && IsDigit(At(st, to + 1))) return false;
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
    if (ng == 24 || i == g) return false;
    groups[ng++] = {g, i};
    if (i < to) {
      char c = st.text[i];
      if (c != ' ' && c != '-' && c != '.') return false;
      if (sep == 0) sep = c;
      if (c != sep) return false;
      ++i;
    }
  }
  // "5500 0000 0000 0004 123": a card and its security code, not a longer
  // number, when the groups before the last 3-4 digits are a card already;
  // for brands that have 19-digit cards (Visa, Discover, UnionPay, ...)
  // only when the last group has 4 digits (4-4-4-4-3 is one 19-digit number).
  if (prefer_short && ng >= 2 && sep == ' ') {
    size_t last = groups[ng - 1].end - groups[ng - 1].begin;
    size_t b;
    std::string d;
    if ((last == 3 || last == 4) && CardSpan(st, from, groups[ng - 2].end, &b, false, &d) &&
        (last == 4 || !Allows19(d)))
      return false;
  }
  // Digits from each group to the end (to skip starts cheaply).
  size_t total = 0;
  for (size_t k = 0; k < ng; ++k) total += groups[k].end - groups[k].begin;
  for (size_t start = 0; start < ng; total -= groups[start].end - groups[start].begin, ++start) {
    if (total < 13) break;
    if (total > 19) continue;
    if (ng - start > 1 && groups[start].end - groups[start].begin != 4) continue;
    char digits[32];
    size_t nd = 0;
    for (size_t k = start; k < ng && nd <= 19; ++k)
      for (size_t j = groups[k].begin; j < groups[k].end && nd < 32; ++j) digits[nd++] = st.text[j];
    if (start > 0 && IsDigit(st.text[groups[start].begin - 1])) continue;
    if (ng - start > 1) {
      // Human grouping: first group of 4, middle groups of 4-6, last of 1-6.
      if (groups[start].end - groups[start].begin != 4) continue;
      bool ok = true;
      for (size_t k = start + 1; k < ng; ++k) {
        size_t len = groups[k].end - groups[k].begin;
        if (len > 6 || len < (k + 1 == ng ? 1u : 4u)) ok = false;
      }
      // Amex and Diners are written 4-6-5 and 4-6-4.
      if ((nd == 15 || nd == 14) && (ng - start != 3 || groups[start + 1].end - groups[start + 1].begin != 6))
        ok = false;
      if (!ok) continue;
      // A dotted number is a card only in the 4-4-4-4 layout (versions,
      // amounts and OIDs are dotted too).
      if (sep == '.') {
        for (size_t k = start; k < ng; ++k)
          if (groups[k].end - groups[k].begin != 4) ok = false;
        if (!ok) continue;
      }
    } else if (sep == '.') {
      continue;
    }
    std::string_view d(digits, nd);
    if (!CardBrandOk(d) || !LuhnValid(d)) continue;
    // The same card read from the other side: followed by " ddd" it is the
    // start of a 19-digit number when its brand has those.
    if (prefer_short && nd == 16 && na == ' ' && st.text[to - 5] == ' ' && IsDigit(At(st, to + 1)) &&
        IsDigit(At(st, to + 2)) && IsDigit(At(st, to + 3)) && !IsDigit(At(st, to + 4)) &&
        !IsAlpha(At(st, to + 4)) && Allows19(d))
      return false;
    *begin = groups[start].begin;
    if (digits_out) digits_out->assign(d);
    return true;
  }
  return false;
}

// At least `n` digits in [from, to).
bool HasDigits(const ScanState& st, size_t from, size_t to, size_t n) {
  size_t d = 0;
  for (size_t i = from; i < to && d < n; ++i) d += IsDigit(st.text[i]);
  return d >= n;
}

bool CardEndingAt(const ScanState& st, size_t from, size_t to, Finding* out) {
  size_t b;
  if (to - from < 13 || !HasDigits(st, from, to, 13) || !CardSpan(st, from, to, &b, true)) return false;
  *out = {Kind::kPaymentCard, b, to};
  return true;
}

// MM/YY, MM/YYYY, MM-YY, MM.YY, MM|YY, "MM / YY" at p; *end after the year.
bool ParseExpiry(const ScanState& st, size_t p, size_t* end, bool allow_compact) {
  size_t i = p;
  size_t mb = i;
  while (IsDigit(At(st, i)) && i - mb < 5) ++i;
  size_t mlen = i - mb;
  if (allow_compact && mlen == 4) {
    int m = Num(st.text, mb, 2);
    if (m < 1 || m > 12 || !ClearAfter(st, i)) return false;
    *end = i;
    return true;
  }
  if (mlen < 1 || mlen > 2) return false;
  int m = Num(st.text, mb, mlen);
  if (m < 1 || m > 12) return false;
  if (At(st, i) == ' ') ++i;
  unsigned char s = At(st, i);
  if (s != '/' && s != '-' && s != '.' && s != '|') return false;
  ++i;
  if (At(st, i) == ' ') ++i;
  size_t yb = i;
  while (IsDigit(At(st, i)) && i - yb < 5) ++i;
  size_t ylen = i - yb;
  if (ylen != 2 && ylen != 4) return false;
  if (ylen == 4) {
    int y = Num(st.text, yb, 4);
    if (y < 1990 || y > 2099) return false;
  }
  if (IsAlnum(At(st, i))) return false;
  if ((At(st, i) == '/' || At(st, i) == '-' || At(st, i) == '.' || At(st, i) == ':') &&
      IsDigit(At(st, i + 1)))
    return false;
  *end = i;
  return true;
}

// 3-4 digits standing alone at p.
bool ParseCvv(const ScanState& st, size_t p, size_t* end) {
  size_t i = p;
  while (IsDigit(At(st, i)) && i - p < 5) ++i;
  if (i - p < 3 || i - p > 4) return false;
  if (!ClearAfter(st, i)) return false;
  unsigned char na = At(st, i);
  if ((na == ' ' || na == '/') && IsDigit(At(st, i + 1))) return false;
  *end = i;
  return true;
}

// Card context: an expiry and/or a security code written after a card
// number ("4111 1111 1111 1111 12/27 123", "4111111111111111|12|2027|123",
// "5500... exp 12/27, 123"). The shared digit-run candidate goes on over
// them (see AddIdentifierRules), so Vectorscan reports a match ending at the
// card, one ending at the expiry and one ending at the code; the parts are
// found backwards from the end of the match, and the card must be valid.
bool IsCardCtxSep(unsigned char c) {
  return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '|';
}

// Skips separators (at most 6) and at most one expiry cue word ("exp",
// "exp.", "expiry:", "valid thru") backwards from `p`; npos if something
// else is there.
size_t BackOverCardCtx(const ScanState& st, size_t p, bool allow_word) {
  const size_t lim = p > 24 ? p - 24 : 0;
  size_t seps = 0;
  bool word = false;
  while (p > lim) {
    unsigned char c = Before(st, p);
    if (IsCardCtxSep(c) || (word && (c == ':' || c == '.'))) {
      --p;
      ++seps;
    } else if (allow_word && !word && (IsAlpha(c) || c == ':' || c == '.')) {
      size_t e = p;
      while (p > lim && (IsAlpha(Before(st, p)) || Before(st, p) == '.' || Before(st, p) == ':'))
        --p;
      std::string w;
      for (size_t i = p; i < e; ++i)
        if (IsAlpha(st.text[i])) w.push_back(Lower(st.text[i]));
      static constexpr std::string_view kWords[] = {"exp", "expiry", "expires", "expiration",
                                                    "expdate", "expirydate", "valid"};
      bool ok = false;
      for (auto k : kWords) ok |= w == k;
      if (!ok) return std::string_view::npos;
      word = true;
    } else {
      break;
    }
  }
  return seps == 0 ? std::string_view::npos : p;
}

// An expiry ending at `to`: returns its start, or npos.
size_t ExpiryEndingAt(const ScanState& st, size_t to) {
  size_t i = to;
  while (i > 0 && to - i < 5 && IsDigit(Before(st, i))) --i;
  if (to - i != 2 && to - i != 4) return std::string_view::npos;
  if (Before(st, i) == ' ') --i;
  unsigned char s = Before(st, i);
  if (s != '/' && s != '-' && s != '.' && s != '|') return std::string_view::npos;
  --i;
  if (Before(st, i) == ' ') --i;
  size_t m = i;
  while (m > 0 && i - m < 3 && IsDigit(Before(st, m))) --m;
  if (m == i || i - m > 2) return std::string_view::npos;
  size_t e;
  if (!ParseExpiry(st, m, &e, false) || e != to) return std::string_view::npos;
  return m;
}

bool CardEndsHere(const ScanState& st, size_t from, size_t to) {
  size_t b;
  return to > from && HasDigits(st, from, to, 13) && CardSpan(st, from, to, &b, true);
}

// A card number that ends exactly at `end` (walking back at most 26 bytes
// over digits and single separators).
bool CardEndsAt(const ScanState& st, size_t end) {
  if (!IsDigit(Before(st, end))) return false;
  size_t b = end;
  const size_t lim = end > 26 ? end - 26 : 0;
  while (b > lim) {
    unsigned char c = Before(st, b);
    if (IsDigit(c) || ((c == ' ' || c == '-' || c == '.') && IsDigit(Before(st, b - 1)))) {
      --b;
    } else {
      break;
    }
  }
  while (b < end && !IsDigit(st.text[b])) ++b;
  if (IsDigit(Before(st, b))) {  // stopped inside a long run: start at the next group
    while (b < end && IsDigit(st.text[b])) ++b;
    while (b < end && !IsDigit(st.text[b])) ++b;
  }
  return CardEndsHere(st, b, end);
}

// The security code ending at `to` after a card (and maybe its expiry).
bool CardCvvEndingAt(const ScanState& st, size_t from, size_t to, Finding* out) {
  size_t cb = to;
  while (cb > from && to - cb < 5 && IsDigit(Before(st, cb))) --cb;
  if (to - cb < 3 || to - cb > 4) return false;
  size_t ce;
  if (!ParseCvv(st, cb, &ce) || ce != to) return false;
  size_t q = BackOverCardCtx(st, cb, false);
  if (q == std::string_view::npos) return false;
  size_t m = ExpiryEndingAt(st, q);
  if (m != std::string_view::npos) {
    q = BackOverCardCtx(st, m, true);
    if (q == std::string_view::npos) return false;
  }
  if (m == std::string_view::npos ? !CardEndsHere(st, from, q) : !CardEndsAt(st, q)) return false;
  *out = {Kind::kCardSecurityCode, cb, to};
  return true;
}

// The expiry ending at `to` after a card.
bool CardExpiryEndingAt(const ScanState& st, size_t to, Finding* out) {
  size_t m = ExpiryEndingAt(st, to);
  if (m == std::string_view::npos) return false;
  size_t q = BackOverCardCtx(st, m, true);
  if (q == std::string_view::npos || !CardEndsAt(st, q)) return false;
  *out = {Kind::kCardExpiry, m, to};
  return true;
}

// Candidates anchored on the expiry's '/' or '|': the expiry itself, or the
// security code after it.
bool ValidateExpiryBesideCard(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  return CardExpiryEndingAt(st, to, out);
}
bool ValidateCvvBesideExpiry(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  return CardCvvEndingAt(st, from, to, out);
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
  int area = Num(d, 0, 3), group = Num(d, 3, 2), serial = Num(d, 5, 4);
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

// --- national identifiers by their written form ------------------------------

// Upper-cased alnum bytes of [from, to); *seps receives the separator bytes.
std::string Compact(const ScanState& st, size_t from, size_t to, std::string* seps) {
  std::string c;
  for (size_t i = from; i < to; ++i) {
    unsigned char x = st.text[i];
    if (IsAlnum(x)) {
      c.push_back(absl::ascii_toupper(x));
    } else if (seps) {
      seps->push_back(static_cast<char>(x));
    }
  }
  return c;
}

bool SameCaseLetters(const ScanState& st, size_t from, size_t to) {
  bool up = false, low = false;
  for (size_t i = from; i < to; ++i) {
    up |= IsUpper(st.text[i]);
    low |= IsLower(st.text[i]);
  }
  return !(up && low);
}

// A grouped value must not go on with another digit group ("4111 1111 1111"
// of a card is no Aadhaar).
bool NotInLongerGrouping(const ScanState& st, size_t from, size_t to) {
  unsigned char pb = Before(st, from), na = At(st, to);
  if (IsDigit(st.text[from]) && (pb == ' ' || pb == '-' || pb == '.') &&
      IsDigit(Before(st, from - 1)))
    return false;
  if (IsDigit(st.text[to - 1]) && (na == ' ' || na == '-' || na == '.') && IsDigit(At(st, to + 1)))
    return false;
  return true;
}

// Whether text at b has `shape`: 'd' a digit, '?' a separator from `seps`
// (the same one throughout), 'X' a digit or A/B (Corsican departments),
// anything else itself.
bool Shape(const ScanState& st, size_t b, std::string_view shape, std::string_view seps = " -") {
  if (b + shape.size() > st.text.size()) return false;
  char sep = 0;
  for (size_t k = 0; k < shape.size(); ++k) {
    unsigned char c = st.text[b + k];
    switch (shape[k]) {
      case 'd':
        if (!IsDigit(c)) return false;
        break;
      case 'X':
        if (!IsDigit(c) && (c | 0x20) != 'a' && (c | 0x20) != 'b') return false;
        break;
      case '?':
        if (seps.find(static_cast<char>(c)) == std::string_view::npos) return false;
        if (sep == 0) sep = static_cast<char>(c);
        if (c != sep) return false;
        break;
      default:
        if (c != shape[k]) return false;
    }
  }
  return true;
}

// [b, e) is a whole value: clear of other words and digit groups.
bool Standalone(const ScanState& st, size_t b, size_t e) {
  return ClearBefore(st, b) && ClearAfter(st, e) && NotInLongerGrouping(st, b, e);
}

bool DigitIdsEndingAt(const ScanState& st, size_t to, Finding* out);

// The shared digit-run candidate: a payment card, an expiry or security
// code after one, or a digit-form national identifier, whichever ends at
// `to` (one finding per match end).
bool ValidateDigitRun(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  const unsigned char last = Before(st, to);
  if (!IsDigit(last)) return false;
  // Which alternative of the pattern ended here: a code or an expiry after
  // separators, or the digit run itself.
  size_t i = to;
  while (i > from && IsDigit(Before(st, i))) --i;
  if (Before(st, i) == ' ' && to - i >= 3 && to - i <= 4 && CardCvvEndingAt(st, from, to, out))
    return true;
  return CardEndingAt(st, from, to, out) || DigitIdsEndingAt(st, to, out);
}

// --- the digit-run scan ---------------------------------------------------------
// The digit-run candidate is \b\d(?:[ .+-]?\d){7,22}\b with leftmost start of
// match. As a Vectorscan pattern it has no literal to anchor on and reports a
// candidate at every group end of logs, CSV and timestamps (the costliest
// rule on mixed text), so it is a whole-text rule instead (kWholeTextPattern,
// redactor.cc): one pass finds digits 16 bytes at a time and walks each run
// of digits with single separators once, handing ValidateDigitRun exactly
// the candidates the pattern would have (every end, leftmost start).

bool IsAsciiWord(unsigned char c) { return IsAlnum(c) || c == '_'; }

#if defined(__SSE2__)
// Bit k is set when t[i + k] is an ASCII digit; needs i + 16 <= t.size().
unsigned DigitMask16(std::string_view t, size_t i) {
  const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + i));
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi))));
}
#endif

// The first digit at or after i (or text.size()).
size_t NextDigit(std::string_view t, size_t i) {
#if defined(__SSE2__)
  while (i + 16 <= t.size()) {
    const unsigned m = DigitMask16(t, i);
    if (m != 0) return i + static_cast<size_t>(std::countr_zero(m));
    i += 16;
  }
#endif
  while (i < t.size() && !IsDigit(t[i])) ++i;
  return i;
}

// The first non-digit at or after i (or text.size()).
size_t DigitsEnd(std::string_view t, size_t i) {
#if defined(__SSE2__)
  while (i + 16 <= t.size()) {
    const unsigned m = DigitMask16(t, i);
    if (m != 0xffff) return i + static_cast<size_t>(std::countr_one(m));
    i += 16;
  }
#endif
  while (i < t.size() && IsDigit(t[i])) ++i;
  return i;
}

bool IsRunSep(unsigned char c) { return c == ' ' || c == '.' || c == '+' || c == '-'; }

// Bytes from i that are digits or separators, counted up to 8 (a run shorter
// than 8 bytes holds no candidate: it needs 8 digits).
size_t RunBytesUpTo8(std::string_view t, size_t i) {
#if defined(__SSE2__)
  if (i + 16 <= t.size()) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + i));
    const __m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                    _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    // ' ' 0x20, '+' 0x2b, '-' 0x2d, '.' 0x2e
    const __m128i sep =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('+'))),
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(d, sep)));
    return std::min<size_t>(8, static_cast<size_t>(std::countr_one(m)));
  }
#endif
  size_t k = i;
  while (k < t.size() && k - i < 8 && (IsDigit(t[k]) || IsRunSep(static_cast<unsigned char>(t[k])))) ++k;
  return k - i;
}

// Calls emit(from, to) for every match of the digit-run pattern: at each end
// of a digit group followed by a non-word byte, the leftmost group start
// (a word boundary) from which 8 to 23 digits reach the end. Linear: each run
// is walked once, and only the groups of the last 23 digits are kept.
template <typename Emit>
void ForEachDigitRunCandidate(std::string_view t, Emit&& emit) {
  struct G {
    size_t start;
    size_t before;  // digits of the run before this group
    bool startable;
  };
  G g[64];
  const size_t n = t.size();
  size_t i = 0;
  while ((i = NextDigit(t, i)) < n) {
    if (size_t r = RunBytesUpTo8(t, i); r < 8) {  // a short number: skip it
      i += r;
      continue;
    }
    size_t first = 0, count = 0;  // live groups g[first, first + count)
    size_t digits = 0, p = i;
    bool startable = i == 0 || !IsAsciiWord(static_cast<unsigned char>(t[i - 1]));
    for (;;) {
      const size_t gs = p;
      p = DigitsEnd(t, p);
      if (first + count == 64) {  // compact the window
        std::copy(g + first, g + first + count, g);
        first = 0;
      }
      g[first + count++] = {gs, digits, startable};
      digits += p - gs;
      // Groups that would start a match of more than 23 digits are done.
      while (count > 0 && digits - g[first].before > 23) ++first, --count;
      if (p >= n || !IsAsciiWord(static_cast<unsigned char>(t[p]))) {
        for (size_t k = first; k < first + count; ++k) {
          if (!g[k].startable) continue;
          if (digits - g[k].before >= 8) emit(g[k].start, p);
          break;
        }
      }
      if (p + 1 < n && IsRunSep(static_cast<unsigned char>(t[p])) && IsDigit(t[p + 1])) {
        ++p;
        startable = true;
        continue;
      }
      break;
    }
    i = p;
  }
}

bool ScanDigitRuns(ScanState& st, size_t rule, size_t, size_t, Finding*) {
  ForEachDigitRunCandidate(st.text, [&](size_t from, size_t to) {
    Finding f{};
    if (ValidateDigitRun(st, rule, from, to, &f) && f.end > f.begin) st.out->push_back(f);
  });
  return false;
}

// National identifiers whose written form is digits with distinctive
// punctuation, on the shared digit-run candidate (which ends where the
// identifier's digits end): grouped Aadhaar (4-4-4), formatted CPF,
// Swedish personnummer with its - or +, US ITIN, French NIR in its usual
// spaced layout, and DNI with a separated letter ("12345678-Z").
bool DigitIdsEndingAt(const ScanState& st, size_t to, Finding* out) {
  // Every form below has a separator 3 or 5 bytes before its end, or a
  // letter after it.
  {
    const unsigned char a = Before(st, to - 2), b = to >= 5 ? Before(st, to - 4) : 0,
                        na = At(st, to);
    if (a != ' ' && a != '-' && b != ' ' && b != '-' && b != '+' && na != ' ' && na != '-')
      return false;
  }
  auto emit = [&](Kind k, size_t b, size_t e) {
    if (!Standalone(st, b, e)) return false;
    std::string c = Compact(st, b, e, nullptr);
    if (!CheckKind(k, c)) return false;
    *out = {k, b, e};
    return true;
  };
  const unsigned char na = At(st, to);
  if (to >= 21 && Shape(st, to - 21, "d dd dd dX ddd ddd dd") && emit(Kind::kFrNir, to - 21, to))
    return true;
  if (to >= 14) {
    if (At(st, to - 14) >= '2' && Shape(st, to - 14, "dddd?dddd?dddd") &&
        emit(Kind::kInAadhaar, to - 14, to))
      return true;
    if (Shape(st, to - 14, "ddd.ddd.ddd-dd") && emit(Kind::kBrCpf, to - 14, to)) return true;
  }
  // Swedish numbers without their cue: born before 2013, so that build stamps
  // (20240315-1430, 240315-1430) are no personnummer.
  if (to >= 13 && Shape(st, to - 13, "dddddddd?dddd", "-+") &&
      Num(st.text, to - 13, 4) <= 2012 && emit(Kind::kSePersonnummer, to - 13, to))
    return true;
  if (to >= 11) {
    int yy = Num(st.text, to - 11, 2);
    if (Shape(st, to - 11, "dddddd?dddd", "-+") && (yy <= 12 || yy > 30 || At(st, to - 5) == '+') &&
        emit(Kind::kSePersonnummer, to - 11, to))
      return true;
    if (At(st, to - 11) == '9' && Shape(st, to - 11, "ddd?dd?dddd") &&
        emit(Kind::kUsItin, to - 11, to))
      return true;
  }
  // DNI: 8 digits (or 12.345.678) then "-Z" or " Z" (space: upper case only).
  if ((na == '-' || na == ' ') && IsAlpha(At(st, to + 1)) && !IsWordByte(At(st, to + 2)) &&
      (na == '-' || IsUpper(At(st, to + 1)))) {
    size_t b = std::string_view::npos;
    if (to >= 10 && Shape(st, to - 10, "dd.ddd.ddd")) {
      b = to - 10;
    } else if (to >= 9 && Shape(st, to - 9, "d.ddd.ddd")) {
      b = to - 9;
    } else if (to >= 8 && Shape(st, to - 8, "dddddddd")) {
      b = to - 8;
    }
    if (b != std::string_view::npos && ClearBefore(st, b) && ClearAfter(st, to + 2)) {
      std::string c = Compact(st, b, to + 2, nullptr);
      if (DniOk(c)) {
        *out = {Kind::kEsDni, b, to + 2};
        return true;
      }
    }
  }
  return false;
}

// Compact identifiers that end in a digit and a letter, on a small candidate
// (a digit, a letter, a word end): UK NINO (AB123456C), DNI (12345678Z), NIE
// (X1234567L), PAN (ABCPD1234E, upper case), codice fiscale (16 characters).
bool ValidateLetterTail(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t b = to;
  while (b > 0 && to - b < 17 && IsAlnum(Before(st, b))) --b;
  const size_t len = to - b;
  if (len != 9 && len != 10 && len != 16) return false;
  if (!ClearBefore(st, b) || !ClearAfter(st, to) || !SameCaseLetters(st, b, to)) return false;
  std::string c = Compact(st, b, to, nullptr);
  Kind k;
  if (len == 16) {
    k = Kind::kItCodiceFiscale;
  } else if (len == 10) {
    if (!IsUpper(st.text[b])) return false;  // lower case: after its cue only
    k = Kind::kInPan;
  } else if (IsDigit(c[0]) || ((c[0] == 'X' || c[0] == 'Y' || c[0] == 'Z') && IsDigit(c[1]))) {
    k = Kind::kEsDni;
  } else {
    if (!NinoOk(c, true)) return false;
    k = Kind::kUkNino;
  }
  if (!CheckKind(k, c)) return false;
  *out = {k, b, to};
  return true;
}

// Separated forms with letters: "AB 12 34 56 C", "AB 123456 C",
// "AB-12-34-56-C" (NINO), "X-1234567-L", "X 1234567 L" (NIE).
template <Kind K>
bool ValidateFormat(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (!Standalone(st, from, to) || !SameCaseLetters(st, from, to)) return false;
  std::string c = Compact(st, from, to, nullptr);
  bool ok = K == Kind::kUkNino ? NinoOk(c, true) : CheckKind(K, c);
  if (!ok) return false;
  *out = {K, from, to};
  return true;
}

// --- cue rules ----------------------------------------------------------------

// "123456782 (BSN)": the value right before "(cue": a run of alphanumeric
// groups (at most 24 bytes) ending at the '(' (spaces allowed between).
bool IdBeforeCue(const ScanState& st, size_t from, std::initializer_list<Kind> kinds,
                 Finding* out) {
  if (Before(st, from) != '(') return false;
  size_t e = from - 1;
  while (e > 0 && from - 1 - e < 2 && Before(st, e) == ' ') --e;
  if (!IsAlnum(Before(st, e))) return false;
  size_t b = e;
  while (b > 0 && e - b < 24) {
    unsigned char c = Before(st, b);
    if (IsAlnum(c) || (IsSep(c) && b >= 2 && IsAlnum(Before(st, b - 1)))) {
      --b;
    } else {
      break;
    }
  }
  for (size_t s = b; s < e; ++s) {  // longest value first
    if ((s != b && IsAlnum(Before(st, s))) || !IsAlnum(At(st, s)) || !ClearBefore(st, s)) continue;
    Groups g;
    ReadGroups(st, s, 16, &g);
    for (Kind k : kinds) {
      if (k == Kind::kCount) continue;
      size_t end;
      if (GroupsValue(g, k, &end) && end == e) {
        *out = {k, s, e};
        return true;
      }
    }
  }
  return false;
}

// A national-identifier value after its cue (any grouping of its characters),
// or right before it in parentheses.
template <Kind K1, Kind K2 = Kind::kCount>
bool ValidateIdCue(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule] || !CueEnds(st, to)) return false;
  if (IdBeforeCue(st, from, {K1, K2}, out)) return true;
  Skipped sk;
  size_t p = SkipFiller(st, to, &sk);
  if (p == std::string_view::npos) return false;
  for (int a = sk.n; a >= 0; --a) {
    size_t v = a == sk.n ? p : sk.pos[a];
    if (a < sk.n && !IsAlpha(At(st, v))) continue;
    if (!ClearBefore(st, v)) continue;
    Groups g;
    ReadGroups(st, v, 16, &g);
    for (Kind k : {K1, K2}) {
      if (k == Kind::kCount) continue;
      size_t e;
      if (!GroupsValue(g, k, &e) || !ClearAfter(st, e)) continue;
      *out = {k, v, e};
      (*st.skip_until)[rule] = e;
      return true;
    }
  }
  return false;
}

// Digits with single space/dash separators at p: at least min_digits, at
// most max_digits.
bool ParseAccount(const ScanState& st, size_t p, size_t min_digits, size_t max_digits,
                  size_t* end) {
  if (!IsDigit(At(st, p)) || !ClearBefore(st, p)) return false;
  size_t i = p, nd = 0;
  char sep = 0;
  const size_t lim = std::min(st.text.size(), p + 40);
  while (i < lim) {
    unsigned char c = st.text[i];
    if (IsDigit(c)) {
      ++nd;
      ++i;
    } else if ((c == ' ' || c == '-') && IsDigit(At(st, i + 1)) && (sep == 0 || sep == c)) {
      sep = static_cast<char>(c);
      ++i;
    } else {
      break;
    }
  }
  if (nd < min_digits || nd > max_digits || !ClearAfter(st, i)) return false;
  if (IsDigit(At(st, i))) return false;
  // A date (2024-03-15) or a card number is not an account number.
  if (i - p == 10 && st.text[p + 4] == '-' && st.text[p + 7] == '-') return false;
  size_t b;
  if (nd >= 13 && CardSpan(st, p, i, &b, true)) return false;
  *end = i;
  return true;
}

bool ValidateAccountCue(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule] || !CueEnds(st, to)) return false;
  size_t p = SkipFiller(st, to);
  size_t e;
  if (p == std::string_view::npos || !ParseAccount(st, p, 5, 20, &e)) return false;
  *out = {Kind::kBankAccount, p, e};
  (*st.skip_until)[rule] = e;
  return true;
}

// After a routing number or sort code: separators and at most two account
// words, then the account number.
bool AccountBeside(const ScanState& st, size_t p, size_t min_digits, size_t max_digits,
                   size_t* b, size_t* e) {
  const size_t lim = std::min(st.text.size(), p + 32);
  int words = 0;
  while (p < lim) {
    unsigned char c = st.text[p];
    if (c == ' ' || c == '\t' || c == ',' || c == ';' || c == '|' || c == ':' || c == '#' ||
        c == '/' || c == '.' || c == '-' || c == '=' || c == '"' || c == '\'') {
      ++p;
    } else if (IsAlpha(c) && words < 3) {
      size_t w = p;
      while (p < lim && (IsAlpha(st.text[p]) || st.text[p] == '/')) ++p;
      std::string l;
      for (size_t i = w; i < p; ++i) l.push_back(Lower(st.text[i]));
      static constexpr std::string_view kWords[] = {
          "account", "acct", "acc", "a/c", "ac", "no", "nr", "number", "num", "and", "konto",
          "kontonummer", "compte", "cuenta", "conto", "rekening", "rekeningnummer", "bank"};
      bool ok = false;
      for (auto k : kWords) ok |= l == k;
      if (!ok) return false;
      ++words;
    } else {
      break;
    }
  }
  *b = p;
  return ParseAccount(st, p, min_digits, max_digits, e);
}

// Reads a routing number after its cue; *e after it.
bool RoutingAfterCue(const ScanState& st, size_t to, size_t* b, size_t* e) {
  if (!CueEnds(st, to)) return false;
  size_t p = SkipFiller(st, to);
  if (p == std::string_view::npos || !ClearBefore(st, p)) return false;
  size_t i = p;
  while (IsDigit(At(st, i)) && i - p < 10) ++i;
  if (i - p != 9 || !ClearAfter(st, i)) return false;
  if (!RoutingOk(st.text.substr(p, 9))) return false;
  *b = p;
  *e = i;
  return true;
}

bool ValidateRouting(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule]) return false;
  size_t b, e;
  if (!RoutingAfterCue(st, to, &b, &e)) return false;
  *out = {Kind::kUsRoutingNumber, b, e};
  (*st.skip_until)[rule] = e;
  return true;
}

bool ValidateRoutingAccount(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule]) return false;
  size_t b, e, ab, ae;
  if (!RoutingAfterCue(st, to, &b, &e)) return false;
  if (!AccountBeside(st, e, 6, 17, &ab, &ae)) return false;
  *out = {Kind::kBankAccount, ab, ae};
  (*st.skip_until)[rule] = ae;
  return true;
}

// Sort code after its cue: NN-NN-NN, NN NN NN or NNNNNN.
bool SortCodeAfterCue(const ScanState& st, size_t to, size_t* b, size_t* e) {
  if (!CueEnds(st, to)) return false;
  size_t p = SkipFiller(st, to);
  if (p == std::string_view::npos || !ClearBefore(st, p)) return false;
  std::string_view t = st.text.substr(p, std::min<size_t>(8, st.text.size() - p));
  size_t len = 0;
  if (t.size() >= 8 && IsDigit(t[0]) && IsDigit(t[1]) && (t[2] == '-' || t[2] == ' ') &&
      IsDigit(t[3]) && IsDigit(t[4]) && t[5] == t[2] && IsDigit(t[6]) && IsDigit(t[7])) {
    len = 8;
  } else if (t.size() >= 6 && AllDigits(t.substr(0, 6))) {
    len = 6;
  } else {
    return false;
  }
  if (IsDigit(At(st, p + len)) || !ClearAfter(st, p + len)) return false;
  std::string d = Compact(st, p, p + len, nullptr);
  if (d == "000000") return false;
  *b = p;
  *e = p + len;
  return true;
}

bool ValidateSortCode(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule]) return false;
  size_t b, e;
  if (!SortCodeAfterCue(st, to, &b, &e)) return false;
  *out = {Kind::kUkSortCode, b, e};
  (*st.skip_until)[rule] = e;
  return true;
}

bool ValidateSortCodeAccount(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule]) return false;
  size_t b, e, ab, ae;
  if (!SortCodeAfterCue(st, to, &b, &e)) return false;
  if (!AccountBeside(st, e, 6, 10, &ab, &ae)) return false;
  *out = {Kind::kBankAccount, ab, ae};
  (*st.skip_until)[rule] = ae;
  return true;
}

bool ValidateCvvCue(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule] || !CueEnds(st, to)) return false;
  size_t p = SkipFiller(st, to);
  size_t e;
  if (p == std::string_view::npos || !ClearBefore(st, p) || !ParseCvv(st, p, &e)) return false;
  *out = {Kind::kCardSecurityCode, p, e};
  (*st.skip_until)[rule] = e;
  return true;
}

// --- dates ------------------------------------------------------------------------

// Month names (lower case, UTF-8) in English, German, French, Spanish,
// Italian, Dutch, Polish (genitive), Portuguese and Swedish, with the usual
// abbreviations.
int MonthName(std::string_view w) {
  struct M {
    std::string_view name;
    int month;
  };
  static constexpr M kMonths[] = {
      {"january", 1}, {"jan", 1}, {"januar", 1}, {"j\xC3\xA4nner", 1}, {"janvier", 1},
      {"janv", 1}, {"enero", 1}, {"ene", 1}, {"gennaio", 1}, {"gen", 1}, {"januari", 1},
      {"stycznia", 1}, {"janeiro", 1}, {"february", 2}, {"feb", 2}, {"februar", 2},
      {"f\xC3\xA9vrier", 2}, {"fevrier", 2}, {"f\xC3\xA9v", 2}, {"fevr", 2}, {"f\xC3\xA9vr", 2},
      {"febrero", 2}, {"febbraio", 2}, {"februari", 2}, {"lutego", 2}, {"fevereiro", 2},
      {"march", 3}, {"mar", 3}, {"m\xC3\xA4rz", 3}, {"maerz", 3}, {"m\xC3\xA4r", 3}, {"mars", 3},
      {"marzo", 3}, {"maart", 3}, {"mrt", 3}, {"marca", 3}, {"marco", 3}, {"mar\xC3\xA7o", 3},
      {"april", 4}, {"apr", 4}, {"avril", 4}, {"avr", 4}, {"abril", 4}, {"abr", 4},
      {"aprile", 4}, {"kwietnia", 4}, {"may", 5}, {"mai", 5}, {"mayo", 5}, {"maggio", 5},
      {"mag", 5}, {"mei", 5}, {"maja", 5}, {"maio", 5}, {"maj", 5}, {"june", 6}, {"jun", 6},
      {"juni", 6}, {"juin", 6}, {"junio", 6}, {"giugno", 6}, {"giu", 6}, {"czerwca", 6},
      {"junho", 6}, {"july", 7}, {"jul", 7}, {"juli", 7}, {"juillet", 7}, {"juil", 7},
      {"julio", 7}, {"luglio", 7}, {"lug", 7}, {"lipca", 7}, {"julho", 7}, {"august", 8},
      {"aug", 8}, {"ao\xC3\xBBt", 8}, {"aout", 8}, {"agosto", 8}, {"ago", 8}, {"augustus", 8},
      {"sierpnia", 8}, {"augusti", 8}, {"september", 9}, {"sep", 9}, {"sept", 9},
      {"septembre", 9}, {"septiembre", 9}, {"setiembre", 9}, {"settembre", 9}, {"set", 9},
      {"wrze\xC5\x9Bnia", 9}, {"wrzesnia", 9}, {"setembro", 9}, {"october", 10}, {"oct", 10},
      {"oktober", 10}, {"okt", 10}, {"octobre", 10}, {"octubre", 10}, {"ottobre", 10},
      {"ott", 10}, {"pa\xC5\xBA" "dziernika", 10}, {"pazdziernika", 10}, {"outubro", 10},
      {"out", 10}, {"november", 11}, {"nov", 11}, {"novembre", 11}, {"noviembre", 11},
      {"listopada", 11}, {"novembro", 11}, {"december", 12}, {"dec", 12}, {"dezember", 12},
      {"dez", 12}, {"d\xC3\xA9" "cembre", 12}, {"decembre", 12}, {"d\xC3\xA9" "c", 12},
      {"diciembre", 12}, {"dic", 12}, {"dicembre", 12}, {"grudnia", 12}, {"dezembro", 12},
  };
  static const std::vector<M> kSorted = [] {
    std::vector<M> v(std::begin(kMonths), std::end(kMonths));
    std::sort(v.begin(), v.end(), [](const M& a, const M& b) { return a.name < b.name; });
    return v;
  }();
  char buf[16];
  if (w.size() < 3 || w.size() > sizeof buf) return 0;
  for (size_t i = 0; i < w.size(); ++i) buf[i] = Lower(w[i]);
  std::string_view l(buf, w.size());
  auto it = std::lower_bound(kSorted.begin(), kSorted.end(), l,
                             [](const M& m, std::string_view x) { return m.name < x; });
  return it != kSorted.end() && it->name == l ? it->month : 0;
}

// A word of letters (ASCII or UTF-8) at p; returns its end.
size_t WordEnd(const ScanState& st, size_t p) {
  size_t e = p;
  while (e < st.text.size() && e < p + 16 &&
         (IsAlpha(st.text[e]) || static_cast<unsigned char>(st.text[e]) >= 0x80))
    ++e;
  return e;
}

size_t Digits(const ScanState& st, size_t p, size_t max) {
  size_t e = p;
  while (e < st.text.size() && e < p + max && IsDigit(st.text[e])) ++e;
  return e;
}

bool BirthYear(int y, size_t len) { return len == 2 || (len == 4 && y >= 1880 && y <= 2099); }

// Skips an ordinal suffix after a day ("15th", "1er", "15.", "15º").
size_t SkipOrdinal(const ScanState& st, size_t p) {
  std::string two;
  two.push_back(Lower(At(st, p)));
  two.push_back(Lower(At(st, p + 1)));
  if ((two == "st" || two == "nd" || two == "rd" || two == "th" || two == "er") &&
      !IsAlpha(At(st, p + 2)))
    return p + 2;
  if (At(st, p) == 0xC2 && (At(st, p + 1) == 0xBA || At(st, p + 1) == 0xB0)) return p + 2;
  if (At(st, p) == '.') return p + 1;
  return p;
}

size_t SkipSpaces(const ScanState& st, size_t p) {
  while (At(st, p) == ' ' || At(st, p) == '\t') ++p;
  return p;
}

// "of", "de", "del" between day, month and year.
size_t SkipDateWord(const ScanState& st, size_t p) {
  size_t e = WordEnd(st, p);
  std::string l;
  for (size_t i = p; i < e; ++i) l.push_back(Lower(st.text[i]));
  if ((l == "of" || l == "de" || l == "del") && At(st, e) == ' ') return SkipSpaces(st, e);
  return p;
}

// A year (4 digits, or 2 digits, or '84) at p.
bool ParseYear(const ScanState& st, size_t p, size_t* end) {
  if (At(st, p) == '\'') ++p;
  size_t e = Digits(st, p, 5);
  size_t len = e - p;
  if (len != 2 && len != 4) return false;
  if (!BirthYear(Num(st.text, p, len), len)) return false;
  *end = e;
  return true;
}

// A calendar date at p in any common written form; *end after it.
bool ParseDate(const ScanState& st, size_t p, size_t* end) {
  unsigned char c = At(st, p);
  if (IsDigit(c)) {
    size_t e1 = Digits(st, p, 9);
    size_t l1 = e1 - p;
    unsigned char s1 = At(st, e1);
    // Compact YYYYMMDD or DDMMYYYY.
    if (l1 == 8) {
      int a = Num(st.text, p, 4), b = Num(st.text, p + 4, 2), d = Num(st.text, p + 6, 2);
      bool ymd = BirthYear(a, 4) && DateOk(a, b, d);
      int dd = Num(st.text, p, 2), mm = Num(st.text, p + 2, 2), yy = Num(st.text, p + 4, 4);
      bool dmy = BirthYear(yy, 4) && (DateOk(yy, mm, dd) || DateOk(yy, dd, mm));
      if (!(ymd || dmy) || !ClearAfter(st, e1)) return false;
      *end = e1;
      return true;
    }
    if (l1 < 1 || l1 > 4 || l1 == 3) return false;
    if (s1 == '/' || s1 == '-' || s1 == '.' || (s1 == ' ' && IsDigit(At(st, e1 + 1)))) {
      size_t p2 = e1 + 1;
      if (IsDigit(At(st, p2))) {
        size_t e2 = Digits(st, p2, 3);
        size_t l2 = e2 - p2;
        if (l2 < 1 || l2 > 2 || At(st, e2) != s1) return false;
        size_t p3 = e2 + 1;
        size_t e3 = Digits(st, p3, 5);
        size_t l3 = e3 - p3;
        int a = Num(st.text, p, l1), b = Num(st.text, p2, l2), d3 = Num(st.text, p3, l3);
        bool ok = false;
        if (l1 == 4) {
          ok = l3 >= 1 && l3 <= 2 && BirthYear(a, 4) && DateOk(a, b, d3);
        } else if (l3 == 4 || l3 == 2) {
          int y = l3 == 4 ? d3 : -1;
          ok = BirthYear(d3, l3) && (DateOk(y, b, a) || DateOk(y, a, b));
        }
        if (!ok) return false;
        if (IsDigit(At(st, e3))) return false;
        if ((At(st, e3) == s1 || At(st, e3) == '/' || At(st, e3) == '-') && IsDigit(At(st, e3 + 1)))
          return false;
        if (IsAlpha(At(st, e3)) && At(st, e3) != 'T') return false;
        *end = e3;
        return true;
      }
      // 15-Mar-84, 15.Mar.1984, 15 Mar 1984 (month word after a separator).
      if (l1 > 2) return false;
      size_t q = SkipSpaces(st, p2);
      size_t we = WordEnd(st, q);
      int m = MonthName(st.text.substr(q, we - q));
      if (!m) return false;
      size_t r = we;
      if (At(st, r) == '.') ++r;
      if (At(st, r) != s1 && !(s1 == '.' && At(st, r) == ' ') && !(At(st, r) == ' ')) return false;
      r = SkipSpaces(st, r + 1);
      size_t ye;
      if (!ParseYear(st, r, &ye) || !DateOk(-1, m, Num(st.text, p, l1))) return false;
      if (IsAlnum(At(st, ye))) return false;
      *end = ye;
      return true;
    }
    // 15th March 1984, 15. März 1984, 15 de marzo de 1984, 1er mars 1984.
    if (l1 > 2) return false;
    int day = Num(st.text, p, l1);
    size_t q = SkipOrdinal(st, e1);
    q = SkipSpaces(st, q);
    q = SkipDateWord(st, q);
    size_t we = WordEnd(st, q);
    int m = MonthName(st.text.substr(q, we - q));
    if (!m || !DateOk(-1, m, day)) return false;
    size_t r = we;
    if (At(st, r) == '.') ++r;
    if (At(st, r) == ',') ++r;
    if (At(st, r) != ' ') return false;
    r = SkipSpaces(st, r);
    r = SkipDateWord(st, r);
    size_t ye;
    if (!ParseYear(st, r, &ye) || IsAlnum(At(st, ye))) return false;
    *end = ye;
    return true;
  }
  if (IsAlpha(c) || c >= 0x80) {
    // March 15, 1984 / Mar. 15th 1984 / March 15 1984.
    size_t we = WordEnd(st, p);
    int m = MonthName(st.text.substr(p, we - p));
    if (!m) return false;
    size_t r = we;
    if (At(st, r) == '.') ++r;
    r = SkipSpaces(st, r);
    size_t de = Digits(st, r, 3);
    if (de - r < 1 || de - r > 2 || !DateOk(-1, m, Num(st.text, r, de - r))) return false;
    r = SkipOrdinal(st, de);
    if (At(st, r) == ',') ++r;
    if (At(st, r) != ' ') return false;
    r = SkipSpaces(st, r);
    size_t ye = Digits(st, r, 5);
    if (ye - r != 4 || !BirthYear(Num(st.text, r, 4), 4) || IsAlnum(At(st, ye))) return false;
    *end = ye;
    return true;
  }
  return false;
}

bool ValidateBirthDate(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule] || !CueEnds(st, to)) return false;
  // "aîné le" is no cue; "_dob" (user_dob) is.
  if (st.text[from] != '_' && IsWordByte(Before(st, from))) return false;
  size_t p = SkipFiller(st, to);
  size_t e;
  if (p == std::string_view::npos || !ParseDate(st, p, &e)) return false;
  *out = {Kind::kDateOfBirth, p, e};
  (*st.skip_until)[rule] = e;
  return true;
}

bool ValidateExpiryCue(ScanState& st, size_t rule, size_t from, size_t to, Finding* out) {
  if (from < (*st.skip_until)[rule] || !CueEnds(st, to)) return false;
  size_t p = SkipFiller(st, to);
  if (p == std::string_view::npos || !ClearBefore(st, p)) return false;
  size_t e;
  if (IsDigit(At(st, p))) {
    if (!ParseExpiry(st, p, &e, true)) return false;
  } else {
    // "Dec 2027", "December 27".
    size_t we = WordEnd(st, p);
    if (!MonthName(st.text.substr(p, we - p))) return false;
    size_t r = we;
    if (At(st, r) == '.') ++r;
    if (At(st, r) == ' ' || At(st, r) == '/' || At(st, r) == '-') ++r;
    e = Digits(st, r, 5);
    if ((e - r != 2 && e - r != 4) || IsAlnum(At(st, e))) return false;
  }
  *out = {Kind::kCardExpiry, p, e};
  (*st.skip_until)[rule] = e;
  return true;
}

// Cue separator inside multi-word cues: space, underscore or dash
// ("date of birth", "date_of_birth", "date-of-birth"); also absent
// ("dateOfBirth", matched case-insensitively).
#define S "[ _\\-]?"
#define E "(?:\\xC3\\xA9|e)"  // é or e

}  // namespace

namespace {

#define CUE(x) "(?:\\b|_)(?:" x ")(?:[ _\\-]?(?:number|no|nr|num|id|code))?\\b"

void AddDigitRunRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // One digit-run candidate (8-23 digits with single space, dot, dash or
  // plus separators; a whole-text scan, see ForEachDigitRunCandidate) serves
  // payment cards, a security code written right after a card, and the
  // digit-form national identifiers. An expiry (and the code after it) beside
  // a card is anchored on the expiry's '/' or '|'.
  r.push_back(R{Kind::kPaymentCard, {{kWholeTextPattern, kSom}}, ScanDigitRuns});
  r.push_back(R{Kind::kCardExpiry, {{R"(\d ?[/|] ?\d\d(?:\d\d)?\b)", kSom}}, ValidateExpiryBesideCard});
  r.push_back(R{Kind::kCardSecurityCode,
                {{R"(\d ?[/|] ?\d\d(?:\d\d)?(?:[ \t]{1,3}|[ \t]{0,2}[,;|][ \t]{0,2})\d{3,4}\b)", kSom}},
                ValidateCvvBesideExpiry});
  r.push_back(
      R{Kind::kIban, {{R"(\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30})", kSom}}, ValidateIban});
  r.push_back(R{Kind::kUsSsn,
                {{R"(\b\d{3}-\d{2}-\d{4}\b)", kSom},
                 {R"(\b\d{3} \d{2} \d{4}\b)", kSom},
                 {R"(\b(?:ssn|social security(?: number| no\.?)?|ss#)\s{0,3}[:#]?\s{0,3}\d{9}\b)",
                  kSom | kCi}},
                ValidateSsn});
  // Identifiers ending in a digit and a letter (NINO, DNI/NIE, PAN, codice
  // fiscale), and the separated letter forms.
  r.push_back(R{Kind::kUkNino, {{R"(\d[A-Za-z]\b)", kSom}}, ValidateLetterTail});
  r.push_back(R{Kind::kUkNino,
                {{R"(\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?: \d\d \d\d \d\d |-\d\d-\d\d-\d\d-| ?\d{6} )[A-D]\b)",
                  kSom}},
                ValidateFormat<Kind::kUkNino>});
}

void AddCardCueRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // Cues: whole words (or after '_', as in JSON keys like "user_dob"), with
  // an optional "number", "no", "id", ... glued on ("routing_number").
  // Card context after its own cue.
  r.push_back(R{Kind::kCardSecurityCode,
                {{CUE("cvv2?|cvc2?|cv2|cvn2?|csc|cvv/cvc|cvc/cvv|card" S "(?:verification|security)" S
                      "(?:code|value|number)?|security" S "code|sec" S "code|card" S
                      "code|(?:karten)?pr(?:\\xC3\\xBC|ue|u)fnummer|pr(?:\\xC3\\xBC|ue|u)fziffer|"
                      "sicherheitscode|cryptogramme(?: visuel)?|code de securite"
                      "|c(?:\\xC3\\xB3|o)digo de seguridad|c(?:\\xC3\\xB3|o)digo de seguran(?:\\xC3\\xA7|c)a|"
                      "codice di sicurezza|beveiligingscode|kod cvv|kod cvc|kod zabezpieczaj(?:\\xC4\\x85|a)cy"),
                  kSom | kCi},
                 {R"(\bcode de s\xC3\xA9curit\xC3\xA9)", kSom | kCi}},
                ValidateCvvCue});
  r.push_back(R{Kind::kCardExpiry,
                {{CUE("exp(?:iry|iration|ires|ire)?(?:" S "date)?|exp" S "dt|valid" S
                      "(?:thru|through|until|till|to)|good" S "thru|ablaufdatum|ablauf|g(?:\\xC3\\xBC|ue|u)ltig" S
                      "bis|l(?:\\xC3\\xA4|ae|a)uft" S "ab|date d'expiration|date d'exp|expire le|"
                      "fecha de (?:vencimiento|caducidad|expiraci(?:\\xC3\\xB3|o)n)|vencimiento|caducidad|vence|"
                      "scadenza|data di scadenza|vervaldatum|geldig tot|data wa(?:\\xC5\\xBC|z)no(?:\\xC5\\x9B|s)ci|"
                      "validade|mm ?/ ?yy(?:yy)?|mm ?/ ?aa(?:aa)?"),
                  kSom | kCi}},
                ValidateExpiryCue});
}

void AddNationalIdCueRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // National identifiers after their cue (any grouping; the only way for
  // weak 8-11 digit checksums).
  r.push_back(R{Kind::kUkNino,
                {{CUE("nino|ni" S "(?:number|no|num|nr)|n\\.i\\.(?: number| no)?|national" S "insurance"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kUkNino>});
  r.push_back(R{Kind::kNlBsn,
                {{CUE("bsn|burger" S "service" S "nummer|burgerservicenr|sofi" S
                      "(?:nummer|nr)?|citizen service number"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kNlBsn>});
  r.push_back(R{Kind::kEsDni,
                {{CUE("dni|nie|nif|d\\.n\\.i|n\\.i\\.e|n\\.i\\.f|documento nacional de identidad|"
                      "n(?:\\xC3\\xBA|u)mero de identidad de extranjero"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kEsDni>});
  r.push_back(R{Kind::kItCodiceFiscale,
                {{CUE("codice" S "fiscale|cod\\.? ?fisc(?:ale)?|c\\.f|cf"), kSom | kCi}},
                ValidateIdCue<Kind::kItCodiceFiscale>});
  r.push_back(R{Kind::kInAadhaar,
                {{CUE("aadhaa?r|aadhar|adhaar|uidai|uid"), kSom | kCi},
                 {R"(\xE0\xA4\x86\xE0\xA4\xA7\xE0\xA4\xBE\xE0\xA4\xB0)", kSom}},
                ValidateIdCue<Kind::kInAadhaar>});
  r.push_back(R{Kind::kInPan, {{CUE("pan|permanent account number"), kSom | kCi}},
                ValidateIdCue<Kind::kInPan>});
  r.push_back(R{Kind::kBrCpf,
                {{CUE("cpf|c\\.p\\.f|cadastro de pessoas? f(?:\\xC3\\xAD|i)sicas?"), kSom | kCi}},
                ValidateIdCue<Kind::kBrCpf>});
  r.push_back(R{Kind::kPlPesel, {{CUE("pesel"), kSom | kCi}}, ValidateIdCue<Kind::kPlPesel>});
  r.push_back(R{Kind::kSePersonnummer,
                {{CUE("personnummer|personnr|pers\\.? ?nr|person" S
                      "nr|samordningsnummer|samordningsnr|personal identity number|pnr|p-nr"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kSePersonnummer>});
  r.push_back(R{Kind::kFrNir,
                {{CUE("nir|insee|nss|s" E "cu|s" E "curit" E " sociale|carte vitale|social security"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kFrNir>});
  r.push_back(R{Kind::kCaSin,
                {{CUE("sin|s\\.i\\.n|social insurance|nas|assurance sociale"), kSom | kCi}},
                ValidateIdCue<Kind::kCaSin>});
  r.push_back(R{Kind::kAuTfn, {{CUE("tfn|tax" S "file"), kSom | kCi}}, ValidateIdCue<Kind::kAuTfn>});
  r.push_back(R{Kind::kDeSteuerId,
                {{CUE("steuer" S "id(?:nr|entifikationsnummer)?|steuer" S "id" S
                      "nr|steueridentifikationsnummer|steuerliche identifikationsnummer|"
                      "identifikationsnummer|idnr|id-nr|st" S "idnr"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kDeSteuerId>});
  r.push_back(R{Kind::kUsItin,
                {{CUE("itin|individual taxpayer identification number"), kSom | kCi}},
                ValidateIdCue<Kind::kUsItin>});
}

void AddTaxBankBirthRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // Generic taxpayer-number cues: an ITIN or a German Steuer-ID.
  r.push_back(R{Kind::kUsItin,
                {{CUE("tin|tax" S "id|taxpayer" S "id|taxpayer identification number|tax identification number"),
                  kSom | kCi}},
                ValidateIdCue<Kind::kUsItin, Kind::kDeSteuerId>});

  // Bank data after cues.
  constexpr const char* kRoutingCue = CUE("routing|aba|rtn|transit|r/t");
  r.push_back(R{Kind::kUsRoutingNumber, {{kRoutingCue, kSom | kCi}}, ValidateRouting});
  r.push_back(R{Kind::kBankAccount, {{kRoutingCue, kSom | kCi}}, ValidateRoutingAccount});
  constexpr const char* kSortCue = CUE("sort" S "code|sc|s/c");
  r.push_back(R{Kind::kUkSortCode, {{kSortCue, kSom | kCi}}, ValidateSortCode});
  r.push_back(R{Kind::kBankAccount, {{kSortCue, kSom | kCi}}, ValidateSortCodeAccount});
  r.push_back(R{Kind::kBankAccount,
                {{CUE("account" S "(?:number|no|nr|num)|acct|acc|a/c|(?:bank|checking|savings|current|deposit)" S
                      "(?:account|acct)|konto(?:nummer|nr)?|kontonr|kto|rekening(?:nummer|nr)?|cuenta|"
                      "conto(?: corrente)?|conta|compte|numer konta|nr konta"),
                  kSom | kCi},
                 {R"(\baccount[ \t]{0,2}[:=#])", kSom | kCi}},
                ValidateAccountCue});

  // Dates of birth after a birth cue.
  r.push_back(R{Kind::kDateOfBirth,
                {{CUE("dob|d\\.o\\.b|date" S "of" S "birth|birth" S "date|birthday|born(?: on)?|"
                      "geburtsdatum|geburtstag|geb|geboren(?: am)?|date" S "de" S "naissance|date" S
                      "naissance|fecha" S "(?:de" S ")?nacimiento|fecha" S "nac|f\\. ?nac(?:imiento)?|"
                      "nacid[oa]|data" S "di" S "nascita|nat[oa]|geboortedatum|geboren op|data" S
                      "urodzenia|urodzon[ya]|data" S "de" S "nascimento|nascid[oa]|f\\xC3\\xB6delsedatum|"
                      "f\\xC3\\xB8dselsdato|f\\xC3\\xB8dt|f\\xC3\\xB6dd|syntym\\xC3\\xA4aika"),
                  kSom | kCi},
                 {R"(\bur\.)", kSom | kCi},
                 {R"(\bn\xC3\xA9e? le\b)", kSom | kCi},
                 {R"(\bn\xC3\xA9\(e\) le\b)", kSom | kCi}},
                ValidateBirthDate});
#undef CUE
}

}  // namespace

void AddIdentifierRules(std::vector<Rule>* out) {
  AddDigitRunRules(out);
  AddCardCueRules(out);
  AddNationalIdCueRules(out);
  AddTaxBankBirthRules(out);
}

#undef S
#undef E

// For tests: the digit-run scan's candidates, in order.
void DigitRunCandidatesForTest(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) {
  ForEachDigitRunCandidate(text, [&](size_t from, size_t to) { out->emplace_back(from, to); });
}

}  // namespace rules
}  // namespace sealtrace::privacy
