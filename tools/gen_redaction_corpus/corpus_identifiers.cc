// Corpus lines for the redactor's identifiers rules (src/privacy/rules_identifiers.cc).
//
// National identifiers, card context, bank data and dates of birth. Every
// valid value is built here from its format's definition (check digits,
// dates), independently of src/privacy; negatives are checksum failures and
// everyday look-alikes. Weak numeric identifiers (8-12 digits with a
// checksum) only appear with a cue, as people write them in forms; strong
// formats also appear bare (docs/REDACTION.md, "National identifiers, bank,
// card and birth-date kinds").
#include <string>
#include <vector>

#include "gen_redaction_corpus/corpus_internal.h"

namespace sealtrace::corpus {
namespace {

using Strs = std::vector<std::string>;

char Pick(Rng& r, std::string_view s) { return s[r.Below(s.size())]; }

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

// Groups `d` by `sizes` with `sep`.
std::string Grp(const std::string& d, const std::vector<size_t>& sizes, const std::string& sep) {
  std::string out;
  size_t p = 0;
  for (size_t g : sizes) {
    if (p) out += sep;
    out += d.substr(p, g);
    p += g;
  }
  return out;
}

// A line with several labelled values: parts alternate text and values.
struct Part {
  std::string text;
  std::string kind;  // empty: plain text
};
void Multi(Gen& g, const std::string& family, const std::vector<Part>& parts) {
  Line l;
  l.family = family;
  for (const Part& p : parts) {
    size_t b = l.text.size();
    l.text += p.text;
    if (!p.kind.empty()) l.labels.push_back({p.kind, b, l.text.size()});
  }
  g.out.push_back(std::move(l));
}

// --- values ---------------------------------------------------------------

std::string NinoValue(Rng& r) {
  static const std::string_view kFirst = "ABCEGHJKLMNOPRSTWXYZ", kSecond = "ABCEGHJKLMNPRSTWXYZ";
  for (;;) {
    std::string p{Pick(r, kFirst), Pick(r, kSecond)};
    if (p == "BG" || p == "GB" || p == "NK" || p == "KN" || p == "TN" || p == "NT" || p == "ZZ")
      continue;
    return p + D(r, 6) + Pick(r, "ABCD");
  }
}

// 11-test: 9*d1 + 8*d2 + ... + 2*d8 - d9 = 0 (mod 11).
std::string BsnValue(Rng& r, bool valid) {
  for (;;) {
    std::string d = NZ(r) + D(r, 7);
    int sum = 0;
    for (int i = 0; i < 8; ++i) sum += (9 - i) * (d[i] - '0');
    int last = sum % 11;
    if (last == 10) continue;
    if (!valid) last = (last + 1 + static_cast<int>(r.Below(8))) % 10;
    return d + static_cast<char>('0' + last);
  }
}

char DniLetter(uint64_t n) { return "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23]; }

std::string DniValue(Rng& r, bool valid) {
  std::string d = NZ(r) + D(r, 7);
  char l = DniLetter(std::stoull(d));
  if (!valid) l = l == 'T' ? 'R' : 'T';
  return d + l;
}

std::string NieValue(Rng& r) {
  size_t p = r.Below(3);
  std::string d = D(r, 7);
  return std::string(1, static_cast<char>('X' + p)) + d + DniLetter(std::stoull(std::to_string(p) + d));
}

std::string CfValue(Rng& r, bool valid) {
  std::string s = r.Chars(kUpper, 6) + Pad(r.Below(100), 2) + Pick(r, "ABCDEHLMPRST") +
                  Pad(r.Range(1, 28) + (r.Chance(0.5) ? 40 : 0), 2) + Pick(r, "ABCDEFGHILMZ") +
                  D(r, 3);
  static const int kOdd[] = {1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                             20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};
  int sum = 0;
  for (int i = 0; i < 15; ++i) {
    int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : s[i] - 'A';
    sum += i % 2 == 0 ? kOdd[v] : v;
  }
  int c = sum % 26;
  if (!valid) c = (c + 1 + static_cast<int>(r.Below(24))) % 26;
  return s + static_cast<char>('A' + c);
}

// Verhoeff check digit.
std::string AadhaarValue(Rng& r, bool valid) {
  static const int d[10][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
                                {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
                                {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
                                {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
                                {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
  static const int p[8][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
                               {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
                               {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
                               {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
  static const int inv[10] = {0, 4, 3, 2, 1, 5, 6, 7, 8, 9};
  std::string s = NZ(r) + D(r, 10);
  int c = 0;
  for (size_t i = 0; i < s.size(); ++i) c = d[c][p[(i + 1) % 8][s[s.size() - 1 - i] - '0']];
  int check = inv[c];
  if (!valid) check = (check + 1 + static_cast<int>(r.Below(9))) % 10;
  return s + static_cast<char>('0' + check);
}

std::string PanValue(Rng& r) {
  return r.Chars(kUpper, 3) + Pick(r, "PCHFATBLJG") + r.Chars(kUpper, 1) + D(r, 4) +
         r.Chars(kUpper, 1);
}

std::string CpfValue(Rng& r, bool valid) {
  for (;;) {
    std::string d = NZ(r) + D(r, 8);
    int a = 0;
    for (int i = 0; i < 9; ++i) a += (d[i] - '0') * (10 - i);
    d.push_back(static_cast<char>('0' + a * 10 % 11 % 10));
    int b = 0;
    for (int i = 0; i < 10; ++i) b += (d[i] - '0') * (11 - i);
    int c = b * 10 % 11 % 10;
    if (!valid) c = (c + 1 + static_cast<int>(r.Below(9))) % 10;
    d.push_back(static_cast<char>('0' + c));
    if (d.find_first_not_of(d[0]) == std::string::npos) continue;
    return d;
  }
}

std::string CpfFormatted(const std::string& c) {
  return c.substr(0, 3) + "." + c.substr(3, 3) + "." + c.substr(6, 3) + "-" + c.substr(9);
}

int DaysIn(int y, int m) {
  static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : k[m - 1];
}

// Weights 1,3,7,9,1,3,7,9,1,3; months +20 for 2000-2099, +80 for 1800s.
std::string PeselValue(Rng& r, bool valid) {
  int y = static_cast<int>(r.Range(1935, 2015));
  if (y == 2000) y = 2001;  // 00... reads as an international phone prefix
  int m = static_cast<int>(r.Range(1, 12)), dd = static_cast<int>(r.Range(1, DaysIn(y, m)));
  std::string s = Pad(y % 100, 2) + Pad(m + (y >= 2000 ? 20 : 0), 2) + Pad(dd, 2) + D(r, 4);
  static const int w[] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
  int sum = 0;
  for (int i = 0; i < 10; ++i) sum += w[i] * (s[i] - '0');
  int c = (10 - sum % 10) % 10;
  if (!valid) c = (c + 1 + static_cast<int>(r.Below(9))) % 10;
  return s + static_cast<char>('0' + c);
}

// YYMMDD NNN C, Luhn over the ten digits; day + 60 for samordningsnummer.
// *year receives the full year (born 1931-1999 or 2000-2012).
std::string SeValue(Rng& r, bool valid, bool samordning, int* year) {
  int y = r.Chance(0.7) ? static_cast<int>(r.Range(1931, 1999)) : static_cast<int>(r.Range(2000, 2012));
  int m = static_cast<int>(r.Range(1, 12)), dd = static_cast<int>(r.Range(1, DaysIn(y, m)));
  std::string s = Pad(y % 100, 2) + Pad(m, 2) + Pad(dd + (samordning ? 60 : 0), 2) +
                  Pad(r.Range(1, 999), 3);
  int c = LuhnCheckDigit(s);
  if (!valid) c = (c + 1 + static_cast<int>(r.Below(9))) % 10;
  *year = y;
  return s + static_cast<char>('0' + c);
}

// Sex, YY, MM, department (2A/2B count as 19/18), commune, order, key.
std::string NirValue(Rng& r, bool valid) {
  std::string dept = r.Chance(0.08) ? (r.Chance(0.5) ? "2A" : "2B") : Pad(r.Range(1, 95), 2);
  if (dept == "20") dept = "21";
  std::string n = std::string(1, Pick(r, "1278")) + Pad(r.Below(100), 2) + Pad(r.Range(1, 12), 2) +
                  dept + Pad(r.Range(1, 999), 3) + Pad(r.Range(1, 999), 3);
  std::string num = n;
  if (dept == "2A") num.replace(5, 2, "19");
  if (dept == "2B") num.replace(5, 2, "18");
  uint64_t rem = 0;
  for (char c : num) rem = (rem * 10 + static_cast<uint64_t>(c - '0')) % 97;
  int key = static_cast<int>(97 - rem);
  if (!valid) key = key % 97 + 1;
  return n + Pad(static_cast<size_t>(key), 2);
}

std::string NirSpaced(const std::string& n) { return Grp(n, {1, 2, 2, 2, 3, 3, 2}, " "); }

std::string SinValue(Rng& r, bool valid) {
  std::string s = std::string(1, Pick(r, "1234567")) + D(r, 7);
  int c = LuhnCheckDigit(s);
  if (!valid) c = (c + 1 + static_cast<int>(r.Below(9))) % 10;
  return s + static_cast<char>('0' + c);
}

// 9 digits, weights 1 4 3 7 5 8 6 9 10, sum = 0 (mod 11).
std::string TfnValue(Rng& r, bool valid) {
  static const int w[] = {1, 4, 3, 7, 5, 8, 6, 9, 10};
  for (;;) {
    std::string s = NZ(r) + D(r, 7);
    int sum = 0;
    for (int i = 0; i < 8; ++i) sum += w[i] * (s[i] - '0');
    int c = sum % 11;  // 10 * c = -c (mod 11)
    if (c == 10) continue;
    if (!valid) c = (c + 1 + static_cast<int>(r.Below(8))) % 10;
    return s + static_cast<char>('0' + c);
  }
}

// Ten digits (one of them twice, the others once, first not 0), ISO 7064
// MOD 11,10 check digit.
std::string SteuerIdValue(Rng& r, bool valid) {
  for (;;) {
    std::string digits = "0123456789";
    for (size_t i = 9; i > 0; --i) std::swap(digits[i], digits[r.Below(i + 1)]);
    std::string s = digits.substr(0, 9);
    s.insert(s.begin() + static_cast<long>(r.Below(10)), s[r.Below(9)]);
    if (s[0] == '0') continue;
    bool triple_run = false;
    for (size_t i = 0; i + 1 < s.size(); ++i) triple_run |= s[i] == s[i + 1] && i + 2 < s.size() && s[i + 2] == s[i];
    if (triple_run) continue;
    int product = 10;
    for (int i = 0; i < 10; ++i) {
      int sum = (s[i] - '0' + product) % 10;
      if (sum == 0) sum = 10;
      product = sum * 2 % 11;
    }
    int c = 11 - product;
    if (c == 10) c = 0;
    if (!valid) c = (c + 1 + static_cast<int>(r.Below(9))) % 10;
    return s + static_cast<char>('0' + c);
  }
}

std::string ItinValue(Rng& r) {
  static const std::vector<size_t> kLo = {50, 70, 90, 94}, kHi = {65, 88, 92, 99};
  size_t k = r.Below(4);
  return "9" + D(r, 2) + Pad(r.Range(kLo[k], kHi[k]), 2) + D(r, 4);
}

// 3 7 1 weights; first two digits 00-12, 21-32, 61-72, 80.
std::string RoutingValue(Rng& r, bool valid) {
  static const std::vector<size_t> kLo = {1, 21, 61, 80}, kHi = {12, 32, 72, 80};
  size_t k = r.Below(4);
  std::string s = Pad(r.Range(kLo[k], kHi[k]), 2) + D(r, 6);
  static const int w[] = {3, 7, 1, 3, 7, 1, 3, 7};
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += w[i] * (s[i] - '0');
  int c = (10 - sum % 10) % 10;
  if (!valid) c = (c + 1 + static_cast<int>(r.Below(9))) % 10;
  return s + static_cast<char>('0' + c);
}

std::string SpacedGroups(Rng& r, const std::string& d, const std::vector<size_t>& sizes) {
  switch (r.Below(3)) {
    case 0:
      return d;
    case 1:
      return Grp(d, sizes, " ");
    default:
      return Grp(d, sizes, "-");
  }
}

// --- dates of birth -----------------------------------------------------------

struct Date {
  int y, m, d;
};

Date BirthDate(Rng& r) {
  Date x{static_cast<int>(r.Range(1930, 2012)), static_cast<int>(r.Range(1, 12)), 1};
  x.d = static_cast<int>(r.Range(1, DaysIn(x.y, x.m)));
  return x;
}

// Written as people write dates in forms, in several languages.
std::string WriteDate(Rng& r, const Date& x, const std::string& lang) {
  static const Strs kEn = {"January", "February", "March",     "April",   "May",      "June",
                           "July",    "August",   "September", "October", "November", "December"};
  static const Strs kDe = {"Januar", "Februar", "M\xC3\xA4rz", "April",   "Mai",      "Juni",
                           "Juli",   "August",  "September",   "Oktober", "November", "Dezember"};
  static const Strs kFr = {"janvier", "f\xC3\xA9vrier", "mars",    "avril",    "mai",
                           "juin",    "juillet",        "ao\xC3\xBBt", "septembre", "octobre",
                           "novembre", "d\xC3\xA9" "cembre"};
  static const Strs kEs = {"enero", "febrero", "marzo",      "abril",   "mayo",      "junio",
                           "julio", "agosto",  "septiembre", "octubre", "noviembre", "diciembre"};
  static const Strs kIt = {"gennaio", "febbraio", "marzo",     "aprile",  "maggio",   "giugno",
                           "luglio",  "agosto",   "settembre", "ottobre", "novembre", "dicembre"};
  std::string dd = Pad(static_cast<size_t>(x.d), 2), mm = Pad(static_cast<size_t>(x.m), 2),
              yyyy = std::to_string(x.y), yy = Pad(static_cast<size_t>(x.y % 100), 2);
  const std::string& en = kEn[static_cast<size_t>(x.m - 1)];
  switch (r.Below(lang == "en" ? 9 : 5)) {
    case 0:
      return yyyy + "-" + mm + "-" + dd;
    case 1:
      return lang == "en" && r.Chance(0.5) ? mm + "/" + dd + "/" + yyyy : dd + "/" + mm + "/" + yyyy;
    case 2:
      return dd + "." + mm + "." + yyyy;
    case 3:
      if (lang == "de") return std::to_string(x.d) + ". " + kDe[static_cast<size_t>(x.m - 1)] + " " + yyyy;
      if (lang == "fr") return std::to_string(x.d) + " " + kFr[static_cast<size_t>(x.m - 1)] + " " + yyyy;
      if (lang == "es")
        return std::to_string(x.d) + " de " + kEs[static_cast<size_t>(x.m - 1)] + " de " + yyyy;
      if (lang == "it") return std::to_string(x.d) + " " + kIt[static_cast<size_t>(x.m - 1)] + " " + yyyy;
      return std::to_string(x.d) + " " + en + " " + yyyy;
    case 4:
      return dd + "-" + mm + "-" + yyyy;
    case 5:
      return en + " " + std::to_string(x.d) + ", " + yyyy;
    case 6:
      return dd + "-" + en.substr(0, 3) + "-" + yy;
    case 7:
      return std::to_string(x.d) + (x.d == 1 || x.d == 21 || x.d == 31 ? "st"
                                    : x.d == 2 || x.d == 22        ? "nd"
                                    : x.d == 3 || x.d == 23        ? "rd"
                                                                   : "th") +
             " " + en + " " + yyyy;
    default:
      return std::to_string(x.m) + "/" + std::to_string(x.d) + "/" + yyyy;
  }
}

// --- card context ---------------------------------------------------------------

std::string CardGrouped(Rng& r, size_t* len) {
  std::string d = CardDigits(r, true, len);
  if (d.size() != 16) return d;
  switch (r.Below(4)) {
    case 0:
      return d;
    case 1:
      return Grp(d, {4, 4, 4, 4}, " ");
    case 2:
      return Grp(d, {4, 4, 4, 4}, "-");
    default:
      return Grp(d, {4, 4, 4, 4}, ".");
  }
}

// `beside`: written right after the card with no cue word (the redactor then
// needs its '/'; "12-27" there is read as something else).
std::string Expiry(Rng& r, bool beside = false) {
  std::string mm = Pad(r.Range(1, 12), 2), yy = Pad(r.Range(24, 35), 2);
  switch (r.Below(beside ? 3 : 4)) {
    case 0:
      return mm + "/" + yy;
    case 1:
      return mm + "/20" + yy;
    case 2:
      return mm + " / " + yy;
    default:
      return mm + "-" + yy;
  }
}

}  // namespace

void IdentifierPositives(Gen& g) {
  Rng& r = g.r;

  // --- national identifiers -------------------------------------------------
  {
    std::string n = NinoValue(r), v;
    switch (r.Below(5)) {
      case 0:
        v = n;
        break;
      case 1:
        v = Grp(n, {2, 2, 2, 2, 1}, " ");
        break;
      case 2:
        v = n.substr(0, 2) + " " + n.substr(2, 6) + " " + n.substr(8);
        break;
      case 3:
        v = Lower(n);
        break;
      default:
        v = n.substr(0, 8) + " " + n.substr(8);
        break;
    }
    g.Emit("pos:uk_nino",
           g.Wrap({"NI number: {}", "National Insurance No. {}", "my NINO is {}", "nino={}",
                   "{\"national_insurance_number\": \"{}\"}", "NINO\t{}", "NI No {} (employee)"}),
           v, "uk_nino");
  }
  {
    std::string b = BsnValue(r, true);
    std::string v = r.Chance(0.25)   ? b.substr(0, 4) + "." + b.substr(4, 2) + "." + b.substr(6)
                    : r.Chance(0.3) ? Grp(b, {3, 3, 3}, " ")
                                    : b;
    static const Strs kT = {"BSN: {}",
                            "burgerservicenummer {}",
                            "Mijn BSN is {}, graag verwerken",
                            "sofinummer: {}",
                            "bsn={}",
                            "{\"bsn\":\"{}\"}",
                            "BSN\t{}\tJan de Vries",
                            "Burgerservicenummer (BSN): {}",
                            "| BSN | {} |",
                            "citizen service number {}",
                            "{} (BSN)"};
    g.Emit("pos:nl_bsn", r.Pick(kT), v, "nl_bsn");
  }
  {
    std::string v;
    bool cue_only = false;
    switch (r.Below(6)) {
      case 0:
        v = DniValue(r, true);
        break;
      case 1: {
        std::string d = DniValue(r, true);
        v = d.substr(0, 8) + "-" + d.substr(8);
        break;
      }
      case 2: {
        std::string d = DniValue(r, true);
        v = d.substr(0, 2) + "." + d.substr(2, 3) + "." + d.substr(5, 3) + "-" + d.substr(8);
        break;
      }
      case 3:
        v = NieValue(r);
        break;
      case 4: {  // separated NIE: after its cue only
        std::string n = NieValue(r);
        v = n.substr(0, 1) + "-" + n.substr(1, 7) + "-" + n.substr(8);
        cue_only = true;
        break;
      }
      default:
        v = Lower(DniValue(r, true));
        break;
    }
    static const Strs kCues = {"DNI: {}", "NIE {}", "mi DNI es {}", "NIF: {}", "Documento: DNI {}",
                               "\"dni\": \"{}\""};
    g.Emit("pos:es_dni", cue_only ? r.Pick(kCues) : g.Wrap(kCues), v, "es_dni");
  }
  {
    std::string c = CfValue(r, true);
    if (r.Chance(0.2)) {
      g.Emit("pos:it_codice_fiscale", r.Pick(Strs{"codice fiscale: {}", "C.F. {}", "cf {}"}), Lower(c),
             "it_codice_fiscale");
    } else {
      g.Emit("pos:it_codice_fiscale",
             g.Wrap({"codice fiscale: {}", "Codice Fiscale {}", "il mio CF è {}", "CF: {}"}), c,
             "it_codice_fiscale");
    }
  }
  {
    std::string a = AadhaarValue(r, true);
    if (r.Chance(0.5)) {
      g.Emit("pos:in_aadhaar", g.Wrap({"Aadhaar: {}", "aadhaar no. {}", "UID {}"}),
             Grp(a, {4, 4, 4}, r.Chance(0.8) ? " " : "-"), "in_aadhaar");
    } else {
      g.Emit("pos:in_aadhaar",
             r.Pick(Strs{"Aadhaar: {}", "aadhaar number {}", "UID: {}", "Aadhar No. {}",
                         "\xE0\xA4\x86\xE0\xA4\xA7\xE0\xA4\xBE\xE0\xA4\xB0 {}", "{\"aadhaar\": \"{}\"}"}),
             a, "in_aadhaar");
    }
  }
  {
    std::string p = PanValue(r);
    if (r.Chance(0.2)) {
      g.Emit("pos:in_pan", r.Pick(Strs{"PAN: {}", "pan card {}", "PAN no {}"}), Lower(p), "in_pan");
    } else {
      g.Emit("pos:in_pan", g.Wrap({"PAN: {}", "PAN card number {}", "my pan is {}"}), p, "in_pan");
    }
  }
  {
    std::string c = CpfValue(r, true);
    if (r.Chance(0.5)) {
      g.Emit("pos:br_cpf", g.Wrap({"CPF: {}", "cpf {}", "CPF nº {}", "meu CPF é {}"}), CpfFormatted(c),
             "br_cpf");
    } else {
      std::string v = r.Chance(0.5) ? c : c.substr(0, 9) + "-" + c.substr(9);
      g.Emit("pos:br_cpf",
             r.Pick(Strs{"CPF: {}", "cpf {}", "CPF nº {}", "meu CPF é {}", "{\"cpf\":\"{}\"}",
                         "CPF/MF {}"}),
             v, "br_cpf");
    }
  }
  g.Emit("pos:pl_pesel",
         r.Pick(Strs{"PESEL: {}", "nr PESEL {}", "numer PESEL: {}", "PESEL {} (pacjent)",
                     "{\"pesel\": \"{}\"}", "Pesel\t{}"}),
         PeselValue(r, true), "pl_pesel");
  {
    int year;
    bool samordning = r.Chance(0.15);
    std::string s = SeValue(r, true, samordning, &year);
    std::string sep = year < 1925 ? "+" : "-";  // 100 years or older: '+'
    std::string cc = std::to_string(year / 100);
    switch (r.Below(4)) {
      case 0:
        g.Emit("pos:se_personnummer", g.Wrap({"personnummer: {}", "Personnr {}", "pnr {}"}),
               s.substr(0, 6) + sep + s.substr(6), "se_personnummer");
        break;
      case 1:
        g.Emit("pos:se_personnummer", g.Wrap({"personnummer {}", "Personnummer: {}"}),
               cc + s.substr(0, 6) + "-" + s.substr(6), "se_personnummer");
        break;
      case 2:
        g.Emit("pos:se_personnummer",
               r.Pick(Strs{"personnummer: {}", "Personnummer {}", "samordningsnummer {}",
                           "pers.nr {}"}),
               cc + s, "se_personnummer");
        break;
      default:
        g.Emit("pos:se_personnummer",
               r.Pick(Strs{"personnummer {}", samordning ? "samordningsnummer: {}" : "personnr: {}"}),
               s, "se_personnummer");
        break;
    }
  }
  {
    std::string n = NirValue(r, true);
    if (r.Chance(0.5)) {
      g.Emit("pos:fr_nir",
             g.Wrap({"n° de sécurité sociale : {}", "NIR {}", "numéro INSEE {}", "carte Vitale {}"}),
             NirSpaced(n), "fr_nir");
    } else {
      std::string v = r.Chance(0.7) ? n : n.substr(0, 13) + " " + n.substr(13);
      g.Emit("pos:fr_nir",
             r.Pick(Strs{"numéro de sécurité sociale : {}", "NIR: {}", "n° INSEE {}",
                         "N° de sécu {}", "{\"nir\": \"{}\"}"}),
             v, "fr_nir");
    }
  }
  g.Emit("pos:ca_sin",
         r.Pick(Strs{"SIN: {}", "social insurance number {}", "NAS : {}", "my SIN is {}",
                     "Social Insurance No. {}", "{\"sin\": \"{}\"}", "SIN\t{}", "{} (SIN)"}),
         SpacedGroups(r, SinValue(r, true), {3, 3, 3}), "ca_sin");
  g.Emit("pos:au_tfn",
         r.Pick(Strs{"TFN: {}", "tax file number {}", "Tax File Number: {}", "my TFN is {}",
                     "{\"tfn\": \"{}\"}"}),
         r.Chance(0.5) ? Grp(TfnValue(r, true), {3, 3, 3}, " ") : TfnValue(r, true), "au_tfn");
  {
    std::string s = SteuerIdValue(r, true);
    g.Emit("pos:de_steuer_id",
           r.Pick(Strs{"Steuer-ID: {}", "Steueridentifikationsnummer {}", "IdNr. {}",
                       "steuerliche Identifikationsnummer: {}", "Steuer-IdNr {}", "tax ID {}",
                       "{\"steuer_id\": \"{}\"}"}),
           r.Chance(0.4) ? Grp(s, {2, 3, 3, 3}, " ") : s, "de_steuer_id");
  }
  {
    std::string t = ItinValue(r);
    if (r.Chance(0.6)) {
      g.Emit("pos:us_itin", g.Wrap({"ITIN: {}", "my ITIN is {}", "taxpayer id {}"}),
             Grp(t, {3, 2, 4}, r.Chance(0.8) ? "-" : " "), "us_itin");
    } else {
      g.Emit("pos:us_itin", r.Pick(Strs{"ITIN: {}", "ITIN {}", "individual taxpayer identification number {}"}),
             t, "us_itin");
    }
  }

  // --- card context -----------------------------------------------------------
  {
    size_t len;
    size_t form = r.Below(7);
    bool beside = form == 1 || form == 2 || form == 5;
    std::string card = CardGrouped(r, &len), exp = Expiry(r, beside), cvv = D(r, len == 15 ? 4 : 3);
    switch (form) {
      case 0:
        Multi(g, "pos:card_expiry",
              {{"card ", ""}, {card, "payment_card"}, {" exp ", ""}, {exp, "card_expiry"},
               {" cvv ", ""}, {cvv, "card_security_code"}});
        break;
      case 1:
        Multi(g, "pos:card_expiry",
              {{"pay with ", ""}, {card, "payment_card"}, {" ", ""}, {exp, "card_expiry"}, {" ", ""},
               {cvv, "card_security_code"}});
        break;
      case 2:
        Multi(g, "pos:card_expiry",
              {{card, "payment_card"}, {"|", ""}, {exp.substr(0, 2) + "|20" + exp.substr(exp.size() - 2),
                                                  "card_expiry"},
               {"|", ""}, {cvv, "card_security_code"}});
        break;
      case 3:
        Multi(g, "pos:card_expiry",
              {{"Karte ", ""}, {card, "payment_card"}, {", gültig bis ", ""}, {exp, "card_expiry"},
               {", Prüfnummer ", ""}, {cvv, "card_security_code"}});
        break;
      case 4:
        Multi(g, "pos:card_expiry",
              {{"{\"number\": \"", ""}, {card, "payment_card"}, {"\", \"exp\": \"", ""},
               {exp, "card_expiry"}, {"\", \"cvc\": \"", ""}, {cvv, "card_security_code"},
               {"\"}", ""}});
        break;
      case 5:
        Multi(g, "pos:card_expiry",
              {{"card ", ""}, {card, "payment_card"}, {", ", ""}, {exp, "card_expiry"}, {", ", ""},
               {cvv, "card_security_code"}});
        break;
      default:
        Multi(g, "pos:card_expiry",
              {{"tarjeta ", ""}, {card, "payment_card"}, {" vence ", ""}, {exp, "card_expiry"},
               {" CVV ", ""}, {cvv, "card_security_code"}});
        break;
    }
  }
  g.Emit("pos:card_expiry",
         r.Pick(Strs{"exp. {}", "valid thru {}", "Ablaufdatum: {}", "expiry date {}", "Exp: {}",
                     "expires {}", "MM/YY: {}", "date d'expiration : {}", "fecha de vencimiento {}",
                     "scadenza {}", "Valid Through {}", "gültig bis {}"}),
         Expiry(r), "card_expiry");
  g.Emit("pos:card_security_code",
         r.Pick(Strs{"CVV: {}", "cvv {}", "CVC2 {}", "security code {}", "Prüfnummer: {}",
                     "Kartenprüfnummer {}", "CVV/CVC: {}", "\"cvc\": \"{}\"", "code de sécurité : {}",
                     "código de seguridad {}", "card verification value {}", "CSC {}"}),
         D(r, r.Chance(0.8) ? 3 : 4), "card_security_code");

  // --- bank data -------------------------------------------------------------------
  {
    std::string rt = RoutingValue(r, true);
    if (r.Chance(0.4)) {
      std::string acct = NZ(r) + D(r, r.Range(7, 11));
      std::string mid = r.Pick(Strs{" account ", " acct # ", ", ", " / ", " Account Number: "});
      Multi(g, "pos:us_routing_number",
            {{r.Pick(Strs{"routing ", "Routing number: ", "ABA ", "RTN: "}), ""},
             {rt, "us_routing_number"}, {mid, ""}, {acct, "bank_account"}});
    } else {
      g.Emit("pos:us_routing_number",
             r.Pick(Strs{"routing number: {}", "ABA {}", "RTN# {}", "Routing #: {}",
                         "bank routing number {}", "{\"routing_number\": \"{}\"}", "ABA/routing {}",
                         "transit number {}"}),
             rt, "us_routing_number");
    }
  }
  {
    std::string acct = NZ(r) + D(r, r.Range(6, 12));
    if (r.Chance(0.2)) acct = acct.substr(0, 4) + "-" + acct.substr(4);
    g.Emit("pos:bank_account",
           r.Pick(Strs{"account number: {}", "Acct # {}", "Account No. {}", "Kontonummer {}",
                       "numéro de compte : {}", "número de cuenta {}", "rekeningnummer {}",
                       "\"account_number\": \"{}\"", "bank account {}", "Konto-Nr. {}",
                       "numer konta {}", "checking account {}", "A/C no {}"}),
           acct, "bank_account");
  }
  {
    std::string sc = Pad(r.Range(1, 99), 2) + Pad(r.Below(100), 2) + Pad(r.Below(100), 2);
    std::string v = r.Chance(0.6) ? Grp(sc, {2, 2, 2}, "-") : r.Chance(0.5) ? Grp(sc, {2, 2, 2}, " ") : sc;
    std::string cue = r.Pick(Strs{"sort code ", "Sort code: ", "sort-code ", "SC ", "Sortcode: "});
    if (r.Chance(0.5)) {
      std::string acct = D(r, 8);
      Multi(g, "pos:uk_sort_code",
            {{cue, ""}, {v, "uk_sort_code"},
             {r.Pick(Strs{" account ", ", account number ", " ", " A/C "}), ""}, {acct, "bank_account"}});
    } else {
      Multi(g, "pos:uk_sort_code", {{"pay to " + cue, ""}, {v, "uk_sort_code"}, {" please", ""}});
    }
  }

  // --- dates of birth ------------------------------------------------------------------
  {
    struct Cue {
      const char* text;
      const char* lang;
    };
    static const std::vector<Cue> kCues = {
        {"DOB: ", "en"},          {"D.O.B. ", "en"},           {"date of birth: ", "en"},
        {"Date of Birth\t", "en"}, {"born on ", "en"},          {"birthdate=", "en"},
        {"Birth date: ", "en"},    {"birthday: ", "en"},        {"\"dob\": \"", "en"},
        {"dob=", "en"},            {"Geburtsdatum: ", "de"},    {"geb. ", "de"},
        {"geboren am ", "de"},     {"date de naissance : ", "fr"}, {"né le ", "fr"},
        {"née le ", "fr"},         {"fecha de nacimiento: ", "es"}, {"nacido el ", "es"},
        {"data di nascita: ", "it"}, {"nato il ", "it"},        {"geboortedatum: ", "nl"},
        {"data urodzenia: ", "pl"}, {"\"date_of_birth\": \"", "en"}, {"DOB ", "en"},
    };
    const Cue& c = kCues[r.Below(kCues.size())];
    std::string tail = std::string(c.text).back() == '"' ? "\"" : r.Pick(Strs{"", ".", " (patient)", ", ok"});
    g.Emit("pos:date_of_birth", std::string(c.text) + "{}" + tail, WriteDate(r, BirthDate(r), c.lang),
           "date_of_birth");
  }
}

void IdentifierNegatives(Gen& g) {
  Rng& r = g.r;
  // Checksum failures after their cue, and strong formats with a wrong check.
  {
    std::string v;
    switch (r.Below(14)) {
      case 0:
        v = "BSN: " + BsnValue(r, false);
        break;
      case 1:
        v = "CPF: " + CpfFormatted(CpfValue(r, false));
        break;
      case 2:
        v = "PESEL " + PeselValue(r, false);
        break;
      case 3:
        v = "SIN: " + Grp(SinValue(r, false), {3, 3, 3}, " ");
        break;
      case 4:
        v = "TFN " + TfnValue(r, false);
        break;
      case 5:
        v = "Steuer-ID: " + SteuerIdValue(r, false);
        break;
      case 6:
        v = "Aadhaar " + Grp(AadhaarValue(r, false), {4, 4, 4}, " ");
        break;
      case 7:
        v = "routing number " + RoutingValue(r, false);
        break;
      case 8:
        v = "DNI " + DniValue(r, false);
        break;
      case 9:
        v = "codice fiscale " + CfValue(r, false);
        break;
      case 10:
        v = "NIR " + NirSpaced(NirValue(r, false));
        break;
      case 11: {
        int y;
        std::string s = SeValue(r, false, false, &y);
        v = "personnummer " + s.substr(0, 6) + "-" + s.substr(6);
        break;
      }
      case 12:
        v = "NINO " + std::string(1, Pick(r, "DFIQUV")) + Pick(r, "ABCEH") + D(r, 6) + Pick(r, "ABCD");
        break;
      default:
        v = "ITIN 9" + D(r, 2) + "-" + Pad(r.Range(10, 49), 2) + "-" + D(r, 4);
        break;
    }
    g.Neg("neg:id_checksum", v);
  }
  // Look-alikes: numbers that are no identifier, formats without their cue.
  g.Neg("neg:id_lookalike",
        r.Pick(Strs{
            "invoice " + BsnValue(r, true) + " paid",
            "order no " + CpfValue(r, true),
            "ticket " + PeselValue(r, true) + " closed",
            "build " + std::to_string(r.Range(2013, 2026)) + Pad(r.Range(1, 12), 2) +
                Pad(r.Range(1, 28), 2) + "-" + Pad(r.Range(0, 23), 2) + Pad(r.Below(60), 2),
            "SKU " + D(r, 6) + "-" + D(r, 3),
            "x = [" + D(r, 8) + ", " + D(r, 8) + "]",
            "ts_ms=17" + D(r, 11),
            "request " + NZ(r) + D(r, 11) + " done",
            "seq " + D(r, 9) + " of " + D(r, 9),
            "the sin of x is small",
            "pan the camera left",
            "transit time " + D(r, 2) + " min",
            "account " + std::to_string(r.Range(2, 9)) + " of 12",
            "sort the list by date",
            "exp(" + D(r, 1) + ".5) = " + D(r, 2) + "." + D(r, 2),
            "cvv field is required",
            "security code expired",
            "our account manager called",
            "DNI pendiente",
            "version " + D(r, 2) + "." + D(r, 1) + "." + D(r, 3) + "-" + D(r, 2),
            "room 4B floor " + D(r, 2),
            "lat " + D(r, 2) + "." + D(r, 6) + " lon " + D(r, 1) + "." + D(r, 6),
        }));
  // Dates without a birth cue, and birth cues without a date.
  {
    Date x = BirthDate(r);
    g.Neg("neg:date_nocue",
          r.Pick(Strs{"released on " + WriteDate(r, x, "en"), "deadline " + WriteDate(r, x, "en"),
                      "Termin am " + WriteDate(r, x, "de"), "réunion le " + WriteDate(r, x, "fr"),
                      "born in " + std::to_string(x.y), "birthday party next week",
                      "DOB: unknown", "date of birth required", "fecha de nacimiento: ver adjunto"}));
  }
  // Card context look-alikes: a card failing Luhn with an expiry and a code,
  // months that do not exist, codes without a cue.
  {
    size_t len;
    std::string bad = GroupCard(r, CardDigits(r, false, &len));
    g.Neg("neg:card_context",
          r.Pick(Strs{"card " + bad + " " + Pad(r.Range(1, 12), 2) + "/" + Pad(r.Range(24, 30), 2) +
                          " " + D(r, 3) + " declined",
                      "exp " + std::to_string(r.Range(13, 99)) + "/" + Pad(r.Range(24, 30), 2),
                      "valid thru next year", "CVV: ***", "table 12/27 seats 140",
                      "page " + D(r, 2) + "/" + D(r, 2) + " line " + D(r, 3)}));
  }
}

}  // namespace sealtrace::corpus
