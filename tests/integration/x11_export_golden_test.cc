// Golden test of the dataset path on a real desktop: xdotool drives Xvfb +
// openbox + xterm (clicks, a double and a triple click, a right click, a drag,
// wheel scrolling, typing around a card number, a hotkey, Return), the real
// recorder (`sealtrace agent --source x11:`) seals it through the privacy gate
// into its spool, and the exporter's reducer and both output formats must
// produce exactly the expected actions.
//
// Idle waits depend on how fast this machine runs xdotool, so the reducer's
// wait threshold is set above any pause in the script (waits are covered by
// the replay goldens in src/export/golden_test.cc); everything else is exact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "capture/x11/xvfb_session.h"
#include "e2e_util.h"
#include "export/export_test_util.h"
#include "export/formats.h"
#include "export/transforms.h"
#include "spool/spool.h"

namespace sealtrace::testing {
namespace {

TEST(X11ExportGolden, RealDesktopSessionGivesTheExpectedActions) {
  std::string root = MakeTempDir("st_x11golden");
  XvfbSession x;
  ASSERT_TRUE(x.Start(true, 1280, 1024).ok());
  pid_t pid = 0;
  auto term = x.StartXterm("golden", &pid);
  ASSERT_TRUE(term.ok()) << term.status();

  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "gina");
  v.Stop();
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "x11:" + x.display(),
                 "--no-upload"},
                root + "/agent.log");
  auto run = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "xdotool");
    auto r = x.Run(argv);
    ASSERT_TRUE(r.ok()) << r.status();
  };
  run({"windowactivate", "--sync", std::to_string(*term)});
  run({"windowmove", "--sync", std::to_string(*term), "0", "0"});
  run({"windowsize", "--sync", std::to_string(*term), "800", "600"});
  ASSERT_TRUE(WaitForAgentState(cfg, {"recording"})) << ReadAll(root + "/agent.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the pointer rests: a hover
  // `sealtrace agent` hands over to the lean recorder binary built beside it.
  {
    char exe[4096];
    const std::string link = "/proc/" + std::to_string(agent.pid()) + "/exe";
    const ssize_t n = readlink(link.c_str(), exe, sizeof exe - 1);
    ASSERT_GT(n, 0);
    exe[n] = '\0';
    EXPECT_NE(std::string(exe).find("sealtrace-recorder"), std::string::npos) << exe;
  }

  // Pointer: a click, a double click, a triple click, a right click.
  run({"mousemove", "--sync", "100", "120"});
  run({"click", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  run({"mousemove", "--sync", "200", "150"});
  run({"click", "--repeat", "2", "--delay", "80", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  run({"mousemove", "--sync", "300", "160"});
  run({"click", "--repeat", "3", "--delay", "80", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  run({"mousemove", "--sync", "400", "200"});
  run({"click", "3"});
  run({"key", "Escape"});  // close xterm's menu, if any
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // A drag: press, move in relative steps (raw motion), release.
  run({"mousemove", "--sync", "100", "300"});
  run({"mousedown", "1"});
  for (int i = 0; i < 5; ++i) run({"mousemove_relative", "--sync", "--", "40", "20"});
  run({"mouseup", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // Wheel: three notches down, coalesced into one scroll.
  run({"mousemove", "--sync", "500", "400"});
  run({"click", "--repeat", "3", "--delay", "60", "5"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // Keyboard: text, a card number the gate redacts, a hotkey, Return.
  run({"type", "--delay", "40", "echo hi"});
  run({"key", "Return"});
  run({"type", "--delay", "40", "card 4111 1111 1111 1111 ok"});
  run({"key", "ctrl+a"});
  run({"key", "Return"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  agent.Terminate();
  ASSERT_EQ(agent.Wait(20000), 0) << ReadAll(root + "/agent.log");

  // Open what the recorder sealed (as the vault's key service would for an
  // audited reader), in sequence order.
  vault::VaultOptions vo;
  vo.data_dir = v.dir;
  auto vault = vault::Vault::Open(vo);
  ASSERT_TRUE(vault.ok()) << vault.status();
  auto key = (*vault)->keys()->ReleaseSecretKey(ContributorOf(cfg),
                                                [] { return absl::OkStatus(); });
  ASSERT_TRUE(key.ok()) << key.status();
  auto spool = Spool::Open(Env::Default(), {root + "/gina/spool", 1ull << 30});
  ASSERT_TRUE(spool.ok()) << spool.status();
  auto listed = (*spool)->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_FALSE(listed->empty());
  std::vector<v1::Event> events;
  for (const auto& e : *listed) {
    auto blob = (*spool)->Read(e);
    ASSERT_TRUE(blob.ok());
    auto seg = OpenSegment(*blob, key->public_key, key->secret_key);
    ASSERT_TRUE(seg.ok()) << seg.status();
    for (auto ev : seg->events) {
      ev.set_t_us(ev.t_us() + seg->header.start_mono_us);
      events.push_back(std::move(ev));
    }
  }

  exporter::ReducerOptions ro;
  ro.wait_threshold_us = 60'000'000;  // see the header comment
  std::vector<exporter::Episode> eps = exporter::testing::Reduce(events, ro);
  std::vector<std::string> got;
  for (const auto& ep : eps) {
    for (const auto& d : exporter::testing::Describe(ep)) got.push_back(d);
  }
  // The recorder starts with the pointer where Xvfb puts it (the screen's
  // centre) and it rests there while the script prepares: a hover.
  EXPECT_THAT(got, ::testing::ElementsAre(
                       "move(640,512)", "click(100,120)", "double_click(200,150)", "triple_click(300,160)",
                       "right_click(400,200)", "press(esc)", "drag(100,300->300,400)",
                       "scroll(dy=3@500,400)", "type('echo hi')", "press(enter)",
                       "type('card [REDACTED:payment_card] ok')", "hotkey(ctrl+a)",
                       "press(enter)"))
      << "all events: " << events.size();

  // Both formats, exactly (screen 1280x1024 from the recorded window context).
  exporter::Pseudonymizer pseudo(SecretKey(std::string(32, 'k')));
  exporter::KAnonFilter kanon(1);
  exporter::TransformOptions to;
  to.k_anonymity = 1;
  exporter::EpisodeTransformer tr(to, &pseudo, &kanon, nullptr);
  std::vector<std::string> codes;
  std::string c13;
  for (size_t i = 0; i < eps.size(); ++i) {
    exporter::ExportEpisode e = tr.Transform(eps[i], pseudo.Contributor(ContributorOf(cfg)), i);
    for (const auto& s : e.steps) {
      codes.push_back(exporter::PyAutoGuiCode(s.action, s.action.ctx.screen_width,
                                              s.action.ctx.screen_height));
    }
    c13 += exporter::Computer13Record(e) + "\n";
  }
  EXPECT_THAT(codes, ::testing::ElementsAre(
                         "pyautogui.moveTo(x=0.5000, y=0.5000)",
                         "pyautogui.click(x=0.0781, y=0.1172)",
                         "pyautogui.doubleClick(x=0.1562, y=0.1465)",
                         "pyautogui.tripleClick(x=0.2344, y=0.1562)",
                         "pyautogui.rightClick(x=0.3125, y=0.1953)", "pyautogui.press('esc')",
                         "pyautogui.moveTo(x=0.0781, y=0.2930)\n"
                         "pyautogui.dragTo(x=0.2344, y=0.3906, button='left')",
                         "pyautogui.scroll(-3, x=0.3906, y=0.3906)",
                         "pyautogui.write(message='echo hi')", "pyautogui.press('enter')",
                         "pyautogui.write(message='card [REDACTED:payment_card] ok')",
                         "pyautogui.hotkey('ctrl', 'a')", "pyautogui.press('enter')"));
  for (const char* want : {
           R"({"action_type":"CLICK","parameters":{"button":"left","x":100,"y":120,"num_clicks":1}})",
           R"({"action_type":"DOUBLE_CLICK","parameters":{"x":200,"y":150}})",
           R"({"action_type":"CLICK","parameters":{"button":"left","x":300,"y":160,"num_clicks":3}})",
           R"({"action_type":"RIGHT_CLICK","parameters":{"x":400,"y":200}})",
           R"([{"action_type":"MOVE_TO","parameters":{"x":100,"y":300}},{"action_type":"DRAG_TO","parameters":{"x":300,"y":400}}])",
           R"({"action_type":"SCROLL","parameters":{"dx":0,"dy":-3}})",
           R"({"action_type":"TYPING","parameters":{"text":"card [REDACTED:payment_card] ok"}})",
           R"({"action_type":"HOTKEY","parameters":{"keys":["ctrl","a"]}})",
           R"({"action_type":"PRESS","parameters":{"key":"enter"}})",
           R"("screen_size":{"width":1280,"height":1024})"}) {
    EXPECT_NE(c13.find(want), std::string::npos) << want << "\nin\n" << c13;
  }
  // The card number itself is nowhere in the recording.
  for (const auto& e : events) {
    if (e.has_key()) {
      EXPECT_EQ(e.key().text().find("4111"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace sealtrace::testing
