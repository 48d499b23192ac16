// End to end on the embedded default: a real vault process, a real agent
// process replaying a session, then proof that the vault holds exactly the
// events sent and that no plaintext canary exists anywhere on disk.
#include <gtest/gtest.h>

#include "e2e_util.h"

namespace sealtrace::testing {
namespace {

constexpr char kTypedCanary[] = "zqxCANARYtyped7731";
constexpr char kTitleCanary[] = "zqxCANARYtitle4408";

TEST(EndToEnd, ReplayArrivesExactlyAndNoPlaintextOnDisk) {
  std::string root = MakeTempDir("st_e2e");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "alice");
  SyntheticOptions so;
  so.events = 3000;
  so.seed = 11;
  so.planted_text = kTypedCanary;
  so.planted_title = kTitleCanary;
  auto input = MakeSyntheticSession(so);
  std::string replay = WriteReplay(root + "/alice/session.jsonl", input);
  auto session = ThroughGate(input);  // what the recorder seals
  std::string agent_log = root + "/agent.log";
  int rc = RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                      "--speed", "0"},
                     agent_log);
  ASSERT_EQ(rc, 0) << ReadAll(agent_log);
  v.Stop();

  // The spool is empty: everything was acknowledged.
  auto spool = Env::Default()->ListDir(root + "/alice/spool");
  ASSERT_TRUE(spool.ok());
  for (auto& n : *spool) EXPECT_TRUE(n == "rejected") << "left in spool: " << n;

  auto got = ReadVault(v.dir, ContributorOf(cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  ASSERT_FALSE(got.segments.empty());
  for (size_t i = 1; i < got.segments.size(); ++i) {
    EXPECT_EQ(got.segments[i].sequence, got.segments[i - 1].sequence + 1);
  }
  // Exactly the sent events, in order, with the same spacing in time.
  ASSERT_EQ(got.events.size(), session.size());
  for (size_t i = 0; i < session.size(); ++i) {
    ASSERT_EQ(Content(got.events[i]), Content(session[i])) << "event " << i;
    if (i > 0) {
      ASSERT_EQ(got.events[i].t_us() - got.events[i - 1].t_us(),
                session[i].t_us() - session[i - 1].t_us())
          << "event " << i;
    }
  }
  // The canaries were really recorded (so the scan below means something)...
  bool typed = false, titled = false;
  std::string text;
  for (auto& e : got.events) {
    if (e.has_key()) text += e.key().text();
    if (e.has_focus() && e.focus().title() == kTitleCanary) titled = true;
  }
  typed = text.find(kTypedCanary) != std::string::npos;
  EXPECT_TRUE(typed);
  EXPECT_TRUE(titled);
  // ...and no byte of them exists in plaintext anywhere on disk: vault
  // database, blobs, keys, agent spool and state, and every log.
  for (const char* canary : {kTypedCanary, kTitleCanary}) {
    auto hits = FilesContaining(root, canary);
    // The replay input file itself is the only plaintext (it is test input).
    for (auto& h : hits) EXPECT_EQ(h, replay) << "plaintext canary found in " << h;
  }
}

TEST(EndToEnd, VaultDownAgentKeepsSpoolingAndCatchesUp) {
  std::string root = MakeTempDir("st_e2e_down");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "bob");
  v.Stop();  // the vault is down while recording
  SyntheticOptions so;
  so.events = 1500;
  so.seed = 12;
  auto input = MakeSyntheticSession(so);
  std::string replay = WriteReplay(root + "/bob/session.jsonl", input);
  auto session = ThroughGate(input);
  // Record with the vault down: uploads fail and back off; the agent exits
  // after its drain timeout with everything still spooled.
  int rc = RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                      "--drain-timeout", "2s"},
                     root + "/agent1.log");
  ASSERT_EQ(rc, 0) << ReadAll(root + "/agent1.log");
  auto spooled = Env::Default()->ListDir(root + "/bob/spool");
  ASSERT_TRUE(spooled.ok());
  EXPECT_GE(spooled->size(), 2u);  // segments + rejected/
  // The vault comes back; a second run (empty replay) uploads the backlog.
  v.Start();
  std::string empty = root + "/bob/empty.jsonl";
  WriteAll(empty, "");
  rc = RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + empty},
                 root + "/agent2.log");
  ASSERT_EQ(rc, 0) << ReadAll(root + "/agent2.log");
  v.Stop();
  auto got = ReadVault(v.dir, ContributorOf(cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  ASSERT_EQ(got.events.size(), session.size());
}

TEST(EndToEnd, BadReplayFileIsRefusedWithFileAndLine) {
  std::string root = MakeTempDir("st_e2e_bad");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "carol");
  std::string bad = root + "/bad.jsonl";
  WriteAll(bad, "{\"t_us\": 0, \"key\": {\"text\": \"a\"}}\n{\"t_us\": 1, \"key\": [}\n");
  std::string log = root + "/agent.log";
  int rc = RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + bad},
                     log);
  EXPECT_NE(rc, 0);
  EXPECT_NE(ReadAll(log).find(bad + ":2:"), std::string::npos) << ReadAll(log);
  v.Stop();
  // Nothing was recorded from a file that does not validate.
  auto got = ReadVault(v.dir, ContributorOf(cfg));
  EXPECT_TRUE(got.segments.empty());
}

}  // namespace
}  // namespace sealtrace::testing
