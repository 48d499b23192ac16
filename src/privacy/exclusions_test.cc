#include "privacy/exclusions.h"

#include <gtest/gtest.h>

#include "sealtrace/v1/events.pb.h"

namespace sealtrace::privacy {
namespace {

std::string Err(std::string_view toml) {
  auto c = ParsePrivacyConfig(toml, "p.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(PrivacyConfig, ShippedDefaultsParse) {
  PrivacyConfig d = DefaultPrivacyConfig();
  EXPECT_GT(d.exclusions.size(), 30u);
  EXPECT_EQ(d.hotkey.modifiers, uint32_t{v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SHIFT});
  EXPECT_EQ(d.hotkey.keysym, uint32_t{'p'});
  auto m = ExclusionMatcher::Create(d.exclusions);
  ASSERT_TRUE(m.ok()) << m.status();
  struct C {
    const char *cls, *title, *want;
  } cases[] = {
      {"KeePassXC", "Passwords.kdbx - KeePassXC", "password_manager"},
      {"1Password", "1Password", "password_manager"},
      {"Bitwarden", "Bitwarden", "password_manager"},
      {"Pinentry-gtk-2", "", "auth_prompt"},
      {"ssh-askpass", "OpenSSH", "auth_prompt"},
      {"polkit-gnome-authentication-agent-1", "Authenticate", "auth_prompt"},
      {"firefox", "Private Browsing - Mozilla Firefox", "private_browsing"},
      {"Google-chrome", "New Tab - Google Chrome (Incognito)", "private_browsing"},
      {"Slack", "general - Acme", "messaging"},
      {"Signal", "Signal", "messaging"},
      {"TelegramDesktop", "Telegram", "messaging"},
      {"Element", "Element | room", "messaging"},
      {"discord", "Discord", "messaging"},
      {"thunderbird", "Inbox - Mozilla Thunderbird", "email"},
      {"Evolution", "Mail", "email"},
      {"firefox", "Inbox (3) - jane@example.com - Gmail - Mozilla Firefox", "email"},
  };
  for (const auto& c : cases) {
    auto r = (*m)->Match(c.cls, "", c.title);
    ASSERT_TRUE(r.has_value()) << c.cls << " / " << c.title;
    EXPECT_EQ(*r, c.want) << c.cls;
  }
  EXPECT_FALSE((*m)->Match("xterm", "xterm", "bash").has_value());
  EXPECT_FALSE(
      (*m)->Match("firefox", "Navigator", "Signal handling in Linux - Firefox").has_value());
  EXPECT_FALSE((*m)->Match("code", "code", "main.cc - Visual Studio Code").has_value());
}

// Sensitive windows in the shipped defaults: titles and URLs that must be
// excluded (with their reason) and ordinary ones that must not.
struct WindowCase {
  const char *cls, *title, *want;  // want "" = not excluded
};

void ExpectDefaults(const std::vector<WindowCase>& cases) {
  auto m = ExclusionMatcher::Create(DefaultPrivacyConfig().exclusions);
  ASSERT_TRUE(m.ok()) << m.status();
  for (const auto& c : cases) {
    auto r = (*m)->Match(c.cls, "", c.title);
    EXPECT_EQ(r.value_or(""), c.want) << c.cls << " / " << c.title;
  }
}

TEST(SensitiveWindows, Health) {
  ExpectDefaults({
      {"firefox", "MyChart - Test Results — Mozilla Firefox", "health"},
      {"firefox", "Welcome to the Patient Portal - St Mary's — Mozilla Firefox", "health"},
      {"Google-chrome", "NHS App - Google Chrome", "health"},
      {"Google-chrome", "Doctolib - Prendre rendez-vous - Google Chrome", "health"},
      {"firefox", "Join your telehealth visit — Mozilla Firefox", "health"},
      {"firefox", "Aetna - Member Login — Mozilla Firefox", "health"},
      {"firefox", "Claims | Cigna — Mozilla Firefox", "health"},
      {"firefox", "Techniker Krankenkasse: Anmelden — Mozilla Firefox", "health"},
      {"firefox", "View medical claims — Mozilla Firefox", "health"},
      {"firefox", "Walgreens Pharmacy - Refill Prescriptions — Mozilla Firefox", "health"},
      {"firefox", "Prescription refills — Mozilla Firefox", "health"},
      {"firefox", "https://mychart.example-health.org/MyChart/Home — Mozilla Firefox", "health"},
      {"firefox", "https://www.doctolib.fr/sessions/new — Mozilla Firefox", "health"},
      {"firefox", "https://portal.example.org/mychart/visits — Mozilla Firefox", "health"},
      {"waydroid.com.epic.mychart", "MyChart", "health"},
      // Ordinary windows.
      {"firefox", "Pharmacy - Wikipedia — Mozilla Firefox", ""},
      {"firefox", "Health insurance in Germany - Wikipedia — Mozilla Firefox", ""},
      {"code", "claims_parser.py - Visual Studio Code", ""},
      {"firefox", "Anthem (song) - Wikipedia — Mozilla Firefox", ""},
      {"xterm", "make test", ""},
  });
}

TEST(SensitiveWindows, HrAndPerformanceReviews) {
  ExpectDefaults({
      {"firefox", "Home - Workday — Mozilla Firefox", "hr"},
      {"firefox", "Workday — Mozilla Firefox", "hr"},
      {"Google-chrome", "Workday - Google Chrome", "hr"},
      {"firefox", "https://wd5.myworkday.com/acme/d/home.htmld — Mozilla Firefox", "hr"},
      {"firefox", "BambooHR — Mozilla Firefox", "hr"},
      {"firefox", "SAP SuccessFactors — Mozilla Firefox", "hr"},
      {"firefox", "Reviews | Lattice — Mozilla Firefox", "hr"},
      {"firefox", "Culture Amp — Mozilla Firefox", "hr"},
      {"firefox", "15Five — Mozilla Firefox", "hr"},
      {"firefox", "Personio — Mozilla Firefox", "hr"},
      {"firefox", "bob - HiBob — Mozilla Firefox", "hr"},
      {"soffice", "Performance Review 2024 - Jane.docx - LibreOffice Writer", "hr"},
      {"firefox", "360 feedback for Sam — Mozilla Firefox", "hr"},
      {"firefox", "360° Feedback — Mozilla Firefox", "hr"},
      {"evince", "Disciplinary hearing notes.pdf", "hr"},
      {"soffice", "Mitarbeitergespräch 2024.odt - LibreOffice Writer", "hr"},
      // Ambiguous: "Workday" inside a phrase is an ordinary word (a note about
      // a working day), not the product; recorded.
      {"gedit", "Workday planning notes.txt - gedit", ""},
      {"firefox", "Lattice-based cryptography - Wikipedia — Mozilla Firefox", ""},
      {"evince", "Interdisciplinary research methods.pdf", ""},
      {"soffice", "multi-disciplinary team.odt - LibreOffice Writer", ""},
      {"firefox", "Bob's Burgers - Wikipedia — Mozilla Firefox", ""},
  });
}

TEST(SensitiveWindows, Payroll) {
  ExpectDefaults({
      {"firefox", "ADP — Mozilla Firefox", "payroll"},
      {"firefox", "MyADP — Mozilla Firefox", "payroll"},
      {"firefox", "ADP Workforce Now — Mozilla Firefox", "payroll"},
      {"firefox", "Payroll - Gusto — Mozilla Firefox", "payroll"},
      {"firefox", "Paychex Flex — Mozilla Firefox", "payroll"},
      {"firefox", "Rippling — Mozilla Firefox", "payroll"},
      {"evince", "Payslip_2024-05.pdf", "payroll"},
      {"evince", "pay stub march.pdf", "payroll"},
      {"evince", "Gehaltsabrechnung Mai 2024.pdf", "payroll"},
      {"evince", "fiche de paie avril.pdf", "payroll"},
      {"firefox", "https://workforcenow.adp.com/theme/index.html — Mozilla Firefox", "payroll"},
      {"firefox", "https://app.gusto.com/payroll — Mozilla Firefox", "payroll"},
      // Ordinary words.
      {"firefox", "Buon gusto: ricette italiane — Mozilla Firefox", ""},
      {"firefox", "Rippling water sounds - YouTube — Mozilla Firefox", ""},
      {"evince", "ADP and ATP in cell metabolism.pdf", ""},
      {"code", "payroll_report.sql - Visual Studio Code", ""},
  });
}

TEST(SensitiveWindows, OnlineBanking) {
  ExpectDefaults({
      {"firefox", "Online Banking — Mozilla Firefox", "banking"},
      {"firefox", "Sparkasse KölnBonn: Online-Banking — Mozilla Firefox", "banking"},
      {"firefox", "Mein ELBA — Mozilla Firefox", "banking"},
      {"firefox", "Log on to Internet Banking | HSBC UK — Mozilla Firefox", "banking"},
      {"firefox", "Sign in - Chase — Mozilla Firefox", "banking"},
      {"firefox", "Barclays | Log in — Mozilla Firefox", "banking"},
      {"firefox", "Deutsche Bank – Login — Mozilla Firefox", "banking"},
      {"firefox", "Login | ING — Mozilla Firefox", "banking"},
      {"firefox", "Crédit Agricole - Connexion — Mozilla Firefox", "banking"},
      {"firefox", "Banque en ligne - LCL — Mozilla Firefox", "banking"},
      {"firefox", "https://mein.elba.raiffeisen.at/ — Mozilla Firefox", "banking"},
      {"firefox", "https://www.sparkasse-koelnbonn.de/de/home/onlinebanking/umsaetze.html", "banking"},
      {"firefox", "https://online.example.bank/login — Mozilla Firefox", "banking"},
      {"firefox", "https://banking.dkb.de/ — Mozilla Firefox", "banking"},
      {"firefox", "https://secure.chase.com/web/auth/dashboard — Mozilla Firefox", "banking"},
      {"jameica", "Hibiscus", "banking"},
      {"gnucash", "accounts.gnucash - GnuCash", "banking"},
      {"KMyMoney", "KMyMoney", "banking"},
      // Ordinary words and pages.
      {"firefox", "Banking regulation - Wikipedia — Mozilla Firefox", ""},
      {"firefox", "The banking crisis of 2008 — Mozilla Firefox", ""},
      {"firefox", "River bank erosion - National Geographic — Mozilla Firefox", ""},
      {"evince", "Databank export.pdf", ""},
      {"firefox", "Logging in with SSH keys - ArchWiki — Mozilla Firefox", ""},
      {"firefox", "Purchase history - Sign in — Mozilla Firefox", ""},
      {"firefox", "Chase Center events — Mozilla Firefox", ""},
      {"code", "banking.py - Visual Studio Code", ""},
      {"code", "src/bank/ledger.rs - Visual Studio Code", ""},
  });
}

TEST(PrivacyConfig, TitleArrayMeansAllMustMatch) {
  auto c = ParsePrivacyConfig(R"(
include_defaults = false
[[exclude]]
reason = "both"
title = ["alpha", "beta"]
)",
                              "p.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->exclusions.size(), 1u);
  EXPECT_EQ(c->exclusions[0].title, "alpha");
  ASSERT_EQ(c->exclusions[0].title_also.size(), 1u);
  auto m = ExclusionMatcher::Create(c->exclusions);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->Match("x", "", "beta then alpha").value_or(""), "both");
  EXPECT_FALSE((*m)->Match("x", "", "alpha only").has_value());
  EXPECT_FALSE((*m)->Match("x", "", "beta only").has_value());
  EXPECT_EQ(Err("[[exclude]]\ntitle = []\n"), "p.toml:2: 'title' array must hold 1 to 8 patterns");
  EXPECT_EQ(Err("[[exclude]]\ntitle = [\"a\", 3]\n"),
            "p.toml:2: 'title' must be a string or an array of strings");
  EXPECT_EQ(Err("[[exclude]]\ntitle = [\"a\",\n \"(x\"]\n").substr(0, 33),
            "p.toml:3: invalid title pattern: ");
}

TEST(PrivacyConfig, TitlePolicy) {
  EXPECT_EQ(DefaultPrivacyConfig().title_policy, TitlePolicy::kFull);
  for (auto [text, want] : {std::pair{"full", TitlePolicy::kFull},
                            std::pair{"app-and-domain", TitlePolicy::kAppAndDomain},
                            std::pair{"app-only", TitlePolicy::kAppOnly}}) {
    auto c = ParsePrivacyConfig(std::string("title_policy = \"") + text + "\"\n", "p.toml");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->title_policy, want);
    EXPECT_EQ(TitlePolicyName(want), text);
  }
  EXPECT_EQ(Err("\ntitle_policy = \"none\"\n"),
            "p.toml:2: 'title_policy' must be \"full\", \"app-and-domain\" or \"app-only\"");
  EXPECT_EQ(StricterTitlePolicy(TitlePolicy::kFull, TitlePolicy::kAppOnly), TitlePolicy::kAppOnly);
  EXPECT_EQ(StricterTitlePolicy(TitlePolicy::kAppAndDomain, TitlePolicy::kFull),
            TitlePolicy::kAppAndDomain);
  EXPECT_FALSE(ParseTitlePolicy("FULL").has_value());
}

TEST(SiteDomain, HostsAndRegistrableDomains) {
  EXPECT_EQ(HostOfToken("https://user:pw@Mail.Google.com:443/mail/u/0"), "mail.google.com");
  EXPECT_EQ(HostOfToken("http://example.org"), "example.org");
  EXPECT_EQ(HostOfToken("(https://docs.rs/absl)"), "docs.rs");
  EXPECT_EQ(HostOfToken("github.com/sealtrace/sealtrace"), "github.com");
  EXPECT_EQ(HostOfToken("www.bbc.co.uk"), "www.bbc.co.uk");
  // Not web addresses: file names, other schemes, IPs, local names, e-mail.
  EXPECT_EQ(HostOfToken("README.md"), "");
  EXPECT_EQ(HostOfToken("main.cc"), "");
  EXPECT_EQ(HostOfToken("src/main.cc"), "");
  EXPECT_EQ(HostOfToken("file:///home/jane/notes.txt"), "");
  EXPECT_EQ(HostOfToken("https://192.168.1.10/admin"), "");
  EXPECT_EQ(HostOfToken("http://localhost:8080/"), "");
  EXPECT_EQ(HostOfToken("https://[::1]/"), "");
  EXPECT_EQ(HostOfToken("jane@example.com/x"), "");
  EXPECT_EQ(HostOfToken("v1.2/notes"), "");

  EXPECT_EQ(RegistrableDomain("mail.google.com"), "google.com");
  EXPECT_EQ(RegistrableDomain("www.bbc.co.uk"), "bbc.co.uk");
  EXPECT_EQ(RegistrableDomain("shop.example.com.au"), "example.com.au");
  EXPECT_EQ(RegistrableDomain("jane.github.io"), "jane.github.io");
  EXPECT_EQ(RegistrableDomain("x.t.co"), "t.co");
  EXPECT_EQ(RegistrableDomain("example.org"), "example.org");
  EXPECT_EQ(RegistrableDomain("EXAMPLE.org."), "example.org");
  EXPECT_EQ(RegistrableDomain("10.0.0.1"), "");
  EXPECT_EQ(RegistrableDomain("bad_host.com"), "");

  EXPECT_EQ(SiteDomainFromTitle("Issues · https://github.com/acme/app/issues — Mozilla Firefox"),
            "github.com");
  EXPECT_EQ(SiteDomainFromTitle("main.cc - docs.google.com/document/d/1x — Google Chrome"),
            "google.com");
  EXPECT_EQ(SiteDomainFromTitle("Quarterly plan - Google Docs — Mozilla Firefox"), "");
  EXPECT_EQ(SiteDomainFromTitle("README.md - notes"), "");
}

TEST(SiteDomain, Browsers) {
  EXPECT_TRUE(IsBrowserWindow("firefox", "Navigator"));
  EXPECT_TRUE(IsBrowserWindow("Google-chrome", "google-chrome"));
  EXPECT_TRUE(IsBrowserWindow("", "chromium-browser"));
  EXPECT_TRUE(IsBrowserWindow("Brave-browser", ""));
  EXPECT_TRUE(IsBrowserWindow("org.gnome.Epiphany", ""));
  EXPECT_FALSE(IsBrowserWindow("code", "code"));
  EXPECT_FALSE(IsBrowserWindow("gedit", "org.gnome.gedit"));
  EXPECT_FALSE(IsBrowserWindow("xterm", "xterm"));
}

TEST(PrivacyConfig, FullSyntax) {
  auto c = ParsePrivacyConfig(R"(
include_defaults = false
hotkey = "super+F12"
never_record = ["Project Falcon", "Bluebird"]
[minimise]
pointer_epsilon_px = 4
timing_quantum_ms = 20
[[exclude]]
reason = "bank"
app_class = "firefox"
url = "^(https?://)?online\\.mybank\\.example"
[[exclude]]
title = "confidential"
)",
                              "p.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->exclusions.size(), 2u);
  EXPECT_EQ(c->never_record.size(), 2u);
  EXPECT_EQ(c->pointer_epsilon_px, 4u);
  EXPECT_EQ(c->timing_quantum_ms, 20u);
  EXPECT_EQ(c->hotkey.modifiers, uint32_t{v1::MOD_SUPER});
  EXPECT_EQ(c->hotkey.keysym, 0xffc9u);  // XK_F12
  auto m = ExclusionMatcher::Create(c->exclusions);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->Match("firefox", "", "online.mybank.example/login - Firefox").value_or(""),
            "bank");
  EXPECT_FALSE((*m)->Match("chromium", "", "online.mybank.example/login").has_value());
  EXPECT_EQ((*m)->Match("xterm", "", "CONFIDENTIAL plan").value_or(""), "excluded");
}

TEST(PrivacyConfig, DefaultsArePrependedUnlessDisabled) {
  auto c = ParsePrivacyConfig("never_record = [\"x\"]\n", "p.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->exclusions.size(), DefaultPrivacyConfig().exclusions.size());
}

TEST(PrivacyConfig, ErrorsNameFileLineAndReason) {
  EXPECT_EQ(Err("hotkey = \"ctrl+alt+shift+p\"\nbogus = 1\n"), "p.toml:2: unknown key 'bogus'");
  EXPECT_NE(Err("a = [1,\n\n= 3\n").find("p.toml:3:"), std::string::npos);
  EXPECT_EQ(Err("\n\nhotkey = 5\n"), "p.toml:3: 'hotkey' must be a string");
  EXPECT_EQ(Err("hotkey = \"ctrl+banana+p\"\n"), "p.toml:1: unknown hotkey modifier 'banana'");
  EXPECT_EQ(Err("hotkey = \"p\"\n"), "p.toml:1: a printable hotkey needs at least one modifier");
  EXPECT_EQ(Err("[[exclude]]\nreason = \"x\"\n"),
            "p.toml:1: [[exclude]] needs at least one of app_class, title, url");
  EXPECT_EQ(Err("[[exclude]]\napp_class = \"a\"\ncolour = \"red\"\n"),
            "p.toml:3: unknown key 'colour' in [[exclude]]");
  EXPECT_EQ(Err("[[exclude]]\n\ntitle = \"(unclosed\"\n").substr(0, 33),
            "p.toml:3: invalid title pattern: ");
  EXPECT_EQ(Err("[[exclude]]\nreason = \"has space\"\napp_class = \"x\"\n"),
            "p.toml:1: reason must be [A-Za-z0-9_.-] (it is recorded)");
  EXPECT_EQ(Err("[minimise]\npointer_epsilon_px = -1\n"),
            "p.toml:2: 'pointer_epsilon_px' must be an integer in 0..100000");
  EXPECT_EQ(Err("never_record = [\"a\", 3]\n"),
            "p.toml:1: 'never_record' must be an array of strings");
  EXPECT_EQ(Err("exclude = 3\n"), "p.toml:1: 'exclude' must be an array of tables ([[exclude]])");
}

TEST(PrivacyConfig, MissingFile) {
  auto c = LoadPrivacyConfig("/nonexistent/privacy.toml");
  EXPECT_FALSE(c.ok());
}

TEST(Glob, Basics) {
  EXPECT_TRUE(GlobMatch("keepass*", "KeePassXC"));
  EXPECT_TRUE(GlobMatch("*polkit*", "polkit-gnome-authentication-agent-1"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("slack", "slackware-installer"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXbY"));
}

}  // namespace
}  // namespace sealtrace::privacy
