// Crash loops: SIGKILL of the agent and of the vault at many moments.
//
// Agent: after each kill every spooled segment opens and verifies, no
// temporary file survives a restart, the recovered events are an exact prefix
// of what was replayed, and what is missing is at most the unsealed tail
// (≈ the 1 s segment age plus scheduling slack).
// Vault: killed repeatedly while an agent uploads; afterwards every segment
// the agent saw acknowledged is in the vault exactly once, intact, with no
// sequence missing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "e2e_util.h"
#include "spool/spool.h"

namespace sealtrace::testing {
namespace {

TEST(Crash, AgentKill9AtManyPointsLosesAtMostTheUnsealedTail) {
  if (OnPostgres()) GTEST_SKIP() << "agent crashes do not touch the vault backend (crash_test)";
  std::string root = MakeTempDir("st_crash_agent");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "dana");
  v.Stop();
  auto got_key = [&] {
    vault::VaultOptions o;
    o.data_dir = v.dir;
    auto vault = *vault::Vault::Open(o);
    return *vault->keys()->ReleaseSecretKey(ContributorOf(cfg), [] { return absl::OkStatus(); });
  }();

  SyntheticOptions so;
  so.events = 400;
  so.seed = 21;
  auto input = MakeSyntheticSession(so);
  // Compress the session's time 10x so it replays in a few seconds at speed 1.
  for (auto& e : input) e.set_t_us(e.t_us() / 10);
  std::string replay = WriteReplay(root + "/dana/session.jsonl", input);
  std::vector<uint64_t> released_at;
  auto session = ThroughGate(input, &released_at);
  const int kKillPoints = 12;
  for (int k = 0; k < kKillPoints; ++k) {
    SCOPED_TRACE("kill point " + std::to_string(k));
    std::string spool_dir = root + "/dana/spool";
    std::filesystem::remove_all(spool_dir);
    std::filesystem::remove_all(root + "/dana/state");
    std::string log = root + "/agent_" + std::to_string(k) + ".log";
    Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                   "--speed", "1", "--no-upload"},
                  log);
    // Recording has started once the agent publishes its status. (A sanitized
    // build beside another test on 2 cores can take seconds to start: the
    // bound is generous, the kill points count from the status file.)
    std::string status = root + "/dana/state/status.json";
    const int64_t spawned_at = MonoNowUs();
    for (int i = 0; i < 3000 && !Env::Default()->FileExists(status); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(Env::Default()->FileExists(status)) << ReadAll(log);
    std::printf("kill point %2d: agent started in %lld ms\n", k,
                static_cast<long long>((MonoNowUs() - spawned_at) / 1000));
    int64_t started_at = MonoNowUs();
    // Kill points spread over the run: 50 ms .. ~3.1 s after recording began.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + k * 280));
    int64_t killed_at = MonoNowUs();
    agent.Kill9();
    agent.Wait(5000);

    // Restart semantics: opening the spool removes half-written temp files.
    auto sp = Spool::Open(Env::Default(), {spool_dir, 1ull << 30});
    ASSERT_TRUE(sp.ok()) << sp.status();
    auto names = *Env::Default()->ListDir(spool_dir);
    for (auto& n : names) EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
    auto list = *(*sp)->List();
    std::vector<v1::Event> recovered;
    uint64_t prev_seq = 0;
    for (auto& e : list) {
      auto seg = OpenSegment(*(*sp)->Read(e), got_key.public_key, got_key.secret_key);
      ASSERT_TRUE(seg.ok()) << e.name << ": " << seg.status();
      if (prev_seq) {
        EXPECT_EQ(e.sequence, prev_seq + 1);
      }
      prev_seq = e.sequence;
      for (auto ev : seg->events) {
        ev.set_t_us(ev.t_us() + seg->header.start_mono_us);
        recovered.push_back(std::move(ev));
      }
    }
    // An exact prefix of the session.
    ASSERT_LE(recovered.size(), session.size());
    for (size_t i = 0; i < recovered.size(); ++i) {
      ASSERT_EQ(Content(recovered[i]), Content(session[i])) << "event " << i;
    }
    // Bounded loss: every event the gate had released to the recorder more
    // than the segment age (1 s) plus 0.8 s of scheduling slack before the
    // kill is recovered. (Typed text the gate still held, undecided, is the
    // other part of the tail: it is never sealed before redaction decides.)
    int64_t kill_rel = killed_at - started_at - 1'800'000;
    size_t must_have = 0;
    while (must_have < released_at.size() &&
           static_cast<int64_t>(released_at[must_have] - released_at[0]) <= kill_rel) {
      ++must_have;
    }
    EXPECT_GE(recovered.size(), must_have)
        << "lost more than the unsealed tail (" << recovered.size() << " of " << session.size()
        << " events kept, " << must_have << " had been released > 1.8 s before the kill)";
    std::printf("kill point %2d at %4lld ms: %zu segments, %zu of %zu events recovered (>= %zu "
                "required)\n",
                k, static_cast<long long>((killed_at - started_at) / 1000), list.size(),
                recovered.size(), session.size(), must_have);
  }
}

TEST(Crash, VaultKill9DuringUploadsLosesNothingAcknowledged) {
  std::string root = MakeTempDir("st_crash_vault");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "erin");
  SyntheticOptions so;
  so.events = 1200;
  so.seed = 31;
  auto input = MakeSyntheticSession(so);
  for (auto& e : input) e.set_t_us(e.t_us() / 20);  // ~a few seconds at speed 1
  std::string replay = WriteReplay(root + "/erin/session.jsonl", input);
  auto session = ThroughGate(input);
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                 "--speed", "1", "--drain-timeout", "60s"},
                root + "/agent.log");
  // Kill the vault repeatedly while segments are being uploaded.
  for (int k = 0; k < 6; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + 130 * k));
    v.Kill9();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    v.Start();
  }
  int rc = agent.Wait(120000);
  ASSERT_EQ(rc, 0) << ReadAll(root + "/agent.log");
  v.Stop();
  // The agent drained: nothing left unacknowledged.
  auto spooled = *Env::Default()->ListDir(root + "/erin/spool");
  for (auto& n : spooled) EXPECT_EQ(n, "rejected");
  auto got = ReadVault(v, ContributorOf(cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  ASSERT_FALSE(got.segments.empty());
  // Exactly once, no gaps: sequences 1..N.
  for (size_t i = 0; i < got.segments.size(); ++i) {
    EXPECT_EQ(got.segments[i].sequence, got.segments[0].sequence + i);
  }
  ASSERT_EQ(got.events.size(), session.size());
  for (size_t i = 0; i < session.size(); ++i) {
    ASSERT_EQ(Content(got.events[i]), Content(session[i])) << "event " << i;
  }
}

}  // namespace
}  // namespace sealtrace::testing
