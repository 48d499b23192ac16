#include "agent/upload_service.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace sealtrace {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/st_us_XXXXXX";
  return mkdtemp(tmpl);
}

// Thread-safe: the service calls it from its own thread.
class FakeVault : public VaultClient {
 public:
  UploadResponse UploadSegment(std::string_view bytes, const Id16& id) override {
    std::lock_guard<std::mutex> l(mu);
    UploadResponse r;
    r.http_status = 200;
    r.result = stored.count(id) ? "duplicate" : "stored";
    stored[id] = std::string(bytes);
    return r;
  }
  absl::StatusOr<DeviceState> GetDeviceState(const DeviceReport& report) override {
    std::lock_guard<std::mutex> l(mu);
    ++state_polls;
    last_report = report;
    return state;
  }
  size_t Stored() {
    std::lock_guard<std::mutex> l(mu);
    return stored.size();
  }
  void SetState(DeviceState s) {
    std::lock_guard<std::mutex> l(mu);
    state = std::move(s);
  }
  std::mutex mu;
  std::map<Id16, std::string> stored;
  DeviceState state;
  DeviceReport last_report;
  int state_polls = 0;
};

template <typename F>
bool WaitUntil(F f) {  // a generous bound for a loaded CI machine, not a timing check
  for (int i = 0; i < 1000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

nlohmann::json ReadJson(const std::string& path) {
  auto text = Env::Default()->ReadFile(path);
  if (!text.ok()) return nlohmann::json();
  return nlohmann::json::parse(*text, nullptr, false);
}

TEST(UploadService, UploadsSegmentsAsTheyArriveAndRelaysTheProgrammeState) {
  Env* env = Env::Default();
  AgentConfig cfg;
  const std::string root = TempDir();
  cfg.spool_dir = JoinPath(root, "spool");
  cfg.state_dir = JoinPath(root, "state");
  // The recorder's side of the spool, with a write in flight the uploader
  // must leave alone.
  auto writer = *Spool::Open(env, {cfg.spool_dir, 1 << 20});
  {
    auto f = *env->NewWritableFile(JoinPath(cfg.spool_dir, "in-flight.seg.tmp"));
    ASSERT_TRUE(f->Append("half").ok());
  }
  auto* vault = new FakeVault();
  UploadServiceOptions opt;
  opt.state_poll_us = 20'000;
  opt.idle_rescan_us = 600'000'000;  // only the inotify wake can start an upload
  auto service = UploadService::Create(env, cfg, std::unique_ptr<VaultClient>(vault), opt);
  ASSERT_TRUE(service.ok()) << service.status();
  // A second uploader for the same agent is refused while this one runs.
  auto second = UploadService::Create(env, cfg, std::make_unique<FakeVault>(), opt);
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  std::thread runner([&] { EXPECT_TRUE((*service)->Run().ok()); });

  // The state file appears with the vault's first answer.
  ASSERT_TRUE(WaitUntil([&] { return ReadJson(VaultStatePath(cfg)).is_object(); }));
  EXPECT_EQ(ReadJson(VaultStatePath(cfg))["recording_allowed"], true);

  // Segments written after start are uploaded without any rescan interval.
  for (uint8_t i = 1; i <= 3; ++i) {
    Id16 id;
    id.b.fill(i);
    ASSERT_TRUE(writer->Put(i, id, "sealed-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(WaitUntil([&] { return vault->Stored() == 3; }));
  ASSERT_TRUE(WaitUntil([&] { return writer->List()->empty(); }));
  ASSERT_TRUE(WaitUntil([&] {
    auto j = ReadJson(UploaderStatusPath(cfg));
    return j.is_object() && j.value("uploaded", 0) == 3 && j.value("spool_segments", 1) == 0;
  }));

  // The contributor pauses from the dashboard: the recorder's file says so.
  DeviceState paused;
  paused.recording_allowed = false;
  paused.contributor_paused = true;
  vault->SetState(paused);
  ASSERT_TRUE(WaitUntil([&] {
    auto j = ReadJson(VaultStatePath(cfg));
    return j.is_object() && j["recording_allowed"] == false && j["contributor_paused"] == true;
  }));
  // Only the programme's title policy changes: that alone is written too.
  paused.title_policy = "app-only";
  vault->SetState(paused);
  ASSERT_TRUE(WaitUntil([&] {
    auto j = ReadJson(VaultStatePath(cfg));
    return j.is_object() && j.value("title_policy", "") == "app-only";
  }));

  (*service)->RequestStop();
  runner.join();
  EXPECT_TRUE(env->FileExists(JoinPath(cfg.spool_dir, "in-flight.seg.tmp")));
  EXPECT_EQ(Uploader::LoadLastAcked(env, JoinPath(cfg.state_dir, "uploader.state")), 3u);
  service->reset();  // releases the lock: the next uploader may start
  EXPECT_TRUE(UploadService::Create(env, cfg, std::make_unique<FakeVault>(), opt).ok());
}

TEST(UploadService, StopsBetweenSegmentsOfALargeBacklog) {
  Env* env = Env::Default();
  const std::string dir = TempDir();
  auto spool = *Spool::Open(env, {dir, 1 << 20});
  for (uint8_t i = 1; i <= 5; ++i) {
    Id16 id;
    id.b.fill(i);
    ASSERT_TRUE(spool->Put(i, id, "s").ok());
  }
  FakeVault vault;
  Uploader up(env, spool.get(), &vault, {});
  std::atomic<bool> stop{true};
  EXPECT_EQ(*up.UploadOnce(&stop), 0);  // asked to stop: nothing more is sent
  EXPECT_EQ(vault.Stored(), 0u);
  stop = false;
  EXPECT_EQ(*up.UploadOnce(&stop), 5);
}

}  // namespace
}  // namespace sealtrace
