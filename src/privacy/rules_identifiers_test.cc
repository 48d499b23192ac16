// Per-kind tests for src/privacy/rules_identifiers.cc: valid examples are found
// with their exact span and kind, checksum-failing and everyday look-alikes
// are not. Valid numbers are computed here from the formats' definitions
// (check digits, dates), independently of the redactor's validators.
#include <gtest/gtest.h>
#include <hs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "privacy/hs_compile.h"
#include "privacy/redactor.h"

namespace sealtrace::privacy {
namespace rules {
// rules_identifiers.cc
void DigitRunCandidatesForTest(std::string_view text, std::vector<std::pair<size_t, size_t>>* out);
}  // namespace rules
namespace {

std::shared_ptr<const Redactor> R() {
  static auto r = [] {
    auto x = Redactor::Create();
    EXPECT_TRUE(x.ok()) << x.status();
    return *x;
  }();
  return r;
}

// ---------------------------------------------------------------------------
// Expectations. `marked` holds each expected finding between << and >>, in
// order; `kinds` their kinds. The findings must be exactly these.

std::string Strip(const std::string& marked, std::vector<std::pair<size_t, size_t>>* spans) {
  std::string text;
  size_t i = 0, open = 0;
  while (i < marked.size()) {
    if (marked.compare(i, 2, "<<") == 0) {
      open = text.size();
      i += 2;
    } else if (marked.compare(i, 2, ">>") == 0) {
      spans->push_back({open, text.size()});
      i += 2;
    } else {
      text.push_back(marked[i++]);
    }
  }
  return text;
}

std::string Show(const std::string& text, const std::vector<Finding>& f) {
  std::string s = Redactor::Apply(text, f) + "  [";
  for (const auto& x : f)
    s += std::string(KindName(x.kind)) + ":" + std::to_string(x.begin) + "-" +
         std::to_string(x.end) + " ";
  return s + "]";
}

void Expect(const std::string& marked, std::vector<Kind> kinds) {
  std::vector<std::pair<size_t, size_t>> spans;
  std::string text = Strip(marked, &spans);
  ASSERT_EQ(spans.size(), kinds.size()) << marked;
  std::vector<Finding> want;
  for (size_t i = 0; i < spans.size(); ++i) want.push_back({kinds[i], spans[i].first, spans[i].second});
  auto got = R()->Scan(text);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want) << "text: " << text << "\n got: " << Show(text, *got);
}

void ExpectOne(Kind kind, const std::string& marked) { Expect(marked, {kind}); }

void ExpectClean(const std::string& text) {
  auto got = R()->Scan(text);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty()) << "false positive: " << Show(text, *got);
}

// No finding of `kind` (other kinds, e.g. a phone number, may be found).
void ExpectNoKind(Kind kind, const std::string& text) {
  auto got = R()->Scan(text);
  ASSERT_TRUE(got.ok()) << got.status();
  for (const auto& f : *got) EXPECT_NE(f.kind, kind) << Show(text, *got);
}

// ---------------------------------------------------------------------------
// Generators: each format's definition, written out here.

struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  int Range(int lo, int hi) { return lo + Below(hi - lo + 1); }
  std::string Digits(int n) {
    std::string d;
    for (int i = 0; i < n; ++i) d.push_back(static_cast<char>('0' + Below(10)));
    return d;
  }
  char Letter(std::string_view from) { return from[static_cast<size_t>(Below(static_cast<int>(from.size())))]; }
};

std::string Pad(int v, int w) {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < w) s.insert(s.begin(), '0');
  return s;
}

// Replaces the last character by a different digit (a checksum failure).
std::string BumpLast(std::string s) {
  char& c = s.back();
  c = static_cast<char>('0' + (c - '0' + 1) % 10);
  return s;
}

int LuhnDigit(const std::string& body) {  // check digit to append
  int sum = 0;
  bool dbl = true;
  for (size_t i = body.size(); i-- > 0;) {
    int d = body[i] - '0';
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    dbl = !dbl;
  }
  return (10 - sum % 10) % 10;
}

std::string Card(Rng& r, const std::string& prefix, int len) {
  std::string d = prefix + r.Digits(len - 1 - static_cast<int>(prefix.size()));
  return d + static_cast<char>('0' + LuhnDigit(d));
}

std::string Group(const std::string& d, const std::vector<int>& groups, char sep) {
  std::string out;
  size_t p = 0;
  for (int g : groups) {
    if (!out.empty()) out.push_back(sep);
    out += d.substr(p, static_cast<size_t>(g));
    p += static_cast<size_t>(g);
  }
  return out;
}

std::string Nino(Rng& r, char suffix = 0) {
  const std::string_view first = "ABCEGHJKLMNOPRSTWXYZ", second = "ABCEGHJKLMNPRSTWXYZ";
  for (;;) {
    std::string p{r.Letter(first), r.Letter(second)};
    if (p == "BG" || p == "GB" || p == "NK" || p == "KN" || p == "TN" || p == "NT" || p == "ZZ")
      continue;
    return p + r.Digits(6) + (suffix ? suffix : r.Letter("ABCD"));
  }
}

std::string Bsn(Rng& r) {
  for (;;) {
    std::string d = r.Digits(8);
    int sum = 0;
    for (int i = 0; i < 8; ++i) sum += (9 - i) * (d[i] - '0');
    int last = sum % 11;
    if (last == 10 || d == "00000000") continue;
    return d + static_cast<char>('0' + last);
  }
}

char DniLetter(long n) { return "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23]; }
std::string Dni(Rng& r) {
  std::string d = r.Digits(8);
  return d + DniLetter(std::stol(d));
}
std::string Nie(Rng& r) {
  int p = r.Below(3);
  std::string d = r.Digits(7);
  return std::string(1, static_cast<char>('X' + p)) + d + DniLetter(std::stol(std::to_string(p) + d));
}

std::string Cf(Rng& r, bool omocodia = false) {
  const std::string_view L = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s;
  for (int i = 0; i < 6; ++i) s.push_back(r.Letter(L));
  s += Pad(r.Range(0, 99), 2);
  s.push_back(r.Letter("ABCDEHLMPRST"));
  int day = r.Range(1, 28) + (r.Below(2) ? 40 : 0);
  s += Pad(day, 2);
  s.push_back(r.Letter("ABCDEFGHILMZ"));
  s += r.Digits(3);
  if (omocodia) {  // the last two digits replaced by letters
    static const std::string_view kOmo = "LMNPQRSTUV";
    s[14] = kOmo[static_cast<size_t>(s[14] - '0')];
    s[13] = kOmo[static_cast<size_t>(s[13] - '0')];
  }
  static const int kOdd[] = {1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                             20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};
  int sum = 0;
  for (int i = 0; i < 15; ++i) {
    int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : s[i] - 'A';
    sum += i % 2 == 0 ? kOdd[v] : v;
  }
  s.push_back(static_cast<char>('A' + sum % 26));
  return s;
}

const int kVd[10][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
                         {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
                         {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
                         {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
                         {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
const int kVp[8][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
                        {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
                        {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
                        {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
const int kVinv[10] = {0, 4, 3, 2, 1, 5, 6, 7, 8, 9};

std::string Aadhaar(Rng& r) {
  std::string d = std::to_string(r.Range(2, 9)) + r.Digits(10);
  int c = 0;
  for (size_t i = 0; i < d.size(); ++i) c = kVd[c][kVp[(i + 1) % 8][d[d.size() - 1 - i] - '0']];
  return d + static_cast<char>('0' + kVinv[c]);
}

std::string Pan(Rng& r) {
  const std::string_view L = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s{r.Letter(L), r.Letter(L), r.Letter(L), r.Letter("PCHFATBLJG"), r.Letter(L)};
  return s + r.Digits(4) + r.Letter(L);
}

std::string Cpf(Rng& r) {
  for (;;) {
    std::string d = r.Digits(9);
    int a = 0, b = 0;
    for (int i = 0; i < 9; ++i) a += (d[i] - '0') * (10 - i);
    a = (a * 10) % 11 % 10;
    d.push_back(static_cast<char>('0' + a));
    for (int i = 0; i < 10; ++i) b += (d[i] - '0') * (11 - i);
    b = (b * 10) % 11 % 10;
    d.push_back(static_cast<char>('0' + b));
    if (d.find_first_not_of(d[0]) == std::string::npos) continue;
    return d;
  }
}

std::string Pesel(Rng& r, int year, int month, int day) {
  int mm = month + (year >= 2000 ? 20 : year < 1900 ? 80 : 0);
  std::string d = Pad(year % 100, 2) + Pad(mm, 2) + Pad(day, 2) + r.Digits(4);
  static const int kW[] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
  int sum = 0;
  for (int i = 0; i < 10; ++i) sum += kW[i] * (d[i] - '0');
  return d + static_cast<char>('0' + (10 - sum % 10) % 10);
}

// YYMMDD + 3 digits + Luhn check over those 9; day + 60 for samordningsnummer.
std::string SeNumber(Rng& r, int yy, int month, int day, bool samordning = false) {
  std::string d = Pad(yy, 2) + Pad(month, 2) + Pad(day + (samordning ? 60 : 0), 2) +
                  Pad(r.Range(1, 999), 3);
  return d + static_cast<char>('0' + LuhnDigit(d));
}

std::string Nir(Rng& r, const std::string& dept) {
  std::string n = std::string(1, "1278"[r.Below(4)]) + Pad(r.Range(0, 99), 2) +
                  Pad(r.Range(1, 12), 2) + dept + Pad(r.Range(1, 999), 3) + Pad(r.Range(1, 999), 3);
  std::string num = n;
  if (dept == "2A") num.replace(5, 2, "19");
  if (dept == "2B") num.replace(5, 2, "18");
  long rem = 0;
  for (char c : num) rem = (rem * 10 + (c - '0')) % 97;
  return n + Pad(static_cast<int>(97 - rem), 2);
}
std::string NirSpaced(const std::string& n) {
  return n.substr(0, 1) + " " + n.substr(1, 2) + " " + n.substr(3, 2) + " " + n.substr(5, 2) +
         " " + n.substr(7, 3) + " " + n.substr(10, 3) + " " + n.substr(13, 2);
}

std::string Sin(Rng& r) {
  std::string d = std::string(1, "1234567"[r.Below(7)]) + r.Digits(7);
  return d + static_cast<char>('0' + LuhnDigit(d));
}

std::string Tfn(Rng& r) {
  static const int kW[] = {1, 4, 3, 7, 5, 8, 6, 9, 10};
  for (;;) {
    std::string d = r.Digits(8);
    int sum = 0;
    for (int i = 0; i < 8; ++i) sum += kW[i] * (d[i] - '0');
    // 10 * c == -c (mod 11): c = sum mod 11.
    int c = sum % 11;
    if (c == 10) continue;
    return d + static_cast<char>('0' + c);
  }
}

std::string SteuerId(Rng& r) {
  for (;;) {
    // Ten digits: nine distinct, one of them twice; first not 0.
    std::string digits = "0123456789";
    for (int i = 9; i > 0; --i) std::swap(digits[static_cast<size_t>(i)], digits[static_cast<size_t>(r.Below(i + 1))]);
    std::string d = digits.substr(0, 9);
    d.insert(static_cast<size_t>(r.Below(10)), 1, d[static_cast<size_t>(r.Below(9))]);
    if (d[0] == '0') continue;
    int product = 10;
    for (int i = 0; i < 10; ++i) {
      int sum = (d[i] - '0' + product) % 10;
      if (sum == 0) sum = 10;
      product = sum * 2 % 11;
    }
    int check = 11 - product;
    if (check == 10) check = 0;
    return d + static_cast<char>('0' + check);
  }
}

std::string Itin(Rng& r) {
  static const int kGroups[] = {50, 57, 65, 70, 78, 88, 90, 92, 94, 99};
  return "9" + r.Digits(2) + "-" + std::to_string(kGroups[r.Below(10)]) + "-" + r.Digits(4);
}

std::string Routing(Rng& r) {
  static const int kPrefix[] = {1, 2, 9, 11, 12, 21, 26, 31, 32, 61, 67, 72, 80};
  std::string d = Pad(kPrefix[r.Below(13)], 2) + r.Digits(6);
  int w[] = {3, 7, 1, 3, 7, 1, 3, 7};
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += w[i] * (d[i] - '0');
  return d + static_cast<char>('0' + (10 - sum % 10) % 10);
}

// ---------------------------------------------------------------------------
// Payment cards and their context.

TEST(RulesIdentifiers, PaymentCardInEveryGrouping) {
  Rng r{1};
  for (int i = 0; i < 20; ++i) {
    std::string visa = Card(r, "4", 16), mc = Card(r, "5" + std::to_string(r.Range(1, 5)), 16);
    std::string amex = Card(r, "37", 15);
    for (char sep : {' ', '-', '.'}) {
      ExpectOne(Kind::kPaymentCard, "card <<" + Group(visa, {4, 4, 4, 4}, sep) + ">> please");
      ExpectOne(Kind::kPaymentCard, "<<" + Group(mc, {4, 4, 4, 4}, sep) + ">>");
    }
    ExpectOne(Kind::kPaymentCard, "pay with <<" + visa + ">>.");
    ExpectOne(Kind::kPaymentCard, "amex <<" + Group(amex, {4, 6, 5}, ' ') + ">>");
    ExpectOne(Kind::kPaymentCard, "{\"pan\":\"<<" + mc + ">>\"}");
  }
  ExpectClean("card 4111.1111.1111.1112 declined");  // Luhn fails
  ExpectClean("v1.2.3.4 build 2024.03.15.1200");
  ExpectClean("1234.5678.9012.3456");
}

TEST(RulesIdentifiers, CardExpiryAndSecurityCodeBesideACard) {
  Rng r{2};
  for (int i = 0; i < 10; ++i) {
    std::string visa = Card(r, "4", 16);
    std::string g = Group(visa, {4, 4, 4, 4}, ' ');
    std::string mm = Pad(r.Range(1, 12), 2), yy = Pad(r.Range(24, 35), 2);
    Expect("<<" + g + ">> exp <<" + mm + "/" + yy + ">> cvv <<" + r.Digits(3) + ">>",
           {Kind::kPaymentCard, Kind::kCardExpiry, Kind::kCardSecurityCode});
    Expect("card <<" + visa + ">> <<" + mm + "/20" + yy + ">> <<" + r.Digits(3) + ">>",
           {Kind::kPaymentCard, Kind::kCardExpiry, Kind::kCardSecurityCode});
    Expect("<<" + visa + ">>|<<" + mm + "|20" + yy + ">>|<<" + r.Digits(3) + ">>",
           {Kind::kPaymentCard, Kind::kCardExpiry, Kind::kCardSecurityCode});
    Expect("<<" + g + ">>, <<" + mm + "/" + yy + ">>, <<" + r.Digits(4) + ">>",
           {Kind::kPaymentCard, Kind::kCardExpiry, Kind::kCardSecurityCode});
    Expect("<<" + g + ">> exp. <<" + mm + "/" + yy + ">> <<" + r.Digits(3) + ">>",
           {Kind::kPaymentCard, Kind::kCardExpiry, Kind::kCardSecurityCode});
    std::string mc = Group(Card(r, "5" + std::to_string(r.Range(1, 5)), 16), {4, 4, 4, 4}, ' ');
    Expect("<<" + mc + ">> <<" + r.Digits(3) + ">>", {Kind::kPaymentCard, Kind::kCardSecurityCode});
    Expect("<<" + g + ">> <<" + r.Digits(4) + ">>", {Kind::kPaymentCard, Kind::kCardSecurityCode});
    // A code after a comma needs its expiry or cue (or a space): "card, 123" is
    // not guessed.
    Expect("<<" + g + ">>, " + r.Digits(3), {Kind::kPaymentCard});
  }
  // Visa (like Discover, UnionPay) has 19-digit cards: 4-4-4-4-3 is one
  // number, a card when its Luhn check holds.
  for (int i = 0; i < 10; ++i) {
    std::string v19 = Card(r, "4", 19);
    ExpectOne(Kind::kPaymentCard, "<<" + Group(v19, {4, 4, 4, 4, 3}, ' ') + ">>");
    std::string bad = v19;
    bad.back() = static_cast<char>('0' + (bad.back() - '0' + 1) % 10);
    ExpectNoKind(Kind::kCardSecurityCode, Group(bad, {4, 4, 4, 4, 3}, ' '));
  }
  // Not beside a valid card: nothing.
  ExpectClean("card 4111 1111 1111 1112 12/27 123");
  ExpectClean("order 1234567890 12/27 123");
}

TEST(RulesIdentifiers, CardSecurityCodeAndExpiryAfterTheirCue) {
  for (const char* s : {"CVV: <<123>>", "cvv <<482>>", "CVC2 <<991>>", "security code <<4821>>",
                        "Prüfnummer: <<123>>", "Kartenprüfnummer <<555>>", "CVV/CVC: <<321>>",
                        "\"cvc\": \"<<123>>\"", "code de sécurité : <<777>>",
                        "código de seguridad <<808>>", "card verification value: <<5566>>"})
    ExpectOne(Kind::kCardSecurityCode, s);
  for (const char* s :
       {"exp. <<09/28>>", "valid thru <<11/25>>", "Ablaufdatum: <<09/2028>>", "expiry date <<12/27>>",
        "Exp: <<01-29>>", "expires <<12/2030>>", "MM/YY: <<04/26>>", "gültig bis <<03/27>>",
        "date d'expiration : <<10/29>>", "fecha de vencimiento <<08/27>>", "scadenza <<02/28>>"})
    ExpectOne(Kind::kCardExpiry, s);
  ExpectClean("cvv required");
  ExpectClean("the security code is 12 characters");
  ExpectClean("exp 13/27");       // no month 13
  ExpectClean("exp(2.5) = 12.18");
  ExpectClean("expiry 2027");
}

// ---------------------------------------------------------------------------
// National identifiers.

TEST(RulesIdentifiers, UkNino) {
  Rng r{3};
  for (int i = 0; i < 20; ++i) {
    std::string n = Nino(r);
    std::string spaced = n.substr(0, 2) + " " + n.substr(2, 2) + " " + n.substr(4, 2) + " " +
                         n.substr(6, 2) + " " + n.substr(8);
    ExpectOne(Kind::kUkNino, "NI number: <<" + n + ">>");
    ExpectOne(Kind::kUkNino, "<<" + n + ">>");
    ExpectOne(Kind::kUkNino, "my NINO is <<" + spaced + ">>.");
    ExpectOne(Kind::kUkNino, "<<" + n.substr(0, 8) + " " + n.substr(8) + ">>");
    std::string lower = n;
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    ExpectOne(Kind::kUkNino, "nino=<<" + lower + ">>");
    // Without its suffix letter only after a cue.
    ExpectOne(Kind::kUkNino, "National Insurance number <<" + n.substr(0, 8) + ">>");
  }
  ExpectClean("QQ 12 34 56 C");  // Q is never a valid first letter
  ExpectClean("DA123456A");
  ExpectClean("AO123456B");      // O is never second
  ExpectClean("GB123456A");      // administrative prefix
  ExpectClean("AB123456E");      // suffix A-D only
  ExpectClean("AB123456");       // no suffix, no cue
  ExpectClean("ref AB1234567C");
}

TEST(RulesIdentifiers, NlBsn) {
  Rng r{4};
  for (int i = 0; i < 20; ++i) {
    std::string b = Bsn(r);
    ExpectOne(Kind::kNlBsn, "BSN: <<" + b + ">>");
    ExpectOne(Kind::kNlBsn, "burgerservicenummer <<" + b + ">> graag");
    ExpectOne(Kind::kNlBsn, "sofinummer <<" + b.substr(0, 4) + "." + b.substr(4, 2) + "." +
                                b.substr(6) + ">>");
    ExpectOne(Kind::kNlBsn, "{\"bsn\": \"<<" + b + ">>\"}");
    ExpectOne(Kind::kNlBsn, "Mijn BSN nummer is <<" + b.substr(0, 3) + " " + b.substr(3, 3) +
                                " " + b.substr(6) + ">>");
    ExpectOne(Kind::kNlBsn, "<<" + b + ">> (BSN)");
    ExpectClean(BumpLast(b) + " (BSN)");
    ExpectClean("BSN: " + BumpLast(b));  // 11-test fails
    ExpectClean("order " + b);           // no cue: a bare 9-digit number is not a BSN
  }
  ExpectClean("BSN 000000000");
}

TEST(RulesIdentifiers, EsDniNie) {
  Rng r{5};
  for (int i = 0; i < 20; ++i) {
    std::string d = Dni(r), n = Nie(r);
    ExpectOne(Kind::kEsDni, "DNI <<" + d + ">>");
    ExpectOne(Kind::kEsDni, "<<" + d.substr(0, 8) + "-" + d.substr(8) + ">>");
    ExpectOne(Kind::kEsDni, "<<" + d.substr(0, 2) + "." + d.substr(2, 3) + "." + d.substr(5, 3) +
                                "-" + d.substr(8) + ">>");
    ExpectOne(Kind::kEsDni, "NIE: <<" + n + ">>");
    // A separated NIE only after its cue.
    ExpectOne(Kind::kEsDni, "NIE <<" + n.substr(0, 1) + "-" + n.substr(1, 7) + "-" + n.substr(8) + ">>");
    std::string lower = d;
    lower.back() = static_cast<char>(std::tolower(lower.back()));
    ExpectOne(Kind::kEsDni, "dni <<" + lower + ">>");
    std::string bad = d;
    bad.back() = bad.back() == 'A' ? 'B' : 'A';
    if (DniLetter(std::stol(d.substr(0, 8))) != bad.back()) ExpectClean("DNI " + bad);
  }
  ExpectClean("I paid 12345678 a month");
}

TEST(RulesIdentifiers, ItCodiceFiscale) {
  Rng r{6};
  for (int i = 0; i < 20; ++i) {
    std::string c = Cf(r);
    ExpectOne(Kind::kItCodiceFiscale, "codice fiscale: <<" + c + ">>");
    ExpectOne(Kind::kItCodiceFiscale, "<<" + c + ">>");
    std::string lower = c;
    for (char& x : lower) x = static_cast<char>(std::tolower(x));
    ExpectOne(Kind::kItCodiceFiscale, "cf <<" + lower + ">>");
    ExpectOne(Kind::kItCodiceFiscale, "codice fiscale <<" + Cf(r, true) + ">>");
    std::string bad = c;
    bad.back() = bad.back() == 'Z' ? 'A' : static_cast<char>(bad.back() + 1);
    ExpectClean(bad);
  }
  ExpectClean("RSSMRA85T10A562X");  // month/check mismatch
  ExpectClean("ABCDEFGHIJKLMNOP");
}

TEST(RulesIdentifiers, InAadhaarAndPan) {
  Rng r{7};
  for (int i = 0; i < 20; ++i) {
    std::string a = Aadhaar(r);
    ExpectOne(Kind::kInAadhaar, "<<" + Group(a, {4, 4, 4}, ' ') + ">>");
    ExpectOne(Kind::kInAadhaar, "aadhaar no. <<" + Group(a, {4, 4, 4}, '-') + ">>");
    ExpectOne(Kind::kInAadhaar, "Aadhaar: <<" + a + ">>");
    ExpectOne(Kind::kInAadhaar, "UID <<" + a + ">>");
    ExpectClean("Aadhaar: " + BumpLast(a));
    ExpectClean(Group(BumpLast(a), {4, 4, 4}, ' '));
    ExpectClean("invoice " + a);  // bare 12 digits: no cue
    std::string p = Pan(r);
    ExpectOne(Kind::kInPan, "PAN: <<" + p + ">>");
    ExpectOne(Kind::kInPan, "<<" + p + ">>");
    std::string lower = p;
    for (char& x : lower) x = static_cast<char>(std::tolower(x));
    ExpectOne(Kind::kInPan, "pan card <<" + lower + ">>");
  }
  ExpectClean("1234 5678 9012");   // first digit 1
  ExpectClean("ABCXD1234E");       // X is no holder type
  ExpectClean("abcpd1234e");       // lower case without its cue
  Rng q{70};
  std::string card = Card(q, "4", 16);
  Expect("<<" + Group(card, {4, 4, 4, 4}, ' ') + ">>", {Kind::kPaymentCard});
}

TEST(RulesIdentifiers, BrCpf) {
  Rng r{8};
  for (int i = 0; i < 20; ++i) {
    std::string c = Cpf(r);
    std::string f = c.substr(0, 3) + "." + c.substr(3, 3) + "." + c.substr(6, 3) + "-" + c.substr(9);
    ExpectOne(Kind::kBrCpf, "<<" + f + ">>");
    ExpectOne(Kind::kBrCpf, "CPF: <<" + c + ">>");
    ExpectOne(Kind::kBrCpf, "cpf nº <<" + c.substr(0, 9) + "-" + c.substr(9) + ">>");
    ExpectClean("CPF " + BumpLast(c));
    ExpectClean("pedido " + c);
  }
  ExpectClean("CPF 111.111.111-11");
  ExpectClean("111.111.111-11");
}

TEST(RulesIdentifiers, PlPesel) {
  Rng r{9};
  for (int i = 0; i < 20; ++i) {
    std::string p = Pesel(r, r.Range(1930, 2020), r.Range(1, 12), r.Range(1, 28));
    ExpectOne(Kind::kPlPesel, "PESEL: <<" + p + ">>");
    ExpectOne(Kind::kPlPesel, "nr PESEL <<" + p + ">>");
    // (A PESEL of 2000 starts with 00 and reads as an international phone
    // number; only the PESEL kind is checked.)
    ExpectNoKind(Kind::kPlPesel, "PESEL " + BumpLast(p));
    ExpectNoKind(Kind::kPlPesel, "id " + p);
  }
  ExpectOne(Kind::kPlPesel, "PESEL <<" + Pesel(r, 2004, 2, 29) + ">>");
  ExpectNoKind(Kind::kPlPesel, "PESEL " + Pesel(r, 2003, 2, 29));  // not a leap year
  ExpectClean("PESEL " + Pesel(r, 1990, 4, 31));
}

TEST(RulesIdentifiers, SePersonnummer) {
  Rng r{10};
  for (int i = 0; i < 20; ++i) {
    // Without a cue only people born before 2013 (build stamps look alike).
    int yy = r.Below(2) ? r.Range(31, 99) : r.Range(0, 12), mm = r.Range(1, 12), dd = r.Range(1, 28);
    std::string n = SeNumber(r, yy, mm, dd);
    std::string dashed = n.substr(0, 6) + "-" + n.substr(6);
    ExpectOne(Kind::kSePersonnummer, "<<" + dashed + ">>");
    ExpectOne(Kind::kSePersonnummer, "<<" + n.substr(0, 6) + "+" + n.substr(6) + ">>");
    ExpectOne(Kind::kSePersonnummer, "<<" + std::string(yy <= 12 ? "20" : "19") + dashed + ">>");
    ExpectOne(Kind::kSePersonnummer, "personnummer: <<" + std::string(yy <= 12 ? "20" : "19") + n + ">>");
    ExpectOne(Kind::kSePersonnummer, "Personnummer <<" + n + ">>");
    std::string s = SeNumber(r, yy, mm, dd, true);
    ExpectOne(Kind::kSePersonnummer, "samordningsnummer <<" + s.substr(0, 6) + "-" + s.substr(6) + ">>");
    ExpectClean(n.substr(0, 6) + "-" + BumpLast(n).substr(6));
    ExpectClean("id " + n);  // undashed: only after a cue
  }
  std::string bad_date = SeNumber(r, 85, 2, 30);
  ExpectClean(bad_date.substr(0, 6) + "-" + bad_date.substr(6));
  std::string kid = SeNumber(r, 18, 5, 5);
  ExpectClean(kid.substr(0, 6) + "-" + kid.substr(6));  // bare, born 2018: a build stamp?
  ExpectOne(Kind::kSePersonnummer, "personnummer <<" + kid.substr(0, 6) + "-" + kid.substr(6) + ">>");
  ExpectOne(Kind::kSePersonnummer, "personnr: <<20" + kid.substr(0, 6) + "-" + kid.substr(6) + ">>");
}

TEST(RulesIdentifiers, FrNir) {
  Rng r{11};
  for (int i = 0; i < 20; ++i) {
    std::string n = Nir(r, Pad(r.Range(1, 95), 2));
    if (n.substr(5, 2) == "20") continue;
    ExpectOne(Kind::kFrNir, "<<" + NirSpaced(n) + ">>");
    ExpectOne(Kind::kFrNir, "numéro de sécurité sociale : <<" + n + ">>");
    ExpectOne(Kind::kFrNir, "NIR <<" + n + ">>");
    ExpectOne(Kind::kFrNir, "n° INSEE <<" + n.substr(0, 13) + " " + n.substr(13) + ">>");
    ExpectClean(NirSpaced(BumpLast(n)));
    ExpectClean("NIR " + BumpLast(n));
    ExpectClean("ref " + n);
  }
  for (const char* dept : {"2A", "2B"}) {
    std::string n = Nir(r, dept);
    ExpectOne(Kind::kFrNir, "<<" + NirSpaced(n) + ">>");
    ExpectOne(Kind::kFrNir, "sécu <<" + n + ">>");
  }
}

TEST(RulesIdentifiers, CaSinAndAuTfn) {
  Rng r{12};
  for (int i = 0; i < 20; ++i) {
    std::string s = Sin(r);
    ExpectOne(Kind::kCaSin, "SIN: <<" + s + ">>");
    ExpectOne(Kind::kCaSin, "social insurance number <<" + Group(s, {3, 3, 3}, ' ') + ">>");
    ExpectOne(Kind::kCaSin, "NAS <<" + Group(s, {3, 3, 3}, '-') + ">>");
    ExpectOne(Kind::kCaSin, "<<" + Group(s, {3, 3, 3}, ' ') + ">> (SIN)");
    ExpectClean("SIN " + BumpLast(s));
    ExpectClean(Group(s, {3, 3, 3}, ' ') + " units");
    std::string t = Tfn(r);
    ExpectOne(Kind::kAuTfn, "TFN: <<" + t + ">>");
    ExpectOne(Kind::kAuTfn, "tax file number <<" + Group(t, {3, 3, 3}, ' ') + ">>");
    ExpectClean("TFN " + BumpLast(t));
  }
  ExpectNoKind(Kind::kCaSin, "SIN 046 454 286 0");  // goes on (a phone number, maybe)
  ExpectOne(Kind::kAuTfn, "TFN <<12345677>>");  // 8-digit TFN
}

TEST(RulesIdentifiers, DeSteuerId) {
  Rng r{13};
  for (int i = 0; i < 20; ++i) {
    std::string s = SteuerId(r);
    ExpectOne(Kind::kDeSteuerId, "Steuer-ID: <<" + s + ">>");
    ExpectOne(Kind::kDeSteuerId, "Steueridentifikationsnummer <<" + Group(s, {2, 3, 3, 3}, ' ') + ">>");
    ExpectOne(Kind::kDeSteuerId, "IdNr. <<" + s + ">>");
    ExpectClean("Steuer-ID " + BumpLast(s));
    ExpectClean("Rechnung " + s);
  }
  ExpectClean("Steuer-ID 12345678903");  // every digit once: invalid
  ExpectClean("Steuer-ID 01234567890");
}

TEST(RulesIdentifiers, UsItin) {
  Rng r{14};
  for (int i = 0; i < 20; ++i) {
    std::string t = Itin(r);
    ExpectOne(Kind::kUsItin, "<<" + t + ">>");
    ExpectOne(Kind::kUsItin, "ITIN: <<" + t.substr(0, 3) + t.substr(4, 2) + t.substr(7) + ">>");
    std::string spaced = t;
    spaced[3] = spaced[6] = ' ';
    ExpectOne(Kind::kUsItin, "<<" + spaced + ">>");
  }
  ExpectClean("912-34-5678");  // group 34: neither SSN nor ITIN
  ExpectClean("900-93-1234");  // 93 is not an ITIN group
  ExpectOne(Kind::kUsSsn, "SSN <<123-45-6789>>");
}

// ---------------------------------------------------------------------------
// Bank data.

TEST(RulesIdentifiers, UsRoutingAndAccount) {
  Rng r{15};
  for (int i = 0; i < 20; ++i) {
    std::string rt = Routing(r), acct = r.Digits(r.Range(8, 12));
    ExpectOne(Kind::kUsRoutingNumber, "routing number: <<" + rt + ">>");
    ExpectOne(Kind::kUsRoutingNumber, "ABA <<" + rt + ">>");
    ExpectOne(Kind::kUsRoutingNumber, "RTN# <<" + rt + ">>");
    Expect("Routing: <<" + rt + ">> Account: <<" + acct + ">>",
           {Kind::kUsRoutingNumber, Kind::kBankAccount});
    Expect("routing <<" + rt + ">>, <<" + acct + ">>", {Kind::kUsRoutingNumber, Kind::kBankAccount});
    ExpectClean("routing " + BumpLast(rt));
  }
  for (const char* s :
       {"account number: <<12345678>>", "acct # <<000123456789>>", "Account No. <<1234-5678-90>>",
        "Kontonummer <<0532013000>>", "numéro de compte : <<12345678901>>",
        "número de cuenta <<0049150005>>", "rekeningnummer <<417164300>>",
        "\"account_number\": \"<<98765432>>\"", "bank account <<55667788>>"})
    ExpectOne(Kind::kBankAccount, s);
  ExpectClean("account ending in 1234");
  ExpectClean("account number: ****1234");
  ExpectClean("the account settings page");
  ExpectClean("transit 2024");
}

TEST(RulesIdentifiers, UkSortCodeAndAccount) {
  Expect("sort code <<20-00-00>> account <<12345678>>", {Kind::kUkSortCode, Kind::kBankAccount});
  Expect("Sort-code: <<40 47 84>>, <<87654321>>", {Kind::kUkSortCode, Kind::kBankAccount});
  ExpectOne(Kind::kUkSortCode, "sortcode <<309634>>");
  ExpectOne(Kind::kUkSortCode, "SC <<12-34-56>>");
  Expect("SC: <<11-22-33>> A/C: <<01234567>>", {Kind::kUkSortCode, Kind::kBankAccount});
  ExpectClean("12-03-24 was a Tuesday");  // a date, no cue
  ExpectClean("sort code 00-00-00");
  ExpectClean("sort the code by 12-03");
}

// ---------------------------------------------------------------------------
// Dates of birth.

TEST(RulesIdentifiers, DateOfBirthAfterItsCue) {
  for (const char* s :
       {"DOB: <<1984-03-15>>", "D.O.B. <<15/03/1984>>", "date of birth <<03/15/1984>>",
        "Geburtsdatum: <<15.03.1984>>", "born on <<15 March 1984>>", "birthdate <<March 15, 1984>>",
        "dob=<<15-Mar-84>>", "Date of Birth\t<<1984-03-15>>", "birthday=<<1984-03-15>>",
        "geb. <<15.03.1984>>", "date de naissance : <<15/03/1984>>", "né le <<15 mars 1984>>",
        "fecha de nacimiento: <<15 de marzo de 1984>>", "data di nascita <<15/03/1984>>",
        "geboortedatum <<15-03-1984>>", "data urodzenia: <<15.03.1984>>",
        "{\"date_of_birth\": \"<<1984-03-15>>\"}", "<input name=\"dob\" value=\"<<1984-03-15>>\">",
        "Birth Date: <<15th March 1984>>", "user_dob=<<19840315>>", "Geb.-Datum <<1. Mai 1990>>",
        "born <<Mar. 15th 1984>>", "date of birth (dd/mm/yyyy): <<15/03/1984>>",
        "DOB <<2/29/2000>>", "dateOfBirth: <<1990-12-01T00:00:00Z>>"}) {
    std::string m = s;
    if (m.find("T00") != std::string::npos) m = "dateOfBirth: <<1990-12-01>>T00:00:00Z";
    ExpectOne(Kind::kDateOfBirth, m);
  }
  ExpectClean("meeting on 1984-03-15");
  ExpectClean("released 15 March 1984");
  ExpectClean("DOB: 2/30/1984");     // no 30 February
  ExpectClean("DOB: 1984-13-01");
  ExpectClean("born in 1984");
  ExpectClean("birthday party on 15 March");
  ExpectClean("DOB: 2/29/2001");     // not a leap year
}

// ---------------------------------------------------------------------------
// Everyday look-alikes stay untouched.

TEST(RulesIdentifiers, EverydayLookAlikesStayClean) {
  for (const char* s :
       {"Order #123-456-7890-12", "invoice INV-2024-000123", "v10.0.19045.2965",
        "2024-03-15T14:30:00.123Z", "build 20240315-1430", "tracking 1Z999AA10123456784",
        "uuid 123e4567-e89b-12d3-a456-426614174000", "sha abcdef1234567890abcdef1234567890abcdef12",
        "ts_ms=1710500000000", "seq=4111111111111112", "price 1.234.567,89 EUR",
        "10.0.0.1:8080", "x = [12345678, 87654321]", "Room 4B, floor 12", "SKU-12345X",
        "HTTP/1.1 200 1024", "id,date,amount\n1234567,2024-01-02,99.50",
        "meeting at 09:30, 10:45 and 12:00", "page 12 of 30"})
    ExpectClean(s);
  ExpectNoKind(Kind::kCaSin, "call 046-454-2861");
  ExpectNoKind(Kind::kUsItin, "+1 900-555-0123");
}

TEST(RulesIdentifiers, LongRunsAreLinear) {
  // Digit runs, digit groups and repeated cues: bounded work per byte.
  std::vector<std::string> inputs;
  inputs.push_back(std::string(1 << 20, '7'));
  std::string s;
  while (s.size() < (1 << 20)) s += "4111 ";
  inputs.push_back(s);
  s.clear();
  while (s.size() < (1 << 20)) s += "BSN: DOB: sort code CVV exp ";
  inputs.push_back(s);
  s.clear();
  while (s.size() < (1 << 20)) s += "AB123456C ";
  inputs.push_back(s);
  s.clear();
  while (s.size() < (1 << 20)) s += "1a";
  inputs.push_back(s);
  for (const auto& in : inputs) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = R()->Scan(in);
    ASSERT_TRUE(out.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  }
}

// The digit-run scan reports exactly what the pattern it replaces,
// \b\d(?:[ .+-]?\d){7,22}\b, would report with leftmost start of match.
TEST(RulesIdentifiers, DigitRunScanIsThePatternsMatches) {
  int bad = -1;
  auto db = CompileHsBlockDatabase({R"(\b\d(?:[ .+-]?\d){7,22}\b)"}, {HS_FLAG_SOM_LEFTMOST}, {0}, &bad);
  ASSERT_TRUE(db.ok()) << db.status();
  hs_scratch_t* scratch = nullptr;
  ASSERT_EQ(hs_alloc_scratch(*db, &scratch), HS_SUCCESS);
  using Spans = std::vector<std::pair<size_t, size_t>>;
  std::vector<std::string> texts = {
      "4111 1111 1111 1111", "4111-1111-1111-1111 12/27 123", "x4111111111111111 y",
      "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0",
      "123456789012345678901234567890 1234 5678", "_12345678 a12345678 12345678_ 12345678a",
      "12.345.678-Z 840315+1234 1 84 03 75 123 456 78", "--12--34 1..2 12+-34 +12345678+",
      "\xe9" "12345678\xe9", "", "1234567", "12345678"};
  Rng r{99};
  for (int i = 0; i < 400; ++i) {
    std::string t;
    const std::string_view alphabet = i % 2 ? "0123456789 .+-a_\n\xe9" : "0123456789 ";
    int len = 1 + r.Below(300);
    for (int k = 0; k < len; ++k) t.push_back(alphabet[static_cast<size_t>(r.Below(static_cast<int>(alphabet.size())))]);
    texts.push_back(t);
  }
  for (const std::string& t : texts) {
    Spans want, got;
    hs_scan(
        *db, t.data(), static_cast<unsigned>(t.size()), 0, scratch,
        [](unsigned, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
          static_cast<Spans*>(ctx)->emplace_back(from, to);
          return 0;
        },
        &want);
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    rules::DigitRunCandidatesForTest(t, &got);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << t;
  }
  hs_free_scratch(scratch);
  hs_free_database(*db);
}

// ScanLines: each line's findings exactly as Scan(line) (cues never reach
// into the next line there), in any order and with fragments.
TEST(RulesIdentifiers, ScanLinesMatchesScanPerLine) {
  Rng r{17};
  std::vector<std::string> lines = {
      "DOB:", "15/03/1984", "BSN " + Bsn(r), "card " + Group(Card(r, "5" + std::to_string(r.Range(1, 5)), 16), {4, 4, 4, 4}, ' ') + " 12/27 123",
      "sort code 20-00-00 12345678", "routing 021000021, 4455667788", "Aadhaar", Aadhaar(r),
      NirSpaced(Nir(r, "2A")), "personnummer", SeNumber(r, 85, 4, 12), "exp", "12/27 123",
      "CVV:", "123", "AB 12 34 56 C", Nino(r), Cf(r), Pan(r), Dni(r), "", "\r"};
  std::vector<std::string> texts;
  for (const auto& a : lines)
    for (const auto& b : lines) texts.push_back(a + "\n" + b);
  std::string all;
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < lines.size(); ++i) all += lines[(i * (round + 5)) % lines.size()] + "\n";
  texts.push_back(all);
  for (const auto& t : texts) {
    std::vector<Finding> want;
    size_t b = 0;
    while (b <= t.size()) {
      size_t e = t.find('\n', b);
      if (e == std::string::npos) e = t.size();
      auto f = R()->Scan(std::string_view(t).substr(b, e - b));
      ASSERT_TRUE(f.ok());
      for (const Finding& x : *f) want.push_back({x.kind, x.begin + b, x.end + b});
      b = e + 1;
    }
    auto got = R()->ScanLines(t);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want) << t;
  }
}

TEST(RulesIdentifiers, StreamMatchesBlockMode) {
  Rng r{16};
  std::string text = "DOB: 15.03.1984, BSN " + Bsn(r) + ", card " + Group(Card(r, "4", 16), {4, 4, 4, 4}, ' ') +
                     " exp 12/27 cvv 123, sort code 20-00-00 12345678, " + NirSpaced(Nir(r, "75"));
  auto want = R()->Redact(text);
  ASSERT_TRUE(want.ok());
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    StreamRedactor st(R());
    std::string out;
    ASSERT_TRUE(st.Append(text.substr(0, cut), &out, nullptr).ok());
    ASSERT_TRUE(st.Append(text.substr(cut), &out, nullptr).ok());
    ASSERT_TRUE(st.EndRun(&out, nullptr).ok());
    EXPECT_EQ(out, *want) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace sealtrace::privacy
