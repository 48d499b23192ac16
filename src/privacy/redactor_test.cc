#include "privacy/redactor.h"

#include <gtest/gtest.h>
#include <hs.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "privacy/hs_compile.h"

namespace sealtrace::privacy {
namespace rules {
// rules_tokens.cc: the candidates of the whole-text phone and AWS scans.
void PhoneCandidatesForTest(std::string_view text, std::vector<std::pair<size_t, size_t>>* out);
void AwsSecretRunsForTest(std::string_view text, std::vector<std::pair<size_t, size_t>>* out);
}  // namespace rules
namespace {

std::shared_ptr<const Redactor> R() {
  static auto r = [] {
    RedactorOptions o;
    o.never_record = {"Project Falcon", "Bluebird"};
    auto x = Redactor::Create(o);
    EXPECT_TRUE(x.ok()) << x.status();
    return *x;
  }();
  return r;
}

// The secret inside `text` (the part between « and ») must be found with
// `kind` and covered exactly-or-more; the rest must stay.
struct Case {
  const char* kind;
  std::string text;
};

std::vector<Finding> ScanOk(std::string_view text) {
  auto f = R()->Scan(text);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : std::vector<Finding>{};
}

void ExpectFound(const char* kind, const std::string& marked) {
  size_t b = marked.find("<<"), e = marked.find(">>");
  ASSERT_NE(b, std::string::npos) << marked;
  std::string text = marked.substr(0, b) + marked.substr(b + 2, e - b - 2) + marked.substr(e + 2);
  size_t sb = b, se = e - 2;
  auto f = ScanOk(text);
  bool ok = false;
  for (const auto& x : f) {
    if (x.begin <= sb && x.end >= se && KindName(x.kind) == kind) ok = true;
  }
  EXPECT_TRUE(ok) << "not found as " << kind << ": " << text << " => " << *R()->Redact(text);
  // Nothing else in the line is touched.
  for (const auto& x : f) {
    EXPECT_TRUE(x.end > sb && x.begin < se) << "extra finding in: " << text;
  }
}

void ExpectClean(const std::string& text) {
  auto f = ScanOk(text);
  EXPECT_TRUE(f.empty()) << "false positive: " << text << " => " << *R()->Redact(text);
}

TEST(RedactorRules, PaymentCards) {
  for (const char* s :
       {"card <<4111 1111 1111 1111>> exp", "<<4111-1111-1111-1111>>", "<<5555555555554444>>",
        "amex <<3782 822463 10005>>", "<<378282246310005>>", "discover <<6011 1111 1111 1117>>",
        "jcb <<3530111333300000>>", "diners <<3056 930902 5904>>", "mc2 <<2223 0000 4841 0010>>",
        "unionpay <<6200000000000005>>", "visa13 <<4222222222222>>"})
    ExpectFound("payment_card", s);
  ExpectClean("card 4111 1111 1111 1112 declined");  // Luhn fails
  ExpectClean("1234 5678 9012 3456");                // Luhn fails / no brand
  ExpectClean("order 0000000000000000");             // no brand
  ExpectClean("tracking 9400111899223197428490");    // too long
  // Dotted 4-4-4-4 is a card layout (identifier rules, rules_identifiers_test).
  ExpectFound("payment_card", "<<4111.1111.1111.1111>>");
}

TEST(RedactorRules, Iban) {
  for (const char* s : {"IBAN <<DE89 3704 0044 0532 0130 00>> BIC", "<<GB82WEST12345698765432>>",
                        "<<gb82 west 1234 5698 7654 32>>", "<<NL91ABNA0417164300>>",
                        "<<FR1420041010050500013M02606>>", "<<CH9300762011623852957>>"})
    ExpectFound("iban", s);
  ExpectClean("DE89 3704 0044 0532 0130 01");  // mod-97 fails
  ExpectClean("XX89370400440532013000");       // unknown country
  ExpectClean("DE8937040044053201300");        // wrong length for DE
}

TEST(RedactorRules, UsSsn) {
  for (const char* s : {"SSN <<123-45-6789>>", "<<536 22 1234>>", "SSN: <<536221234>>",
                        "social security number <<078-05-1121>>"})
    ExpectFound("us_ssn", s);
  ExpectClean("000-12-3456");
  ExpectClean("666-12-3456");
  ExpectClean("912-34-5678");
  ExpectClean("123-00-4567");
  ExpectClean("123-45-0000");
  ExpectClean("078-05-1120");  // the Woolworth card number
  ExpectClean("part 123-45-6789-01");
  ExpectClean("536221234 units");  // bare 9 digits without a cue
}

TEST(RedactorRules, Email) {
  for (const char* s : {"mail <<john.doe@example.com>>.", "<<a_b+tag@mail.example.co.uk>>",
                        "From: Jane (<<Jane.Roe@uni-bonn.de>>)", "<<x@y.io>>"})
    ExpectFound("email", s);
  ExpectClean("user@localhost");
  ExpectClean("@channel please");
  ExpectClean("name@ example.com");
  ExpectClean("foo@bar");
  ExpectClean("git@github.com:org/repo.git is the remote");
}

TEST(RedactorRules, Phone) {
  for (const char* s :
       {"call <<+1 (415) 555-2671>>", "<<+14155552671>>", "<<+44 20 7946 0958>>",
        "<<+49 30 12345678>>", "<<+33 1 42 68 53 00>>", "<<(415) 555-2671>>", "<<415-555-2671>>",
        "<<415.555.2671>>", "<<1-800-555-0199>>", "<<020 7946 0958>>", "<<07700 900123>>",
        "<<030 12345678>>", "<<0049 30 1234567>>", "<<+49 (0)30 1234567>>"})
    ExpectFound("phone", s);
  for (const char* s :
       {"2024-03-15", "15.03.2024 14:30", "03/15/2023", "v1.2.3", "version 10.0.19045.2965",
        "192.168.100.200", "Order #123-456-7890", "order no. 555-867-5309", "invoice 555 867 5309",
        "ISBN 978-3-16-148410-0", "1920x1080", "$1,234,567.89", "x = f(1234, 5678)", "12345678901",
        "meeting 09:30-10:45", "2024-03-15T14:30:00Z"})
    ExpectClean(s);
}

TEST(RedactorRules, CloudTokens) {
  ExpectFound("aws_access_key", "id <<AKIAIOSFODNN7EXAMPLE>> ok");
  ExpectFound("aws_access_key", "<<ASIAY34FZKBOKMUTVV7A>>");
  ExpectFound("aws_secret_key",
              "aws_secret_access_key = <<wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY>>");
  ExpectFound("github_token", "<<ghp_16C7e42F292c6912E7710c838347Ae178B4a>>");
  ExpectFound("github_token", "<<gho_16C7e42F292c6912E7710c838347Ae178B4a>>");
  ExpectFound("github_token",
              "<<github_pat_11ABCDEFG0123456789abc_"
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789abcdefghijk>>");
  ExpectFound("gitlab_token", "<<glpat-a1B2c3D4e5F6g7H8i9J0>>");
  ExpectFound("slack_token", "<<xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx>>");
  ExpectFound("slack_webhook",
              "<<https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX>>");
  ExpectFound("stripe_key", "<<sk_live_4eC39HqLyjWDarjtT1zdp7dc>>");
  ExpectFound("stripe_key", "<<pk_live_51H8x2QKa9ZbT0example1234>>");
  ExpectFound("google_api_key", "key=<<AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe>>&cb");
  ExpectFound("npm_token", "<<npm_abcdefghijklmnopqrstuvwxyz0123456789>>");
  ExpectFound("openai_key", "<<sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z>>");
  ExpectFound("openai_key", "<<sk-T3BlbkFJabcdefghijklmnopqrstuvwxyz0123456789ABCD>>");

  for (const char* s :
       {"AKIA1234", "akiaiosfodnn7example", "ghp_short", "ghp_16C7e42F292c6912E7710c838347Ae178B4",
        "glpat-short", "xoxb-", "sk_live_", "AIzaShort", "npm_install", "pip install sk-learn",
        "sk-this-is-not-a-key", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "uuid 123e4567-e89b-12d3-a456-426614174000", "md5 d41d8cd98f00b204e9800998ecf8427e",
        "ThisIsAVeryLongCamelCaseIdentifierNameX"})
    ExpectClean(s);
}

TEST(RedactorRules, JwtAndPem) {
  ExpectFound("jwt",
              "Bearer <<eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
              "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U>>");
  ExpectClean("eyJub3RhIjoiand0In0.eyJzdWIiOiIxIn0.abc");  // header has no "alg"
  ExpectClean("eyJfoo.bar");
  ExpectFound(
      "private_key",
      "x <<-----BEGIN RSA PRIVATE KEY----- MIIEpAIBAAKCAQEA7 -----END RSA PRIVATE KEY----->> y");
  ExpectFound("private_key", "<<-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk>>");
  ExpectClean("-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----");
  ExpectClean("-----BEGIN PUBLIC KEY-----");
}

TEST(RedactorRules, PasswordsAfterCues) {
  for (const char* s :
       {"password: <<Tr0ub4dor&3>>", "passwd=<<hunter2!>>", "pwd: <<s3cr3tP@ss>>",
        "pass <<Xy7#kLm9>>", "Password = '<<C0rrect Horse>>'", "secret=<<$Falcon58zebra>>",
        "token=<<abc123def456>>", "Passwort: <<Geheim123!>>", "mot de passe : <<Azerty!23>>",
        "contraseña: <<Clave2024$>>", "пароль: <<Qwerty123!>>", "密码：<<mima2024!>>",
        "{\"password\": \"<<p4ss w0rd>>\"}", "db password: <<sunshine>>",
        "https://x.test/login?user=a&password=<<Hunter22>>&next=/"})
    ExpectFound("password", s);
  for (const char* s :
       {"forgot password? click reset", "please pass the salt", "password: ********",
        "enter your password below", "Password Manager opened", "the token expired yesterday",
        "if (password == null) return;", "password = os.environ['DB_PASSWORD']",
        "password: $DB_PASSWORD", "password: ${PASS}", "pass the ball", "my passport: C01X00T47",
        "password: required"})
    ExpectClean(s);
}

TEST(RedactorRules, GenericSecretsAfterCues) {
  ExpectFound("generic_secret", "api_key = \"<<a8f5f167f44f4964e6c998dee827110c>>\"");
  ExpectFound("generic_secret", "Authorization: Bearer <<Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5>>");
  ExpectFound("generic_secret", "client_secret=<<9a8b7c6d5e4f3a2b1c0d>>");
  ExpectClean("api_key = config.get('api_key')");
  ExpectClean("the api key rotation is done");
  ExpectClean("api_key = get_api_key_from_environment_variable");
}

TEST(RedactorRules, NeverRecordWords) {
  ExpectFound("never_record", "status of <<Project Falcon>>?");
  ExpectFound("never_record", "<<PROJECT FALCON>> launch");
  ExpectFound("never_record", "the <<bluebird>> deal");
  ExpectClean("bluebirds sing");
  ExpectClean("the project falconry club");
}

TEST(Redactor, PlaceholdersAndOffsets) {
  std::vector<Finding> f;
  auto out = R()->Redact("pay 4111 1111 1111 1111 now, mail a@example.com", &f);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "pay [REDACTED:payment_card] now, mail [REDACTED:email]");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], (Finding{Kind::kPaymentCard, 4, 23}));
  EXPECT_EQ(f[1].kind, Kind::kEmail);
}

TEST(Redactor, Helpers) {
  EXPECT_TRUE(LuhnValid("79927398713"));
  EXPECT_FALSE(LuhnValid("79927398710"));
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_FALSE(IbanValid("DE89370400440532013001"));
  EXPECT_EQ(LengthBucket(1), 8u);
  EXPECT_EQ(LengthBucket(16), 16u);
  EXPECT_EQ(LengthBucket(17), 32u);
  Kind k;
  EXPECT_TRUE(KindFromName("jwt", &k));
  EXPECT_EQ(k, Kind::kJwt);
  EXPECT_FALSE(KindFromName("nope", &k));
}

TEST(Redactor, NeverRecordTooLongIsAnError) {
  RedactorOptions o;
  o.never_record = {std::string(600, 'a')};
  EXPECT_FALSE(Redactor::Create(o).ok());
}

TEST(Redactor, PathologicalInputIsLinear) {
  // Long runs of digits, token characters, separators, and binary garbage:
  // scanning must finish and stay bounded (the test has no timing assertion;
  // a quadratic engine would time out the suite).
  std::vector<std::string> inputs = {
      std::string(2 << 20, '1'),
      std::string(1 << 20, 'A'),
      [] {
        std::string s;
        while (s.size() < (1 << 20)) s += "1 ";
        return s;
      }(),
      [] {
        std::string s;
        while (s.size() < (1 << 20)) s += "a@";
        return s;
      }(),
      [] {
        std::string s;
        while (s.size() < (1 << 20)) s += "password: ";
        return s;
      }(),
      [] {
        std::string s;
        while (s.size() < (1 << 20)) s += "-----BEGIN RSA PRIVATE KEY-----";
        return s;
      }(),
      [] {
        std::string s;
        while (s.size() < (1 << 20)) s += "(1) 2-3.4/";
        return s;
      }(),
      [] {
        std::string s;
        while (s.size() < (1 << 20)) s += "aB3xY9zQ+/";
        return s;
      }(),
      [] {
        std::string s;
        uint32_t x = 1;
        for (int i = 0; i < (1 << 20); ++i) {
          x = x * 1103515245 + 12345;
          s.push_back(static_cast<char>(x >> 16));
        }
        return s;
      }(),
  };
  for (const auto& in : inputs) {
    auto out = R()->Redact(in);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_LE(out->size(), 3 * in.size() + 64);
  }
}

// Splitting text at every position into two Append calls gives the same
// output as one-shot redaction.
TEST(StreamRedactor, SplitAcrossFlushesMatchesBlockMode) {
  std::string text =
      "note 4111 1111 1111 1111 and ghp_16C7e42F292c6912E7710c838347Ae178B4a then "
      "password: Tr0ub4dor&3 call +44 20 7946 0958 end";
  auto want = R()->Redact(text);
  ASSERT_TRUE(want.ok());
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    StreamRedactor s(R());
    std::string out;
    ASSERT_TRUE(s.Append(text.substr(0, cut), &out, nullptr).ok());
    ASSERT_TRUE(s.Append(text.substr(cut), &out, nullptr).ok());
    ASSERT_TRUE(s.EndRun(&out, nullptr).ok());
    EXPECT_EQ(out, *want) << "cut at " << cut;
  }
}

TEST(StreamRedactor, LongStreamInSmallPiecesFindsEverything) {
  std::string filler = "the quick brown fox jumps over the lazy dog ";
  std::string text;
  std::vector<size_t> card_pos;
  for (int i = 0; i < 200; ++i) {
    text += filler;
    if (i % 7 == 3) {
      card_pos.push_back(text.size());
      text += "4111 1111 1111 1111 ";
    }
  }
  StreamRedactor s(R());
  std::string out;
  std::vector<Finding> f;
  for (size_t i = 0; i < text.size(); i += 5)
    ASSERT_TRUE(s.Append(text.substr(i, 5), &out, &f).ok());
  ASSERT_TRUE(s.EndRun(&out, &f).ok());
  EXPECT_EQ(out, *R()->Redact(text));
  ASSERT_EQ(f.size(), card_pos.size());
  for (size_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].begin, card_pos[i]);
    EXPECT_EQ(f[i].kind, Kind::kPaymentCard);
  }
}

TEST(StreamRedactor, SecretLongerThanHoldBoundIsContinued) {
  std::string jwt = "eyJhbGciOiJIUzI1NiJ9.";
  while (jwt.size() < 3000) jwt += "eyJzdWIiOiIxMjM0NTY3ODkwIn0";
  std::string text = "tok " + jwt + " tail";
  StreamRedactor s(R());
  std::string out;
  std::vector<Finding> f;
  for (size_t i = 0; i < text.size(); i += 100)
    ASSERT_TRUE(s.Append(text.substr(i, 100), &out, &f).ok());
  ASSERT_TRUE(s.EndRun(&out, &f).ok());
  EXPECT_EQ(out.find("eyJzdWIi"), std::string::npos) << out.substr(0, 200);
  EXPECT_NE(out.find(" tail"), std::string::npos);
  size_t covered = 0;
  for (const auto& x : f) covered += x.end - x.begin;
  EXPECT_EQ(covered, jwt.size());
}

TEST(StreamRedactor, RunsDoNotJoin) {
  StreamRedactor s(R());
  std::string out;
  std::vector<Finding> f;
  ASSERT_TRUE(s.Append("4111 1111", &out, &f).ok());
  ASSERT_TRUE(s.EndRun(&out, &f).ok());
  ASSERT_TRUE(s.Append(" 1111 1111", &out, &f).ok());
  ASSERT_TRUE(s.EndRun(&out, &f).ok());
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(out, "4111 1111 1111 1111");
}


// ---------------------------------------------------------------------------
// The whole-text scans give their validators exactly the candidates Vectorscan
// gave for the patterns they replace.

using Spans = std::vector<std::pair<size_t, size_t>>;

// (from, to) of every match of `expr` (leftmost start of match), sorted.
Spans VectorscanMatches(const char* expr, const std::string& text) {
  Spans out;
  // One compiled database per expression for the whole test binary, freed at
  // exit (LeakSanitizer checks after static destructors run).
  struct Compiled {
    hs_database_t* db = nullptr;
    hs_scratch_t* scratch = nullptr;
    ~Compiled() {
      hs_free_scratch(scratch);
      hs_free_database(db);
    }
  };
  static std::map<std::string, Compiled> cache;
  auto& [db, scratch] = cache[expr];
  if (!db) {
    int bad = -1;
    auto c = CompileHsBlockDatabase({expr}, {HS_FLAG_SOM_LEFTMOST}, {0}, &bad);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return out;
    db = *c;
    EXPECT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
  }
  hs_scan(
      db, text.data(), static_cast<unsigned>(text.size()), 0, scratch,
      [](unsigned, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
        static_cast<Spans*>(ctx)->emplace_back(from, to);
        return 0;
      },
      &out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Deterministic pseudo-random text over `alphabet`, with runs of one class.
std::string RandomText(uint32_t* x, std::string_view alphabet, size_t n) {
  std::string s;
  while (s.size() < n) {
    *x = *x * 1103515245 + 12345;
    s.push_back(alphabet[(*x >> 16) % alphabet.size()]);
  }
  return s;
}

std::vector<std::string> PhoneLikeTexts() {
  std::vector<std::string> v = {
      "call +1 (415) 555-2671 or 020 7946 0958, 2024-03-15 14:30",
      "+44 20 7946 0958 / 415-555-2671 / (0)30 1234567 ((12345678",
      "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9",
      "12345678901234567890123456789012345678901234567890",
      "++1234567 (((1))) ..1.2.3.4.5.6.7.8.. --12-34-56-78--",
      "855372,2024-10-16,652943,54598.59,3,SKU-19267,-27.3604,9057202157222",
      "1      2 1       2 (1) 234-5678 +(12) 345 6789",
      "1234567",
      "123456",
      "",
  };
  uint32_t x = 7;
  for (int i = 0; i < 300; ++i) v.push_back(RandomText(&x, "0123456789 ()./-+a\n", 1 + i * 3));
  for (int i = 0; i < 100; ++i) v.push_back(RandomText(&x, "0123456789  -", 200));
  return v;
}

TEST(WholeTextScans, PhoneCandidatesAreVectorscansMatches) {
  for (const std::string& t : PhoneLikeTexts()) {
    Spans got;
    rules::PhoneCandidatesForTest(t, &got);
    EXPECT_EQ(got, VectorscanMatches(R"([+(]?\d[\d ()./-]{5,24}\d)", t)) << t;
  }
}

TEST(WholeTextScans, AwsRunsAreTheMatchesTheValidatorCanAccept) {
  // Runs of [A-Za-z0-9/+] of every length around 40, at every offset in a
  // 64-byte block, separated by other bytes.
  std::vector<std::string> texts;
  uint32_t x = 11;
  for (size_t pre = 0; pre < 130; ++pre) {
    std::string t(pre, ' ');
    for (size_t len : {39, 40, 41, 40, 64, 40, 80, 40, 128, 40, 1}) {
      t += RandomText(&x, "aB3+/", len);
      t += RandomText(&x, " -_=\n\xe9", 1 + (x >> 20) % 3);
    }
    texts.push_back(t);
    texts.push_back(t.substr(0, t.size() - 1));
    texts.push_back(t.substr(pre));
  }
  texts.push_back(std::string(40, 'a'));
  texts.push_back(std::string(41, 'a'));
  texts.push_back(std::string(64, 'a'));
  texts.push_back(std::string(24, '-') + std::string(40, 'a'));
  texts.push_back(std::string(24, '-') + std::string(40, 'a') + "-");
  texts.push_back(std::string(88, '-') + std::string(40, 'a'));
  for (int i = 0; i < 200; ++i) texts.push_back(RandomText(&x, "aaaaaaaaaaaaaaaaaaaaaaaaaaa ", 1 + i * 7));
  auto is_run = [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') || u == '+' ||
           u == '/';
  };
  for (const std::string& t : texts) {
    Spans want;
    for (const auto& [f, e] : VectorscanMatches("[A-Za-z0-9/+]{40}", t))
      if ((f == 0 || !is_run(t[f - 1])) && (e == t.size() || !is_run(t[e])))
        want.emplace_back(f, e);
    Spans got;
    rules::AwsSecretRunsForTest(t, &got);
    EXPECT_EQ(got, want) << t;
  }
}

// ---------------------------------------------------------------------------
// ScanLines: the same findings as one Scan per line.

std::vector<Finding> PerLine(std::string_view text) {
  std::vector<Finding> out;
  size_t b = 0;
  while (b <= text.size()) {
    size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    for (const Finding& f : ScanOk(text.substr(b, e - b)))
      out.push_back({f.kind, f.begin + b, f.end + b});
    b = e + 1;
  }
  return out;
}

std::vector<std::string> SecretLines() {
  return {
      "card 4111 1111 1111 1111 exp 12/27",
      "password: Tr0ub4dor&3",
      "export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
      "mail jane.roe@example.com about it",
      "call +44 20 7946 0958 after lunch",
      "IBAN DE89 3704 0044 0532 0130 00 BIC",
      "SSN 123-45-6789",
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end",
      "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
      "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "x -----BEGIN RSA PRIVATE KEY----- MIIEpAIBAAKCAQEA7 -----END RSA PRIVATE KEY----- y",
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "b3BlbnNzaC1rZXk",
      "-----END OPENSSH PRIVATE KEY-----",
      "status of Project Falcon?",
      "api_key = \"a8f5f167f44f4964e6c998dee827110c\"",
      "the password",           // cue at the end of a line: the next line is not its value
      "  hunter2hunter2!",
      "token",
      "= abcdef1234567890abcdef",
      "order no. 555-867-5309",
      "",
      "\r",
      "plain words and 2024-03-15 and v1.2.3 and 192.168.100.200",
      "ssn",
      "123456789",
      "aws secret",
      ": wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      // Command lines and URLs (credential rules with anchors or without
      // start of match).
      "-pS3cretPass mysql -u root",
      "mysql -u root -pS3cretPass db",
      "AUTH s3cr3tPassw0rd",
      "htpasswd -b users.htpasswd alice Pa55word!",
      "postgres://alice:Pa55word!@db.example.com/app",
      "  --password=Hunter22x --user bob",
      "/p:Secr3tPw",
  };
}

TEST(ScanLines, SameFindingsAsScanPerLine) {
  std::vector<std::string> lines = SecretLines();
  std::vector<std::string> texts;
  // Every line alone, every pair, and all of them in a few orders.
  for (const auto& a : lines) {
    texts.push_back(a);
    texts.push_back(a + "\n");
    for (const auto& b : lines) texts.push_back(a + "\n" + b);
  }
  std::string all;
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < lines.size(); ++i) all += lines[(i * (round + 3)) % lines.size()] + "\n";
  texts.push_back(all);
  texts.push_back("\n\n\n");
  texts.push_back(all + all.substr(0, 100));
  uint32_t x = 5;
  for (int i = 0; i < 50; ++i)
    texts.push_back(RandomText(&x, "0123456789 +-()@.:=\n\tpassword tokenaB/", 2000));
  for (const auto& t : texts) {
    auto got = R()->ScanLines(t);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, PerLine(t)) << t;
  }
}

TEST(ScanLines, PathologicalLinesStayLinear) {
  std::string text;
  for (const char* piece : {"1", "1 ", "a@", "password: ", "aB3xY9zQ", "4111-", "(1) "}) {
    std::string line;
    while (line.size() < (256 << 10)) line += piece;
    text += line + "\n";
  }
  auto got = R()->ScanLines(text);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, PerLine(text));
}

// ---------------------------------------------------------------------------
// StreamRedactor decides in batches of 32 KiB: secrets cut by a decision at
// any offset are found as in one piece.

std::string LongTextWithSecrets(size_t prefix) {
  std::string text(prefix, 'x');
  std::string filler = "the quick brown fox jumps over the lazy dog 12 34 ";
  uint32_t x = 3;
  const auto secrets = SecretLines();
  size_t k = 0;
  while (text.size() < (100 << 10)) {
    for (int i = 0; i < 20; ++i) text += filler;
    text += secrets[k++ % secrets.size()];
    text += RandomText(&x, " \t", 1);
  }
  return text;
}

TEST(StreamRedactor, BatchesCutAtEveryOffsetMatchBlockMode) {
  // The decision boundary falls at every offset of the first secrets as the
  // prefix grows; pieces of several sizes.
  for (size_t prefix = 0; prefix < 700; prefix += 1) {
    std::string text = LongTextWithSecrets(prefix);
    auto want = R()->Redact(text);
    ASSERT_TRUE(want.ok());
    size_t piece = prefix % 5 == 0 ? 1 : std::vector<size_t>{7, 100, 4096, 33000}[prefix % 4];
    if (piece == 1 && prefix % 35 != 0) piece = 13;  // byte by byte only sometimes (slow)
    StreamRedactor s(R());
    std::string out;
    for (size_t i = 0; i < text.size(); i += piece)
      ASSERT_TRUE(s.Append(std::string_view(text).substr(i, piece), &out, nullptr).ok());
    ASSERT_TRUE(s.EndRun(&out, nullptr).ok());
    ASSERT_EQ(out, *want) << "prefix " << prefix << " piece " << piece;
  }
}

TEST(StreamRedactor, LongPrivateKeyIsContinuedAcrossBatches) {
  std::string body;
  uint32_t x = 9;
  while (body.size() < (100 << 10)) body += RandomText(&x, "ABCDEFabcdef0123456789+/", 64) + "\n";
  std::string text = "key -----BEGIN RSA PRIVATE KEY-----\n" + body +
                     "-----END RSA PRIVATE KEY----- after";
  StreamRedactor s(R());
  std::string out;
  for (size_t i = 0; i < text.size(); i += 1000)
    ASSERT_TRUE(s.Append(std::string_view(text).substr(i, 1000), &out, nullptr).ok());
  ASSERT_TRUE(s.EndRun(&out, nullptr).ok());
  EXPECT_EQ(out, "key [REDACTED:private_key] after");
  EXPECT_EQ(out, *R()->Redact(text));
}

TEST(StreamRedactor, PathologicalStreamsStayLinear) {
  for (const char* piece : {"1", "1 ", "a@", "password: ", "aB3xY9zQ", "4111-", "(1) "}) {
    std::string text;
    while (text.size() < (512 << 10)) text += piece;
    StreamRedactor s(R());
    std::string out;
    for (size_t i = 0; i < text.size(); i += 4096)
      ASSERT_TRUE(s.Append(std::string_view(text).substr(i, 4096), &out, nullptr).ok());
    ASSERT_TRUE(s.EndRun(&out, nullptr).ok());
    EXPECT_LE(out.size(), 3 * text.size() + 64);
  }
}

}  // namespace
}  // namespace sealtrace::privacy
