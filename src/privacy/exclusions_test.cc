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
