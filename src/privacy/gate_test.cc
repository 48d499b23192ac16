#include "privacy/gate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <fstream>
#include <string>
#include <vector>

namespace sealtrace::privacy {
namespace {

class CollectSink : public EventSink {
 public:
  void OnEvent(v1::Event e) override { events.push_back(std::move(e)); }
  std::vector<v1::Event> events;

  // Text of the forwarded key presses.
  std::string Typed() const {
    std::string s;
    for (const auto& e : events)
      if (e.has_key() && e.key().down()) s += e.key().text();
    return s;
  }
  std::vector<v1::RedactionMarker> Markers() const {
    std::vector<v1::RedactionMarker> m;
    for (const auto& e : events)
      if (e.has_redaction()) m.push_back(e.redaction());
    return m;
  }
  std::vector<v1::ControlEvent> Controls() const {
    std::vector<v1::ControlEvent> c;
    for (const auto& e : events)
      if (e.has_control()) c.push_back(e.control());
    return c;
  }
  int Count(bool down) const {
    int n = 0;
    for (const auto& e : events) n += e.has_key() && e.key().down() == down;
    return n;
  }
};

constexpr uint32_t kShiftL = 0xffe1, kCtrlL = 0xffe3, kAltL = 0xffe9;

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(DefaultPrivacyConfig()); }
  void Make(const PrivacyConfig& cfg) {
    sink = CollectSink();
    auto g = PrivacyGate::Create(&sink, cfg);
    ASSERT_TRUE(g.ok()) << g.status();
    gate = std::move(*g);
    gate->SetConsent(true);
  }
  void Key(uint32_t keysym, bool down, const std::string& text, uint32_t mods = 0,
           uint32_t keycode = 0) {
    v1::Event e;
    e.set_t_us(t += key_step);
    auto* k = e.mutable_key();
    k->set_down(down);
    k->set_keysym(keysym);
    k->set_keycode(keycode);
    k->set_text(down ? text : "");
    k->set_modifiers(mods);
    gate->OnEvent(e);
  }
  void Tap(uint32_t keysym, const std::string& text = "", uint32_t mods = 0) {
    Key(keysym, true, text, mods);
    Key(keysym, false, text, mods);
  }
  // Types ASCII text like a user: Shift around upper case and symbols.
  void Type(const std::string& s) {
    static const std::string kShifted = "~!@#$%^&*()_+{}|:\"<>?";
    for (unsigned char c : s) {
      bool shift =
          (c >= 'A' && c <= 'Z') || kShifted.find(static_cast<char>(c)) != std::string::npos;
      if (shift) Key(kShiftL, true, "", 0, 50);
      Tap(c, std::string(1, static_cast<char>(c)), shift ? v1::MOD_SHIFT : 0);
      if (shift) Key(kShiftL, false, "", v1::MOD_SHIFT, 50);
    }
  }
  void Focus(uint64_t win, const std::string& cls, const std::string& title,
             bool title_change = false) {
    v1::Event e;
    e.set_t_us(t += 1000);
    auto* f = e.mutable_focus();
    f->set_window_id(win);
    f->set_app_class(cls);
    f->set_title(title);
    f->set_title_change(title_change);
    gate->OnEvent(e);
  }
  void Pointer(v1::PointerEvent::Kind kind, int x, int y) {
    v1::Event e;
    e.set_t_us(t += 1000);
    e.mutable_pointer()->set_kind(kind);
    e.mutable_pointer()->set_x(x);
    e.mutable_pointer()->set_y(y);
    if (kind != v1::PointerEvent::MOVE) e.mutable_pointer()->set_button(1);
    gate->OnEvent(e);
  }
  void ExpectKeyUpsMatchDowns() {
    // Every forwarded release has a forwarded press (no orphans leak info).
    std::map<uint32_t, int> down;
    for (const auto& e : sink.events) {
      if (!e.has_key()) continue;
      uint32_t id = e.key().keycode() ? e.key().keycode() : (e.key().keysym() | 0x20);
      if (e.key().down()) {
        down[id]++;
      } else {
        EXPECT_GT(down[id], 0) << "orphan key release " << e.key().keysym();
        down[id]--;
      }
    }
  }

  uint64_t t = 1000000;
  uint64_t key_step = 1000;  // microseconds between key events
  CollectSink sink;
  std::unique_ptr<PrivacyGate> gate;
};

TEST_F(GateTest, NothingWithoutConsent) {
  gate->SetConsent(false);
  Focus(1, "xterm", "shell");
  Type("hello");
  Pointer(v1::PointerEvent::BUTTON_DOWN, 1, 1);
  gate->Flush();
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(GateTest, OrdinaryTypingPassesInOrder) {
  Focus(1, "xterm", "shell");
  Type("ls -la");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "ls -la\r");
  EXPECT_TRUE(sink.Markers().empty());
  uint64_t last = 0;
  for (const auto& e : sink.events) {
    EXPECT_GE(e.t_us(), last);
    last = e.t_us();
  }
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, CardTypedIsReplacedByOneMarker) {
  Focus(1, "xterm", "shell");
  Type("pay 4111 1111 1111 1111 ok");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "pay  ok\r");
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind(), "payment_card");
  EXPECT_EQ(m[0].length_bucket(), 32u);
  EXPECT_EQ(m[0].key_events(), 19u * 2 - 1);  // presses + releases except the last release
  // The marker sits where the card started, at the time of its first key.
  size_t idx = 0;
  while (!sink.events[idx].has_redaction()) ++idx;
  EXPECT_EQ(sink.events[idx - 1].key().text(), "");  // release of the space before
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, PasswordTypedWithShiftHidesShiftToo) {
  Focus(1, "xterm", "shell");
  Type("password: Tr0ub4dor&3");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "password: \r");
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind(), "password");
  // No Shift press of the secret's capital letters is forwarded.
  // (The Shift of ':' in the cue is ordinary typing and stays.)
  int shifts = 0;
  bool after_marker = false;
  for (const auto& e : sink.events) {
    after_marker |= e.has_redaction();
    shifts += after_marker && e.has_key() && e.key().keysym() == kShiftL;
  }
  EXPECT_EQ(shifts, 0);
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, BackspaceEditsAreApplied) {
  Focus(1, "xterm", "shell");
  Type("4111 1111 1111 1112");
  Tap(0xff08);  // BackSpace
  Type("1");
  Tap(0xff0d, "\r");
  gate->Flush();
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind(), "payment_card");
  EXPECT_EQ(sink.Typed(), "\r");
  for (const auto& e : sink.events) EXPECT_FALSE(e.has_key() && e.key().keysym() == 0xff08);
}

TEST_F(GateTest, SecretTypedThenErasedIsStillRedacted) {
  // The effective text ends up without the card, but its key events were
  // typed: they must not leave the device either.
  Focus(1, "xterm", "shell");
  Type("pay 4111111111111111");
  for (int i = 0; i < 16; ++i) Tap(0xff08);  // BackSpace it all away
  Type("later");
  Tap(0xff0d, "\r");
  gate->Flush();
  std::string all;
  for (const auto& e : sink.events) {
    if (e.has_key()) all += e.key().text();
  }
  EXPECT_EQ(all.find("4111"), std::string::npos) << all;
  EXPECT_EQ(all.find("1111"), std::string::npos) << all;
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind(), "payment_card");
  EXPECT_NE(sink.Typed().find("pay "), std::string::npos);
  EXPECT_NE(sink.Typed().find("later"), std::string::npos);
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, TypoCorrectionsOutsideSecretsAreKept) {
  Focus(1, "xterm", "shell");
  Type("teh");
  Tap(0xff08);
  Tap(0xff08);
  Type("he cat");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_TRUE(sink.Markers().empty());
  std::string all;
  for (const auto& e : sink.events) {
    if (e.has_key()) all += e.key().text();
  }
  EXPECT_EQ(all, "tehhe cat\r");
}

TEST_F(GateTest, SecretSplitAcrossFlushes) {
  Focus(1, "xterm", "editor");
  std::string filler;
  while (filler.size() < 700) filler += "lorem ipsum dolor sit amet ";
  Type(filler);
  size_t before = sink.events.size();
  EXPECT_GT(before, 1u) << "text beyond the hold bound is released before the run ends";
  Type("ghp_16C7e42F292c6912E7710c838347Ae178B4a ");
  Type(filler);
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), filler + " " + filler + "\r");
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind(), "github_token");
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, TwoRunsSeparatedByReturnDoNotMerge) {
  Focus(1, "xterm", "shell");
  Type("4111 1111");
  Tap(0xff0d, "\r");
  Type("1111 1111");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_TRUE(sink.Markers().empty());
  EXPECT_EQ(sink.Typed(), "4111 1111\r1111 1111\r");
}

TEST_F(GateTest, PrivateKeyTypedLineByLine) {
  Focus(1, "xterm", "shell");
  Type("cat > k <<EOF");
  Tap(0xff0d, "\r");
  Type("-----BEGIN RSA PRIVATE KEY-----");
  Tap(0xff0d, "\r");
  Type("MIIEpAIBAAKCAQEA7abc");
  Tap(0xff0d, "\r");
  Type("-----END RSA PRIVATE KEY-----");
  Tap(0xff0d, "\r");
  Type("EOF");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "cat > k <<EOF\r\r\r\rEOF\r");
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 3u);
  for (const auto& x : m) EXPECT_EQ(x.kind(), "private_key");
}

// Real keys (throwaway, generated for this test with openssl / ssh-keygen).
const char kRsaKey[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQD0N5tvxQ51h7COhoTYF5nJtTe6s6g8/ErwoIz+Y7Fp5k4fhsPw\n"
    "PZDJudQ5iPO6p+XRvMkGQxDhVNXLsb3IK38A/di5fX5QcqgrP9h2TD/m/lq2UH+8\n"
    "qYXiiavqdo/Mi8AzqbRo05HvcUkbw9vqdpOJG5NkfqXgZ3n6qGbFgU38dwIDAQAB\n"
    "AoGAPF4ihhZn5JWOBy0pWWE8Gqg5BmWyiKC0xZZqQ9fQ2ySa2yAs/w245KSS2UYJ\n"
    "OXKXVKkd5/ZcDdcyog9loj1ePxzb+TtkRMJhtF8sVhOKilTdbJHnweKId+jMyVCj\n"
    "u6pGRaO8Ta/hqF0N6F5edjDjE2rrgDqJEszrb3P+pscIdQECQQD/X//Q++TwxjJq\n"
    "DcmCgwhKMmIubkNGGUDccoZPlpAd8rKrZibsdccwRUc+PPW3OhWpbrLXRfRmTzdS\n"
    "6oOnuNXxAkEA9NCd/3r1c9/XswPcMoeuS1wC+3EdMTLRsjTu4BlHVR7LCyt4Mndt\n"
    "rcNllZF7xifz64X8xzY+11mYfJQ7sSPw5wJABdNTy5mjbFapGcA8w4xnqQGjObns\n"
    "MPIsh5rZM4GUwgoiR0SqSKSbKZ+681GCrW5WximvTLfczmSqN2sAG9hckQJBAJhA\n"
    "neJjX/9eeNE2V119kGIBqUEjCdqtFkjULrNkRT6k1fXuZORN7gIhAS5Ruj50Xnhd\n"
    "beWe0NoxOGpR7gWuqoUCQQCrwttReNeuhcCx7wXrzTmqemA0SeZaN84xUK+tEWTd\n"
    "sGgfTHF8XqZ7cIRiqkFWlj5R6nKvkuJhgGAF6JSy545m\n"
    "-----END RSA PRIVATE KEY-----\n";
const char kEcKey[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEoV46vZgj76tryrB\n"
    "trrMVa9t6y2DQeejUoJcCO4bBTuhRANCAATR663qjFS43CMNoJoEJdsjHsBh53Ob\n"
    "g4x+c5QgnuH+AINa8RrR7Y+ShcDaDKLxR1vNn8LoZ2dP1JjJYy/g29Q5\n"
    "-----END PRIVATE KEY-----\n";
const char kOpenSshKey[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACCSUp7ExDlsvNOSkufWCNSlwOLBaOGmWtFt7gRlZ6aK9wAAAIhFMPUKRTD1\n"
    "CgAAAAtzc2gtZWQyNTUxOQAAACCSUp7ExDlsvNOSkufWCNSlwOLBaOGmWtFt7gRlZ6aK9w\n"
    "AAAEAxo9jeP5xpQBlY1SDKQxmuencSmpgKKz7adoSwwSfpGZJSnsTEOWy805KS59YI1KXA\n"
    "4sFo4aZa0W3uBGVnpor3AAAAAAECAwQF\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

// No forwarded event carries any piece of the key's body.
void ExpectNoKeyMaterial(const CollectSink& sink, const std::string& key) {
  std::string all;
  for (const auto& e : sink.events) {
    if (e.has_key()) all += e.key().text();
    if (e.has_focus()) all += e.focus().title();
  }
  for (const std::string& line : Lines(key)) {
    if (line.rfind("-----", 0) == 0) continue;
    for (size_t i = 0; i + 8 <= line.size(); i += 8) {
      EXPECT_EQ(all.find(line.substr(i, 8)), std::string::npos) << line;
    }
  }
}

TEST_F(GateTest, RealPrivateKeyTypedLineByLine) {
  Focus(1, "xterm", "shell");
  Type("cat > id_rsa <<'EOF'");
  Tap(0xff0d, "\r");
  const std::vector<std::string> lines = Lines(kRsaKey);
  ASSERT_EQ(lines.size(), 15u);
  for (const std::string& l : lines) {
    Type(l);
    Tap(0xff0d, "\r");
  }
  Type("EOF");
  Tap(0xff0d, "\r");
  Type("chmod 600 id_rsa");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "cat > id_rsa <<'EOF'\r" + std::string(15, '\r') + "EOF\rchmod 600 id_rsa\r");
  auto m = sink.Markers();
  ASSERT_EQ(m.size(), 15u);  // one per line, header and END line included
  for (const auto& x : m) EXPECT_EQ(x.kind(), "private_key");
  ExpectNoKeyMaterial(sink, kRsaKey);
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, PrivateKeyWithTextBeforeAndAfterOnItsLines) {
  Focus(1, "xterm", "shell");
  const std::vector<std::string> lines = Lines(kEcKey);
  Type("echo '" + lines.front());
  Tap(0xff0d, "\r");
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    Type(lines[i]);
    Tap(0xff0d, "\r");
  }
  Type(lines.back() + "' > k.pem");
  Tap(0xff0d, "\r");
  Type("openssl pkey -in k.pem -noout && echo ok");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "echo '\r\r\r\r' > k.pem\ropenssl pkey -in k.pem -noout && echo ok\r");
  EXPECT_EQ(sink.Markers().size(), 5u);
  ExpectNoKeyMaterial(sink, kEcKey);
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, PrivateKeyPastedAsOneBurst) {
  // An auto-type or paste tool: the same key events, microseconds apart.
  Focus(1, "xterm", "shell");
  Type("ssh-add - <<'EOF'");
  Tap(0xff0d, "\r");
  key_step = 1;  // 1 us apart
  for (const std::string& l : Lines(kOpenSshKey)) {
    for (char c : l) Tap(static_cast<unsigned char>(c), std::string(1, c));
    Tap(0xff0d, "\r");
  }
  key_step = 1000;
  Type("EOF");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "ssh-add - <<'EOF'\r" + std::string(Lines(kOpenSshKey).size(), '\r') +
                              "EOF\r");
  EXPECT_EQ(sink.Markers().size(), Lines(kOpenSshKey).size());
  ExpectNoKeyMaterial(sink, kOpenSshKey);
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, PrivateKeyInOneEventWithNewlines) {
  // A source that delivers a whole pasted block as one key event's text.
  Focus(1, "xterm", "shell");
  Type("key=");
  Key('v', true, kEcKey);
  Key('v', false, "");
  Type(" # done");
  Tap(0xff0d, "\r");
  Type("next");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "key= # done\rnext\r");
  ASSERT_EQ(sink.Markers().size(), 1u);
  EXPECT_EQ(sink.Markers()[0].kind(), "private_key");
  ExpectNoKeyMaterial(sink, kEcKey);
}

TEST_F(GateTest, OpenPrivateKeyNeedsItsOwnEndMarker) {
  Focus(1, "xterm", "shell");
  for (const char* l : {"-----BEGIN RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA7abc",
                        "-----END CERTIFICATE-----", "QUJDREVGR0hJSktMTU5P",
                        "-----END RSA PRIVATE KEY-----", "visible again"}) {
    Type(l);
    Tap(0xff0d, "\r");
  }
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "\r\r\r\r\rvisible again\r");
  EXPECT_EQ(sink.Markers().size(), 5u);
}

TEST_F(GateTest, OpenPrivateKeyClosesOnFocusToAnotherWindow) {
  Focus(1, "xterm", "shell");
  Type("-----BEGIN PRIVATE KEY-----");
  Tap(0xff0d, "\r");
  Type("MIGHAgEAMBMGByqGSM49");
  Tap(0xff0d, "\r");
  Focus(2, "gedit", "notes");
  Type("meeting notes");
  Tap(0xff0d, "\r");
  Focus(1, "xterm", "shell");
  Type("ls");
  Tap(0xff0d, "\r");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "\r\rmeeting notes\rls\r");
  EXPECT_EQ(sink.Markers().size(), 2u);
}

TEST_F(GateTest, OpenPrivateKeyIsBoundedInRuns) {
  Focus(1, "xterm", "shell");
  Type("-----BEGIN PRIVATE KEY-----");
  Tap(0xff0d, "\r");
  std::string visible;
  for (size_t i = 1; i <= PrivacyGate::kMaxOpenKeyRuns + 10; ++i) {
    const std::string line = "line " + std::to_string(i);
    Type(line);
    Tap(0xff0d, "\r");
    // The BEGIN run counts as the first: kMaxOpenKeyRuns - 1 more are replaced.
    if (i >= PrivacyGate::kMaxOpenKeyRuns) visible += line;
    visible += "\r";
  }
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "\r" + visible);
  EXPECT_EQ(sink.Markers().size(), PrivacyGate::kMaxOpenKeyRuns);
}

TEST_F(GateTest, OpenPrivateKeyIsBoundedInBytes) {
  Focus(1, "xterm", "shell");
  Type("-----BEGIN PRIVATE KEY-----");
  Tap(0xff0d, "\r");
  const std::string line(1000, 'a');
  for (int i = 0; i < 80; ++i) {
    Type(line);
    Tap(0xff0d, "\r");
  }
  Type("after the bound");
  Tap(0xff0d, "\r");
  gate->Flush();
  const std::string typed = sink.Typed();
  EXPECT_NE(typed.find("after the bound"), std::string::npos);
  // About 64 KiB of lines were replaced, the rest is visible again.
  const size_t shown = std::count(typed.begin(), typed.end(), 'a');
  EXPECT_GE(shown, 80u * 1000 - PrivacyGate::kMaxOpenKeyBytes - 1000);
  EXPECT_LE(shown, 80u * 1000 - PrivacyGate::kMaxOpenKeyBytes + 1000);
}

TEST_F(GateTest, CursorMovementEndsRun) {
  Focus(1, "xterm", "shell");
  Type("4111 1111 ");
  Tap(0xff51);  // Left
  Type("1111 1111");
  gate->Flush();
  EXPECT_TRUE(sink.Markers().empty());
}

TEST_F(GateTest, ExcludedWindowLeavesOnlyMarkers) {
  Focus(1, "xterm", "shell");
  Type("a");
  uint64_t enter_t = t + 1000;
  Focus(2, "KeePassXC", "Passwords.kdbx - KeePassXC");
  Type("hunter2 secret");
  Pointer(v1::PointerEvent::MOVE, 10, 10);
  Pointer(v1::PointerEvent::BUTTON_DOWN, 10, 10);
  Focus(3, "xterm", "shell 2");
  uint64_t leave_t = t;
  Type("b");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "ab");
  auto c = sink.Controls();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].kind(), v1::ControlEvent::EXCLUDED_ENTER);
  EXPECT_EQ(c[0].reason(), "password_manager");
  EXPECT_EQ(c[1].kind(), v1::ControlEvent::EXCLUDED_LEAVE);
  EXPECT_EQ(c[1].duration_us(), leave_t - enter_t);
  for (const auto& e : sink.events) {
    EXPECT_FALSE(e.has_pointer());
    if (e.has_focus()) {
      EXPECT_NE(e.focus().window_id(), 2u);
    }
  }
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, PrivateBrowserWindowByTitle) {
  Focus(1, "firefox", "Mozilla Firefox Private Browsing");
  Type("search terms");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "");
  ASSERT_EQ(sink.Controls().size(), 1u);
  EXPECT_EQ(sink.Controls()[0].reason(), "private_browsing");
}

TEST_F(GateTest, PauseAndResume) {
  Focus(1, "xterm", "shell");
  Type("abc");
  gate->Pause();
  uint64_t pause_t = t;
  EXPECT_TRUE(gate->IsPaused());
  Type("def");
  Pointer(v1::PointerEvent::BUTTON_DOWN, 5, 5);
  gate->Resume();
  uint64_t resume_t = t;
  EXPECT_FALSE(gate->IsPaused());
  Type("ghi");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "abcghi");
  auto c = sink.Controls();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].kind(), v1::ControlEvent::PAUSE);
  EXPECT_EQ(c[1].kind(), v1::ControlEvent::RESUME);
  EXPECT_EQ(c[2].kind(), v1::ControlEvent::GAP);
  EXPECT_EQ(c[2].duration_us(), resume_t - pause_t);
  for (const auto& e : sink.events) EXPECT_FALSE(e.has_pointer());
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, TimedPauseEndsByEventTime) {
  Focus(1, "xterm", "shell");
  gate->Pause(t + 5000);
  Type("x");  // t+1000, t+2000: paused
  t += 10000;
  Type("y");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "y");
  auto c = sink.Controls();
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(c[2].kind(), v1::ControlEvent::GAP);
  EXPECT_EQ(c[2].duration_us(), 5000u);
}

TEST_F(GateTest, HotkeyTogglesPauseAndIsNeverRecorded) {
  Focus(1, "xterm", "shell");
  Type("a");
  auto hotkey = [&] {
    const uint32_t m = v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SHIFT;
    Key(kCtrlL, true, "", 0, 37);
    Key(kAltL, true, "", v1::MOD_CTRL, 64);
    Key(kShiftL, true, "", v1::MOD_CTRL | v1::MOD_ALT, 50);
    Key('P', true, "P", m, 33);
    Key('P', false, "", m, 33);
    Key(kShiftL, false, "", m, 50);
    Key(kAltL, false, "", v1::MOD_CTRL | v1::MOD_ALT, 64);
    Key(kCtrlL, false, "", v1::MOD_CTRL, 37);
  };
  hotkey();
  EXPECT_TRUE(gate->IsPaused());
  Type("secret stuff");
  hotkey();
  EXPECT_FALSE(gate->IsPaused());
  Type("b");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "ab");
  for (const auto& e : sink.events) {
    if (!e.has_key()) continue;
    EXPECT_NE(e.key().keysym(), kCtrlL);
    EXPECT_NE(e.key().keysym(), kAltL);
    EXPECT_NE(e.key().keysym(), static_cast<uint32_t>('P'));
  }
  auto c = sink.Controls();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].kind(), v1::ControlEvent::PAUSE);
  EXPECT_EQ(c[0].reason(), "hotkey");
  ExpectKeyUpsMatchDowns();
}

TEST_F(GateTest, ShortcutsAreNotText) {
  Focus(1, "xterm", "shell");
  Type("4111 1111 1111 ");
  Key('v', true, "\x16", v1::MOD_CTRL);  // Ctrl+V ends the run
  Key('v', false, "", v1::MOD_CTRL);
  Type("1111");
  gate->Flush();
  EXPECT_TRUE(sink.Markers().empty());
}

TEST_F(GateTest, TitlesAreRedacted) {
  Focus(1, "firefox", "Receipt for 4111 1111 1111 1111 - Firefox");
  gate->Flush();
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].focus().title(), "Receipt for [REDACTED:payment_card] - Firefox");
}

std::vector<v1::FocusEvent> Foci(const CollectSink& sink) {
  std::vector<v1::FocusEvent> f;
  for (const auto& e : sink.events)
    if (e.has_focus()) f.push_back(e.focus());
  return f;
}

TEST_F(GateTest, TitlePolicyAppOnlyKeepsOnlyTheApplication) {
  PrivacyConfig cfg = DefaultPrivacyConfig();
  cfg.title_policy = TitlePolicy::kAppOnly;
  Make(cfg);
  v1::Event e;
  e.set_t_us(t += 1000);
  e.mutable_focus()->set_window_id(1);
  e.mutable_focus()->set_app_class("Google-chrome");
  e.mutable_focus()->set_app_instance("mail.google.com__mail_u_0");
  e.mutable_focus()->set_title("Re: offer letter - jane@example.com - https://mail.example.org/x");
  gate->OnEvent(e);
  Focus(1, "Google-chrome", "Another title", /*title_change=*/true);
  Type("hi");
  gate->Flush();
  auto f = Foci(sink);
  ASSERT_EQ(f.size(), 1u);  // the title change shows nothing new: not forwarded
  EXPECT_EQ(f[0].app_class(), "Google-chrome");
  EXPECT_EQ(f[0].app_instance(), "");
  EXPECT_EQ(f[0].title(), "");
  EXPECT_EQ(sink.Typed(), "hi");
}

TEST_F(GateTest, TitlePolicyAppOnlyContextAfterAnExcludedPage) {
  PrivacyConfig cfg = DefaultPrivacyConfig();
  cfg.title_policy = TitlePolicy::kAppOnly;
  Make(cfg);
  Focus(1, "firefox", "News — Mozilla Firefox");
  Focus(1, "firefox", "Online Banking — Mozilla Firefox", true);  // excluded page
  Type("pin");
  Focus(1, "firefox", "News — Mozilla Firefox", true);  // back: the context again
  Type("ok");
  gate->Flush();
  auto f = Foci(sink);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].title(), "");
  auto c = sink.Controls();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].reason(), "banking");
  EXPECT_EQ(sink.Typed(), "ok");
}

TEST_F(GateTest, TitlePolicyAppAndDomain) {
  PrivacyConfig cfg = DefaultPrivacyConfig();
  cfg.title_policy = TitlePolicy::kAppAndDomain;
  cfg.never_record = {"Falcon"};
  Make(cfg);
  Focus(1, "firefox", "Issue 42 · https://github.com/acme/app/issues/42 — Mozilla Firefox");
  Focus(1, "firefox", "Pull 7 · https://github.com/acme/app/pull/7 — Mozilla Firefox",
        true);  // same site: not forwarded
  Focus(1, "firefox", "Docs · docs.rs/tokio/latest — Mozilla Firefox", true);  // new site
  Focus(2, "firefox", "Quarterly plan - Google Docs — Mozilla Firefox");  // no address in the title
  Focus(3, "code", "card 4111 1111 1111 1111.txt - https://example.com/x - Visual Studio Code");
  Focus(4, "firefox", "https://falcon.com/roadmap — Mozilla Firefox");
  gate->Flush();
  auto f = Foci(sink);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0].title(), "firefox - github.com");
  EXPECT_EQ(f[1].title(), "firefox - docs.rs");
  EXPECT_EQ(f[2].title(), "firefox");
  EXPECT_EQ(f[3].title(), "code");  // not a browser: no domain
  EXPECT_EQ(f[4].title(), "firefox - [REDACTED:never_record].com");
}

TEST_F(GateTest, TitlePolicyFullRedactsAsBefore) {
  Focus(1, "firefox", "Issue 42 · https://github.com/acme/app/issues/42 — Mozilla Firefox");
  gate->Flush();
  auto f = Foci(sink);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].title(), "Issue 42 · https://github.com/acme/app/issues/42 — Mozilla Firefox");
  EXPECT_EQ(gate->EffectiveTitlePolicy(), TitlePolicy::kFull);
}

TEST_F(GateTest, ProgrammeTitlePolicyIsAFloorTheDeviceMayRaise) {
  // Device full, programme app-and-domain: the programme's applies.
  gate->SetProgrammeTitlePolicy(TitlePolicy::kAppAndDomain);
  EXPECT_EQ(gate->EffectiveTitlePolicy(), TitlePolicy::kAppAndDomain);
  // Device app-only, programme full: the device's stricter policy stays.
  PrivacyConfig cfg = DefaultPrivacyConfig();
  cfg.title_policy = TitlePolicy::kAppOnly;
  Make(cfg);
  gate->SetProgrammeTitlePolicy(TitlePolicy::kFull);
  EXPECT_EQ(gate->EffectiveTitlePolicy(), TitlePolicy::kAppOnly);
  EXPECT_EQ(gate->ProgrammeTitlePolicy(), TitlePolicy::kFull);
  Focus(1, "firefox", "https://github.com/acme — Mozilla Firefox");
  gate->Flush();
  ASSERT_EQ(Foci(sink).size(), 1u);
  EXPECT_EQ(Foci(sink)[0].title(), "");
}

TEST_F(GateTest, ProgrammeTitlePolicyChangeAppliesMidSession) {
  Focus(1, "firefox", "Payroll run notes https://intranet.example.com/x — Mozilla Firefox");
  Type("a");
  gate->SetProgrammeTitlePolicy(TitlePolicy::kAppOnly);  // the programme tightens
  Type("b");
  Focus(1, "firefox", "Other page — Mozilla Firefox", true);  // nothing new: not forwarded
  Focus(2, "xterm", "jane@host: ~/secret-project");
  gate->SetProgrammeTitlePolicy(TitlePolicy::kAppAndDomain);  // loosens again
  gate->SetProgrammeTitlePolicy(TitlePolicy::kAppAndDomain);  // no change: nothing
  gate->SetProgrammeTitlePolicy(TitlePolicy::kFull);
  gate->Flush();
  auto f = Foci(sink);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_NE(f[0].title().find("Payroll run notes"), std::string::npos);
  EXPECT_EQ(f[1].window_id(), 1u);  // the context again, under app-only
  EXPECT_EQ(f[1].title(), "");
  EXPECT_FALSE(f[1].title_change());
  EXPECT_EQ(f[2].window_id(), 2u);
  EXPECT_EQ(f[2].title(), "");
  EXPECT_EQ(f[3].title(), "xterm");  // app-and-domain: xterm is not a browser
  EXPECT_EQ(f[4].title(), "jane@host: ~/secret-project");
  EXPECT_EQ(sink.Typed(), "ab");
  // The context re-sent on a change follows the events before it.
  size_t key_b = 0, ctx = 0;
  for (size_t i = 0; i < sink.events.size(); ++i) {
    if (sink.events[i].has_key() && sink.events[i].key().text() == "b") key_b = i;
    if (sink.events[i].has_focus() && !sink.events[i].focus().title_change() &&
        sink.events[i].focus().window_id() == 1 && ctx == 0 && i > 0)
      ctx = i;
  }
  EXPECT_LT(ctx, key_b);
}

TEST_F(GateTest, TitlePolicyFromReloadedConfig) {
  Focus(1, "firefox", "https://github.com/acme — Mozilla Firefox");
  std::string path = ::testing::TempDir() + "/title_policy.toml";
  {
    std::ofstream f(path);
    f << "title_policy = \"app-and-domain\"\n";
  }
  ASSERT_TRUE(gate->ReloadConfig(path).ok());
  gate->Flush();
  auto f = Foci(sink);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].title(), "firefox - github.com");
  std::remove(path.c_str());
}

TEST_F(GateTest, PointerMovesAreThinned) {
  Focus(1, "xterm", "shell");
  for (int i = 0; i <= 100; ++i) Pointer(v1::PointerEvent::MOVE, i * 3, i * 2);     // straight line
  for (int i = 1; i <= 50; ++i) Pointer(v1::PointerEvent::MOVE, 300, 200 + i * 4);  // corner, down
  Pointer(v1::PointerEvent::BUTTON_DOWN, 300, 400);
  gate->Flush();
  std::vector<std::pair<int, int>> moves;
  for (const auto& e : sink.events)
    if (e.has_pointer() && e.pointer().kind() == v1::PointerEvent::MOVE)
      moves.emplace_back(e.pointer().x(), e.pointer().y());
  ASSERT_GE(moves.size(), 3u);
  EXPECT_LE(moves.size(), 8u);
  EXPECT_EQ(moves.front(), std::make_pair(0, 0));
  EXPECT_EQ(moves.back(), std::make_pair(300, 400));  // last move before the click
  EXPECT_NE(std::find(moves.begin(), moves.end(), std::make_pair(300, 200)), moves.end());
}

TEST_F(GateTest, TimingCoarsening) {
  PrivacyConfig cfg = DefaultPrivacyConfig();
  cfg.timing_quantum_ms = 10;
  Make(cfg);
  Focus(1, "xterm", "shell");
  t += 1234;
  Type("abc");
  gate->Flush();
  ASSERT_FALSE(sink.events.empty());
  for (const auto& e : sink.events) EXPECT_EQ(e.t_us() % 10000, 0u);
}

TEST_F(GateTest, ReloadBadConfigKeepsOldOne) {
  std::string path = ::testing::TempDir() + "/bad_privacy.toml";
  {
    std::ofstream f(path);
    f << "hotkey = \"ctrl+alt+shift+p\"\n\n[[exclude]]\nreason = \"x\"\ntitle = \"(unclosed\"\n";
  }
  absl::Status s = gate->ReloadConfig(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("bad_privacy.toml:5"), std::string::npos) << s;
  // The default exclusions are still active.
  Focus(2, "keepassxc", "db");
  Type("x");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "");

  {
    std::ofstream f(path);
    f << "include_defaults = false\nnever_record = [\"Bluebird\"]\n";
  }
  ASSERT_TRUE(gate->ReloadConfig(path).ok());
  Focus(3, "xterm", "shell");
  Type("the bluebird deal");
  gate->Flush();
  EXPECT_EQ(sink.Typed(), "the  deal");
  std::remove(path.c_str());
}

TEST_F(GateTest, Deterministic) {
  auto run = [&] {
    Make(DefaultPrivacyConfig());
    t = 1000000;
    Focus(1, "xterm", "shell");
    Type("card 4111 1111 1111 1111 and mail a@example.com");
    for (int i = 0; i < 30; ++i) Pointer(v1::PointerEvent::MOVE, i * i, i);
    Tap(0xff0d, "\r");
    gate->Flush();
    std::string out;
    for (const auto& e : sink.events) out += e.SerializeAsString();
    return out;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace sealtrace::privacy
