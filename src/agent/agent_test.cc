// The agent passes the programme state the uploader wrote (vault_state.json)
// on to its filter: at start-up, before the source runs, and again whenever
// the file changes while it records (no restart).
#include "agent/agent.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/crypto.h"

namespace sealtrace {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/st_agent_XXXXXX";
  return mkdtemp(tmpl);
}

template <typename F>
bool WaitUntil(F f) {  // a generous bound for a loaded machine, not a timing check
  for (int i = 0; i < 1000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

// Produces nothing; runs until stopped.
class IdleSource : public Source {
 public:
  absl::Status Start() override { return absl::OkStatus(); }
  absl::Status Run(EventSink*) override {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return stop_; });
    return absl::OkStatus();
  }
  void Stop() override {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  SourceInfo Info() const override {
    SourceInfo i;
    i.description = "idle";
    return i;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

class PolicyFilter : public EventFilter {
 public:
  explicit PolicyFilter(EventSink* next) : next_(next) {}
  void OnEvent(v1::Event e) override { next_->OnEvent(std::move(e)); }
  void SetPaused(bool, const std::string&) override {}
  bool paused() const override { return false; }
  void SetTitlePolicy(const std::string& policy) override {
    std::lock_guard<std::mutex> l(mu_);
    policy_ = policy;
    ++calls_;
  }
  std::string title_policy() const override {
    std::lock_guard<std::mutex> l(mu_);
    return policy_;
  }
  int calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }

 private:
  EventSink* next_;
  mutable std::mutex mu_;
  std::string policy_;
  int calls_ = 0;
};

void WriteVaultState(Env* env, const AgentConfig& cfg, const std::string& title_policy) {
  DeviceState st;
  st.title_policy = title_policy;
  ASSERT_TRUE(ReplaceFile(env, VaultStatePath(cfg), EncodeVaultState(st, 1)).ok());
}

TEST(Agent, ProgrammeTitlePolicyReachesTheFilterWithoutRestart) {
  InitCrypto();
  Env* env = Env::Default();
  const std::string root = TempDir();
  AgentConfig cfg;
  cfg.path = JoinPath(root, "agent.toml");  // uploading needs one; never read here
  cfg.spool_dir = JoinPath(root, "spool");
  cfg.state_dir = JoinPath(root, "state");
  cfg.contributor_public_key = GenerateBoxKeyPair().public_key;
  ASSERT_TRUE(env->CreateDirs(cfg.state_dir).ok());
  WriteVaultState(env, cfg, "app-and-domain");  // a previous run's last answer

  AgentOptions opt;
  opt.upload = true;                // the programme state comes with uploading
  opt.uploader_path = "/bin/true";  // an "uploader" that exits at once
  opt.drain_timeout_us = 0;
  PolicyFilter* filter = nullptr;
  auto agent = Agent::Create(env, cfg, std::make_unique<IdleSource>(), opt,
                             [&](const AgentConfig&, EventSink* down)
                                 -> absl::StatusOr<std::unique_ptr<EventFilter>> {
                               auto f = std::make_unique<PolicyFilter>(down);
                               filter = f.get();
                               return std::unique_ptr<EventFilter>(std::move(f));
                             });
  ASSERT_TRUE(agent.ok()) << agent.status();
  ASSERT_NE(filter, nullptr);
  // Known before the source delivers its first event.
  EXPECT_EQ(filter->title_policy(), "app-and-domain");

  std::thread run([&] { EXPECT_TRUE((*agent)->Run().ok()); });
  // The uploader writes a new answer: the running agent applies it.
  WriteVaultState(env, cfg, "app-only");
  EXPECT_TRUE(WaitUntil([&] { return filter->title_policy() == "app-only"; }));
  auto status = [&] {
    auto text = env->ReadFile(Agent::StatusPath(cfg));
    auto st = text.ok() ? ParseAgentStatus(*text) : std::nullopt;
    return st ? *st : AgentStatus{};
  };
  EXPECT_TRUE(WaitUntil([&] {
    auto st = status();
    return st.programme_title_policy == "app-only" && st.title_policy == "app-only";
  })) << EncodeAgentStatus(status());
  // A damaged file keeps the last policy.
  const int calls = filter->calls();
  ASSERT_TRUE(ReplaceFile(env, VaultStatePath(cfg), "{\"programme_state\":").ok());
  WriteVaultState(env, cfg, "full");
  EXPECT_TRUE(WaitUntil([&] { return filter->title_policy() == "full"; }));
  EXPECT_GT(filter->calls(), calls);
  (*agent)->Stop();
  run.join();
}

TEST(StateFiles, VaultStateCarriesTheTitlePolicy) {
  DeviceState st;
  st.programme_state = "PAUSED";
  st.recording_allowed = false;
  st.title_policy = "app-only";
  auto back = ParseVaultState(EncodeVaultState(st, 7));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, st);
  // An older uploader's file has no title policy: the vault sent none.
  auto old = ParseVaultState(R"({"programme_state":"ACTIVE","recording_allowed":true})");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->title_policy, "full");
  // A title policy of the wrong type: damaged, not read.
  EXPECT_FALSE(ParseVaultState(
                   R"({"programme_state":"ACTIVE","recording_allowed":true,"title_policy":2})")
                   .has_value());
}

TEST(StateFiles, AgentStatusRoundTripsAndRefusesWrongTypes) {
  AgentStatus st;
  st.state = "recording";
  st.source = "x11 :99 (title \xc3\xa9)";
  st.pid = 4242;
  st.updated_wall_us = 1'790'000'000'000'000;
  st.events_total = 12;
  st.events_per_min = 3.25;
  st.captured.key_down = 5;
  st.captured.focus = 1;
  st.window_manager = true;
  st.last_error = "vault unreachable";
  const std::string text = EncodeAgentStatus(st);
  // The keys readers (docs/FORMAT.md §2, the tests, older CLIs) look for.
  for (const char* k : {"\"state\": \"recording\"", "\"events_total\": 12",
                        "\"key_down\": 5", "\"window_manager\": true"}) {
    EXPECT_NE(text.find(k), std::string::npos) << k << " in " << text;
  }
  auto back = ParseAgentStatus(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(EncodeAgentStatus(*back), text);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->captured.total(), 6u);
  EXPECT_DOUBLE_EQ(back->events_per_min, 3.25);
  EXPECT_FALSE(back->final());
  // Absent fields keep their defaults (an older recorder's file).
  auto old = ParseAgentStatus(R"({"state":"stopped"})");
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(old->final());
  EXPECT_EQ(old->events_total, 0u);
  // Present with the wrong type, or not an object: damaged.
  EXPECT_FALSE(ParseAgentStatus(R"({"state":3})").has_value());
  EXPECT_FALSE(ParseAgentStatus(R"({"events_total":-1})").has_value());
  EXPECT_FALSE(ParseAgentStatus(R"({"captured":{"move":"x"}})").has_value());
  EXPECT_FALSE(ParseAgentStatus(R"({"state":"rec)").has_value());
  EXPECT_FALSE(ParseAgentStatus("[]").has_value());
}

}  // namespace
}  // namespace sealtrace
