#include "export/reducer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "export/export_test_util.h"

namespace sealtrace::exporter {
namespace {

using testing::Describe;
using ::testing::ElementsAre;
using testing::Reduce;
using testing::StreamBuilder;

constexpr uint32_t kReturn = 0xff0d, kBackSpace = 0xff08, kTab = 0xff09, kEscape = 0xff1b;
constexpr uint32_t kLeftArrow = 0xff51, kF5 = 0xffc2, kIsoLeftTab = 0xfe20;
constexpr uint32_t kControlL = 0xffe3, kShiftL = 0xffe1, kSuperL = 0xffeb;
constexpr uint32_t kCtrl = v1::MOD_CTRL, kShift = v1::MOD_SHIFT, kAlt = v1::MOD_ALT;

StreamBuilder Base() {
  StreamBuilder b;
  b.Focus(0, 1, "firefox", "Inbox");
  return b;
}

TEST(ReducerTest, MoveBeforeClickIsFoldedIntoTheClick) {
  auto b = Base();
  b.Move(100, 10, 10).Move(200, 500, 400).Click(400, 500, 400);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("click(500,400)"));
  EXPECT_EQ(eps[0].steps[0].ctx.app_class, "firefox");
  EXPECT_EQ(eps[0].steps[0].ctx.title, "Inbox");
  EXPECT_EQ(eps[0].end_reason, "end_of_stream");
}

TEST(ReducerTest, DoubleTripleAndSeparateClicks) {
  auto b = Base();
  b.Click(1000, 100, 100).Click(1200, 102, 101);                        // double (2 px away)
  b.Click(3000, 300, 300).Click(3150, 300, 300).Click(3300, 301, 300);  // triple
  b.Click(5000, 600, 600).Click(5200, 620, 600);                        // 20 px apart: two
  b.Click(7000, 50, 50).Click(7700, 50, 50);                            // 640 ms apart: two
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]),
              ElementsAre("double_click(100,100)", "triple_click(300,300)", "click(600,600)",
                          "click(620,600)", "click(50,50)", "click(50,50)"));
}

TEST(ReducerTest, FourthClickStartsANewGroup) {
  auto b = Base();
  for (int i = 0; i < 4; ++i) b.Click(1000 + 150 * i, 10, 10);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("triple_click(10,10)", "click(10,10)"));
}

TEST(ReducerTest, RightAndMiddleClicks) {
  auto b = Base();
  b.Click(1000, 10, 10, 3).Click(2000, 20, 20, 2).Click(3000, 30, 30, 8);  // 8 = back: ignored
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("right_click(10,10)", "middle_click(20,20)"));
}

TEST(ReducerTest, DragWithPathAndJitterIsAClick) {
  auto b = Base();
  b.Down(1000, 100, 100).Move(1050, 103, 100).Move(1100, 200, 150).Move(1150, 300, 200);
  b.Up(1200, 300, 200);
  b.Down(2000, 400, 400).Move(2030, 403, 402).Up(2060, 403, 402);  // below the threshold
  b.Down(3000, 10, 10, 3).Move(3100, 200, 10).Up(3200, 200, 10, 3);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]),
              ElementsAre("drag(100,100->300,200)", "click(400,400)", "drag(10,10->200,10,b3)"));
  const auto& path = eps[0].steps[0].path;
  ASSERT_EQ(path.size(), 4u);
  EXPECT_EQ(path.front(), std::make_pair(100, 100));
  EXPECT_EQ(path.back(), std::make_pair(300, 200));
}

TEST(ReducerTest, LongDragPathIsThinned) {
  ReducerOptions o;
  o.max_drag_path_points = 8;
  auto b = Base();
  b.Down(1000, 0, 0);
  for (int i = 1; i <= 100; ++i) b.Move(1000 + i, i * 5, 0);
  b.Up(1200, 500, 0);
  auto eps = Reduce(b.events(), o);
  ASSERT_EQ(eps.size(), 1u);
  ASSERT_EQ(eps[0].steps.size(), 1u);
  const auto& path = eps[0].steps[0].path;
  EXPECT_LE(path.size(), 8u);
  EXPECT_EQ(path.front(), std::make_pair(0, 0));
  EXPECT_EQ(path.back(), std::make_pair(500, 0));
}

TEST(ReducerTest, ScrollCoalescing) {
  auto b = Base();
  b.Scroll(1000, 500, 400, 0, 1).Scroll(1100, 502, 400, 0, 1).Scroll(1200, 505, 401, 0, 1);
  b.Scroll(1300, 505, 401, 0, -1);  // direction change
  b.Scroll(3400, 505, 401, 0, 1);   // after the window
  b.Scroll(3500, 505, 401, 2, 0);   // horizontal
  b.Scroll(3600, 900, 400, 2, 0);   // far away
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]),
              ElementsAre("scroll(dy=3@500,400)", "scroll(dy=-1@505,401)", "scroll(dy=1@505,401)",
                          "hscroll(dx=2@505,401)", "hscroll(dx=2@900,400)"));
}

TEST(ReducerTest, TypedTextAroundARedactionMarker) {
  auto b = Base();
  b.Type(1000, "card ");
  b.Redaction(1700, "payment_card");
  b.Type(1800, " ok");
  b.Tap(2300, kReturn, "\r");
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]),
              ElementsAre("type('card [REDACTED:payment_card] ok')", "press(enter)"));
  EXPECT_EQ(eps[0].steps[0].redactions, 1u);
}

TEST(ReducerTest, ShiftedTextIsText) {
  auto b = Base();
  b.Type(1000, "Hi There");
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("type('Hi There')"));
}

TEST(ReducerTest, HotkeysAndPresses) {
  auto b = Base();
  b.Key(1000, kControlL, "", true, 0)
      .Tap(1050, 'c', "\x03", kCtrl)
      .Key(1200, kControlL, "", false, kCtrl);
  b.Tap(1400, kTab, "\t", kAlt);
  b.Tap(1600, 'T', "T", kCtrl | kShift);
  b.Key(1800, kShiftL, "", true)
      .Tap(1850, kIsoLeftTab, "", kShift)
      .Key(1950, kShiftL, "", false, kShift);
  b.Tap(2100, kF5).Tap(2200, kEscape, "\x1b").Tap(2300, kLeftArrow).Tap(2400, kBackSpace, "\b");
  b.Key(2600, kSuperL, "", true).Key(2700, kSuperL, "", false, v1::MOD_SUPER);  // lone super
  b.Key(2800, kShiftL, "", true).Key(2900, kShiftL, "", false, kShift);  // lone shift: nothing
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(
      Describe(eps[0]),
      ElementsAre("hotkey(ctrl+c)", "hotkey(alt+tab)", "hotkey(ctrl+shift+t)", "hotkey(shift+tab)",
                  "press(f5)", "press(esc)", "press(left)", "press(backspace)", "press(win)"));
}

TEST(ReducerTest, KeysSplitTypeRuns) {
  auto b = Base();
  b.Type(1000, "helo").Tap(1500, kBackSpace, "\b").Type(1600, "lo");
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("type('helo')", "press(backspace)", "type('lo')"));
}

TEST(ReducerTest, WaitsAndIdleSplit) {
  auto b = Base();
  b.Click(1000, 10, 10).Click(6000, 20, 20);  // 4940 ms idle between them
  b.Click(100000, 30, 30);                    // > 60 s idle: new episode
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("click(10,10)", "wait(4940ms)", "click(20,20)"));
  EXPECT_EQ(eps[0].end_reason, "idle");
  EXPECT_THAT(Describe(eps[1]), ElementsAre("click(30,30)"));
}

TEST(ReducerTest, FocusChangesSplitEpisodesTitleChangesDoNot) {
  StreamBuilder b;
  b.Focus(0, 1, "firefox", "A").Click(100, 1, 1);
  b.Focus(300, 1, "firefox", "B", 1920, 1080, true).Click(400, 2, 2);  // title change only
  b.Focus(500, 2, "gedit", "notes").Type(600, "x");
  b.Down(1000, 5, 5).Focus(1010, 3, "xterm", "shell").Up(1060, 5, 5);  // click that focuses
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("click(1,1)", "click(2,2)"));
  EXPECT_EQ(eps[0].steps[0].ctx.title, "A");
  EXPECT_EQ(eps[0].steps[1].ctx.title, "B");
  EXPECT_EQ(eps[0].end_reason, "focus_change");
  EXPECT_THAT(Describe(eps[1]), ElementsAre("type('x')"));
  EXPECT_EQ(eps[1].steps[0].ctx.app_class, "gedit");
  EXPECT_THAT(Describe(eps[2]), ElementsAre("click(5,5)"));
  EXPECT_EQ(eps[2].steps[0].ctx.app_class, "xterm");
}

TEST(ReducerTest, FocusSplitCanBeDisabled) {
  ReducerOptions o;
  o.split_on_focus_change = false;
  StreamBuilder b;
  b.Focus(0, 1, "firefox", "A").Click(100, 1, 1).Focus(500, 2, "gedit", "notes").Type(600, "x");
  auto eps = Reduce(b.events(), o);
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].steps[1].ctx.app_class, "gedit");
}

TEST(ReducerTest, ControlEventsEndEpisodesAndPauseIsNotIdle) {
  auto b = Base();
  b.Type(100, "ab").Control(500, v1::ControlEvent::PAUSE).Control(10000, v1::ControlEvent::RESUME);
  b.Type(10100, "cd").Control(11000, v1::ControlEvent::GAP).Type(11100, "ef");
  b.Control(12000, v1::ControlEvent::EXCLUDED_ENTER)
      .Control(20000, v1::ControlEvent::EXCLUDED_LEAVE);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("type('ab')"));
  EXPECT_EQ(eps[0].end_reason, "pause");
  EXPECT_THAT(Describe(eps[1]), ElementsAre("type('cd')"));
  EXPECT_EQ(eps[1].end_reason, "gap");
  EXPECT_THAT(Describe(eps[2]), ElementsAre("type('ef')"));
  EXPECT_EQ(eps[2].end_reason, "excluded");
}

TEST(ReducerTest, UnmatchedUpsAndRepeatsAreTolerated) {
  auto b = Base();
  b.Up(100, 5, 5).Key(150, 'a', "", false);
  b.Key(200, 'a', "a", true).Key(700, 'a', "a", true, 0, true).Key(730, 'a', "a", true, 0, true);
  b.Key(760, 'a', "", false);
  std::vector<Episode> eps;
  ActionReducer r(ReducerOptions(), [&](Episode&& e) { eps.push_back(std::move(e)); });
  for (const auto& e : b.events()) r.OnEvent(e, e.t_us());
  r.Finish();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("type('aaa')"));
  EXPECT_EQ(r.stats().unmatched_button_ups, 1u);
}

TEST(ReducerTest, FramesAttachToTheNextAction) {
  const std::string fid(16, 'F');
  auto b = Base();
  b.Frame(900, fid).Click(1000, 10, 10).Click(2000, 500, 500);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  ASSERT_EQ(eps[0].steps.size(), 2u);
  EXPECT_EQ(eps[0].steps[0].frame_id, fid);
  EXPECT_EQ(eps[0].steps[1].frame_id, "");
}

TEST(ReducerTest, HoverProducesMoveToUnlessAClickFollowsThere) {
  auto b = Base();
  b.Move(1000, 500, 500).Move(1100, 800, 600).Type(2500, "a");        // rest 1.4 s, then typing
  b.Move(3000, 100, 100).Move(3100, 120, 110).Click(4500, 120, 110);  // rest, click there
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("move(800,600)", "type('a')", "click(120,110)"));
}

TEST(ReducerTest, ModifiedClicksAndScrolls) {
  auto b = Base();
  b.Click(1000, 10, 10, 1, kCtrl).Scroll(2000, 50, 50, 0, -2, kCtrl);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_THAT(Describe(eps[0]), ElementsAre("ctrl+click(10,10)", "ctrl+scroll(dy=-2@50,50)"));
}

TEST(ReducerTest, MaxEpisodeStepsBoundsMemory) {
  ReducerOptions o;
  o.max_episode_steps = 4;
  auto b = Base();
  for (int i = 0; i < 10; ++i) b.Click(1000 + 1000 * i, 100 * i, 10);
  auto eps = Reduce(b.events(), o);
  size_t total = 0;
  for (size_t i = 0; i < eps.size(); ++i) {
    EXPECT_LE(eps[i].steps.size(), 3u);
    if (i + 1 < eps.size()) {
      EXPECT_EQ(eps[i].end_reason, "max_steps");
    }
    total += eps[i].steps.size();
  }
  EXPECT_EQ(total, 10u);
}

TEST(ReducerTest, TimeGoingBackwardsEndsTheEpisode) {
  auto b = Base();
  b.Click(5000, 10, 10).Click(1000, 20, 20);
  auto eps = Reduce(b.events());
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].end_reason, "clock_jump");
}

TEST(ReducerTest, KeyNames) {
  EXPECT_EQ(PyAutoGuiKeyName(0xff0d), "enter");
  EXPECT_EQ(PyAutoGuiKeyName(0xff08), "backspace");
  EXPECT_EQ(PyAutoGuiKeyName(0xffc9), "f12");
  EXPECT_EQ(PyAutoGuiKeyName(0xff55), "pageup");
  EXPECT_EQ(PyAutoGuiKeyName('A'), "a");
  EXPECT_EQ(PyAutoGuiKeyName(0x20), "space");
  EXPECT_EQ(PyAutoGuiKeyName(0xe9), "\xc3\xa9");  // eacute
  EXPECT_EQ(PyAutoGuiKeyName(0xfe50), "");        // dead key: unmapped
}

}  // namespace
}  // namespace sealtrace::exporter
