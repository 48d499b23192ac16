// Golden tests: known event streams -> exact action sequences in both formats.
// Set SEALTRACE_UPDATE_GOLDEN=1 to rewrite tests/data/export/*.jsonl (then review the diff).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "export/export_test_util.h"
#include "export/formats.h"
#include "export/transforms.h"

namespace sealtrace::exporter {
namespace {

using testing::StreamBuilder;

constexpr uint32_t kReturn = 0xff0d, kControlL = 0xffe3, kTab = 0xff09;
constexpr uint32_t kCtrl = v1::MOD_CTRL, kShift = v1::MOD_SHIFT, kAlt = v1::MOD_ALT;

// A session: mail in firefox, then a text editor, then a terminal.
std::vector<v1::Event> Session() {
  StreamBuilder b;
  b.Focus(0, 11, "firefox", "Inbox - Mail", 1920, 1080);
  b.Move(200, 50, 50).Move(300, 100, 100);
  b.Frame(350, std::string(16, '\x01'));
  b.Click(400, 100, 100).Click(560, 101, 100);                          // double click
  b.Click(2000, 960, 540).Click(2150, 960, 540).Click(2300, 961, 541);  // triple click
  b.Click(3000, 400, 300, 3);                                           // right click
  b.Click(3500, 410, 320);                                              // menu item
  b.Scroll(4000, 900, 600, 0, 1).Scroll(4080, 900, 600, 0, 1).Scroll(4160, 901, 600, 0, 1);
  b.Scroll(4240, 901, 601, 0, 1).Scroll(4320, 901, 601, 0, 1);  // coalesced: 5 down
  b.Scroll(5000, 901, 601, 0, -2);                              // up 2
  b.Scroll(5500, 901, 601, 3, 0);                               // right 3
  b.Click(6000, 700, 200);                                      // search field
  b.Type(6300, "It's a \"test\"\\path");
  b.Tap(8600, kReturn, "\r");
  b.Click(9000, 1500, 900, 2);  // middle click
  b.Down(9500, 200, 300).Move(9550, 250, 320).Move(9600, 400, 360).Move(9650, 600, 400);
  b.Up(9700, 600, 400);    // drag
  b.Click(16000, 30, 30);  // after a 6.3 s wait
  b.Focus(17000, 12, "gedit", "notes.txt - gedit", 1920, 1080);
  b.Click(17200, 800, 500);
  b.Type(17500, "card ");
  b.Redaction(18200, "payment_card");
  b.Type(18300, " exp");
  b.Key(19000, kControlL, "", true)
      .Tap(19100, 's', "\x13", kCtrl)
      .Key(19200, kControlL, "", false, kCtrl);
  b.Tap(19500, 'T', "T", kCtrl | kShift);
  b.Tap(20000, kTab, "\t", kAlt);
  b.Focus(20100, 13, "xterm", "build@host: ~", 1280, 800);
  b.Type(20500, "ls");
  b.Tap(20900, kReturn, "\r");
  b.Move(21000, 100, 100).Move(21100, 640, 400);  // hover, then type
  b.Type(22500, "q");
  b.Control(24000, v1::ControlEvent::PAUSE);
  return b.events();
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct GoldenOut {
  std::string agentnet, computer13;
  std::vector<std::string> codes;
};

GoldenOut Render() {
  std::vector<Episode> eps = testing::Reduce(Session());
  Pseudonymizer pseudo(SecretKey(std::string(32, 'k')));
  KAnonFilter kanon(1);
  for (const auto& ep : eps) {
    for (const auto& a : ep.steps) {
      kanon.Observe(pseudo.ValueKey("app", a.ctx.app_class), 0);
      kanon.Observe(pseudo.ValueKey("title", a.ctx.title), 0);
    }
  }
  TransformOptions to;
  to.k_anonymity = 1;
  to.include_frames = true;
  EpisodeTransformer tr(to, &pseudo, &kanon, nullptr);
  Id16 contributor = testing::TestId(1, 1);
  GoldenOut out;
  for (size_t i = 0; i < eps.size(); ++i) {
    ExportEpisode e = tr.Transform(eps[i], pseudo.Contributor(contributor), i);
    out.agentnet += AgentNetRecord(e) + "\n";
    out.computer13 += Computer13Record(e) + "\n";
    for (const auto& s : e.steps) {
      out.codes.push_back(
          PyAutoGuiCode(s.action, s.action.ctx.screen_width, s.action.ctx.screen_height));
    }
  }
  return out;
}

TEST(GoldenTest, ActionSequence) {
  std::vector<Episode> eps = testing::Reduce(Session());
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_THAT(testing::Describe(eps[0]),
              ::testing::ElementsAre(
                  "double_click(100,100)", "triple_click(960,540)", "right_click(400,300)",
                  "click(410,320)", "scroll(dy=5@900,600)", "scroll(dy=-2@901,601)",
                  "hscroll(dx=3@901,601)", "click(700,200)", "type('It's a \"test\"\\path')",
                  "press(enter)", "middle_click(1500,900)", "drag(200,300->600,400)",
                  "wait(6300ms)", "click(30,30)"));
  EXPECT_EQ(eps[0].end_reason, "focus_change");
  EXPECT_THAT(testing::Describe(eps[1]),
              ::testing::ElementsAre("click(800,500)", "type('card [REDACTED:payment_card] exp')",
                                     "hotkey(ctrl+s)", "hotkey(ctrl+shift+t)", "hotkey(alt+tab)"));
  EXPECT_THAT(testing::Describe(eps[2]),
              ::testing::ElementsAre("type('ls')", "press(enter)", "move(640,400)", "type('q')"));
  EXPECT_EQ(eps[2].end_reason, "pause");
}

TEST(GoldenTest, PyAutoGuiCodeStrings) {
  GoldenOut g = Render();
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.doubleClick(x=0.0521, y=0.0926)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.tripleClick(x=0.5000, y=0.5000)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.rightClick(x=0.2083, y=0.2778)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.middleClick(x=0.7812, y=0.8333)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.scroll(-5, x=0.4688, y=0.5556)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.scroll(2, x=0.4693, y=0.5565)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.hscroll(3, x=0.4693, y=0.5565)"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.moveTo(x=0.1042, y=0.2778)\n"
                                           "pyautogui.dragTo(x=0.3125, y=0.3704, button='left')"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.write(message='It\\'s a \"test\"\\\\path')"));
  EXPECT_THAT(g.codes,
              ::testing::Contains("pyautogui.write(message='card [REDACTED:payment_card] exp')"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.press('enter')"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.hotkey('ctrl', 's')"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.hotkey('ctrl', 'shift', 't')"));
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.hotkey('alt', 'tab')"));
  EXPECT_THAT(g.codes, ::testing::Contains("computer.wait()"));
  // The xterm screen is 1280x800.
  EXPECT_THAT(g.codes, ::testing::Contains("pyautogui.moveTo(x=0.5000, y=0.5000)"));
}

TEST(GoldenTest, Computer13Actions) {
  GoldenOut g = Render();
  const std::string& c = g.computer13;
  auto has = [&](const std::string& s) { return c.find(s) != std::string::npos; };
  EXPECT_TRUE(has(R"({"action_type":"DOUBLE_CLICK","parameters":{"x":100,"y":100}})"));
  EXPECT_TRUE(has(
      R"({"action_type":"CLICK","parameters":{"button":"left","x":960,"y":540,"num_clicks":3}})"));
  EXPECT_TRUE(has(R"({"action_type":"RIGHT_CLICK","parameters":{"x":400,"y":300}})"));
  EXPECT_TRUE(has(
      R"({"action_type":"CLICK","parameters":{"button":"middle","x":1500,"y":900,"num_clicks":1}})"));
  EXPECT_TRUE(has(R"({"action_type":"SCROLL","parameters":{"dx":0,"dy":-5}})"));
  EXPECT_TRUE(has(R"({"action_type":"SCROLL","parameters":{"dx":3,"dy":0}})"));
  EXPECT_TRUE(has(
      R"([{"action_type":"MOVE_TO","parameters":{"x":200,"y":300}},{"action_type":"DRAG_TO","parameters":{"x":600,"y":400}}])"));
  EXPECT_TRUE(
      has(R"({"action_type":"TYPING","parameters":{"text":"card [REDACTED:payment_card] exp"}})"));
  EXPECT_TRUE(has(R"({"action_type":"PRESS","parameters":{"key":"enter"}})"));
  EXPECT_TRUE(has(R"({"action_type":"HOTKEY","parameters":{"keys":["ctrl","shift","t"]}})"));
  EXPECT_TRUE(has(R"({"action_type":"WAIT"})"));
  EXPECT_TRUE(has(R"({"action_type":"DONE"})"));
  EXPECT_TRUE(has(R"("screen_size":{"width":1280,"height":800})"));
}

TEST(GoldenTest, MatchesGoldenFiles) {
  GoldenOut g = Render();
  const std::string dir = testing::SourceDir() + "/tests/data/export/";
  if (const char* u = std::getenv("SEALTRACE_UPDATE_GOLDEN"); u != nullptr && *u == '1') {
    std::ofstream(dir + "golden.agentnet.jsonl", std::ios::binary) << g.agentnet;
    std::ofstream(dir + "golden.computer13.jsonl", std::ios::binary) << g.computer13;
  }
  EXPECT_EQ(g.agentnet, ReadFileOrEmpty(dir + "golden.agentnet.jsonl"));
  EXPECT_EQ(g.computer13, ReadFileOrEmpty(dir + "golden.computer13.jsonl"));
}

TEST(GoldenTest, PythonStringLiteralEscapes) {
  EXPECT_EQ(PythonStringLiteral("a'b\\c\n\t\x01\xc3\xa9"), "'a\\'b\\\\c\\n\\t\\x01\xc3\xa9'");
  EXPECT_EQ(PythonStringLiteral("bad\xff"), "'bad\xef\xbf\xbd'");
}

}  // namespace
}  // namespace sealtrace::exporter
