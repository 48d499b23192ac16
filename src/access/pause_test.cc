// Pause test: a running recorder (`sealtrace agent --source replay:FILE --speed 1
// --follow`) stops capturing within 10 s after two privacy officers put the
// programme in PAUSED, and resumes after ACTIVE.
//
// The vault runs in this process (plain HTTP on 127.0.0.1, as in tests); the
// agent is a real process. Captured events are read back through the access
// layer (the contributor's own read).
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "access/access_test_util.h"
#include "access/http_api.h"
#include "e2e_util.h"
#include "gtest/gtest.h"
#include "vault/server.h"

namespace sealtrace::access {
namespace {

using json = nlohmann::json;

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AgentState(const std::string& status_file) {
  auto text = Env::Default()->ReadFile(status_file);
  if (!text.ok()) return "";
  auto j = json::parse(*text, nullptr, false);
  return j.is_object() ? j.value("state", "") : "";
}

// Waits (polling, bounded) until pred() holds; returns the seconds it took or -1.
template <typename F>
double WaitFor(F pred, double max_s) {
  auto start = std::chrono::steady_clock::now();
  while (true) {
    if (pred()) {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (std::chrono::steady_clock::now() - start > std::chrono::duration<double>(max_s)) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(PauseE2E, RecorderStopsWithinBoundAndResumes) {
  // Real clock here: the agent is a separate process.
  testing::AccessFixture f;
  f.env_.SetWallMicros(WallNow());
  AccessApi api(f.svc.get(), nullptr);
  vault::ServerOptions so;
  so.api = &api;
  vault::VaultServer server(f.vault_.get(), so);
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread serve([&] { (void)server.Serve(); });

  const std::string root = f.dir_.Sub("agent");
  ASSERT_TRUE(Env::Default()->CreateDirs(root, 0700).ok());
  sealtrace::testing::VaultProcess vp;  // only for Url()/dir in Enrol()
  vp.dir = f.vault_->data_dir();
  vp.port = *port;
  const std::string cfg = sealtrace::testing::Enrol(vp, root, "pat");
  // A long replay of typing (one event every 20 ms for ~10 minutes), followed.
  std::vector<v1::Event> events;
  // Typing in short runs (Return ends each run, so the privacy gate does not hold
  // the keys) and a zig-zag pointer (not thinned away by minimisation).
  for (int i = 0; i < 30000; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i) * 20000);
    if (i % 3 == 2) {
      e.mutable_pointer()->set_kind(v1::PointerEvent::MOVE);
      e.mutable_pointer()->set_x((i % 6) * 100 + 50);
      e.mutable_pointer()->set_y(((i / 3) % 2) * 300 + 100);
    } else if (i % 30 == 0) {
      e.mutable_key()->set_down(i % 2 == 0);
      e.mutable_key()->set_keysym(0xff0d);  // Return
      e.mutable_key()->set_keycode(36);
    } else {
      e.mutable_key()->set_down(i % 2 == 0);
      if (i % 2 == 0) e.mutable_key()->set_text("a");
      e.mutable_key()->set_keysym(0x61);
      e.mutable_key()->set_keycode(38);
    }
    events.push_back(e);
  }
  const std::string replay = sealtrace::testing::WriteReplay(root + "/replay.jsonl", events);
  const std::string status_file = root + "/pat/state/status.json";
  sealtrace::testing::Process agent(
      {sealtrace::testing::SealtraceBinary(), "agent", "--config", cfg, "--source",
       "replay:" + replay, "--speed", "1", "--follow"},
      root + "/agent.log");
  ASSERT_GT(WaitFor([&] { return AgentState(status_file) == "recording"; }, 30), -1)
      << sealtrace::testing::ReadAll(root + "/agent.log");

  std::this_thread::sleep_for(std::chrono::seconds(3));  // record a little first
  auto contributor = f.store->ListPrincipals();
  ASSERT_TRUE(contributor.ok());
  Principal pat;
  for (auto& p : *contributor) {
    if (p.role == Role::kContributor) pat = p;
  }
  ASSERT_FALSE(pat.id.empty());

  // Two officers pause the programme.
  auto prop = f.svc->ProposeState(f.po1, ProgrammeState::kPaused, "pause test");
  ASSERT_TRUE(prop.ok());
  f.env_.SetWallMicros(WallNow());
  ASSERT_TRUE(f.svc->ConfirmState(f.po2, prop->id).ok());
  const int64_t paused_at = WallNow();
  double took = WaitFor([&] { return AgentState(status_file) == "paused"; }, 10);
  EXPECT_GE(took, 0) << "agent did not report paused within 10 s; state "
                     << AgentState(status_file);
  std::printf("agent reported paused %.2f s after the state change\n", took);
  // Stay paused well past the bound, so the window checked below is not empty.
  while (WallNow() < paused_at + 15'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(AgentState(status_file), "paused");
  const int64_t resume_at = WallNow();
  auto back = f.svc->ProposeState(f.po2, ProgrammeState::kActive, "done");
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(f.svc->ConfirmState(f.po1, back->id).ok());
  EXPECT_GE(WaitFor([&] { return AgentState(status_file) == "recording"; }, 10), 0);
  // Let it record a little after resuming, then stop it (it drains its spool).
  std::this_thread::sleep_for(std::chrono::seconds(4));
  agent.Terminate();
  EXPECT_EQ(agent.Wait(60000), 0) << sealtrace::testing::ReadAll(root + "/agent.log");

  // Read back what reached the vault (the contributor's own audited read).
  f.env_.SetWallMicros(WallNow());
  auto r = f.svc->ReadOwn(pat, 0, WallNow() + 1);
  ASSERT_TRUE(r.ok()) << r.status();
  int before = 0, during = 0, after = 0;
  int64_t last_paused_event = 0;
  const int64_t bound = paused_at + 10'000'000;  // the promised bound
  for (const auto& s : r->segments) {
    for (const auto& e : s.events) {
      if (!e.has_key() && !e.has_pointer()) continue;
      const int64_t wall = s.wall_anchor_us + static_cast<int64_t>(e.t_us());
      if (wall >= paused_at && wall < resume_at) last_paused_event = wall;
      if (wall < paused_at) {
        ++before;
      } else if (wall >= bound && wall < resume_at) {
        ++during;
      } else if (wall >= resume_at) {
        ++after;
      }
    }
  }
  if (last_paused_event) {
    std::printf("last event captured %.2f s after the state change\n",
                (last_paused_event - paused_at) / 1e6);
  }
  std::printf("events: %d before pause, %d captured >10 s into the pause, %d after resume\n",
              before, during, after);
  EXPECT_GT(before, 0);
  EXPECT_EQ(during, 0) << "events captured more than 10 s after PAUSED reached the vault";
  EXPECT_GT(after, 0) << "recording did not resume";
  server.Stop();
  serve.join();
}

}  // namespace
}  // namespace sealtrace::access
