// PtyProbe on real pseudo-terminals: a child process holds one as its
// controlling terminal, the test flips its termios as sudo/getpass would.
#include "capture/hidden/pty_probe.h"

#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace sealtrace::hidden {
namespace {

// A "terminal emulator" (child) whose own child runs on the pty under an
// awkward process name.
struct PtyTree {
  int master = -1, slave = -1;
  pid_t emulator = -1;
  std::string path;
  explicit PtyTree(bool emulator_holds_master = true) {
    char name[128];
    if (openpty(&master, &slave, name, nullptr, nullptr) != 0) return;
    path = name;
    emulator = fork();
    if (emulator == 0) {
      pid_t shell = fork();
      if (shell != 0 && !emulator_holds_master) close(master);
      if (shell == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the "emulator"
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        // A name with spaces and parentheses: /proc/<pid>/stat must still parse.
        prctl(PR_SET_NAME, "sh) (x 1 2", 0, 0, 0);
        for (;;) pause();
      }
      for (;;) pause();
    }
    usleep(100'000);  // let the shell take the terminal
  }
  ~PtyTree() {
    if (emulator > 0) {
      kill(emulator, SIGKILL);
      waitpid(emulator, nullptr, 0);
    }
    close(master);
    close(slave);
  }
  void SetLflag(tcflag_t on, tcflag_t off) {
    termios t{};
    tcgetattr(slave, &t);
    t.c_lflag |= on;
    t.c_lflag &= ~off;
    tcsetattr(slave, TCSANOW, &t);
  }
};

TEST(PtyProbe, FindsTheTerminalOfADescendant) {
  PtyTree t;
  ASSERT_GT(t.emulator, 0);
  PtyProbe p(Env::Default());
  auto terms = p.TerminalsOf(static_cast<uint32_t>(t.emulator));
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0], t.path);
}

TEST(PtyProbe, FallsBackToDescendantsWhenNoMasterIsHeld) {
  PtyTree t(/*emulator_holds_master=*/false);
  ASSERT_GT(t.emulator, 0);
  PtyProbe p(Env::Default());
  auto terms = p.TerminalsOf(static_cast<uint32_t>(t.emulator));
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0], t.path);
}

TEST(PtyProbe, NoEchoCanonicalIsAPromptRawIsNot) {
  PtyTree t;
  ASSERT_GT(t.emulator, 0);
  PtyProbe p(Env::Default());
  const auto pid = static_cast<uint32_t>(t.emulator);
  t.SetLflag(ICANON | ECHO, 0);
  EXPECT_FALSE(p.Hidden(pid));  // a shell typing visibly
  t.SetLflag(ICANON, ECHO);
  EXPECT_TRUE(p.Hidden(pid));  // getpass / sudo / read -s
  t.SetLflag(0, ICANON | ECHO);
  EXPECT_FALSE(p.Hidden(pid));  // raw mode: an editor, ssh session, tmux
  t.SetLflag(ICANON | ECHO, 0);
  EXPECT_FALSE(p.Hidden(pid));
  EXPECT_NE(p.Status().find("1 at a no-echo prompt"), std::string::npos) << p.Status();
}

TEST(PtyProbe, ProcessesWithoutTerminalsAndGoneOnesAreNotHidden) {
  PtyProbe p(Env::Default());
  EXPECT_FALSE(p.Hidden(0));
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(p.Hidden(static_cast<uint32_t>(child)));  // gone
  EXPECT_TRUE(p.TerminalsOf(static_cast<uint32_t>(child)).empty());
  EXPECT_FALSE(PtyProbe::NoEchoPrompt("/dev/null"));       // not a terminal
  EXPECT_FALSE(PtyProbe::NoEchoPrompt("/dev/pts/999999"));  // vanished
}

TEST(PtyProbe, TerminalThatVanishesAfterTheScanIsNotHidden) {
  auto t = std::make_unique<PtyTree>();
  ASSERT_GT(t->emulator, 0);
  const auto pid = static_cast<uint32_t>(t->emulator);
  PtyProbe p(Env::Default(), "/proc", "/dev/pts", /*rescan_us=*/3'600'000'000);
  t->SetLflag(ICANON, ECHO);
  EXPECT_TRUE(p.Hidden(pid));
  t.reset();  // processes killed, pty closed; the cached path is stale
  // The shell dies by PR_SET_PDEATHSIG, asynchronously; until it has, the
  // terminal still exists and is still at its prompt.
  bool hidden = true;
  for (int i = 0; i < 200 && hidden; ++i) {
    hidden = p.Hidden(pid);
    if (hidden) usleep(10'000);
  }
  EXPECT_FALSE(hidden);
}

}  // namespace
}  // namespace sealtrace::hidden
