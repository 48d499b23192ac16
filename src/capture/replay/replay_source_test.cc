#include "capture/replay/replay_source.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/env_fault.h"

namespace sealtrace {
namespace {

class Collect : public EventSink {
 public:
  void OnEvent(v1::Event e) override { events.push_back(std::move(e)); }
  std::vector<v1::Event> events;
};

std::string WriteTemp(const std::string& content) {
  char tmpl[] = "/tmp/st_replay_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string p = dir + "/r.jsonl";
  EXPECT_TRUE(WriteFileAtomic(Env::Default(), p, content).ok());
  return p;
}

TEST(Replay, ParsesAndRebasesTimes) {
  std::string p = WriteTemp(
      "# a comment\n"
      "{\"t_us\": 0, \"focus\": {\"app_class\": \"XTerm\", \"title\": \"t\"}}\n"
      "\n"
      "{\"tUs\": \"1500\", \"key\": {\"down\": true, \"keysym\": 97, \"text\": \"a\"}}\n"
      "{\"t_us\": 2000, \"pointer\": {\"kind\": \"BUTTON_DOWN\", \"x\": 5, \"y\": 6, \"button\": 1}}\n");
  FaultInjectionEnv env(Env::Default(), 10'000);
  ReplaySource src(&env, p);
  ASSERT_TRUE(src.Start().ok());
  EXPECT_EQ(src.event_count(), 3u);
  Collect c;
  ASSERT_TRUE(src.Run(&c).ok());
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].t_us(), 10'000u);
  EXPECT_EQ(c.events[1].t_us(), 11'500u);
  EXPECT_EQ(c.events[1].key().text(), "a");
  EXPECT_EQ(c.events[2].pointer().kind(), v1::PointerEvent::BUTTON_DOWN);
}

TEST(Replay, BadLineNamesFileAndLine) {
  std::string p = WriteTemp("{\"t_us\": 0, \"key\": {}}\n{\"t_us\": 1, \"bogus\": 3}\n");
  ReplaySource src(Env::Default(), p);
  auto s = src.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(p + ":2:"), std::string::npos) << s;
}

TEST(Replay, TimeGoingBackwardsIsRefused) {
  std::string p = WriteTemp("{\"t_us\": 5, \"key\": {}}\n{\"t_us\": 4, \"key\": {}}\n");
  ReplaySource src(Env::Default(), p);
  auto s = src.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("backwards"), std::string::npos) << s;
}

TEST(Replay, EventWithoutBodyRefused) {
  EXPECT_FALSE(ParseReplayLine("{\"t_us\": 5}").ok());
  EXPECT_FALSE(ParseReplayLine("not json").ok());
  EXPECT_TRUE(absl::IsNotFound(ParseReplayLine("   ").status()));
}

TEST(Replay, FormatParsesBack) {
  v1::Event e;
  e.set_t_us(77);
  e.mutable_key()->set_text("é");
  auto back = ParseReplayLine(FormatReplayLine(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->SerializeAsString(), e.SerializeAsString());
}

}  // namespace
}  // namespace sealtrace
