#include "privacy/redactor_rules.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"

namespace sealtrace::privacy {
namespace rules {
namespace {

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

}  // namespace

void AddCredentialRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  r.push_back(R{
      Kind::kPassword,
      {{R"(\b(?:password|passwd|passwort|kennwort|pwd|passcode|passphrase|pass|pw|contrase(?:ñ|n)a|senha|wachtwoord|has(?:ł|l)o|parola|mot de passe|secret|token|pin))" SEALTRACE_RULE_SEP,
        kSom | kCi},
       {R"((?:пароль|Пароль|ПАРОЛЬ|密码|密碼|パスワード|비밀번호|סיסמה|كلمة المرور))" SEALTRACE_RULE_SEP, kSom}},
      ValidatePassword});
  r.push_back(R{Kind::kPassword,
                {{R"(\b(?:password|passwort|pass|pwd|passwd)\s{1,2})", kSom | kCi}},
                ValidatePasswordStrict});
  r.push_back(R{
      Kind::kGenericSecret,
      {{R"(\b(?:api[_\-]?key|apikey|api[_\-]?secret|api[_\-]?token|access[_\-]?key(?:[_\-]?id)?|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token|secret[_\-]?key|client[_\-]?secret|private[_\-]?key|session[_\-]?token|x-api-key|bearer|token|secret)["']?\s{0,3}[:=]?\s{0,3}["']?)",
        kSom | kCi}},
      ValidateGenericSecret});
}

}  // namespace rules
}  // namespace sealtrace::privacy
