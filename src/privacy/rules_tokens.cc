#include "privacy/redactor_rules.h"

#include <algorithm>
#include <string>
#include <cstring>

#include "absl/strings/ascii.h"

namespace sealtrace::privacy {
namespace rules {
namespace {

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

// --- never-record words ----------------------------------------------------------
bool ValidateNeverRecord(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (to <= from) return false;
  if (IsWordByte(st.text[from]) && IsWordByte(Before(st, from))) return false;
  if (IsWordByte(st.text[to - 1]) && IsWordByte(At(st, to))) return false;
  *out = {Kind::kNeverRecord, from, to};
  return true;
}

}  // namespace

Rule NeverRecordRule() { return Rule{Kind::kNeverRecord, {}, ValidateNeverRecord}; }

void AddTokenRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
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
}

}  // namespace rules
}  // namespace sealtrace::privacy
