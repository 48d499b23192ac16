#include "dashboard/timeline.h"

#include <gtest/gtest.h>

#include "dashboard/pause.h"

namespace sealtrace::dashboard {
namespace {

v1::Event Focus(uint64_t t, const std::string& app, const std::string& title) {
  v1::Event e;
  e.set_t_us(t);
  e.mutable_focus()->set_app_class(app);
  e.mutable_focus()->set_title(title);
  return e;
}
v1::Event Key(uint64_t t, const std::string& text) {
  v1::Event e;
  e.set_t_us(t);
  e.mutable_key()->set_down(true);
  e.mutable_key()->set_text(text);
  return e;
}
v1::Event Control(uint64_t t, v1::ControlEvent::Kind k) {
  v1::Event e;
  e.set_t_us(t);
  e.mutable_control()->set_kind(k);
  return e;
}
v1::Event Redaction(uint64_t t) {
  v1::Event e;
  e.set_t_us(t);
  e.mutable_redaction()->set_kind("payment_card");
  e.mutable_redaction()->set_length_bucket(32);
  return e;
}

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kAnchor = 1'790'000'000'000'000;  // 2026-09-21 ...

TEST(TimelineTest, AttributesTimeToTheFocusedApplication) {
  std::vector<v1::Event> evs = {Focus(0, "Firefox", "a"), Key(1'000'000, "h"),
                                Key(2'000'000, "i"),      Focus(10'000'000, "XTerm", "b"),
                                Redaction(11'000'000),    Key(40'000'000, "x")};
  auto rows = BuildTimeline({{kAnchor, &evs}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].app, "XTerm");  // 30 s beats 10 s
  EXPECT_EQ(rows[0].recorded_us, 30'000'000);
  EXPECT_EQ(rows[0].redactions, 1);
  EXPECT_EQ(rows[0].key_presses, 1);
  EXPECT_EQ(rows[1].app, "Firefox");
  EXPECT_EQ(rows[1].recorded_us, 10'000'000);
  EXPECT_EQ(rows[1].key_presses, 2);
}

TEST(TimelineTest, ExclusionsPausesAndDays) {
  std::vector<v1::Event> evs = {Focus(0, "Firefox", "a"),
                                Control(5'000'000, v1::ControlEvent::EXCLUDED_ENTER),
                                Control(65'000'000, v1::ControlEvent::EXCLUDED_LEAVE),
                                Control(70'000'000, v1::ControlEvent::PAUSE),
                                Control(1'070'000'000, v1::ControlEvent::RESUME),
                                Key(1'071'000'000, "z")};
  std::vector<v1::Event> next_day = {Focus(0, "Emacs", "t"), Key(3'000'000, "q")};
  auto rows = BuildTimeline({{kAnchor, &evs}, {kAnchor + kDay, &next_day}});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].app, "Emacs");  // newest day first
  EXPECT_EQ(rows[0].recorded_us, 3'000'000);
  EXPECT_GT(rows[0].day, rows[1].day);
  // Day 1: Firefox 5 s + 5 s after leaving + 1 s after resuming (the 1000 s pause is not
  // recorded time); the excluded application 60 s, one entry.
  const TimelineRow* ff = rows[1].app == "Firefox" ? &rows[1] : &rows[2];
  const TimelineRow* ex = rows[1].app == "Firefox" ? &rows[2] : &rows[1];
  EXPECT_EQ(ff->recorded_us, 11'000'000);
  EXPECT_EQ(ex->app, kExcludedApp);
  EXPECT_EQ(ex->recorded_us, 60'000'000);
  EXPECT_EQ(ex->exclusions, 1);
}

TEST(TimelineTest, DescribeKeepsRawTextForTheCallerToEscape) {
  auto v = DescribeEvent(Focus(0, "Firefox", "<script>alert(1)</script>"));
  EXPECT_EQ(v.kind, "focus");
  EXPECT_NE(v.detail.find("<script>alert(1)</script>"), std::string::npos);
  EXPECT_EQ(DescribeEvent(Redaction(0)).kind, "redacted");
  EXPECT_EQ(DescribeEvent(Key(0, "\n")).detail, "press Enter");
}

TEST(TimelineTest, HiddenInputMarkersClaimNoLength) {
  EXPECT_NE(DescribeEvent(Redaction(0)).detail.find("up to 32 characters"), std::string::npos);
  v1::Event h;
  h.mutable_redaction()->set_kind("hidden_input");
  auto v = DescribeEvent(h);
  EXPECT_EQ(v.kind, "redacted");
  EXPECT_EQ(v.detail.find("up to"), std::string::npos) << v.detail;
  EXPECT_NE(v.detail.find("withheld on your device"), std::string::npos) << v.detail;
}

TEST(PauseTest, ParsesStoredValues) {
  EXPECT_FALSE(PausedUntil(std::nullopt, 100).has_value());
  EXPECT_FALSE(PausedUntil(std::string("0"), 100).has_value());
  EXPECT_FALSE(PausedUntil(std::string("100"), 100).has_value());  // ended
  EXPECT_EQ(*PausedUntil(std::string("101"), 100), 101);
  EXPECT_EQ(*PausedUntil(std::to_string(kPauseUntilResumed), 100), kPauseUntilResumed);
  EXPECT_FALSE(PausedUntil(std::string("-5"), 100).has_value());
  EXPECT_FALSE(PausedUntil(std::string("99999999999999999999"), 100).has_value());
  EXPECT_FALSE(PausedUntil(std::string("12x"), 0).has_value());
  EXPECT_EQ(ContributorPauseKey("ab"), "contributor_pause.ab");
}

}  // namespace
}  // namespace sealtrace::dashboard
