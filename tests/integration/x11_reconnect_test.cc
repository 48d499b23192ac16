// The X server goes away under a running agent and comes back (a crash, or a
// logout and login on the same display): the agent seals what it captured,
// reports "source_lost", reconnects when the display is back, and records on.
// Everything typed before and after reaches the vault, with a SOURCE_LOST and
// a SOURCE_RESTORED marker between them.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "capture/x11/xvfb_session.h"
#include "e2e_util.h"

namespace sealtrace::testing {
namespace {

TEST(X11Reconnect, AgentSurvivesTheXServerGoingAwayAndComingBack) {
  std::string root = MakeTempDir("st_x11recon");
  XvfbSession x;
  ASSERT_TRUE(x.Start(true).ok());
  pid_t xterm_pid = 0;
  auto notes = x.StartXterm("notes", &xterm_pid);
  ASSERT_TRUE(notes.ok()) << notes.status();
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "ines");
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "x11:" + x.display()},
                root + "/agent.log");
  ASSERT_TRUE(WaitForAgentState(cfg, {"recording"})) << ReadAll(root + "/agent.log");
  auto xdo = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "xdotool");
    auto r = x.Run(argv);
    ASSERT_TRUE(r.ok()) << r.status();
  };
  xdo({"windowactivate", "--sync", std::to_string(*notes)});
  xdo({"type", "--delay", "30", "before"});
  xdo({"key", "Return"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  x.KillXvfb();
  ASSERT_TRUE(WaitForAgentState(cfg, {"source_lost"})) << ReadAll(root + "/agent.log");
  EXPECT_TRUE(agent.Running());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a few failed reconnects
  ASSERT_TRUE(x.RestartXvfb().ok());
  ASSERT_TRUE(WaitForAgentState(cfg, {"recording"})) << ReadAll(root + "/agent.log");
  xdo({"type", "--delay", "30", "after"});
  xdo({"key", "Return"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  agent.Terminate();
  ASSERT_EQ(agent.Wait(30000), 0) << ReadAll(root + "/agent.log");
  v.Stop();

  auto got = ReadVault(v.dir, ContributorOf(cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  std::string text;
  int lost = -1, restored = -1;
  for (size_t i = 0; i < got.events.size(); ++i) {
    const auto& e = got.events[i];
    if (e.has_key() && e.key().down()) text += e.key().text();
    if (e.has_control() && e.control().kind() == v1::ControlEvent::SOURCE_LOST) {
      lost = static_cast<int>(i);
      text += "|LOST|";
    }
    if (e.has_control() && e.control().kind() == v1::ControlEvent::SOURCE_RESTORED) {
      restored = static_cast<int>(i);
      text += "|RESTORED|";
      EXPECT_GE(e.control().duration_us(), 1'000'000u);  // it was away for > 1.5 s
    }
  }
  EXPECT_EQ(text, "before\n|LOST||RESTORED|after\n");
  EXPECT_GE(lost, 0);
  EXPECT_GT(restored, lost);
  EXPECT_NE(ReadAll(root + "/agent.log").find("source back after"), std::string::npos);
}

}  // namespace
}  // namespace sealtrace::testing
