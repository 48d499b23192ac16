// Credential rules: passwords, PINs and HTTP Basic credentials as people type
// them (docs/REDACTION.md, "Credentials in commands, configs and chat").
//
// Shapes of rule:
//  * cue + separator ("password: x", "DB_PASSWORD=x", "Pwd=x;"): the pattern
//    is the cue word and its separator; the validator checks the boundary of
//    the cue inside an identifier (PGPASSWORD, dbPassword, db_password, but
//    not bypass=, compass=) and reads the value.
//  * command lines: the pattern is the flag or the command word (" -p",
//    "--password ", "htpasswd ", "net use ", "<<<", "| sudo"); the validator
//    finds the command owning the flag by walking back over the words of the
//    current shell segment (at most kBackWindow bytes, to the last newline,
//    '|', ';', '&', '`' or '('), so `ssh -p 2222` and `docker run -p 80:80`
//    stay while `mysql -pX`, `sshpass -p X`, `docker login -p X` are found.
//  * URLs with credentials (scheme://user:pass@host), SQL (IDENTIFIED BY,
//    PASSWORD '...'), connection strings, XML/attribute forms, .netrc.
//  * natural language ("my password is x", "das Passwort für das WLAN ist x",
//    "the PIN is 4821"): the cue, an optional short qualifier ("for the
//    wifi") and a copula; the value must look like a secret, not prose.
//  * HTTP Basic: "Basic <base64>" / "auth": "<base64>" that decodes to
//    printable user:password.
// Every validator looks at most kBackWindow bytes before and kFwdWindow
// bytes after its candidate and is linear in that.
#include "privacy/redactor_rules.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"

namespace sealtrace::privacy {
namespace rules {
namespace {

constexpr size_t kBackWindow = 160;  // owner/command look-back
constexpr size_t kFwdWindow = 320;   // command-line parsing forward
constexpr size_t kMaxValue = 128;    // longest password value

// --- small text helpers --------------------------------------------------------
std::string LowerStr(std::string_view v) {
  std::string l;
  l.reserve(v.size());
  for (char c : v) l.push_back(Lower(static_cast<unsigned char>(c)));
  return l;
}

bool StartsWithCi(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (Lower(static_cast<unsigned char>(s[i])) != Lower(static_cast<unsigned char>(p[i])))
      return false;
  return true;
}

bool EqCi(std::string_view a, std::string_view b) {
  return a.size() == b.size() && StartsWithCi(a, b);
}

template <size_t N>
bool InList(std::string_view lower, const std::string_view (&list)[N]) {
  for (auto s : list)
    if (lower == s) return true;
  return false;
}

// A set of lower-case words, looked up case-insensitively without
// allocating (binary search over a sorted copy made once).
class WordSet {
 public:
  template <size_t N>
  explicit WordSet(const std::string_view (&list)[N]) : words_(list, list + N) {
    std::sort(words_.begin(), words_.end());
    for (auto w : words_) longest_ = std::max(longest_, w.size());
  }
  bool Contains(std::string_view v) const {
    if (v.size() > longest_ || v.size() > sizeof(buf_t)) return false;
    buf_t buf;
    for (size_t i = 0; i < v.size(); ++i) buf[i] = Lower(static_cast<unsigned char>(v[i]));
    std::string_view l(buf, v.size());
    return std::binary_search(words_.begin(), words_.end(), l);
  }

 private:
  using buf_t = char[64];
  std::vector<std::string_view> words_;
  size_t longest_ = 0;
};

bool AllDigits(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return IsDigit(c); });
}

bool ProseWord(std::string_view v);

// --- values ----------------------------------------------------------------------
// Reads the value after a cue ending at `to`. Returns false if there is none.
// Quoted ('', "", ``) values are read to the closing quote; SQL N'..'/E'..'
// prefixes are skipped; a connection-string value in braces (Pwd={a;b}) is
// read inside the braces; otherwise the value runs to whitespace/quote/<>.
bool ReadValue(const ScanState& st, size_t to, bool stop_at_amp, size_t max_len, size_t* vb,
               size_t* ve) {
  size_t i = to;
  while (i < st.text.size() && i < to + 4 && (st.text[i] == ' ' || st.text[i] == '\t')) ++i;
  unsigned char q = At(st, i);
  if ((q == 'N' || q == 'E' || q == 'n' || q == 'e') && At(st, i + 1) == '\'' &&
      !IsWordByte(Before(st, i))) {
    ++i;
    q = '\'';
  }
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
  if (q == '{' && At(st, i + 1) != '{' && (Before(st, i) == '=')) {
    // ODBC: PWD={p@ss;word};
    size_t lim = std::min(st.text.size(), i + 1 + max_len + 1);
    size_t e = i + 1;
    while (e < lim && st.text[e] != '}' && st.text[e] != '\n') ++e;
    unsigned char after = At(st, e + 1);
    if (e < lim && st.text[e] == '}' && (after == ';' || after == 0 || IsSpace(after) ||
                                         after == '"' || after == '\'')) {
      *vb = i + 1;
      *ve = e;
      return e > i + 1;
    }
  }
  size_t b = i;
  size_t lim = std::min(st.text.size(), b + max_len + 1);
  size_t e = b;
  while (e < lim) {
    unsigned char c = st.text[e];
    if (IsSpace(c) || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>') break;
    if (stop_at_amp && c == '&') break;
    // Option lists: "username=bob,password=x,uid=1000" (mount -o, nmap
    // --script-args) end the value at ',' before the next key=.
    if (c == ',') {
      size_t k = e + 1, w = k;
      while (w < lim && w < k + 32 && (IsAlnum(st.text[w]) || st.text[w] == '_' ||
                                       st.text[w] == '.' || st.text[w] == '-'))
        ++w;
      if (w > k && IsAlpha(At(st, k)) && At(st, w) == '=') break;
    }
    // Connection strings: "Password=x;Server=y" ends the value at ';'.
    if (c == ';') {
      size_t k = e + 1;
      while (k < lim && st.text[k] == ' ') ++k;
      size_t w = k;
      while (w < lim && w < k + 40 &&
             (IsAlnum(st.text[w]) || st.text[w] == ' ' || st.text[w] == '_' || st.text[w] == '.'))
        ++w;
      if (k >= st.text.size() || IsSpace(At(st, k)) ||
          (w > k && IsAlpha(At(st, k)) && At(st, w) == '='))
        break;
    }
    ++e;
  }
  // Sentence punctuation right after the value is not part of it (a ')'
  // closing a '(' of the value is).
  bool paren = st.text.substr(b, e - b).find('(') != std::string_view::npos;
  while (e > b + 4 && (st.text[e - 1] == '.' || st.text[e - 1] == ',' || st.text[e - 1] == ';' ||
                       (st.text[e - 1] == ')' && !paren)))
    --e;
  // CJK full stop / comma.
  while (e >= b + 3 + 4 && static_cast<unsigned char>(st.text[e - 3]) == 0xE3 &&
         static_cast<unsigned char>(st.text[e - 2]) == 0x80 &&
         (static_cast<unsigned char>(st.text[e - 1]) == 0x82 ||
          static_cast<unsigned char>(st.text[e - 1]) == 0x81))
    e -= 3;
  *vb = b;
  *ve = e;
  return e > b;
}

bool PasswordStopword(std::string_view v) {
  static constexpr std::string_view kStop[] = {
      // Words that follow a password cue in prose and forms, not values.
      "required", "optional", "none", "null", "nil", "empty", "hidden", "incorrect", "invalid",
      "expired", "changed", "protected", "reset", "manager", "policy", "strength", "field",
      "here", "below", "above", "missing", "wrong", "forgotten", "forgot", "undefined",
      "redacted", "example", "true", "false", "string", "password", "secret", "token", "value",
      "your", "the", "and", "for", "with", "was", "is", "not", "has", "n/a", "enter", "function",
      // Placeholders people paste from documentation.
      "passwd", "pass", "pwd", "passphrase", "changeme", "changeit", "change_me", "change-me",
      "yourpassword", "your_password", "your-password", "mypassword", "my_password",
      "my-password", "newpassword", "new_password", "oldpassword", "old_password",
      "placeholder", "masked", "secret_here", "password_here", "passw0rd_here", "xxxxxx",
      "redacted]", "hunter2_example", "s3cr3t_example", "dummy", "sample", "todo", "tbd",
      "unset", "default", "<none>", "(none)", "***", "prompt", "stdin", "ask",
      "vergessen", "oublié", "olvidada", "olvidé", "dimenticata", "esqueci", "vergeten",
      "falsch", "incorrecte", "incorrecta", "errata", "incorreta", "ändern", "zurücksetzen",
      "eingeben", "saisir", "introducir", "inserisci", "digite", "invoeren",
      // Where a password is kept, not the password.
      "1password", "keepass", "keepassxc", "bitwarden", "lastpass", "dashlane", "vault",
      "keychain", "keyring",
      // nsswitch.conf: "passwd: files systemd".
      "files", "compat", "sss", "nis", "nisplus", "systemd",
  };
  static const WordSet kSet(kStop);
  return kSet.Contains(v);
}

// Placeholders: documentation words ("yourpassword", "YOUR_DB_PASSWORD",
// "password-here") and masked values ("****", "•••", "xxxx", "....").
bool IsPlaceholder(std::string_view v) {
  if (v.empty()) return true;
  if (PasswordStopword(v)) return true;
  if (v.find("***") != std::string_view::npos || v.find("\xe2\x80\xa2\xe2\x80\xa2") != v.npos ||
      v.find("\xe2\x97\x8f\xe2\x97\x8f") != v.npos || v.find("\xe2\x80\xa6") != v.npos ||
      v.find("\xc2\xb7\xc2\xb7") != v.npos)
    return true;  // masked
  bool mask_only = v.size() >= 3;
  for (unsigned char c : v)
    if (!(c == '*' || c == 'x' || c == 'X' || c == '.' || c == '#' || c == '-' || c == '_' ||
          c == '?'))
      mask_only = false;
  if (mask_only) return true;
  bool word_only = true;
  for (unsigned char c : v)
    if (!(IsAlpha(c) || c == '_' || c == '-' || c == '.')) word_only = false;
  if (word_only) {
    std::string l = LowerStr(v);
    for (std::string_view w : {"password", "passwort", "placeholder", "your", "changeme"})
      if (l.find(w) != std::string::npos) return true;
    if (l.size() > 5 && (l.ends_with("_here") || l.ends_with("-here"))) return true;
  }
  return false;
}

// %VAR% (cmd.exe): an identifier without digits, or an upper-case one.
bool IsPercentVar(std::string_view v) {
  if (v.size() < 3 || v.front() != '%' || v.back() != '%') return false;
  bool digit = false, lower = false;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    unsigned char c = v[i];
    if (!(IsAlnum(c) || c == '_')) return false;
    digit |= IsDigit(c);
    lower |= IsLower(c);
  }
  return !digit || !lower;
}

// A value that starts with a call or subscript: getpass.getpass(, input(),
// os.environ[, $_POST[, get_pw(user). The bracket must end the value or close
// at its end ("x3nk(pMj", "Hcaq(F(!B6)e3" are passwords).
bool StartsWithCall(std::string_view v) {
  if (!v.empty() && (v[0] == '$' || v[0] == '@')) v.remove_prefix(1);
  if (v.empty() || !(IsAlpha(v[0]) || v[0] == '_')) return false;
  for (size_t i = 1; i < v.size(); ++i) {
    unsigned char c = v[i];
    if (c == '(' || c == '[') {
      std::string_view rest = v.substr(i + 1);
      while (!rest.empty() && (rest.back() == ';' || rest.back() == ',')) rest.remove_suffix(1);
      return rest.empty() || rest.back() == (c == '(' ? ')' : ']') || rest[0] == '\'' ||
             rest[0] == '"';
    }
    if (c == '-' && i + 1 < v.size() && v[i + 1] == '>') return true;  // $obj->pw
    if (!(IsAlnum(c) || c == '_' || c == '.')) return false;
  }
  return false;
}

bool LooksLikeCode(std::string_view v) {
  unsigned char c0 = v[0];
  if (c0 == '{' || c0 == '<' || c0 == '[') return true;
  if (c0 == '(' && v.back() == ')') return true;
  if (c0 == '$') {
    // $VAR, ${VAR}, $(cmd), $var: references, not values.
    if (v.size() == 1 || v[1] == '{' || v[1] == '(') return true;
    bool upper = true, lower = true;
    for (size_t i = 1; i < v.size(); ++i) {
      unsigned char c = v[i];
      if (!(IsUpper(c) || IsDigit(c) || c == '_')) upper = false;
      if (!(IsLower(c) || c == '_')) lower = false;
    }
    if (upper || lower) return true;
  }
  if (c0 == '%' && v.size() > 1 && (v[1] == 's' || v[1] == 'd' || v[1] == '(') && v.size() <= 3)
    return true;
  if (IsPercentVar(v)) return true;  // %VAR% (cmd.exe)
  if ((c0 == ':' || c0 == '@' || c0 == '!') && v.size() > 1 && IsAlpha(v[1])) {
    // SQL bind parameters (:password, @Password) and YAML tags (!vault,
    // !secret): letters only.
    bool ident = true;
    for (size_t i = 1; i < v.size(); ++i)
      if (!(IsAlpha(v[i]) || v[i] == '_')) ident = false;
    if (ident) return true;
  }
  if (StartsWithCall(v)) return true;
  if (v.find("{{") != std::string_view::npos || v.find("${") != std::string_view::npos ||
      v.find("$(") != std::string_view::npos)
    return true;
  // Dotted or underscored identifiers without digits: config.password, self.pw.
  bool has_digit = false, ident_only = true, has_dot = false;
  for (unsigned char c : v) {
    has_digit |= IsDigit(c);
    if (!(IsAlpha(c) || c == '_' || c == '.')) ident_only = false;
    has_dot |= (c == '.' || c == '_');
  }
  return ident_only && has_dot && !has_digit;
}

// Code in a value that was quoted: only templates and references ("{{ x }}",
// "${X}", "$(cmd)", "%(x)s"); a quoted literal with '(' is a password.
bool QuotedLooksLikeCode(std::string_view v) {
  if (v.find("{{") != std::string_view::npos || v.find("${") != std::string_view::npos ||
      v.find("%(") != std::string_view::npos || v.starts_with("$("))
    return true;
  unsigned char c0 = v[0];
  if (c0 == '$' || c0 == '%' || c0 == '<' || c0 == '{' || c0 == '[' || c0 == '!' || c0 == ':' ||
      c0 == '@')
    return LooksLikeCode(v) && (v.find('(') == std::string_view::npos || c0 == '$');
  return false;
}

// Code-like values in chat: references, templates, and calls f(x) / a[b].
bool NaturalLooksLikeCode(std::string_view v) {
  if (QuotedLooksLikeCode(v)) return true;
  size_t open = v.find_first_of("([");
  if (open != std::string_view::npos && open > 0) {
    size_t close = v.find(v[open] == '(' ? ')' : ']', open);
    bool ident = true;
    for (size_t i = 0; i < open; ++i)
      if (!(IsAlnum(v[i]) || v[i] == '_' || v[i] == '.')) ident = false;
    if (ident && close == v.size() - 1) return true;  // getpass(), env["X"]
  }
  bool has_digit = false, ident_only = true, has_dot = false;
  for (unsigned char c : v) {
    has_digit |= IsDigit(c);
    if (!(IsAlpha(c) || c == '_' || c == '.')) ident_only = false;
    has_dot |= (c == '.' || c == '_');
  }
  return ident_only && has_dot && !has_digit;
}

// References in an explicit credential position (a flag's argument, a URL's
// password): $VAR, ${VAR}, $(cmd), %VAR%, {{ var }}, <password>, [..].
bool IsReference(std::string_view v) {
  if (v.empty()) return true;
  unsigned char c0 = v[0];
  if (c0 == '$') {
    if (v.size() == 1 || v[1] == '{' || v[1] == '(') return true;
    bool upper = true, lower = true;
    for (size_t i = 1; i < v.size(); ++i) {
      unsigned char c = v[i];
      if (!(IsUpper(c) || IsDigit(c) || c == '_')) upper = false;
      if (!(IsLower(c) || c == '_')) lower = false;
    }
    if (upper || lower) return true;
  }
  if (c0 == '%' && (v.size() <= 3 || IsPercentVar(v))) return true;
  if (c0 == '<' && v.back() == '>') return true;
  if (c0 == '{' || c0 == '[' || c0 == '`') return true;
  if (v.find("{{") != std::string_view::npos || v.find("${") != std::string_view::npos)
    return true;
  return false;
}

bool AllSame(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [&](char c) { return c == v[0]; });
}

// A value in an explicit credential position (flag argument, URL password,
// SQL literal): anything but references, placeholders and masks.
bool ExplicitValueOk(std::string_view v, size_t min_len = 3) {
  if (v.size() < min_len || v.size() > kMaxValue) return false;
  if (IsReference(v) || IsPlaceholder(v)) return false;
  return true;
}

// --- generic secrets (shared with the password rule) ---------------------------
bool SecretValueByte(unsigned char c) {
  return IsAlnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == '+' || c == '=' ||
         c == '~' || c == ':';
}

bool GenericSecretValue(const ScanState& st, size_t to, size_t* vb, size_t* ve) {
  size_t i = to;
  while (i < st.text.size() && i < to + 4 &&
         (st.text[i] == ' ' || st.text[i] == '"' || st.text[i] == '\'' || st.text[i] == '\t' ||
          (i == to && (st.text[i] == '=' || st.text[i] == ':'))))
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
  *vb = i;
  *ve = e;
  return true;
}

bool ValidateGenericSecret(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  size_t vb, ve;
  if (!GenericSecretValue(st, to, &vb, &ve)) return false;
  *out = {Kind::kGenericSecret, vb, ve};
  return true;
}

// --- passwords after cue words -------------------------------------------------
enum class Cue {
  kPassword,  // password, passwd, passwort, kennwort, passphrase, ...
  kPass,
  kPwd,
  kPw,
  kPasscode,
  kSecret,
  kToken,
  kPsk,
  kOther,  // multi-word and non-ASCII cues
};

Cue IdentifyCue(const ScanState& st, size_t from, size_t* len) {
  std::string_view s = st.text.substr(from, 12);
  struct C {
    std::string_view w;
    Cue c;
  };
  static constexpr C kCues[] = {
      {"passphrase", Cue::kPassword}, {"passcode", Cue::kPasscode}, {"password", Cue::kPassword},
      {"passwort", Cue::kPassword},   {"passwd", Cue::kPassword},   {"kennwort", Cue::kPassword},
      {"pass", Cue::kPass},           {"pwd", Cue::kPwd},           {"pw", Cue::kPw},
      {"secret", Cue::kSecret},       {"token", Cue::kToken},       {"psk", Cue::kPsk},
  };
  for (const C& c : kCues) {
    if (StartsWithCi(s, c.w)) {
      *len = c.w.size();
      return c.c;
    }
  }
  *len = 0;
  return Cue::kOther;
}

// Whether a cue starting at `from` is a word or a word inside an identifier
// (db_password, PGPASSWORD, dbPassword, rootpass) and not the tail of an
// unrelated word (bypass, compass, spin).
bool CueBoundaryOk(const ScanState& st, size_t from, Cue cue) {
  unsigned char p = Before(st, from);
  if (!IsAlnum(p)) {
    if (p == '_' || p == '-' || p == '.') return cue != Cue::kToken;  // *_TOKEN: generic rule
    return true;
  }
  if (cue == Cue::kOther || cue == Cue::kToken || cue == Cue::kPsk || cue == Cue::kPasscode)
    return false;
  unsigned char c0 = At(st, from), c1 = At(st, from + 1);
  // camelCase: dbPassword, userPwd, adminPass, clientSecret.
  if ((IsLower(p) || IsDigit(p)) && IsUpper(c0) && IsLower(c1)) return true;
  if (cue == Cue::kPassword || cue == Cue::kSecret) return true;  // PGPASSWORD, dbpassword
  if (cue == Cue::kPwd) return IsUpper(c0) == IsUpper(p);        // MYSQLPWD, oldpwd
  if (cue == Cue::kPass) {
    // Glued "pass" only after a known prefix (DBPASS, rootpass, smtppass,
    // keypass); never bypass, compass, surpass.
    size_t b = from;
    while (b > 0 && from - b < 12 && IsAlnum(Before(st, b))) --b;
    if (IsAlnum(Before(st, b))) return false;
    std::string pre = LowerStr(st.text.substr(b, from - b));
    static constexpr std::string_view kPre[] = {
        "db",   "root", "admin", "smtp",  "mysql", "pg",    "user", "sql",  "ftp",   "mail",
        "ldap", "redis", "wifi", "vnc",   "sudo",  "my",    "mongo", "amqp", "proxy", "http",
        "imap", "pop",  "bind",  "sa",    "sys",   "ssh",   "key",   "store", "master", "app",
        "web",  "login", "auth", "bitbucket", "git", "svn", "rabbit", "es",   "kc",    "nexus",
    };
    return InList(pre, kPre);
  }
  return false;
}

bool PathLike(std::string_view v) {
  return !v.empty() && (v[0] == '/' || v == "~" || v.starts_with("~/") ||
                        (v[0] == '~' && v.find('/') != std::string_view::npos) ||
                        v.starts_with("./") || v.starts_with("../") ||
                        (v.size() > 2 && IsAlpha(v[0]) && v[1] == ':' && v[2] == '\\'));
}

bool ValidatePasswordImpl(ScanState& st, size_t from, size_t to, bool strict, Finding* out) {
  size_t cue_len = 0;
  Cue cue = IdentifyCue(st, from, &cue_len);
  if (!CueBoundaryOk(st, from, cue)) return false;
  // A file path: /etc/passwd:root:x:0:0, ~/.pgpass: (not cmdkey's " /pass:").
  if (Before(st, from) == '/' && (IsAlnum(Before(st, from - 1)) || Before(st, from - 1) == '.'))
    return false;
  // Query strings: ?password=x&next=..., &db_pass=x&...
  size_t ident = from;
  while (ident > 0 && from - ident < 40 &&
         (IsAlnum(Before(st, ident)) || Before(st, ident) == '_' || Before(st, ident) == '.' ||
          Before(st, ident) == '-'))
    --ident;
  bool amp = Before(st, ident) == '?' || Before(st, ident) == '&';
  if (At(st, to) == '=' && Before(st, to) == ':') ++to;  // Go: password := "x"
  size_t vb, ve;
  if (!ReadValue(st, to, amp, 128, &vb, &ve)) return false;
  bool quoted = vb > 0 && (st.text[vb - 1] == '"' || st.text[vb - 1] == '\'' ||
                           st.text[vb - 1] == '`') && vb > to;
  std::string_view v = st.text.substr(vb, ve - vb);
  if (v.size() < 4 || v.size() > 128) return false;
  if (AllSame(v) || IsPlaceholder(v)) return false;
  if (quoted ? QuotedLooksLikeCode(v) : LooksLikeCode(v)) return false;
  if (v[0] == '-' && std::all_of(v.begin(), v.end(), [](char c) { return IsAlpha(c) || c == '-'; }))
    return false;  // a flag: --stdin, -l
  if (strict && v.find("://") != std::string_view::npos) return false;  // a URL
  if (ShannonEntropy(v) < 1.5) return false;
  if ((cue == Cue::kPwd || cue == Cue::kPass) && PathLike(v)) return false;  // PWD=/home/me
  if (cue == Cue::kPwd && std::all_of(v.begin(), v.end(), [](char c) { return IsLower(c); }))
    return false;  // "pwd: command not found"
  if (!quoted) {
    // "Password: 8-64 characters": a range of lengths.
    size_t dash = v.find('-');
    if (dash != std::string_view::npos && dash > 0 && dash + 1 < v.size() && v.size() <= 7 &&
        AllDigits(v.substr(0, dash)) && AllDigits(v.substr(dash + 1)))
      return false;
    // "password: check your email", "password: same as last time": a
    // lower-case word followed by more words is prose.
    if (std::all_of(v.begin(), v.end(), [](char c) { return IsLower(c); })) {
      if (ProseWord(v)) return false;
      size_t k = ve;
      while (k < st.text.size() && k < ve + 3 && st.text[k] == ' ') ++k;
      if (k > ve && IsLower(At(st, k))) return false;
    }
  }
  if (cue == Cue::kPass && IsUpper(At(st, from)) && IsUpper(At(st, from + 3))) {
    // Test output: "--- PASS: TestLogin (0.00s)", "PASS: 15 tests".
    if (StartsWithCi(v, "test")) return false;
    strict = true;
  }
  if (cue == Cue::kPasscode && AllDigits(v) && v.size() <= 8) return false;  // the PIN rule's
  if ((cue == Cue::kSecret || cue == Cue::kToken)) {
    // The generic-secret rule's when it covers the whole value (one kind).
    size_t gb, ge;
    if (GenericSecretValue(st, to, &gb, &ge) && gb <= vb && ge >= ve) return false;
  }
  // "password: SecretStr = ..." is a type annotation, not a value.
  bool colon = false;
  for (size_t k = from + cue_len; k < to; ++k) colon |= st.text[k] == ':';
  if (colon && vb > 0 && st.text[vb - 1] != '"' && st.text[vb - 1] != '\'') {
    // Type annotations: "password: SecretStr = ...", "f(password: str, ...)".
    std::string_view t = v;
    bool list = false;
    while (!t.empty() && (t.back() == ',' || t.back() == ')' || t.back() == ':')) {
      t.remove_suffix(1);
      list = true;
    }
    size_t k = ve;
    while (k < st.text.size() && k < ve + 3 && st.text[k] == ' ') ++k;
    list |= (At(st, k) == '=' && At(st, k + 1) != '=') || At(st, k) == ',' || At(st, k) == ')';
    bool type_name = !t.empty() && IsAlpha(t[0]) && std::all_of(t.begin(), t.end(), [](char c) {
      return IsAlpha(c) || c == '_' || c == '.' || c == '|' || c == '[' || c == ']';
    });
    if (list && type_name) return false;
  }
  if (strict) {
    // "Passwort vergessen?", "is the password correct?": sentence
    // punctuation does not make a word strong.
    std::string_view w = v;
    while (!quoted && w.size() > 1 &&
           (w.back() == '?' || w.back() == ':' || w.back() == ',' || w.back() == '.'))
      w.remove_suffix(1);
    if (ProseWord(w) || PasswordStopword(w)) return false;
    bool letter = false, other = false;
    for (unsigned char c : w) {
      letter |= IsAlpha(c) || c >= 0x80;
      other |= IsDigit(c) || (!IsAlpha(c) && c < 0x80);
    }
    if (w.size() < 6 || !letter || !other) return false;
  }
  *out = {Kind::kPassword, vb, ve};
  return true;
}

bool ValidatePassword(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  return ValidatePasswordImpl(st, from, to, false, out);
}

// --- shell words and command owners --------------------------------------------
struct Word {
  size_t tb = 0, te = 0;  // the word as typed (with quotes)
  size_t vb = 0, ve = 0;  // its value (quotes removed)
  bool quoted = false;
};

bool IsShellStop(unsigned char c) {
  return c == '\n' || c == '\r' || c == '|' || c == ';' || c == '&' || c == '<' || c == '>';
}

// Reads the shell word at or after `pos` (blanks skipped, not newlines).
bool ReadWord(const ScanState& st, size_t pos, Word* w, size_t max = kMaxValue + 2) {
  size_t n = st.text.size();
  size_t i = pos;
  while (i < n && (st.text[i] == ' ' || st.text[i] == '\t')) ++i;
  if (i >= n || IsShellStop(st.text[i])) return false;
  unsigned char q = st.text[i];
  if (q == '"' || q == '\'') {
    size_t lim = std::min(n, i + 1 + max);
    size_t e = i + 1;
    while (e < lim && static_cast<unsigned char>(st.text[e]) != q && st.text[e] != '\n') ++e;
    if (e < n && static_cast<unsigned char>(st.text[e]) == q) {
      *w = {i, e + 1, i + 1, e, true};
      return true;
    }
  }
  size_t lim = std::min(n, i + max);
  size_t e = i;
  while (e < lim && !IsSpace(st.text[e]) && !IsShellStop(st.text[e])) {
    unsigned char c = st.text[e];
    if (c == '"' || c == '\'') {
      // user:'p&ss' - a quoted part inside the word.
      size_t k = e + 1;
      while (k < lim && static_cast<unsigned char>(st.text[k]) != c && st.text[k] != '\n') ++k;
      if (k < lim && static_cast<unsigned char>(st.text[k]) == c) {
        e = k + 1;
        continue;
      }
    }
    ++e;
  }
  if (e == i) return false;
  *w = {i, e, i, e, false};
  return true;
}

// Start of the shell command segment containing `pos`: after the last
// newline, or '|', ';', '&', '`', '(' outside quotes, at most kBackWindow back.
size_t SegmentStart(const ScanState& st, size_t pos) {
  size_t b = pos > kBackWindow ? pos - kBackWindow : 0;
  for (size_t i = pos; i > b; --i) {
    if (st.text[i - 1] == '\n') {
      b = i;
      break;
    }
  }
  size_t seg = b;
  unsigned char q = 0;
  for (size_t i = b; i < pos; ++i) {
    unsigned char c = st.text[i];
    if (q) {
      if (c == q) q = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      q = c;
    } else if (c == '|' || c == ';' || c == '&' || c == '`' || c == '(' || c == '\r') {
      seg = i + 1;
    }
  }
  return seg;
}

// A command word as written (quotes, path and .exe/.py removed, lower case).
std::string CommandName(std::string_view w) {
  while (!w.empty() && (w.front() == '"' || w.front() == '\'' || w.front() == '(')) w.remove_prefix(1);
  while (!w.empty() && (w.back() == '"' || w.back() == '\'' || w.back() == ')' || w.back() == ';'))
    w.remove_suffix(1);
  size_t slash = w.find_last_of("/\\");
  if (slash != std::string_view::npos) w.remove_prefix(slash + 1);
  std::string l = LowerStr(w);
  for (std::string_view ext : {".exe", ".py"})
    if (l.size() > ext.size() && l.ends_with(ext)) l.resize(l.size() - ext.size());
  return l;
}

enum class Fam : uint8_t {
  kNone,
  kMysql,       // -pX attached only; --password X is a database name
  kAttached,    // -pX attached only (7z, rar)
  kBoth,        // -p X and -pX
  kSpaced,      // -p X
  kUserPass,    // -u user:pass (curl), -U user%pass (smbclient), -u user,pass (lftp)
  kLogin,       // docker/podman/... login: -p X, -pX
  kStop,        // a known command without a password flag
};

struct Owner {
  std::string_view name;
  Fam fam;
  std::string_view flags;  // the short flags that take the password
  char sep = 0;            // kUserPass: user<sep>pass
};

constexpr Owner kOwners[] = {
    {"mysql", Fam::kMysql, "p"},         {"mysqldump", Fam::kMysql, "p"},
    {"mysqladmin", Fam::kMysql, "p"},    {"mysqlimport", Fam::kMysql, "p"},
    {"mysqlcheck", Fam::kMysql, "p"},    {"mysqlshow", Fam::kMysql, "p"},
    {"mysqlpump", Fam::kMysql, "p"},     {"mysqlbinlog", Fam::kMysql, "p"},
    {"mysqlslap", Fam::kMysql, "p"},     {"mysqlsh", Fam::kMysql, "p"},
    {"mariadb", Fam::kMysql, "p"},       {"mariadb-dump", Fam::kMysql, "p"},
    {"mariadb-admin", Fam::kMysql, "p"}, {"mariadb-import", Fam::kMysql, "p"},
    {"mycli", Fam::kMysql, "p"},         {"mydumper", Fam::kMysql, "p"},
    {"myloader", Fam::kMysql, "p"},      {"mysql_upgrade", Fam::kMysql, "p"},
    {"sshpass", Fam::kBoth, "p"},        {"7z", Fam::kAttached, "p"},
    {"7za", Fam::kAttached, "p"},        {"7zr", Fam::kAttached, "p"},
    {"rar", Fam::kAttached, "p"},        {"unrar", Fam::kAttached, "p"},
    {"zip", Fam::kSpaced, "P"},          {"unzip", Fam::kBoth, "P"},
    {"zipcloak", Fam::kSpaced, "P"},     {"sqlcmd", Fam::kBoth, "P"},
    {"bcp", Fam::kBoth, "P"},            {"osql", Fam::kBoth, "P"},
    {"isql", Fam::kBoth, "P"},           {"redis-cli", Fam::kBoth, "a"},
    {"keydb-cli", Fam::kBoth, "a"},      {"valkey-cli", Fam::kBoth, "a"},
    {"mongo", Fam::kSpaced, "p"},        {"mongosh", Fam::kSpaced, "p"},
    {"mongodump", Fam::kSpaced, "p"},    {"mongorestore", Fam::kSpaced, "p"},
    {"mongoexport", Fam::kSpaced, "p"},  {"mongoimport", Fam::kSpaced, "p"},
    {"mongostat", Fam::kSpaced, "p"},    {"mongotop", Fam::kSpaced, "p"},
    {"ldapsearch", Fam::kBoth, "w"},     {"ldapadd", Fam::kBoth, "w"},
    {"ldapmodify", Fam::kBoth, "w"},     {"ldapdelete", Fam::kBoth, "w"},
    {"ldapwhoami", Fam::kBoth, "w"},     {"ldappasswd", Fam::kBoth, "w"},
    {"ldapcompare", Fam::kBoth, "w"},    {"ldapmodrdn", Fam::kBoth, "w"},
    {"ldapexop", Fam::kBoth, "w"},       {"mosquitto_pub", Fam::kSpaced, "P"},
    {"mosquitto_sub", Fam::kSpaced, "P"}, {"mosquitto_rr", Fam::kSpaced, "P"},
    {"smbmap", Fam::kSpaced, "p"},       {"crackmapexec", Fam::kSpaced, "p"},
    {"cme", Fam::kSpaced, "p"},          {"nxc", Fam::kSpaced, "p"},
    {"netexec", Fam::kSpaced, "p"},      {"evil-winrm", Fam::kSpaced, "p"},
    {"rdesktop", Fam::kSpaced, "p"},     {"psexec", Fam::kSpaced, "p"},
    {"paexec", Fam::kSpaced, "p"},       {"plink", Fam::kSpaced, ""},
    {"useradd", Fam::kSpaced, "p"},      {"usermod", Fam::kSpaced, "p"},
    {"ipmitool", Fam::kSpaced, "P"},     {"az", Fam::kSpaced, "p"},
    {"curl", Fam::kUserPass, "uU", ':'},     {"http", Fam::kUserPass, "a", ':'},
    {"https", Fam::kUserPass, "a", ':'},     {"xh", Fam::kUserPass, "a", ':'},
    {"smbclient", Fam::kUserPass, "U", '%'}, {"rpcclient", Fam::kUserPass, "U", '%'},
    {"smbget", Fam::kUserPass, "U", '%'},  {"smbcacls", Fam::kUserPass, "U", '%'},
    {"smbtree", Fam::kUserPass, "U", '%'}, {"smbcquotas", Fam::kUserPass, "U", '%'},
    {"lftp", Fam::kUserPass, "u", ','},  {"ncftp", Fam::kSpaced, "p"},
    {"ncftpget", Fam::kSpaced, "p"},     {"ncftpput", Fam::kSpaced, "p"},
    {"ssh-keygen", Fam::kSpaced, "NP"},  {"openssl", Fam::kSpaced, "k"},
    {"hydra", Fam::kSpaced, "p"},        {"medusa", Fam::kSpaced, "p"},
    {"smbpasswd", Fam::kStop, ""},       {"ftp", Fam::kStop, ""},
    // Known commands whose short flags are not passwords.
    {"ssh", Fam::kStop, ""},    {"scp", Fam::kStop, ""},     {"sftp", Fam::kStop, ""},
    {"rsync", Fam::kStop, ""},  {"nc", Fam::kStop, ""},      {"ncat", Fam::kStop, ""},
    {"netcat", Fam::kStop, ""}, {"socat", Fam::kStop, ""},   {"git", Fam::kStop, ""},
    {"ps", Fam::kStop, ""},     {"kill", Fam::kStop, ""},    {"pkill", Fam::kStop, ""},
    {"pgrep", Fam::kStop, ""},  {"mkdir", Fam::kStop, ""},   {"cp", Fam::kStop, ""},
    {"mv", Fam::kStop, ""},     {"install", Fam::kStop, ""}, {"read", Fam::kStop, ""},
    {"python", Fam::kStop, ""}, {"python3", Fam::kStop, ""}, {"node", Fam::kStop, ""},
    {"docker", Fam::kStop, ""}, {"podman", Fam::kStop, ""},  {"kubectl", Fam::kStop, ""},
    {"grep", Fam::kStop, ""},   {"sort", Fam::kStop, ""},    {"xargs", Fam::kStop, ""},
    {"tar", Fam::kStop, ""},    {"ls", Fam::kStop, ""},      {"ping", Fam::kStop, ""},
    {"nmap", Fam::kStop, ""},   {"sudo", Fam::kStop, ""},    {"su", Fam::kStop, ""},
    {"login", Fam::kLogin, "p"}, {"wget", Fam::kStop, ""},   {"psql", Fam::kStop, ""},
    {"pg_dump", Fam::kStop, ""}, {"iperf", Fam::kStop, ""},  {"iperf3", Fam::kStop, ""},
    {"perl", Fam::kStop, ""},   {"ruby", Fam::kStop, ""},    {"java", Fam::kStop, ""},
    {"make", Fam::kStop, ""},   {"patch", Fam::kStop, ""},   {"diff", Fam::kStop, ""},
    {"top", Fam::kStop, ""},    {"lsof", Fam::kStop, ""},    {"strace", Fam::kStop, ""},
    {"sed", Fam::kStop, ""},    {"awk", Fam::kStop, ""},     {"cut", Fam::kStop, ""},
    {"env", Fam::kStop, ""},    {"chmod", Fam::kStop, ""},   {"chown", Fam::kStop, ""},
};

// Tools with a "login" subcommand taking -p/--password.
bool IsLoginTool(std::string_view name) {
  static constexpr std::string_view kTools[] = {
      "docker", "podman", "nerdctl", "buildah", "skopeo", "oras",  "crane",  "finch",
      "registry", "acr",  "az",      "oc",      "cf",     "regctl", "cosign", "notation",
      "apptainer", "singularity", "remote", "argocd", "helm",
  };
  return InList(name, kTools);
}

const Owner* FindOwnerByName(std::string_view name) {
  for (const Owner& o : kOwners)
    if (o.name == name) return &o;
  return nullptr;
}

// The command owning the flag at `pos`: the nearest known command word before
// it in the same shell segment, or nullptr.
const Owner* FindOwner(const ScanState& st, size_t pos) {
  size_t seg = SegmentStart(st, pos);
  size_t i = pos;
  int words = 0;
  while (i > seg && words < 24) {
    while (i > seg && IsSpace(st.text[i - 1])) --i;
    size_t e = i;
    while (i > seg && !IsSpace(st.text[i - 1])) --i;
    if (e == i) break;
    ++words;
    std::string_view raw = st.text.substr(i, e - i);
    if (raw.empty() || raw[0] == '-') continue;
    std::string name = CommandName(raw);
    if (name.empty()) continue;
    const Owner* o = FindOwnerByName(name);
    if (!o) {
      // mysql-family and tool names with version suffixes: mysql8, mariadb-10.
      continue;
    }
    if (o->fam == Fam::kLogin) {
      // "docker login": the word before login must be a login tool.
      size_t j = i;
      while (j > seg && IsSpace(st.text[j - 1])) --j;
      size_t pe = j;
      while (j > seg && !IsSpace(st.text[j - 1])) --j;
      if (pe > j && IsLoginTool(CommandName(st.text.substr(j, pe - j)))) return o;
      return nullptr;
    }
    return o;
  }
  return nullptr;
}

bool IsMysqlOwner(const Owner* o) { return o && o->fam == Fam::kMysql; }

bool Emit(Finding* out, size_t b, size_t e, Kind k = Kind::kPassword) {
  if (e <= b) return false;
  *out = {k, b, e};
  return true;
}

// Password after "user:pass" / "user%pass" in the word [vb, ve).
bool UserPassTail(const ScanState& st, size_t vb, size_t ve, char sep, Finding* out) {
  std::string_view v = st.text.substr(vb, ve - vb);
  size_t s = v.find(sep);
  if (s == std::string_view::npos || s + 1 >= v.size()) return false;
  std::string_view user = v.substr(0, s), pass = v.substr(s + 1);
  size_t pb = vb + s + 1;
  if (pass.size() >= 2 && (pass.front() == '\'' || pass.front() == '"') &&
      pass.back() == pass.front()) {
    pass = pass.substr(1, pass.size() - 2);
    ++pb;
    --ve;
  }
  if (AllDigits(user) && AllDigits(pass)) return false;  // uid:gid
  if (IsReference(user) && IsReference(pass)) return false;
  if (!ExplicitValueOk(pass, 1) || (pass.size() < 3 && !IsDigit(pass[0]))) return false;
  return Emit(out, pb, ve);
}

// " -p", " -P", " -a", " -w", " -u", " -U", " -N", " -k" (to is just after the
// flag letter).
// A flag starts a word: at the start, after a blank, a quote or '('.
bool FlagStart(const ScanState& st, size_t dash) {
  unsigned char p = Before(st, dash);
  return p == 0 || IsSpace(p) || p == '"' || p == '\'' || p == '(';
}

bool ValidateShortFlag(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  if (to < 2 || !FlagStart(st, to - 2)) return false;
  char flag = st.text[to - 1];
  const Owner* o = FindOwner(st, to - 2);
  if (!o || o->fam == Fam::kStop || o->flags.find(flag) == std::string_view::npos) return false;
  bool attached = to < st.text.size() && !IsSpace(st.text[to]);
  if (attached && (IsAlpha(flag) && st.text[to] == '-')) return false;  // -p-... / -u-x
  switch (o->fam) {
    case Fam::kMysql:
    case Fam::kAttached:
      if (!attached) return false;
      break;
    case Fam::kSpaced:
      if (attached) return false;
      break;
    case Fam::kUserPass: {
      Word w;
      if (!ReadWord(st, to, &w)) return false;
      size_t vb = w.vb;
      if (!w.quoted && At(st, vb) == '=') ++vb;
      return UserPassTail(st, vb, w.ve, o->sep, out);
    }
    default:
      break;
  }
  Word w;
  if (!ReadWord(st, to, &w)) return false;
  if (!attached && st.text[w.tb] == '-') return false;  // the next flag
  std::string_view v = st.text.substr(w.vb, w.ve - w.vb);
  if (!ExplicitValueOk(v)) return false;
  return Emit(out, w.vb, w.ve);
}

// "--user user:pass", "--user=user%pass", "--proxy-user u:p".
bool ValidateLongUser(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  const Owner* o = FindOwner(st, to);
  if (!o || o->fam != Fam::kUserPass) return false;
  Word w;
  if (!ReadWord(st, to, &w)) return false;
  return UserPassTail(st, w.vb, w.ve, o->sep, out);
}

// "--password X", "--db-password X", "-pw X" (plink), "-storepass X"
// (keytool), "-pass pass:X" (openssl). The "=" form is the cue rule's.
bool ValidateLongFlag(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (!FlagStart(st, from)) return false;
  Word w;
  if (!ReadWord(st, to, &w)) return false;
  // The next flag, a path, or a subexpression: -Password (ConvertTo-...).
  if (st.text[w.tb] == '-' || st.text[w.tb] == '/' || st.text[w.tb] == '(') return false;
  size_t vb = w.vb;
  std::string_view v = st.text.substr(vb, w.ve - vb);
  if (StartsWithCi(v, "pass:")) {
    vb += 5;
    v.remove_prefix(5);
  } else if (StartsWithCi(v, "env:") || StartsWithCi(v, "file:") || StartsWithCi(v, "fd:") ||
             EqCi(v, "stdin")) {
    return false;
  }
  if (!ExplicitValueOk(v)) return false;
  size_t flag = to;
  while (flag > 0 && IsSpace(Before(st, flag))) --flag;
  if (IsMysqlOwner(FindOwner(st, flag))) return false;  // mysql --password DB prompts
  return Emit(out, vb, w.ve);
}

// xfreerdp /p:X, /password:X.
bool ValidateSlashP(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  if (Before(st, from) != 0 && !IsSpace(Before(st, from))) return false;
  size_t seg = SegmentStart(st, to);
  std::string l = LowerStr(st.text.substr(seg, to - seg));
  if (l.find("freerdp") == std::string::npos && l.find("/u:") == std::string::npos &&
      l.find("wmic") == std::string::npos)
    return false;
  Word w;
  if (!ReadWord(st, to, &w) || w.tb != to) return false;
  if (!ExplicitValueOk(st.text.substr(w.vb, w.ve - w.vb))) return false;
  return Emit(out, w.vb, w.ve);
}

// Positional command lines: htpasswd, net use/user, openssl passwd, mkpasswd,
// sqlplus user/pass, ConvertTo-SecureString, AUTH, requirepass.
struct Words {
  Word w[12];
  size_t n = 0;
};

// Reads up to 12 shell words from `pos` to the end of the segment.
void ReadWords(const ScanState& st, size_t pos, Words* ws) {
  size_t lim = std::min(st.text.size(), pos + kFwdWindow);
  size_t i = pos;
  while (ws->n < 12 && i < lim) {
    Word w;
    if (!ReadWord(st, i, &w)) break;
    ws->w[ws->n++] = w;
    i = w.te;
  }
}

std::string_view WordText(const ScanState& st, const Word& w) {
  return st.text.substr(w.vb, w.ve - w.vb);
}

bool EmitWord(const ScanState& st, const Word& w, Finding* out, size_t min_len = 3) {
  if (!ExplicitValueOk(WordText(st, w), min_len)) return false;
  return Emit(out, w.vb, w.ve);
}

// htpasswd -b[cBmsdpD] [-C n] file user pass | htpasswd -nb user pass
bool ValidateHtpasswd(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  bool batch = false, no_file = false;
  size_t pos[3];
  size_t np = 0;
  for (size_t k = 0; k < ws.n && np < 3; ++k) {
    std::string_view t = st.text.substr(ws.w[k].tb, ws.w[k].te - ws.w[k].tb);
    if (t.size() > 1 && t[0] == '-' && !ws.w[k].quoted) {
      batch |= t.find('b') != std::string_view::npos;
      no_file |= t.find('n') != std::string_view::npos;
      if (t == "-C" || t == "-r") ++k;  // takes a number
      continue;
    }
    pos[np++] = k;
  }
  size_t want = no_file ? 2 : 3;
  if (!batch || np < want) return false;
  return EmitWord(st, ws.w[pos[want - 1]], out);
}

// net use [drive:] \\server\share [password|*] [/user:[dom\]name] [/...]
// net user name password [/add|/domain|...]
bool ValidateNet(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // "net" in command position: at the start of the segment or after a prompt
  // (C:\Users\me>, PS C:\>, $ ), not "the net user growth".
  {
    size_t k = from;
    while (k > 0 && (Before(st, k) == ' ' || Before(st, k) == '\t')) --k;
    unsigned char p = Before(st, k);
    bool cmd_pos = k == 0 || p == '\n' || p == '\r' || p == '>' || p == '|' || p == ';' ||
                   p == '&' || p == '(' || p == '`' || ((p == '$' || p == '#') && k != from);
    if (!cmd_pos) return false;
  }
  bool use = false;
  {
    size_t k = to;
    while (k > from && IsSpace(Before(st, k))) --k;
    use = (Lower(Before(st, k)) == 'e');  // "use" vs "user"
  }
  Words ws;
  ReadWords(st, to, &ws);
  size_t positional = 0;
  for (size_t k = 0; k < ws.n; ++k) {
    std::string_view t = WordText(st, ws.w[k]);
    if (t.empty()) continue;
    if (t[0] == '/' && !ws.w[k].quoted) continue;  // /user:x, /persistent:no, /add
    if (use) {
      if (t.starts_with("\\\\") || t == "*" || (t.size() == 2 && IsAlpha(t[0]) && t[1] == ':'))
        continue;
      if (t.starts_with("//")) continue;
      return EmitWord(st, ws.w[k], out);
    }
    if (++positional == 2) {
      if (t == "*") return false;
      return EmitWord(st, ws.w[k], out);
    }
  }
  return false;
}

// openssl passwd [-1|-5|-6|-apr1|-salt s] PASS;  mkpasswd [-m method] [-S salt] PASS
bool ValidatePasswdHash(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  for (size_t k = 0; k < ws.n; ++k) {
    std::string_view t = WordText(st, ws.w[k]);
    if (!ws.w[k].quoted && t.size() > 1 && t[0] == '-') {
      if (t == "-stdin" || t == "-s" || t == "--stdin" || t == "-in") return false;
      if (t == "-salt" || t == "-m" || t == "-S" || t == "-R" || t == "--method" ||
          t == "--salt" || t == "--rounds")
        ++k;
      continue;
    }
    return EmitWord(st, ws.w[k], out);
  }
  return false;
}

// impacket: psexec.py dom/user:pass@host, impacket-secretsdump user:pass@dc
bool ValidateImpacket(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  for (size_t k = 0; k < ws.n; ++k) {
    std::string_view t = WordText(st, ws.w[k]);
    if (!ws.w[k].quoted && !t.empty() && t[0] == '-') continue;
    size_t slash = t.find('/');
    size_t colon = t.find(':', slash == std::string_view::npos ? 0 : slash);
    size_t at = t.rfind('@');
    if (colon == std::string_view::npos || at == std::string_view::npos || at < colon + 2)
      return false;
    if (!ExplicitValueOk(t.substr(colon + 1, at - colon - 1), 2)) return false;
    return Emit(out, ws.w[k].vb + colon + 1, ws.w[k].vb + at);
  }
  return false;
}

// "credentials: bob / hunter22", "login: bob:hunter22" (chat): the part after
// the user; it must look like a password.
bool ValidateCreds(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  if (ws.n == 0) return false;
  size_t pb = 0, pe = 0;
  std::string_view t0 = WordText(st, ws.w[0]);
  if (t0.find("://") != std::string_view::npos) return false;
  size_t sep = t0.find_first_of(":/");
  if (sep != std::string_view::npos && sep > 0 && sep + 1 < t0.size()) {
    pb = ws.w[0].vb + sep + 1;
    pe = ws.w[0].ve;
  } else if (ws.n >= 3 && (WordText(st, ws.w[1]) == "/" || WordText(st, ws.w[1]) == ":")) {
    pb = ws.w[2].vb;
    pe = ws.w[2].ve;
  } else if (ws.n >= 2 && sep == t0.size() - 1) {  // "bob: hunter22"
    pb = ws.w[1].vb;
    pe = ws.w[1].ve;
  } else {
    return false;
  }
  std::string_view v = st.text.substr(pb, pe - pb);
  bool letter = false, other = false;
  for (unsigned char c : v) {
    letter |= IsAlpha(c) || c >= 0x80;
    other |= IsDigit(c) || (!IsAlpha(c) && c < 0x80);
  }
  if (v.size() < 4 || !letter || !other || !ExplicitValueOk(v)) return false;
  if (AllDigits(st.text.substr(ws.w[0].vb, sep == std::string_view::npos ? 0 : sep)) &&
      AllDigits(v))
    return false;
  return Emit(out, pb, pe);
}

// rabbitmqctl add_user NAME PASS / change_password NAME PASS
bool ValidateSecondWord(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  size_t positional = 0;
  for (size_t k = 0; k < ws.n; ++k) {
    std::string_view t = WordText(st, ws.w[k]);
    if (!ws.w[k].quoted && !t.empty() && t[0] == '-') continue;
    if (++positional == 2) return EmitWord(st, ws.w[k], out);
  }
  return false;
}

// sqlplus user/pass[@db], expdp user/pass, rman target sys/pass@db,
// jdbc:oracle:thin:user/pass@host.
bool ValidateSlashCred(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  for (size_t k = 0; k < ws.n && k < 4; ++k) {
    std::string_view t = WordText(st, ws.w[k]);
    if (!ws.w[k].quoted && t.size() > 1 && t[0] == '-') continue;
    std::string l = LowerStr(t);
    if (l == "target" || l == "catalog" || l == "auxiliary") continue;
    size_t vb = ws.w[k].vb;
    if (l.starts_with("userid=")) {
      vb += 7;
      t.remove_prefix(7);
    }
    size_t slash = t.find('/');
    if (slash == std::string_view::npos || slash == 0 || !IsAlpha(t[0])) return false;
    size_t at = t.find('@', slash);
    size_t pe = at == std::string_view::npos ? t.size() : at;
    if (pe <= slash + 1) return false;
    std::string_view pass = t.substr(slash + 1, pe - slash - 1);
    if (!ExplicitValueOk(pass, 2)) return false;
    return Emit(out, vb + slash + 1, vb + pe);
  }
  return false;
}

bool ValidateJdbcOracle(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t e = Extend(st, to, 200, [](unsigned char c) { return !IsSpace(c) && c != '"' && c != '\''; });
  std::string_view t = st.text.substr(to, e - to);
  size_t slash = t.find('/'), at = t.find('@');
  if (slash == std::string_view::npos || at == std::string_view::npos || at < slash + 2 ||
      slash == 0)
    return false;
  if (!ExplicitValueOk(t.substr(slash + 1, at - slash - 1), 2)) return false;
  return Emit(out, to + slash + 1, to + at);
}

// ConvertTo-SecureString "X" -AsPlainText -Force / -String "X"
bool ValidateSecureString(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Words ws;
  ReadWords(st, to, &ws);
  for (size_t k = 0; k < ws.n; ++k) {
    std::string_view t = WordText(st, ws.w[k]);
    if (!ws.w[k].quoted && !t.empty() && t[0] == '-') {
      if (EqCi(t, "-String")) {
        if (k + 1 < ws.n) return EmitWord(st, ws.w[k + 1], out);
        return false;
      }
      if (EqCi(t, "-Key") || EqCi(t, "-SecureKey")) ++k;
      continue;
    }
    return EmitWord(st, ws.w[k], out);
  }
  return false;
}

// Redis / SMTP: AUTH pass | AUTH user pass | AUTH PLAIN <base64>
bool ValidateAuthCommand(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // In command position: line start, after a blank or a prompt ("6379> AUTH").
  if (Before(st, from) != 0 && !IsSpace(Before(st, from)) && Before(st, from) != '>')
    return false;
  Words ws;
  ReadWords(st, to, &ws);
  if (ws.n == 0 || ws.n > 2) return false;
  const Word& last = ws.w[ws.n - 1];
  std::string l = LowerStr(WordText(st, last));
  if (l == "login" || l == "plain" || l == "required" || l == "ok" || l == "failed") return false;
  return EmitWord(st, last, out, 4);
}

// requirepass X / masterauth X (redis.conf)
bool ValidateConfWord(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  Word w;
  if (!ReadWord(st, to, &w)) return false;
  return EmitWord(st, w, out, 4);
}

// WIFI:T:WPA;S:net;P:secret;;  (Wi-Fi QR codes)
bool ValidateWifiQr(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t seg = to > kBackWindow ? to - kBackWindow : 0;
  std::string_view before = st.text.substr(seg, to - seg);
  if (before.find("WIFI:") == std::string_view::npos) return false;
  size_t e = to;
  size_t lim = std::min(st.text.size(), to + kMaxValue);
  while (e < lim && st.text[e] != ';' && st.text[e] != '\n') {
    if (st.text[e] == '\\') ++e;
    ++e;
  }
  if (e > lim) e = lim;
  std::string_view v = st.text.substr(to, e - to);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return Emit(out, to + 1, e - 1);
  if (!ExplicitValueOk(v)) return false;
  return Emit(out, to, e);
}

// --- echo/printf piped into a password reader -----------------------------------
// Value of `echo [-n|-e] X` / `printf 'X\n'` / `printf '%s\n' X` in [b, e).
bool EchoValue(const ScanState& st, size_t b, size_t e, size_t* vb, size_t* ve) {
  Words ws;
  size_t i = b;
  while (ws.n < 12 && i < e) {
    Word w;
    if (!ReadWord(st, i, &w) || w.tb >= e) break;
    if (w.te > e) w.te = w.ve = e;
    ws.w[ws.n++] = w;
    i = w.te;
  }
  size_t k = 0;
  auto is_echo = [&](size_t j) {
    std::string n = CommandName(WordText(st, ws.w[j]));
    return n == "echo" || n == "printf" || n == "yes";
  };
  while (k < ws.n && !is_echo(k)) ++k;
  if (k >= ws.n) return false;
  bool is_printf = CommandName(WordText(st, ws.w[k])) == "printf";
  ++k;
  while (k < ws.n && !ws.w[k].quoted) {
    std::string_view t = WordText(st, ws.w[k]);
    if (t.size() >= 2 && t[0] == '-' && t.find_first_not_of("neE", 1) == std::string_view::npos)
      ++k;
    else
      break;
  }
  if (k >= ws.n) return false;
  if (is_printf && k + 1 < ws.n && WordText(st, ws.w[k]).find("%s") != std::string_view::npos)
    ++k;  // printf '%s\n' X
  *vb = ws.w[k].vb;
  *ve = ws.w[ws.n - 1].ve;
  // Trailing "\n" escapes are not part of the secret.
  while (*ve >= *vb + 2 && st.text[*ve - 2] == '\\' && (st.text[*ve - 1] == 'n' || st.text[*ve - 1] == 'r'))
    *ve -= 2;
  return *ve > *vb;
}

// What reads the password from stdin: sudo -S, passwd, chpasswd, ...
// Returns 0 (no), 1 (the whole value) or 2 (user:pass, the part after ':').
int StdinReader(const ScanState& st, size_t b) {
  Words ws;
  ReadWords(st, b, &ws);
  size_t k = 0;
  bool sudo_s = false;
  std::string cmd;
  while (k < ws.n) {
    std::string name = CommandName(WordText(st, ws.w[k]));
    if (name == "sudo" || name == "doas") {
      ++k;
      while (k < ws.n && st.text[ws.w[k].vb] == '-') {
        std::string_view t = WordText(st, ws.w[k]);
        if (t == "--stdin" || (t.size() > 1 && t[1] != '-' && t.find('S') != std::string_view::npos))
          sudo_s = true;
        if (t == "-u" || t == "-g" || t == "-p") ++k;
        ++k;
      }
      continue;
    }
    cmd = name;
    break;
  }
  auto has = [&](std::string_view flag) {
    for (size_t j = k; j < ws.n; ++j)
      if (WordText(st, ws.w[j]) == flag) return true;
    return false;
  };
  if (cmd == "chpasswd") return 2;
  if (cmd == "passwd" || cmd == "kinit" || cmd == "cryptsetup") return 1;
  if (cmd == "smbpasswd" && has("-s")) return 1;
  if (cmd == "vncpasswd" && has("-f")) return 1;
  if (cmd == "htpasswd" && has("-i")) return 1;
  if ((cmd == "docker" || cmd == "podman" || cmd == "nerdctl" || cmd == "helm" || cmd == "oras") &&
      has("--password-stdin"))
    return 1;
  if (cmd == "gpg" && (has("--passphrase-fd") || has("0"))) return 1;
  if (sudo_s) return 1;
  return 0;
}

bool EmitPiped(const ScanState& st, size_t vb, size_t ve, int mode, Finding* out) {
  if (mode == 2) {
    size_t c = st.text.substr(vb, ve - vb).find(':');
    if (c == std::string_view::npos) return false;
    vb += c + 1;
  }
  std::string_view v = st.text.substr(vb, ve - vb);
  if (!ExplicitValueOk(v)) return false;
  return Emit(out, vb, ve);
}

// "| sudo", "| passwd", ... : the value of the echo/printf before the pipe.
bool ValidatePipe(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  int mode = StdinReader(st, from + 1);
  if (mode == 0) return false;
  size_t seg = SegmentStart(st, from);
  size_t vb, ve;
  if (!EchoValue(st, seg, from, &vb, &ve)) return false;
  return EmitPiped(st, vb, ve, mode, out);
}

// cmd <<< "secret" (here-string) into sudo -S, passwd, chpasswd, ...
bool ValidateHereString(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t op = to;
  while (op > 0 && IsSpace(Before(st, op))) --op;
  op -= 3;  // "<<<"
  size_t seg = SegmentStart(st, op);
  int mode = StdinReader(st, seg);
  if (mode == 0) return false;
  Word w;
  if (!ReadWord(st, to, &w)) return false;
  size_t ve = w.ve;
  while (ve >= w.vb + 2 && st.text[ve - 2] == '\\' && st.text[ve - 1] == 'n') ve -= 2;
  return EmitPiped(st, w.vb, ve, mode, out);
}

// --- URLs with credentials ---------------------------------------------------------
// scheme://user:pass@host (to is just after the first '@' of the authority).
bool ValidateUrlCred(ScanState& st, size_t rule, size_t, size_t to, Finding* out) {
  size_t at1 = to - 1;
  // Back to "//".
  size_t b = at1;
  while (b > 0 && at1 - b < 130 && Before(st, b) != '/') --b;
  if (Before(st, b) != '/' || Before(st, b - 1) != '/' || Before(st, b - 2) != ':') return false;
  // Authority end; its last '@' separates userinfo from the host.
  size_t lim = std::min(st.text.size(), b + 256);
  size_t e = b, last_at = at1;
  while (e < lim) {
    unsigned char c = st.text[e];
    if (IsSpace(c) || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' ||
        c == '>' || c == '`')
      break;
    if (c == '@') last_at = e;
    ++e;
  }
  size_t colon = st.text.substr(b, last_at - b).find(':');
  if (colon == std::string_view::npos) return false;
  colon += b;
  std::string_view user = st.text.substr(b, colon - b);
  std::string_view pass = st.text.substr(colon + 1, last_at - colon - 1);
  if (pass.empty() || IsReference(pass) || IsPlaceholder(pass)) return false;
  if (!user.empty() && IsReference(user) && pass.size() < 3) return false;
  // "host:port@" is not a password (user empty and digits only).
  if (user.empty() && AllDigits(pass) && pass.size() <= 5) return false;
  return Emit(out, colon + 1, last_at);
}

// --- SQL -----------------------------------------------------------------------------
bool SqlValue(const ScanState& st, size_t to, size_t* vb, size_t* ve) {
  size_t i = to;
  while (i < st.text.size() && i < to + 4 && IsSpace(st.text[i])) ++i;
  unsigned char q = At(st, i);
  if ((q == 'N' || q == 'E' || q == 'n' || q == 'e') && At(st, i + 1) == '\'') q = At(st, ++i);
  if (q == '\'' || q == '"' || q == '`') {
    size_t lim = std::min(st.text.size(), i + 1 + kMaxValue + 1);
    size_t e = i + 1;
    while (e < lim && static_cast<unsigned char>(st.text[e]) != q && st.text[e] != '\n') ++e;
    if (e >= lim || static_cast<unsigned char>(st.text[e]) != q) return false;
    *vb = i + 1;
    *ve = e;
    return e > i + 1;
  }
  size_t e = Extend(st, i, kMaxValue,
                    [](unsigned char c) { return !IsSpace(c) && c != ';' && c != ',' && c != ')'; });
  *vb = i;
  *ve = e;
  return e > i;
}

// IDENTIFIED BY 'x' (MySQL, Oracle), IDENTIFIED WITH plugin BY 'x'.
bool ValidateIdentifiedBy(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t vb, ve;
  if (!SqlValue(st, to, &vb, &ve)) return false;
  std::string_view v = st.text.substr(vb, ve - vb);
  bool quoted = vb > to && vb > 0 && !IsSpace(st.text[vb - 1]);
  if (!ExplicitValueOk(v) || (quoted ? QuotedLooksLikeCode(v) : LooksLikeCode(v))) return false;
  return Emit(out, vb, ve);
}

// PASSWORD 'x' (PostgreSQL CREATE/ALTER ROLE), PASSWORD('x'): quoted only.
bool ValidateSqlQuoted(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t i = to;
  while (i > 0 && (Before(st, i) == '\'' || Before(st, i) == '"' || Before(st, i) == 'N' ||
                   Before(st, i) == 'E'))
    --i;
  size_t vb, ve;
  if (!SqlValue(st, i, &vb, &ve)) return false;
  if (vb == i) return false;  // must be quoted
  std::string_view v = st.text.substr(vb, ve - vb);
  if (!ExplicitValueOk(v)) return false;
  return Emit(out, vb, ve);
}

// SET PASSWORD FOR 'u'@'h' = 'x'
bool ValidateSetPassword(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  if (StartsWithCi(st.text.substr(to, 9), "password(") ||
      StartsWithCi(st.text.substr(to, 10), "password ("))
    return false;  // PASSWORD('x') is its own rule
  return ValidateIdentifiedBy(st, 0, 0, to, out);
}

// <password>x</password>, <add key="DbPassword" value="x"/>
bool ValidateXmlTag(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t lim = std::min(st.text.size(), to + kMaxValue + 1);
  size_t e = to;
  while (e < lim && st.text[e] != '<' && st.text[e] != '\n') ++e;
  if (At(st, e) != '<' || At(st, e + 1) != '/') return false;
  std::string_view v = st.text.substr(to, e - to);
  if (v.empty() || IsSpace(v.front()) || !ExplicitValueOk(v, 4) || LooksLikeCode(v)) return false;
  return Emit(out, to, e);
}

bool ValidateAttrValue(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  unsigned char q = Before(st, to);
  if (q != '"' && q != '\'') return false;
  size_t lim = std::min(st.text.size(), to + kMaxValue + 1);
  size_t e = to;
  while (e < lim && static_cast<unsigned char>(st.text[e]) != q && st.text[e] != '\n') ++e;
  if (At(st, e) != q) return false;
  std::string_view v = st.text.substr(to, e - to);
  if (!ExplicitValueOk(v, 4) || QuotedLooksLikeCode(v)) return false;
  return Emit(out, to, e);
}

// auth=('user', 'pass'), HTTPBasicAuth('user', 'pass')
bool ValidateAuthTuple(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  unsigned char q = Before(st, to);
  size_t lim = std::min(st.text.size(), to + 80);
  size_t e = to;
  while (e < lim && static_cast<unsigned char>(st.text[e]) != q && st.text[e] != '\n') ++e;
  if (At(st, e) != q) return false;
  size_t i = e + 1;
  while (i < lim && IsSpace(st.text[i])) ++i;
  if (At(st, i) != ',') return false;
  ++i;
  while (i < lim && IsSpace(st.text[i])) ++i;
  size_t vb, ve;
  if (!SqlValue(st, i, &vb, &ve) || vb == i) return false;
  std::string_view v = st.text.substr(vb, ve - vb);
  if (!ExplicitValueOk(v) || QuotedLooksLikeCode(v)) return false;
  return Emit(out, vb, ve);
}

// --- HTTP Basic ------------------------------------------------------------------------
int B64Val(unsigned char c) {
  if (IsUpper(c)) return c - 'A';
  if (IsLower(c)) return c - 'a' + 26;
  if (IsDigit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Base64 token starting at `b` that decodes to printable "user:pass".
bool BasicToken(const ScanState& st, size_t b, size_t* e_out) {
  if (IsB64Std(Before(st, b))) return false;
  size_t e = Extend(st, b, 513, IsB64Std);
  size_t n = e - b;
  size_t pad = 0;
  while (pad < 2 && At(st, e) == '=') {
    ++e;
    ++pad;
  }
  if (n < 4 || n + pad > 512 || IsB64Url(At(st, e)) || At(st, e) == '=') return false;
  if ((n + pad) % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0)) return false;
  std::string dec;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = b; i < b + n; ++i) {
    acc = (acc << 6) | static_cast<uint32_t>(B64Val(st.text[i]));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      dec.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  size_t colon = dec.find(':');
  if (colon == std::string::npos || colon + 1 >= dec.size()) return false;
  for (unsigned char c : dec)
    if (c < 0x20 || c > 0x7e) return false;
  *e_out = e;
  return true;
}

bool ValidateBasic(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  size_t b = to - 4;
  size_t e;
  if (!BasicToken(st, b, &e)) return false;
  return Emit(out, b, e, Kind::kBasicAuth);
}

// --- PINs ---------------------------------------------------------------------------------
// The pattern ends just after 4-8 digits following a PIN cue.
bool ValidatePin(ScanState& st, size_t, size_t, size_t to, Finding* out) {
  if (IsDigit(At(st, to))) return false;
  size_t b = to;
  while (b > 0 && to - b < 9 && IsDigit(Before(st, b))) --b;
  size_t n = to - b;
  if (n < 4 || n > 8) return false;
  unsigned char a = At(st, to);
  if ((IsWordByte(a) && a < 0x80) || a == '%' || a == '$') return false;  // 1234abc, 1234%
  if ((a == '-' || a == '/' || a == '.' || a == ':' || a == ',' || a == 'x') && IsDigit(At(st, to + 1)))
    return false;  // dates, times, 1,234
  *out = {Kind::kPin, b, to};
  return true;
}

// --- natural language ---------------------------------------------------------------
bool ProseWord(std::string_view v) {
  static constexpr std::string_view kProse[] = {
      // English
      "required", "incorrect", "correct", "wrong", "right", "invalid", "valid", "expired",
      "expiring", "expires", "changed", "reset", "set", "saved", "stored", "encrypted", "hashed",
      "salted", "hidden", "visible", "shown", "masked", "empty", "blank", "missing", "optional",
      "mandatory", "needed", "necessary", "weak", "strong", "secure", "insecure", "safe",
      "unsafe", "long", "short", "simple", "complex", "easy", "hard", "difficult", "good",
      "bad", "fine", "okay", "great", "same", "different", "identical", "unique", "new", "old",
      "default", "temporary", "known", "unknown", "shared", "public", "private", "secret",
      "sensitive", "compromised", "leaked", "stolen", "locked", "blocked", "disabled",
      "enabled", "active", "inactive", "case", "too", "very", "not", "also", "still", "just",
      "only", "already", "being", "been", "going", "supposed", "used", "sent", "written",
      "printed", "generated", "displayed", "the", "this", "that", "what", "which", "there",
      "here", "below", "above", "attached", "included", "inside", "within", "given", "provided",
      "managed", "handled", "protected", "unchanged", "accepted", "rejected", "denied",
      "updated", "gone", "lost", "forgotten", "ready", "done", "complete", "important",
      "useless", "stupid", "annoying", "nothing", "something", "anything", "everything",
      "null", "none", "undefined", "true", "false", "yes", "mine", "yours", "ours", "theirs",
      "his", "hers", "their", "your", "our", "its", "about", "under", "over", "into", "from",
      "with", "without", "less", "more", "least", "most", "at", "in", "on", "of", "off", "low",
      "high", "ok", "all", "any", "some", "each", "every", "both", "either", "neither",
      "sha256", "sha1", "md5", "bcrypt", "argon2", "utf-8", "utf8", "ascii", "unicode",
      "case-sensitive", "case-insensitive", "needed", "working", "broken", "fixed", "enough",
      "impossible", "possible", "obvious", "predictable", "guessable", "random", "generic",
      "standard", "usual", "normal", "common", "typical", "same", "similar", "reused",
      "stored", "kept", "written", "available", "unavailable", "ignored", "accepted", "needed",
      "wrongly", "actually", "probably", "definitely", "literally", "basically", "really",
      "exactly", "currently", "temporarily", "always", "never", "usually", "sometimes",
      "requested", "asked", "prompted", "typed", "entered", "submitted", "checked",
      "verified", "validated", "confirmed", "rotated", "revoked", "disabled", "deleted",
      "removed", "cleared", "synced", "copied", "pasted", "printed", "logged", "leaking",
      "exposed", "readable", "plaintext", "cleartext", "encrypted", "hashed", "unique",
      "mandatory", "complicated", "memorable", "unbreakable", "crackable", "insecure",
      "expired", "outdated", "old", "ancient", "case", "length", "strength", "format",
      "character", "characters", "chars", "digits", "letters", "words", "word", "number",
      "numbers", "symbol", "symbols", "somewhere", "elsewhere", "everywhere", "nowhere",
      "like", "unlike", "same", "different", "changing", "changes", "change", "needs", "need",
      "must", "should", "could", "would", "will", "can", "cannot", "may", "might", "now",
      "then", "still", "again", "yet", "soon", "later", "today", "tomorrow", "yesterday",
      "gone", "saved", "printed", "missing", "hidden", "weak", "fine", "ok.", "emailed",
      "texted", "sms", "encoded", "base64", "obscured", "obfuscated", "redacted", "unknown",
      // German
      "falsch", "richtig", "korrekt", "ungültig", "gültig", "abgelaufen", "erforderlich", "notwendig", "leer", "zu", "sehr", "nicht", "noch",
      "jetzt", "schon", "geändert", "gespeichert", "verschlüsselt",
      "sicher", "unsicher", "schwach", "stark", "lang", "kurz", "neu", "alt", "der", "die",
      "das", "ein", "eine", "mein", "dein", "sein", "ihr", "unbekannt", "bekannt", "gleich",
      "geheim", "vergessen", "gesperrt", "hier", "unten", "oben", "auch", "nur", "immer",
      // French
      "requis", "obligatoire", "invalide", "valide", "expiré", "vide", "trop",
      "très", "pas", "le", "la", "les", "un", "une", "mon", "ton", "votre",
      "faible", "fort", "court", "nouveau", "changé", "oublié",
      "bloqué", "sécurisé", "différent", "identique",
      "inconnu", "ici", "dessous", "aussi", "toujours", "encore", "correcte", "incorrecte",
      // Spanish / Italian / Portuguese
      "incorrecta", "correcta", "obligatoria", "requerida", "inválida", "válida", "vacía", "demasiado", "muy", "no", "el", "una", "mi", "tu", "su",
      "débil", "fuerte", "larga", "corta", "nueva", "cambiada", "olvidada",
      "bloqueada", "segura", "diferente", "igual", "secreta", "errata", "sbagliata",
      "corretta", "richiesta", "vuota", "troppo", "molto", "non", "il", "mia", "debole",
      "forte", "lunga", "nuova", "scaduta", "incorreta", "correta", "obrigatória",
      "inválido", "vazia", "muito", "não", "um", "uma", "minha", "fraca", "aqui",
      // Dutch / Scandinavian / Finnish / Polish / Czech
      "onjuist", "juist", "verplicht", "ongeldig", "leeg", "te", "erg", "niet", "de", "het",
      "een", "mijn", "zwak", "sterk", "nieuw", "verlopen", "fout", "goed", "fel", "ikke",
      "inte", "för", "väldigt", "ei", "liian", "väärä", "nie", "zbyt", "jest",
      "je", "není", "moc", "příliš", "špatné", "to", "mit", "est", "ist", "es", "is",
  };
  static const WordSet kSet(kProse);
  return kSet.Contains(v);
}

// Value after a natural-language cue ("is", "ist", "'s", ...) at `to`:
// skips ':' and an adverb ("now"), then checks the value looks like a secret.
bool NaturalValue(ScanState& st, size_t to, bool strict, size_t* vb_out, size_t* ve_out) {
  size_t i = to;
  for (int round = 0; round < 2; ++round) {
    while (i < st.text.size() && i < to + 8 && (IsSpace(st.text[i]) || st.text[i] == ':')) {
      if (st.text[i] == '\n') return false;
      ++i;
    }
    static constexpr std::string_view kAdverbs[] = {
        "now ", "still ", "just ", "simply ", "literally ", "actually ", "currently ",
        "temporarily ", "jetzt ", "nun ", "maintenant ", "ahora ", "ora ", "agora ", "nu ",
        "also ", "basically ", "probably ", "still: ", "now: ",
    };
    bool skipped = false;
    for (auto a : kAdverbs) {
      if (StartsWithCi(st.text.substr(i, a.size()), a)) {
        i += a.size();
        skipped = true;
        break;
      }
    }
    if (!skipped) break;
  }
  size_t vb, ve;
  if (!ReadValue(st, i, false, kMaxValue, &vb, &ve)) return false;
  bool quoted = vb > 0 && (st.text[vb - 1] == '"' || st.text[vb - 1] == '\'' ||
                           st.text[vb - 1] == '`');
  // Trailing sentence punctuation (ReadValue keeps it on short values).
  while (ve > vb + 1 && !quoted &&
         (st.text[ve - 1] == '.' || st.text[ve - 1] == ',' || st.text[ve - 1] == ';' ||
          st.text[ve - 1] == ':' || st.text[ve - 1] == ')' || st.text[ve - 1] == '?'))
    --ve;
  std::string_view v = st.text.substr(vb, ve - vb);
  if (v.size() < 4 || v.size() > kMaxValue) return false;
  if (IsPlaceholder(v) || ProseWord(v) || AllSame(v)) return false;
  if (quoted ? QuotedLooksLikeCode(v) : NaturalLooksLikeCode(v)) return false;
  bool digit = false, symbol = false, upper_inner = false, alpha_only = true;
  for (size_t k = 0; k < v.size(); ++k) {
    unsigned char c = v[k];
    digit |= IsDigit(c);
    if (!IsAlnum(c) && c < 0x80) symbol = true;
    if (k > 0 && IsUpper(c)) upper_inner = true;
    if (!(IsAlpha(c) || c >= 0x80)) alpha_only = false;
  }
  if (quoted) {
    // A quoted value is the password unless it is a sentence.
    if (v.find(' ') != std::string_view::npos && v.size() > 24) return false;
  } else if (strict) {
    if (v.size() < 6 || !(digit || symbol)) return false;
  } else if (!digit && !symbol && !upper_inner) {
    // A plain word: only at the end of the clause ("my password is sunshine",
    // not "the password is stored in ...").
    if (!alpha_only) return false;
    size_t k = ve;
    while (k < st.text.size() && (st.text[k] == ' ' || st.text[k] == '\t')) ++k;
    unsigned char n = At(st, k);
    bool end = k >= st.text.size() || n == '\n' || n == '\r' || n == '.' || n == '!' ||
               n == '?' || n == ',' || n == ';' || n == ')' || n == '"' || n == '\'' ||
               (k == ve && (n == '.' || n == ','));
    if (!end) return false;
  } else if (symbol && !digit && !upper_inner) {
    // Hyphenated prose (case-sensitive, auto-generated) is not a password.
    bool word_symbols = true;
    for (unsigned char c : v)
      if (!(IsAlpha(c) || c >= 0x80 || c == '-' || c == '\'')) word_symbols = false;
    if (word_symbols) return false;
  }
  *vb_out = vb;
  *ve_out = ve;
  return true;
}

// Natural-language cue words: which ones need a strong value.
bool NaturalCueStrict(std::string_view cue_lower) {
  return cue_lower == "pass" || cue_lower == "clave" || cue_lower == "code";
}

// "my password is x", "the password for the wifi is x", "password's x",
// "das Passwort ist x", "le mot de passe du wifi est x", "hasło to x".
bool ValidateNatural(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // The cue: letters (and the multi-word French/other cues) from `from`.
  size_t ce = from;
  while (ce < to && ce < from + 24 && (IsAlpha(At(st, ce)) || At(st, ce) >= 0x80)) ++ce;
  std::string cue = LowerStr(st.text.substr(from, ce - from));
  if (cue == "mot") {
    ce = std::min(to, from + 12);  // "mot de passe"
    cue = "mot de passe";
  } else if (cue == "wifi" || cue == "wlan" || cue == "network" || cue == "wpa") {
    // "wifi key", "WLAN-Schlüssel", "network key": the cue is two words.
    size_t k = ce;
    if (k < to && (At(st, k) == ' ' || At(st, k) == '-')) ++k;
    while (k < to && (IsAlpha(At(st, k)) || At(st, k) >= 0x80)) ++k;
    ce = k;
    cue += " key";
  }
  // The copula: the last word before `to`.
  size_t ke = to;
  while (ke > ce && IsSpace(Before(st, ke))) --ke;
  size_t kb = ke;
  while (kb > ce && !IsSpace(Before(st, kb))) --kb;
  std::string cop = LowerStr(st.text.substr(kb, ke - kb));
  bool apostrophe = (kb == ce || kb <= ce + 1) && (cop.ends_with("'s") || cop.ends_with("\xe2\x80\x99s"));
  // "Password for bob: x": the qualifier runs to the colon.
  static constexpr std::string_view kCopulas[] = {
      "is", "was", "ist", "lautet", "war", "est", "était", "etait", "c'est", "es", "era", "è",
      "é", "är", "ar", "var", "er", "on", "je", "jest", "to", "brzmi", "-", "->", "=>",
      "\xe2\x86\x92", "\xe2\x80\x94", "\xe2\x80\x93"};
  if (!apostrophe && !cop.empty() && cop.back() == ':' &&
      !InList(std::string_view(cop).substr(0, cop.size() - 1), kCopulas)) {
    kb = ke - 1;  // no copula: everything up to the colon is the qualifier
    cop = ":";
  }
  // Between cue and copula: nothing, or a qualifier starting with a
  // preposition ("for the wifi", "für das WLAN", "du wifi") or a pronoun
  // ("I use", "you gave me").
  size_t bb = ce;
  while (bb < kb && IsSpace(At(st, bb))) ++bb;
  size_t be = kb;
  while (be > bb && IsSpace(Before(st, be))) --be;
  if (be > bb && !apostrophe) {
    std::string_view between = st.text.substr(bb, be - bb);
    size_t sp = between.find(' ');
    std::string first = LowerStr(between.substr(0, sp));
    static constexpr std::string_view kLead[] = {
        "for", "to", "of", "on", "at", "from", "für", "f\xc3\xbcr", "zum", "zur", "vom", "von",
        "des", "der", "du", "de", "pour", "del", "della", "dello", "dell'", "da", "do", "dla",
        "van", "voor", "til", "till", "för", "f\xc3\xb6r", "på", "p\xc3\xa5", "k", "ke", "na",
        "pro", "di", "al", "i", "you", "we", "they", "he", "she", "that", "which", "ich",
        "wir", "du", "je", "tu", "nous", "que", "qui", "che", "die", "das", "dat", "som",
        "jag", "yo", "eu", "del", "vom", "zu", "af", "av", "do", "z", "ze",
    };
    if (!InList(first, kLead)) return false;
    if (between.find_first_of("?!\"=:") != std::string_view::npos) return false;
    size_t words = 1;
    for (char c : between) words += c == ' ';
    if (words > 7) return false;
  }
  if (cop == "to" || cop == "to:") {
    // Polish "hasło to x"; English only after set/change/reset.
    if (!(cue.starts_with("has") || cue == "heslo")) {
      size_t lb = from > 32 ? from - 32 : 0;
      std::string pre = LowerStr(st.text.substr(lb, from - lb));
      bool verb = false;
      for (std::string_view w : {"set", "change", "reset", "update", "chang"})
        verb |= pre.find(w) != std::string::npos;
      if (!verb) return false;
    }
  }
  bool strict = NaturalCueStrict(cue);
  size_t vb, ve;
  if (!NaturalValue(st, to, strict, &vb, &ve)) return false;
  std::string_view v = st.text.substr(vb, ve - vb);
  if (cue == "passcode" && AllDigits(v) && v.size() <= 8) return false;  // the PIN rule's
  return Emit(out, vb, ve);
}

// "X is my password", "use X as the password" (the value before the cue).
bool ValidateNaturalBefore(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  // `from` is the space before "is"/"as": the value is the word before it.
  size_t e = from;
  while (e > 0 && (Before(st, e) == ' ' || Before(st, e) == '\t')) --e;
  size_t b = e;
  while (b > 0 && e - b <= kMaxValue && !IsSpace(Before(st, b))) --b;
  if (e - b > kMaxValue) return false;
  // Quotes around the value.
  size_t vb = b, ve = e;
  if (ve > vb + 1 && (st.text[vb] == '"' || st.text[vb] == '\'' || st.text[vb] == '`') &&
      st.text[ve - 1] == st.text[vb]) {
    ++vb;
    --ve;
  }
  std::string_view v = st.text.substr(vb, ve - vb);
  if (v.size() < 4 || IsPlaceholder(v) || NaturalLooksLikeCode(v) || ProseWord(v)) return false;
  std::string_view cop = st.text.substr(from, to - from);
  bool pin = StartsWithCi(st.text.substr(to > 4 ? to - 4 : 0, 4), " pin") ||
             StartsWithCi(st.text.substr(to > 4 ? to - 4 : 0, 4), " PIN");
  if (pin) {
    if (!AllDigits(v) || v.size() > 8) return false;
    return Emit(out, vb, ve, Kind::kPin);
  }
  bool letter = false, other = false;
  for (unsigned char c : v) {
    letter |= IsAlpha(c) || c >= 0x80;
    other |= IsDigit(c) || (!IsAlpha(c) && c < 0x80);
  }
  bool quoted = vb != b;
  if (!quoted && (v.size() < 6 || !letter || !other)) return false;
  (void)cop;
  return Emit(out, vb, ve);
}

// Start of the line containing `pos`, at most kBackWindow back.
size_t LineStart(const ScanState& st, size_t pos) {
  size_t lim = pos > kBackWindow ? pos - kBackWindow : 0;
  size_t i = pos;
  while (i > lim && st.text[i - 1] != '\n') --i;
  return i;
}

// Cue + space: "password Xy7#kLm9" needs a strong value; .netrc ("machine h
// login u password p") and nmcli ("wifi connect X password Y") take any.
bool ValidatePasswordSpaced(ScanState& st, size_t, size_t from, size_t to, Finding* out) {
  unsigned char p = Before(st, from);
  if (p == '-') return false;  // "--password X": the long-flag rule's
  // A word of its own ("user:password https://..." is not a cue).
  if (!(p == 0 || IsSpace(p) || p == '"' || p == '\'' || p == '(' || p == ',' || p == '>' ||
        p == '*' || p == '_'))
    return false;
  // Most candidates are prose ("password in", "password reset"): a cheap
  // look at the value first.
  size_t vb, ve;
  if (!ReadValue(st, to, false, kMaxValue, &vb, &ve) || ve - vb < 4) return false;
  bool letter = false, other = false;
  for (size_t i = vb; i < ve; ++i) {
    unsigned char c = st.text[i];
    letter |= IsAlpha(c) || c >= 0x80;
    other |= IsDigit(c) || (!IsAlpha(c) && c < 0x80 && c != '?' && c != '.' && c != ',');
  }
  bool quoted = vb > to;
  if ((letter && other) || quoted) {
    if (ValidatePasswordImpl(st, from, to, true, out)) return true;
  }
  // Context words at word starts of the line before the cue.
  size_t ls = LineStart(st, from);
  bool context = false;
  for (size_t i = ls; i < from && !context; ++i) {
    if (i > ls && !IsSpace(st.text[i - 1])) continue;
    unsigned char c = Lower(st.text[i]);
    if (c != 'm' && c != 'l' && c != 'n') continue;
    std::string_view rest = st.text.substr(i, from - i);
    context = StartsWithCi(rest, "machine ") || StartsWithCi(rest, "login ") ||
              StartsWithCi(rest, "nmcli ") || StartsWithCi(rest, "mysqladmin ");
  }
  if (!context) return false;
  return ValidatePasswordImpl(st, from, to, false, out);
}

}  // namespace

namespace {

void AddCueRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // Cue + ':'/'=' (also inside identifiers: DB_PASSWORD=, PGPASSWORD=,
  // dbPassword:, wpa_passphrase=, psk=). The boundary is the validator's.
  r.push_back(R{
      Kind::kPassword,
      {{R"((?:password|passwd|passwort|kennwort|pwd|passcode|passphrase|pass|pw|psk|contrase(?:ñ|Ñ|n)a|senha|wachtwoord|has(?:ł|Ł|l)o|heslo|parola|mot de passe|mdp|l(?:ö|Ö|o)senord(?:et)?|passord(?:et)?|adgangskode(?:n)?|salasana|jelsz(?:ó|Ó|o)|(?:ş|Ş|s)ifre|kata sandi|(?:wi-?fi|wlan|network|wpa2?)[- ]?(?:key|schl(?:ü|ue)ssel)|secret|token)\d?)" SEALTRACE_RULE_SEP,
        kSom | kCi},
       {R"((?:пароль|Пароль|ПАРОЛЬ|密码|密碼|パスワード|비밀번호|סיסמה|كلمة المرور|كلمة السر|पासवर्ड|mật khẩu|Mật khẩu|รหัสผ่าน))" SEALTRACE_RULE_SEP,
        kSom}},
      ValidatePassword});
  // Cue + space ("password hunter2", "--password X", .netrc "password p").
  r.push_back(R{Kind::kPassword,
                {{R"(\b(?:password|passwort|pass|pwd|passphrase)\s{1,2})", kSom | kCi}},
                ValidatePasswordSpaced});
  r.push_back(R{
      Kind::kGenericSecret,
      {{R"(\b(?:api[_\-]?key|apikey|api[_\-]?secret|api[_\-]?token|access[_\-]?key(?:[_\-]?id)?|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token|secret[_\-]?key|client[_\-]?secret|private[_\-]?key|session[_\-]?token|x-api-key|bearer|token|secret)["']?\s{0,3}[:=]?\s{0,3}["']?)",
        kSom | kCi},
       // *_SECRET=, *_TOKEN=, *_KEY= environment variables (JWT_SECRET, SIGNING_KEY).
       {R"([A-Za-z0-9]_(?:secret|token|key)["']?\s{0,3}[:=]\s{0,3}["']?)", kSom | kCi}},
      ValidateGenericSecret});
}

void AddCommandLineRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // --- command lines ---
  r.push_back(R{Kind::kPassword, {{R"(\B-[pPawuUNk])", kSom}}, ValidateShortFlag});
  r.push_back(R{Kind::kPassword,
                {{R"(\B--?(?:[A-Za-z0-9]{1,20}-){0,3}(?:password|passwd|pass|passphrase|pwd|pw|(?:src|dest|new)?(?:store|key)pass)\s{1,3})",
                  kSom | kCi}},
                ValidateLongFlag});
  r.push_back(R{Kind::kPassword, {{R"((?:--user|--proxy-user)[\s=])", kSom}}, ValidateLongUser});
  r.push_back(R{Kind::kPassword, {{R"(\B/p(?:assword)?:)", kSom | kCi}}, ValidateSlashP});
  r.push_back(R{Kind::kPassword, {{R"(\bhtpasswd\s)", kSom}}, ValidateHtpasswd});
  r.push_back(R{Kind::kPassword, {{R"(\bnet\s{1,3}user?\s)", kSom | kCi}}, ValidateNet});
  r.push_back(R{Kind::kPassword,
                {{R"(\bopenssl\s{1,3}passwd\s)", kSom}, {R"(\bmkpasswd\s)", kSom}},
                ValidatePasswdHash});
  r.push_back(R{Kind::kPassword,
                {{R"(\b(?:sqlplus|expdp|impdp|sqlldr|dgmgrl|rman)(?:\.exe)?\s)", kSom | kCi}},
                ValidateSlashCred});
  r.push_back(R{Kind::kPassword, {{R"(jdbc:oracle:thin:)", kSom | kCi}}, ValidateJdbcOracle});
  r.push_back(R{Kind::kPassword,
                {{R"(\b(?:impacket-[a-z]{3,20}|(?:psexec|wmiexec|smbexec|atexec|dcomexec|secretsdump|GetUserSPNs|GetNPUsers|mssqlclient|lookupsid|getTGT|getST|rpcdump|samrdump)\.py)\s)", kSom}},
                ValidateImpacket});
  r.push_back(R{Kind::kPassword,
                {{R"(\brabbitmqctl\s{1,3}(?:add_user|change_password)\s)", kSom}},
                ValidateSecondWord});
  r.push_back(R{Kind::kPassword,
                {{R"(\b(?:creds|credentials|logins?|anmeldedaten|zugangsdaten|identifiants)\s{0,3}[:=]\s{0,3})",
                  kSom | kCi}},
                ValidateCreds});
  r.push_back(
      R{Kind::kPassword, {{R"(ConvertTo-SecureString\s)", kSom | kCi}}, ValidateSecureString});
  r.push_back(R{Kind::kPassword, {{R"(\bAUTH\s{1,3})", kSom}}, ValidateAuthCommand});
  r.push_back(
      R{Kind::kPassword, {{R"(\b(?:requirepass|masterauth)\s{1,3})", kSom | kCi}}, ValidateConfWord});
  r.push_back(R{Kind::kPassword, {{R"((?:WIFI:|;)P:)", kSom}}, ValidateWifiQr});
  r.push_back(R{Kind::kPassword,
                {{R"(\|\s{0,3}(?:sudo|doas|passwd|chpasswd|smbpasswd|vncpasswd|htpasswd|kinit|cryptsetup|docker|podman|nerdctl|helm|oras|gpg)\b)",
                  kSom}},
                ValidatePipe});
  r.push_back(R{Kind::kPassword, {{R"(<<<\s{0,3})", kSom}}, ValidateHereString});
}

void AddUrlSqlMarkupRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // --- URLs, SQL, markup ---
  r.push_back(R{Kind::kPassword, {{R"(://[^\s/?#@]{1,128}@)", kSom}}, ValidateUrlCred});
  r.push_back(R{Kind::kPassword,
                {{R"(\bidentified\s{1,3}(?:with\s{1,3}[\w'"]{1,40}\s{1,3})?by\s{1,3}(?:password\s{1,3}|values\s{1,3})?)",
                  kSom | kCi}},
                ValidateIdentifiedBy});
  r.push_back(R{Kind::kPassword,
                {{R"(\bpassword\s{1,3}[NE]?['"])", kSom | kCi}, {R"(\bpassword\s{0,2}\(\s{0,2}['"])", kSom | kCi}},
                ValidateSqlQuoted});
  r.push_back(R{Kind::kPassword,
                {{R"(\bset\s{1,3}password\s{1,3}for\s{1,3}[^\n=]{1,80}=\s{0,3})", kSom | kCi}},
                ValidateSetPassword});
  r.push_back(R{Kind::kPassword,
                {{R"(<(?:[A-Za-z0-9_.:-]{0,30})?(?:password|passwd|pwd|pass|passphrase|secret)>)", kSom | kCi}},
                ValidateXmlTag});
  r.push_back(R{Kind::kPassword,
                {{R"((?:key|name)\s?=\s?["'][\w.:-]{0,40}(?:password|passwd|pwd|secret)["']\s{1,3}value\s?=\s?["'])",
                  kSom | kCi}},
                ValidateAttrValue});
  r.push_back(R{Kind::kPassword,
                {{R"((?:\bauth\s{0,2}=\s{0,2}\(|BasicAuth\()\s{0,2}["'])", kSom | kCi}},
                ValidateAuthTuple});
  // PHP: define('DB_PASSWORD', 'x');
  r.push_back(R{Kind::kPassword,
                {{R"(\bdefine\s?\(\s?["'][A-Za-z0-9_]{0,40}(?:password|passwd|pass|pwd|secret|passphrase)[A-Za-z0-9_]{0,20}["']\s?,\s?["'])",
                  kSom | kCi}},
                ValidateAttrValue});
}

void AddHttpBasicRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // --- HTTP Basic ---
  r.push_back(R{Kind::kBasicAuth,
                {{R"(\bbasic\s{1,3}[A-Za-z0-9+/]{4})", kSom | kCi},
                 {R"(\b_?auth["']?\s{0,3}[:=]\s{0,3}["']?[A-Za-z0-9+/]{4})", kSom | kCi}},
                ValidateBasic});
}

void AddPinRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // --- PINs: 4-8 digits after a PIN cue (with an optional qualifier and copula) ---
#define SEALTRACE_PIN_CUE                                                                    \
  R"((?:pin(?:[- ]?(?:code|number|nummer|nr\.?|no\.?|kode|koodi|kod|#))?|pincode|pinkode|pinkod|pinnummer|geheimzahl|geheimnummer|passcode|pass code|puk(?:[- ]?code)?|code pin|code secret|c(?:ó|o)digo pin|n(?:ú|u)mero pin|codice pin|clave pin|door code|door pin|alarm code|gate code|entry code|unlock code|lock code|access code|keypad code|safe code|garage code|t(?:ü|ue)rcode))"
#define SEALTRACE_PIN_SEP                                                                    \
  R"((?:\s{0,3}(?:[:=]|\xEF\xBC\x9A)|\s{1,3}(?:is|was|ist|lautet|war|est|(?:é|e)tait|es|era|è|é|er|(?:ä|a)r|var|on|je|jest|to|=|-|\xe2\x80\x93|->):?))"
#define SEALTRACE_PIN_PREP                                                                   \
  R"((?:for|to|of|on|f(?:ü|u)r|zur|zum|vom|von|der|du|de|del|de la|da|do|della|dell'|van|voor|til|f(?:ö|o)r|p(?:å|a)|k|na|dla))"
  r.push_back(R{Kind::kPin,
                {{R"(\b)" SEALTRACE_PIN_CUE R"((?:\s)" SEALTRACE_PIN_PREP
                  R"(\s[^\n]{1,30}?)" SEALTRACE_PIN_SEP R"(|)" SEALTRACE_PIN_SEP
                  R"(|\s)\s{0,3}["'#(]?\d{4,8})",
                  kSom | kCi}},
                ValidatePin});
}

void AddNaturalLanguageRules(std::vector<Rule>* out) {
  using R = Rule;
  auto& r = *out;
  // --- natural language ---
#define SEALTRACE_NL_CUE                                                                     \
  R"((?:password|passwort|passwd|pw|pwd|passcode|passphrase|pass|kennwort|mot de passe|mdp|contrase(?:ñ|Ñ|n)a|clave|senha|wachtwoord|has(?:ł|Ł|l)o|heslo|l(?:ö|Ö|o)senord(?:et)?|passord(?:et)?|adgangskode(?:n)?|salasana|jelsz(?:ó|Ó|o)|wi-?fi[- ]?key|wlan[- ]?schl(?:ü|ue)ssel|network key|wpa2? key))"
#define SEALTRACE_NL_LEAD                                                                    \
  R"((?:for|to|of|on|at|from|f(?:ü|u)r|zum|zur|vom|von|des|der|du|de|pour|del|della|dello|dell'|da|do|dla|van|voor|til|till|f(?:ö|o)r|p(?:å|a)|k|ke|na|pro|di|al|i|you|we|they|he|she|that|which|ich|wir|je|tu|nous|que|qui|che|die|das|dat|som|jag|yo|eu|af|av|z|ze))"
#define SEALTRACE_NL_COPULA                                                                  \
  R"((?:is|was|ist|lautet|war|est|(?:é|e)tait|c'est|es|era|(?:è|é)|(?:ä|a)r|var|er|on|je|jest|to|brzmi|-|->|=>|\xe2\x86\x92|\xe2\x80\x94|\xe2\x80\x93))"
  r.push_back(R{Kind::kPassword,
                {// "password is x", "password's x"
                 {R"(\b)" SEALTRACE_NL_CUE R"((?:'s|\xe2\x80\x99s|\s)" SEALTRACE_NL_COPULA
                  R"(:?)\s{1,3})",
                  kSom | kCi},
                 // "password for the wifi is x", "the password I use is x": the
                 // qualifier starts with a preposition or a pronoun (a literal,
                 // so the bounded repeat only runs after one).
                 {R"(\b)" SEALTRACE_NL_CUE R"(\s)" SEALTRACE_NL_LEAD R"(\s[^\n]{0,40}?\s)" SEALTRACE_NL_COPULA
                  R"(:?\s{1,3})",
                  kSom | kCi},
                 // "Password for bob: x", "Passwort für das WLAN: x"
                 {R"(\b)" SEALTRACE_NL_CUE R"(\s(?:for|to|of|on|f(?:ü|u)r|zum|zur|vom|von|du|de|del|pour|para|da|do|della|dello|van|voor|til|till|f(?:ö|o)r|p(?:å|a)|dla|na|k)\s[^\n:]{1,40}:\s{0,3})",
                  kSom | kCi}},
                ValidateNatural});
  r.push_back(R{Kind::kPassword,
                {{R"((?:密码|密碼|口令)(?:是|为|為)\s{0,3})", kSom},
                 {R"((?:пароль|Пароль|ПАРОЛЬ)(?:\s(?:от|для|к|на)\s[^\n:]{1,40}?)?(?:\s{0,2}(?::|—|–|-)|\s(?:это|был|будет))\s{1,3})", kSom},
                 {R"(パスワードは\s{0,3})", kSom},
                 {R"(비밀번호는\s{0,3})", kSom}},
                [](ScanState& st, size_t, size_t, size_t to, Finding* out) {
                  size_t vb, ve;
                  if (!NaturalValue(st, to, false, &vb, &ve)) return false;
                  return Emit(out, vb, ve);
                }});
  r.push_back(R{Kind::kPassword,
                {{R"(\s(?:is|was|as)\s(?:the|my|our|your|his|her|their)\s(?:[A-Za-z-]{1,12}\s)?(?:password|pw|passcode|pin)\b)",
                  kSom | kCi}},
                ValidateNaturalBefore});
#undef SEALTRACE_PIN_CUE
#undef SEALTRACE_PIN_SEP
#undef SEALTRACE_PIN_PREP
#undef SEALTRACE_NL_CUE
#undef SEALTRACE_NL_COPULA
#undef SEALTRACE_NL_LEAD
}

}  // namespace

void AddCredentialRules(std::vector<Rule>* out) {
  AddCueRules(out);
  AddCommandLineRules(out);
  AddUrlSqlMarkupRules(out);
  AddHttpBasicRules(out);
  AddPinRules(out);
  AddNaturalLanguageRules(out);
}

}  // namespace rules
}  // namespace sealtrace::privacy
