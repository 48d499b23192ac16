// End to end on the embedded default: a real vault process, a real agent
// process replaying a session, then proof that the vault holds exactly the
// events sent and that no plaintext canary exists anywhere on disk.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
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

  auto got = ReadVault(v, ContributorOf(cfg));
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
    if (OnPostgres()) {  // ...nor in the database cluster's files (tables, WAL)
      for (const auto& dir : VaultStorageRoots(v)) {
        for (auto& h : FilesContaining(dir, canary)) {
          EXPECT_EQ(h, replay) << "plaintext canary found in " << h;
        }
      }
    }
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
  auto got = ReadVault(v, ContributorOf(cfg));
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
  auto got = ReadVault(v, ContributorOf(cfg));
  EXPECT_TRUE(got.segments.empty());
}

}  // namespace
}  // namespace sealtrace::testing

namespace sealtrace::testing {
namespace {

TEST(EndToEnd, CliPauseTakesEffectWithinOneSecondAndLeavesOnlyAGap) {
  std::string root = MakeTempDir("st_e2e_pause");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "gina");
  SyntheticOptions so;
  so.events = 3000;
  so.seed = 41;
  auto input = MakeSyntheticSession(so);
  for (auto& e : input) e.set_t_us(e.t_us() / 8);  // ~ 10 s at speed 1
  std::string replay = WriteReplay(root + "/gina/session.jsonl", input);
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                 "--speed", "1"},
                root + "/agent.log");
  std::string status = root + "/gina/state/status.json";
  for (int i = 0; i < 500 && !Env::Default()->FileExists(status); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int64_t paused_at = MonoNowUs();
  ASSERT_EQ(RunToExit({SealtraceBinary(), "pause", "--config", cfg}, root + "/pause.log"), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  // The agent reports it: at once in its status file (a change of state), and
  // to `sealtrace status`, which asks the running agent for a fresh status
  // (the file is otherwise only rewritten on the 10 s heartbeat).
  EXPECT_NE(ReadAll(status).find("\"state\": \"paused\""), std::string::npos) << ReadAll(status);
  ASSERT_EQ(RunToExit({SealtraceBinary(), "status", "--config", cfg}, root + "/status1.log"), 0);
  EXPECT_NE(ReadAll(root + "/status1.log").find("recording:        paused\n"), std::string::npos)
      << ReadAll(root + "/status1.log");
  int64_t resumed_at = MonoNowUs();
  ASSERT_EQ(RunToExit({SealtraceBinary(), "resume", "--config", cfg}, root + "/resume.log"), 0);
  ASSERT_EQ(agent.Wait(120000), 0) << ReadAll(root + "/agent.log");
  // No agent answers any more: the last state is shown as not running.
  ASSERT_EQ(RunToExit({SealtraceBinary(), "status", "--config", cfg}, root + "/status2.log"), 0);
  EXPECT_NE(ReadAll(root + "/status2.log").find("recording:        off (agent not running"),
            std::string::npos)
      << ReadAll(root + "/status2.log");
  v.Stop();
  auto got = ReadVault(v, ContributorOf(cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  int64_t pause_t = -1, resume_t = -1;
  bool gap = false;
  int content_while_paused = 0, content_after = 0;
  std::string while_paused;
  for (const auto& e : got.events) {
    int64_t t = static_cast<int64_t>(e.t_us());
    if (e.has_control() && e.control().kind() == v1::ControlEvent::PAUSE) pause_t = t;
    if (e.has_control() && e.control().kind() == v1::ControlEvent::RESUME) resume_t = t;
    if (e.has_control() && e.control().kind() == v1::ControlEvent::GAP &&
        e.control().duration_us() > 0) {
      gap = true;
    }
  }
  // Nothing between the pause taking effect and the RESUME marker. The gate
  // stamps RESUME, and the window context it re-emits with it, with the time
  // of the last event it saw, which is before `resumed_at`: that context is
  // what the recording knows after resuming, not content from the pause.
  for (const auto& e : got.events) {
    int64_t t = static_cast<int64_t>(e.t_us());
    bool content = e.has_key() || e.has_pointer() || e.has_focus();
    if (content && t > paused_at + 1'000'000 && t < resumed_at && (resume_t < 0 || t < resume_t)) {
      ++content_while_paused;
      while_paused += absl::StrCat(e.has_key() ? "key" : e.has_pointer() ? "pointer" : "focus",
                                   " at pause+", t - paused_at, " us; ");
    }
    if (content && t > resumed_at + 1'000'000) ++content_after;
  }
  ASSERT_GE(pause_t, 0) << "no PAUSE marker";
  EXPECT_LE(pause_t - paused_at, 1'000'000) << "pause took effect after more than 1 s";
  EXPECT_GE(resume_t, 0) << "no RESUME marker";
  EXPECT_TRUE(gap) << "no GAP with the paused duration";
  EXPECT_EQ(content_while_paused, 0)
      << while_paused << "PAUSE at pause+" << pause_t - paused_at << " us, RESUME at pause+"
      << resume_t - paused_at << " us, resume asked at pause+" << resumed_at - paused_at << " us";
  EXPECT_GT(content_after, 0) << "recording did not resume";
}

// The agent is two processes (ARCHITECTURE.md): the uploader killed mid-run is
// restarted by the recorder and nothing is lost; the recorder killed takes the
// uploader with it (no orphan keeps talking to the vault).
TEST(EndToEnd, UploaderProcessIsSupervisedAndDiesWithTheRecorder) {
  std::string root = MakeTempDir("st_e2e_upl");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "hana");
  SyntheticOptions so;
  so.events = 2000;
  so.seed = 77;
  auto input = MakeSyntheticSession(so);
  for (auto& e : input) e.set_t_us(e.t_us() / 16);  // a few seconds at speed 1
  std::string replay = WriteReplay(root + "/hana/session.jsonl", input);
  auto session = ThroughGate(input);
  const std::string upl_json = root + "/hana/state/uploader.json";
  auto uploader_pid = [&]() -> pid_t {
    auto j = nlohmann::json::parse(ReadAll(upl_json), nullptr, false);
    return j.is_object() ? static_cast<pid_t>(j.value("pid", 0)) : 0;
  };
  auto alive = [](pid_t p) { return p > 0 && kill(p, 0) == 0; };
  auto wait_for = [](auto cond) {
    for (int i = 0; i < 600 && !cond(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return cond();
  };
  {
    Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                   "--speed", "1"},
                  root + "/agent.log");
    ASSERT_TRUE(wait_for([&] { return alive(uploader_pid()); })) << ReadAll(root + "/agent.log");
    const pid_t first = uploader_pid();
    ASSERT_EQ(kill(first, SIGKILL), 0);
    // A new uploader takes over and the run still delivers every event.
    ASSERT_TRUE(wait_for([&] { return uploader_pid() != first && alive(uploader_pid()); }))
        << ReadAll(root + "/agent.log");
    ASSERT_EQ(agent.Wait(120000), 0) << ReadAll(root + "/agent.log");
    EXPECT_NE(ReadAll(root + "/agent.log").find("the uploader exited"), std::string::npos);
  }
  auto got = ReadVault(v, ContributorOf(cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  ASSERT_EQ(got.events.size(), session.size());

  // Now kill the recorder itself: its uploader must not outlive it.
  std::string empty = root + "/hana/empty.jsonl";
  WriteAll(empty, "");
  Process agent2({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + empty,
                  "--follow"},
                 root + "/agent2.log");
  ASSERT_TRUE(wait_for([&] {
    pid_t p = uploader_pid();
    return alive(p) && ReadAll("/proc/" + std::to_string(p) + "/status").find(
                           "PPid:\t" + std::to_string(agent2.pid())) != std::string::npos;
  })) << ReadAll(root + "/agent2.log");
  const pid_t orphan = uploader_pid();
  agent2.Kill9();
  agent2.Wait(10000);
  EXPECT_TRUE(wait_for([&] { return !alive(orphan); })) << "uploader outlived the recorder";
  v.Stop();
}

}  // namespace
}  // namespace sealtrace::testing
