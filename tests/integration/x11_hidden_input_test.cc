// Hidden input end to end on a real desktop: Xvfb + openbox, a private D-Bus
// session with the real AT-SPI bus (at-spi2-core), the real recorder with its
// sealtrace-a11y-helper, and three places where the screen hides what is
// typed:
//   - an xterm running Python's getpass() (canonical input, echo off),
//   - a GTK password field (zenity --forms --add-password),
//   - a Chromium page with <input type=password> (started with
//     --force-renderer-accessibility, as deployments configure it).
// xdotool types a canary into each, with visible typing before and after.
// The test opens every sealed segment with the contributor key: the canaries
// are in no event and in no file on disk; the visible typing is there, with a
// hidden_input marker where each canary was.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "capture/x11/xvfb_session.h"
#include "e2e_util.h"
#include "segment/event_json.h"
#include "spool/spool.h"

namespace sealtrace::testing {
namespace {

std::string TypedText(const std::vector<v1::Event>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.has_key() && e.key().down()) text += e.key().text();
    if (e.has_redaction()) text += "[R:" + e.redaction().kind() + "]";
  }
  return text;
}

// A private session bus for this test; at-spi-bus-launcher is activated on it.
struct SessionBus {
  pid_t pid = -1;
  std::string address;
  SessionBus() {
    FILE* p = popen("dbus-daemon --session --fork --print-address=1 --print-pid=1", "r");
    if (!p) return;
    char line[512];
    if (fgets(line, sizeof(line), p)) address = line;
    if (fgets(line, sizeof(line), p)) pid = atoi(line);
    pclose(p);
    while (!address.empty() && (address.back() == '\n' || address.back() == ' '))
      address.pop_back();
    if (!address.empty()) setenv("DBUS_SESSION_BUS_ADDRESS", address.c_str(), 1);
    unsetenv("NO_AT_BRIDGE");
  }
  ~SessionBus() {
    if (pid > 0) kill(pid, SIGTERM);
    // at-spi-bus-launcher and its bus exit with the session bus.
  }
};

class Desktop {
 public:
  explicit Desktop(XvfbSession* x) : x_(x) {}
  void Do(std::vector<std::string> argv) {
    argv.insert(argv.begin(), "xdotool");
    auto r = x_->Run(argv, 60);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // The id of the first visible window whose name matches, polling until it
  // maps (xdotool's own --sync gives up on an X error when other windows come
  // and go, as Chromium's do while it starts).
  std::string WaitWindow(const std::string& name) {
    std::string last;
    for (int i = 0; i < 450; ++i) {
      auto r = x_->Run({"xdotool", "search", "--onlyvisible", "--name", name}, 10);
      if (r.ok() && !r->empty()) return r->substr(0, r->find('\n'));
      last = r.ok() ? "not mapped yet" : std::string(r.status().message());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "no window named " << name << ": " << last;
    return "";
  }
  void Type(const std::string& text) { Do({"type", "--delay", "40", text}); }
  void Key(const std::string& k) { Do({"key", k}); }
  void Activate(const std::string& w) {
    Do({"windowactivate", "--sync", w});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

 private:
  XvfbSession* x_;
};

TEST(X11HiddenInput, PromptsAndPasswordFieldsNeverReachTheRecording) {
  const std::string root = MakeTempDir("st_hidden");
  SessionBus bus;
  ASSERT_FALSE(bus.address.empty()) << "dbus-daemon did not start";
  XvfbSession x;
  ASSERT_TRUE(x.Start(true).ok());
  Desktop d(&x);

  VaultProcess v = NewVault(root);
  v.Start();
  const std::string cfg = Enrol(v, root, "hana");
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "x11:" + x.display(),
                 "--no-upload"},
                root + "/agent.log");
  ASSERT_TRUE(WaitForAgentState(cfg, {"recording", "excluded"})) << ReadAll(root + "/agent.log");
  // The helper is up and the session's accessibility is on before typing.
  for (int i = 0; i < 100; ++i) {
    if (ReadAll(root + "/hana/state/status.json").find("accessibility enabled") !=
        std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // The applications start after the recorder, as on a desktop where it starts
  // at login.
  // 1. A terminal prompt: a visible answer, a getpass() answer, a visible one.
  WriteAll(root + "/prompt.py",
           "import getpass\n"
           "input('name: ')\n"
           "getpass.getpass('Password: ')\n"
           "input('after: ')\n"
           "import time\ntime.sleep(600)\n");
  ASSERT_TRUE(x.Spawn({"xterm", "-T", "prompt-term", "-e", "python3", root + "/prompt.py"}).ok());
  // 2. A GTK form with a visible entry and a password entry.
  ASSERT_TRUE(x.Spawn({"sh", "-c",
                       "exec zenity --forms --title 'Demo form' --add-entry Name "
                       "--add-password Secret >/dev/null 2>'" + root + "/zenity.log'"})
                  .ok());
  // 3. A Chromium page with a visible field and a password field.
  WriteAll(root + "/login.html",
           "<!doctype html><title>Demo login</title>"
           "<input id=u autofocus aria-label=user><input id=p type=password aria-label=pw>"
           "<input id=n aria-label=note>");
  // Chromium 156 (Debian 12) builds its web tree for the accessibility bus
  // only with this flag (IsEnabled alone was not enough here); deployments set
  // it in /etc/chromium.d (docs/REDACTION.md 2.2).
  ASSERT_TRUE(x.Spawn({"chromium", "--no-sandbox", "--no-first-run", "--disable-gpu",
                       "--force-renderer-accessibility",
                       "--user-data-dir=" + root + "/chromium", "--app=file://" + root +
                       "/login.html"})
                  .ok());
  const std::string term = d.WaitWindow("prompt-term");
  const std::string form = d.WaitWindow("Demo form");
  const std::string web = d.WaitWindow("Demo login");
  ASSERT_FALSE(term.empty() || form.empty() || web.empty()) << ReadAll(root + "/zenity.log");

  d.Activate(term);
  d.Type("visibleone");
  d.Key("Return");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.Type("CanaryTerm7x");
  d.Key("Return");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.Type("visibletwo");
  d.Key("Return");

  d.Activate(form);
  d.Type("visiblethree");
  d.Key("Tab");
  d.Type("CanaryGtk8y");
  d.Key("Tab");

  d.Activate(web);
  d.Type("visiblefour");
  d.Key("Tab");
  d.Type("CanaryWeb9z");
  d.Key("Tab");
  d.Type("visiblefive");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  std::string status_text = ReadAll(root + "/hana/state/status.json");
  agent.Terminate();
  ASSERT_EQ(agent.Wait(30000), 0) << ReadAll(root + "/agent.log");
  v.Stop();

  vault::VaultOptions vo;
  vo.data_dir = v.dir;
  auto key = [&] {
    auto vault = *vault::Vault::Open(vo);
    return *vault->keys()->ReleaseSecretKey(ContributorOf(cfg), [] { return absl::OkStatus(); });
  }();
  auto spool = *Spool::Open(Env::Default(), {root + "/hana/spool", 1ull << 30});
  std::vector<v1::Event> events;
  auto listed = spool->List();
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (auto& e : *listed) {
    auto seg = OpenSegment(*spool->Read(e), key.public_key, key.secret_key);
    ASSERT_TRUE(seg.ok()) << seg.status();
    for (auto& ev : seg->events) events.push_back(ev);
  }
  const std::string text = TypedText(events);
  std::printf("recorded text: %s\nstatus: %s\n", text.c_str(), status_text.c_str());

  for (const char* visible :
       {"visibleone", "visibletwo", "visiblethree", "visiblefour", "visiblefive"}) {
    EXPECT_NE(text.find(visible), std::string::npos) << visible << " missing from " << text;
  }
  // Exactly the visible typing survives: not one character of a canary.
  std::string letters;
  for (const auto& e : events)
    if (e.has_key() && e.key().down() && e.key().text().size() == 1 && isalnum(e.key().text()[0]))
      letters += e.key().text();
  EXPECT_EQ(letters, "visibleonevisibletwovisiblethreevisiblefourvisiblefive");
  int markers = 0;
  for (const auto& e : events) {
    if (e.has_redaction() && e.redaction().kind() == "hidden_input") {
      ++markers;
      EXPECT_EQ(e.redaction().length_bucket(), 0u);
      EXPECT_EQ(e.redaction().key_events(), 0u);
    }
  }
  EXPECT_GE(markers, 3) << text;
  for (const char* canary : {"CanaryTerm7x", "CanaryGtk8y", "CanaryWeb9z"}) {
    // Not as typed text, not as parts of it, not in any field of any event.
    EXPECT_EQ(text.find(canary), std::string::npos) << canary;
    for (const auto& e : events)
      EXPECT_EQ(e.SerializeAsString().find(canary), std::string::npos)
          << canary << " in " << EventToJson(e);
    auto hits = FilesContaining(root + "/hana", canary);
    EXPECT_TRUE(hits.empty()) << canary << " found in " << hits[0];
  }
  EXPECT_NE(status_text.find("hidden_input"), std::string::npos);
}

}  // namespace
}  // namespace sealtrace::testing
