#include "gen_redaction_corpus/corpus.h"
#include "gen_redaction_corpus/corpus_internal.h"

#include <functional>
#include <string_view>

namespace sealtrace::corpus {

// A random string over `alphabet` that contains a digit, an upper and a lower
// case letter (what real random tokens of these lengths contain).
std::string Mixed(Rng& r, std::string_view alphabet, size_t n) {
  for (;;) {
    std::string s = r.Chars(alphabet, n);
    bool d = false, u = false, l = false;
    for (char c : s) {
      d |= c >= '0' && c <= '9';
      u |= c >= 'A' && c <= 'Z';
      l |= c >= 'a' && c <= 'z';
    }
    if (d && u && l) return s;
  }
}

int LuhnCheckDigit(const std::string& body) {
  int sum = 0;
  bool dbl = true;  // the check digit will be appended at the right
  for (size_t i = body.size(); i-- > 0;) {
    int d = body[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return (10 - sum % 10) % 10;
}

std::string CardDigits(Rng& r, bool valid, size_t* len_out) {
  struct Brand {
    const char* prefix;
    size_t len;
  };
  static const std::vector<Brand> kBrands = {
      {"4", 16},   {"4", 16},  {"4", 13},    {"51", 16}, {"55", 16},  {"2221", 16}, {"2720", 16},
      {"34", 15},  {"37", 15}, {"6011", 16}, {"65", 16}, {"644", 16}, {"3528", 16}, {"3589", 16},
      {"300", 14}, {"36", 14}, {"62", 16},   {"62", 19}, {"4", 19},   {"6011", 19},
  };
  const Brand& b = r.Pick(kBrands);
  std::string body = b.prefix;
  while (body.size() < b.len - 1) body.push_back(kDigits[r.Below(10)]);
  int check = LuhnCheckDigit(body);
  if (!valid) check = (check + 1 + static_cast<int>(r.Below(9))) % 10;
  body.push_back(static_cast<char>('0' + check));
  *len_out = b.len;
  return body;
}

std::string GroupCard(Rng& r, const std::string& d) {
  int style = static_cast<int>(r.Below(3));  // 0 plain, 1 spaces, 2 dashes
  if (style == 0) return d;
  char sep = style == 1 ? ' ' : '-';
  std::vector<size_t> groups;
  if (d.size() == 15) {
    groups = {4, 6, 5};
  } else if (d.size() == 14) {
    groups = {4, 6, 4};
  } else {
    for (size_t n = 0; n < d.size(); n += 4) groups.push_back(std::min<size_t>(4, d.size() - n));
  }
  std::string out;
  size_t pos = 0;
  for (size_t g : groups) {
    if (!out.empty()) out.push_back(sep);
    out += d.substr(pos, g);
    pos += g;
  }
  return out;
}

std::string Iban(Rng& r, bool valid) {
  struct C {
    const char* cc;
    size_t len;
    int letters;  // leading letters in the BBAN
  };
  static const std::vector<C> kC = {{"DE", 22, 0}, {"GB", 22, 4}, {"FR", 27, 0}, {"NL", 18, 4},
                                    {"ES", 24, 0}, {"IT", 27, 1}, {"CH", 21, 0}, {"AT", 20, 0},
                                    {"BE", 16, 0}, {"PL", 28, 0}, {"SE", 24, 0}, {"NO", 15, 0},
                                    {"IE", 22, 4}, {"PT", 25, 0}, {"DK", 18, 0}, {"FI", 18, 0}};
  const C& c = r.Pick(kC);
  std::string bban = r.Chars(kUpper, static_cast<size_t>(c.letters));
  while (bban.size() < c.len - 4) bban.push_back(kDigits[r.Below(10)]);
  std::string rearranged = bban + c.cc + "00";
  int rem = 0;
  for (char ch : rearranged) {
    if (ch >= '0' && ch <= '9') {
      rem = (rem * 10 + (ch - '0')) % 97;
    } else {
      rem = (rem * 100 + (ch - 'A' + 10)) % 97;
    }
  }
  int check = 98 - rem;
  if (!valid) check = (check + 1 + static_cast<int>(r.Below(50))) % 100;
  char cd[3] = {static_cast<char>('0' + check / 10), static_cast<char>('0' + check % 10), 0};
  std::string iban = std::string(c.cc) + cd + bban;
  if (r.Chance(0.5)) {
    std::string g;
    for (size_t i = 0; i < iban.size(); i += 4) {
      if (i) g.push_back(' ');
      g += iban.substr(i, 4);
    }
    iban = g;
  }
  if (r.Chance(0.1)) {
    for (char& ch : iban)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  }
  return iban;
}

std::string Pad(size_t v, size_t w) {
  std::string s = std::to_string(v);
  while (s.size() < w) s.insert(s.begin(), '0');
  return s;
}

std::string Ssn(Rng& r) {
  size_t area = r.Range(1, 898);
  if (area == 666) area = 667;
  std::string a = Pad(area, 3), g = Pad(r.Range(1, 99), 2), s = Pad(r.Range(1, 9999), 4);
  if (r.Chance(0.8)) return a + "-" + g + "-" + s;
  return a + " " + g + " " + s;
}

std::string Email(Rng& r) {
  static const std::vector<std::string> kFirst = {"john", "maria", "li", "ahmed", "sofia",
                                                  "k",    "jean",  "o",  "anna",  "raj"};
  static const std::vector<std::string> kLast = {"doe", "schmidt", "wang",    "garcia",
                                                 "ng",  "o-brien", "mueller", "rossi"};
  static const std::vector<std::string> kDomain = {
      "example.com",  "gmail.com",  "company.co.uk", "mail.example.org", "uni-bonn.de",
      "corp.example", "outlook.fr", "yahoo.co.jp",   "acme-widgets.io",  "post.example.net"};
  std::string f = r.Pick(kFirst), l = r.Pick(kLast);
  std::string local;
  switch (r.Below(5)) {
    case 0:
      local = f + "." + l;
      break;
    case 1:
      local = f + "_" + l + std::to_string(r.Below(100));
      break;
    case 2:
      local = f.substr(0, 1) + l;
      break;
    case 3:
      local = f + "+" + r.Chars("abcdefghijklmnopqrstuvwxyz", 5);
      break;
    default:
      local = f + std::to_string(r.Range(1, 9999));
      break;
  }
  if (r.Chance(0.15)) local[0] = static_cast<char>(local[0] - 32);
  return local + "@" + r.Pick(kDomain);
}

std::string D(Rng& r, size_t n) { return r.Chars(kDigits, n); }
std::string NZ(Rng& r) { return std::string(1, "23456789"[r.Below(8)]); }

std::string Phone(Rng& r) {
  switch (r.Below(16)) {
    case 0:
      return "+1" + NZ(r) + D(r, 2) + NZ(r) + D(r, 6);
    case 1:
      return "+1 " + NZ(r) + D(r, 2) + " " + NZ(r) + D(r, 2) + " " + D(r, 4);
    case 2:
      return "+1 (" + NZ(r) + D(r, 2) + ") " + NZ(r) + D(r, 2) + "-" + D(r, 4);
    case 3:
      return "+44 20 " + D(r, 4) + " " + D(r, 4);
    case 4:
      return "+49 30 " + D(r, 8);
    case 5:
      return "+33 1 " + D(r, 2) + " " + D(r, 2) + " " + D(r, 2) + " " + D(r, 2);
    case 6:
      return "+49 (0)30 " + D(r, 7);
    case 7:
      return "0049 30 " + D(r, 7);
    case 8:
      return "(" + NZ(r) + D(r, 2) + ") " + NZ(r) + D(r, 2) + "-" + D(r, 4);
    case 9:
      return NZ(r) + D(r, 2) + "-" + NZ(r) + D(r, 2) + "-" + D(r, 4);
    case 10:
      return NZ(r) + D(r, 2) + "." + NZ(r) + D(r, 2) + "." + D(r, 4);
    case 11:
      return "1-800-" + NZ(r) + D(r, 2) + "-" + D(r, 4);
    case 12:
      return "020 " + D(r, 4) + " " + D(r, 4);
    case 13:
      return "07" + D(r, 3) + " " + D(r, 6);
    case 14:
      return "030 " + D(r, 8);
    default:
      return "+91 " + std::string(1, "6789"[r.Below(4)]) + D(r, 4) + " " + D(r, 5);
  }
}

std::string B64UrlEncode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kB64Url[(acc << (6 - bits)) & 63]);
  return out;
}

std::string Jwt(Rng& r) {
  static const std::vector<std::string> kHeaders = {
      R"({"alg":"HS256","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT","kid":"k1"})",
      R"({"typ":"JWT","alg":"ES256"})", R"({"alg":"HS512"})"};
  std::string payload =
      R"({"sub":")" + D(r, 10) + R"(","name":"user)" + D(r, 3) + R"(","iat":)" + D(r, 10) + "}";
  return B64UrlEncode(r.Pick(kHeaders)) + "." + B64UrlEncode(payload) + "." +
         r.Chars(kB64Url, r.Chance(0.5) ? 43 : 86);
}

struct Built {
  std::string secret;
  std::vector<std::string> before;  // context phrases
};

std::string Password(Rng& r) {
  static const std::vector<std::string> kWords = {"Sunny", "tiger",  "Maple",  "orange", "Falcon",
                                                  "zebra", "Winter", "coffee", "Rocket"};
  static const std::string kSym = "!@#$%^&*?_-+=";
  switch (r.Below(3)) {
    case 0:
      return r.Pick(kWords) + D(r, r.Range(2, 4)) + kSym[r.Below(kSym.size())];
    case 1:
      return Mixed(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%&*",
                   r.Range(8, 20));
    default:
      return std::string(1, kSym[r.Below(kSym.size())]) + r.Pick(kWords) + D(r, 2) + r.Pick(kWords);
  }
}


std::vector<std::string> NeverRecordWords() { return {"Project Falcon", "Bluebird", "Nimbus-7"}; }


void Gen::Positives(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      IdentifierPositives(*this);
      CredentialPositives(*this);
      size_t len;
      Emit("pos:payment_card",
           Wrap({"my card is {} exp 12/27", "Card number: {}", "cc {} cvv 123", "pay with {}",
                 "Kartennummer {} bitte"}),
           GroupCard(r, CardDigits(r, true, &len)), "payment_card");
      Emit("pos:iban",
           Wrap({"IBAN: {}", "please transfer to {} by friday", "Bankverbindung {} BIC DEUTDEFF",
                 "iban {}"}),
           Iban(r, true), "iban");
      Emit("pos:us_ssn", Wrap({"SSN: {}", "social security number {}", "my ssn is {}", "SSN {}"}),
           Ssn(r), "us_ssn");
      if (r.Chance(0.2)) {
        Emit("pos:us_ssn", "SSN: {}",
             D(r, 1) == "0"
                 ? "123456789"
                 : Pad(r.Range(1, 665), 3) + Pad(r.Range(1, 99), 2) + Pad(r.Range(1, 9999), 4),
             "us_ssn");
      }
      Emit("pos:email",
           Wrap({"mail me at {}", "From: Jane <{}>", "cc: {}, thanks", "contact {}.", "{} wrote:"}),
           Email(r), "email");
      Emit("pos:phone",
           Wrap({"call me at {}", "Tel: {}", "phone {} (mobile)", "my number is {}.",
                 "reach support on {} anytime"}),
           Phone(r), "phone");
      static const std::vector<std::string> kAwsPre = {"AKIA", "AKIA", "ASIA"};
      Emit("pos:aws_access_key",
           Wrap({"aws_access_key_id = {}", "AccessKeyId: {}", "export AWS_ACCESS_KEY_ID={}"}),
           r.Pick(kAwsPre) + r.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "aws_access_key");
      Emit("pos:aws_secret_key",
           r.Pick(std::vector<std::string>{"aws_secret_access_key = {}", "AWS_SECRET_ACCESS_KEY={}",
                                           "aws secret: {}", "\"SecretAccessKey\": \"{}\"", "{}"}),
           Mixed(r, kB64, 40), "aws_secret_key");
      static const std::vector<std::string> kGh = {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
      Emit("pos:github_token",
           Wrap({"GITHUB_TOKEN={}", "git clone https://{}@github.com/org/repo", "token {}"}),
           r.Chance(0.75) ? r.Pick(kGh) + Mixed(r, kAlnum, 36)
                          : "github_pat_" + Mixed(r, kAlnum, 22) + "_" + Mixed(r, kAlnum, 59),
           "github_token");
      Emit("pos:gitlab_token", Wrap({"GITLAB_TOKEN={}", "PRIVATE-TOKEN: {}"}),
           "glpat-" + Mixed(r, kB64Url, 20), "gitlab_token");
      static const std::vector<std::string> kSl = {"xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxr-"};
      Emit("pos:slack_token", Wrap({"SLACK_BOT_TOKEN={}", "slack token {}"}),
           r.Pick(kSl) + D(r, r.Range(10, 13)) + "-" + D(r, r.Range(10, 13)) + "-" +
               Mixed(r, kAlnum, 24),
           "slack_token");
      Emit("pos:slack_webhook", Wrap({"webhook: {}", "curl -X POST {} -d @msg.json"}),
           "https://hooks.slack.com/services/T" +
               r.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8) + "/B" +
               r.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10) + "/" + Mixed(r, kAlnum, 24),
           "slack_webhook");
      static const std::vector<std::string> kSt = {"sk_live_", "rk_live_", "pk_live_", "sk_test_"};
      Emit("pos:stripe_key", Wrap({"STRIPE_SECRET_KEY={}", "stripe.api_key = '{}'"}),
           r.Pick(kSt) + Mixed(r, kAlnum, r.Range(24, 99)), "stripe_key");
      Emit("pos:google_api_key", Wrap({"GOOGLE_API_KEY={}", "maps?key={}&callback=init"}),
           "AIza" + Mixed(r, kB64Url, 35), "google_api_key");
      Emit("pos:npm_token", Wrap({"//registry.npmjs.org/:_authToken={}", "NPM_TOKEN={}"}),
           "npm_" + Mixed(r, kAlnum, 36), "npm_token");
      Emit("pos:openai_key", Wrap({"OPENAI_API_KEY={}", "openai.api_key = \"{}\""}),
           r.Chance(0.5) ? "sk-" + Mixed(r, kAlnum, 48)
                         : "sk-proj-" + Mixed(r, kB64Url, r.Range(40, 120)),
           "openai_key");
      Emit("pos:jwt", Wrap({"Authorization: Bearer {}", "id_token={}", "cookie session={}"}),
           Jwt(r), "jwt");
      static const std::vector<std::string> kPem = {"RSA PRIVATE KEY", "PRIVATE KEY",
                                                    "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                                                    "ENCRYPTED PRIVATE KEY"};
      std::string pem = r.Pick(kPem);
      if (r.Chance(0.7)) {
        Emit("pos:private_key", "key: {} done",
             "-----BEGIN " + pem + "----- " + Mixed(r, kB64, 64) + " " + Mixed(r, kB64, 40) +
                 "== -----END " + pem + "-----",
             "private_key");
      } else {
        Emit("pos:private_key", "{}", "-----BEGIN " + pem + "-----", "private_key");
      }
      static const std::vector<std::string> kCues = {
          "password: ",    "Password=",        "passwd=",    "pwd: ",           "PASSWORD = ",
          "pass ",         "secret=",          "Passwort: ", "mot de passe : ", "contraseña: ",
          "senha: ",       "wachtwoord: ",     "пароль: ",   "密码：",          "パスワード: ",
          "db password: ", "\"password\": \"", "login pw: ", "Kennwort: ",      "hasło: "};
      std::string cue = r.Pick(kCues);
      std::string tail =
          cue.back() == '"' ? "\"}" : r.Pick(std::vector<std::string>{"", " ok", " thanks", "."});
      Emit("pos:password", cue + "{}" + tail, Password(r), "password");
      static const std::vector<std::string> kGenCues = {
          "api_key = ",    "apiKey: ",      "client_secret=", "Authorization: Bearer ",
          "X-API-Key: ",   "access_token=", "auth_token: ",   "\"api_secret\": \"",
          "SECRET_KEY = '"};
      std::string gcue = r.Pick(kGenCues);
      Emit("pos:generic_secret",
           gcue + "{}" +
               (gcue.back() == '"'    ? "\""
                : gcue.back() == '\'' ? "'"
                                      : ""),
           r.Chance(0.5) ? r.Chars(kHex, 32) + std::to_string(r.Below(10))
                         : Mixed(r, kB64Url, r.Range(24, 64)),
           "generic_secret");
      std::string word = r.Pick(NeverRecordWords());
      if (r.Chance(0.3)) {
        for (char& ch : word)
          if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
      } else if (r.Chance(0.3)) {
        for (char& ch : word)
          if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
      }
      Emit("pos:never_record", Wrap({"the {} launch is moving", "status of {}?", "{}: next steps"}),
           word, "never_record");
    }
}

void Gen::Negatives(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      IdentifierNegatives(*this);
      CredentialNegatives(*this);
      size_t len;
      Neg("neg:card_luhn", "card " + GroupCard(r, CardDigits(r, false, &len)) + " was declined");
      Neg("neg:git_sha", r.Pick(std::vector<std::string>{"commit ", "merged ", "fix in ", ""}) +
                             r.Chars(kHex, r.Chance(0.5) ? 40 : 7) + " " +
                             r.Pick(std::vector<std::string>{"Fix typo", "(HEAD -> main)", ""}));
      Neg("neg:sha256", "sha256:" + r.Chars(kHex, 64));
      Neg("neg:uuid", "request id " + r.Chars(kHex, 8) + "-" + r.Chars(kHex, 4) + "-4" +
                          r.Chars(kHex, 3) + "-a" + r.Chars(kHex, 3) + "-" + r.Chars(kHex, 12));
      Neg("neg:version",
          r.Pick(std::vector<std::string>{"v", "version ", "Chrome/", "release-", "python"}) +
              std::to_string(r.Range(1, 130)) + "." + std::to_string(r.Below(20)) + "." +
              std::to_string(r.Below(10000)) +
              (r.Chance(0.5) ? "." + std::to_string(r.Below(3000)) : "") + " installed");
      Neg("neg:order", r.Pick(std::vector<std::string>{
                           "Order #" + D(r, 3) + "-" + D(r, 7) + "-" + D(r, 7),
                           "order no. " + NZ(r) + D(r, 2) + "-" + NZ(r) + D(r, 2) + "-" + D(r, 4),
                           "Invoice INV-2024-" + D(r, 6), "PO " + D(r, 10), "ticket #" + D(r, 5),
                           "tracking 1Z" + r.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16),
                           "Bestellnummer " + D(r, 3) + "-" + D(r, 3) + "-" + D(r, 4)}));
      Neg("neg:date",
          r.Pick(std::vector<std::string>{
              "2024-" + Pad(r.Range(1, 12), 2) + "-" + Pad(r.Range(1, 28), 2),
              Pad(r.Range(1, 28), 2) + "." + Pad(r.Range(1, 12), 2) +
                  ".2024 14:" + Pad(r.Below(60), 2),
              Pad(r.Range(1, 12), 2) + "/" + Pad(r.Range(1, 28), 2) + "/2023",
              "2024" + Pad(r.Range(1, 12), 2) + Pad(r.Range(1, 28), 2),
              "2024-03-15T14:30:" + Pad(r.Below(60), 2) + "Z", "meeting 09:30-10:45 tomorrow"}));
      Neg("neg:code",
          r.Pick(std::vector<std::string>{
              "for (int i = 0; i < " + D(r, 3) + "; i++) {",
              "x = compute(" + D(r, 4) + ", " + D(r, 4) + ", " + D(r, 5) + ");",
              "if (password == null) return false;", "const token = getToken(req);",
              "password = os.environ['DB_PASSWORD']", "api_key = config.get('api_key')",
              "def check_password(pwd, hashed):", "self.secret = secret",
              "let pass = document.getElementById('pw').value;",
              "SELECT id, email FROM users WHERE id = " + D(r, 6) + ";", "assert len(token) == 40",
              "int arr[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};"}));
      Neg("neg:prose",
          r.Pick(std::vector<std::string>{
              "forgot password? click the reset link", "please pass the salt",
              "the token expired yesterday", "secret santa is on friday", "password: ********",
              "enter your password below", "the api key rotation is done",
              "Password Manager opened", "we need to pass this test", "pwd is the shell builtin",
              "Is the password field required?", "my passport expires in 2031"}));
      Neg("neg:numbers",
          r.Pick(std::vector<std::string>{
              "ip 192.168." + std::to_string(r.Below(256)) + "." + std::to_string(r.Below(256)),
              "listening on 10.0.0." + std::to_string(r.Below(256)) + ":" + D(r, 4),
              "total $" + std::to_string(r.Range(1, 999)) + "," + D(r, 3) + "." + D(r, 2),
              "ISBN 978-3-16-" + D(r, 6) + "-" + D(r, 1), "resolution 1920x1080 at 60 Hz",
              "population 83 200 000 people", "room " + D(r, 3) + " floor " + D(r, 1),
              "score " + D(r, 2) + ":" + D(r, 2), "amount 1.234.567,89 EUR"}));
      Neg("neg:hex",
          r.Pick(std::vector<std::string>{"md5 " + r.Chars(kHex, 32), "color #" + r.Chars(kHex, 6),
                                          "SGVsbG8gd29ybGQ= is base64", "0x" + r.Chars(kHex, 16)}));
      Neg("neg:tokenlike",
          r.Pick(std::vector<std::string>{
              "pip install sk-learn", "ghp_short", "AKIA" + r.Chars(kUpper, 8), "eyJfoo.bar",
              "xoxb-", "AIzaShort", "npm_install_done", "glpat-short", Iban(r, false),
              "SSN 000-12-3456", "SSN 666-12-3456", "id 912-34-5678", "user@localhost",
              "@channel standup", "name@ example.com", "sk_live_", "-----BEGIN CERTIFICATE-----",
              "-----BEGIN PUBLIC KEY-----"}));
    }
}


std::vector<Line> Generate(uint64_t seed, size_t per_family) {
  Gen g{Rng{seed}, {}};
  g.Positives(per_family);
  g.Negatives(per_family);
  return std::move(g.out);
}

std::string FormatTsv(const Line& line) {
  std::string labels;
  for (const Label& l : line.labels) {
    if (!labels.empty()) labels += ",";
    labels += l.kind + ":" + std::to_string(l.begin) + ":" + std::to_string(l.end);
  }
  if (labels.empty()) labels = "-";
  return line.family + "\t" + labels + "\t" + line.text;
}

}  // namespace sealtrace::corpus
