// HTTP-level tests: a real VaultServer on 127.0.0.1 with an ephemeral port.
#include "vault/server.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "gtest/gtest.h"
#include "vault/test_util.h"

namespace sealtrace::vault {
namespace {

using nlohmann::json;
using testing::MakeSegment;
using testing::RandomId;
using testing::TempDir;

constexpr size_t kTestMaxSegment = 256 << 10;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VaultOptions o;
    o.data_dir = dir_.Sub("data");
    o.max_segment_bytes = kTestMaxSegment;
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    vault_ = std::move(*v);
    server_ = std::make_unique<VaultServer>(vault_.get());
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    serve_ = std::thread([this] { serve_status_ = server_->Serve(); });
    auto s = Env::Default()->ReadFile(vault_->enroll_secret_path());
    ASSERT_TRUE(s.ok());
    secret_ = s->substr(0, s->find('\n'));
  }
  void TearDown() override {
    server_->Stop();
    serve_.join();
    EXPECT_TRUE(serve_status_.ok()) << serve_status_;
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }
  json Enroll(const std::string& name) {
    auto c = Client();
    httplib::Headers h = {{"Authorization", "Bearer " + secret_}};
    auto res = c.Post("/v1/enroll", h, json{{"name", name}}.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body);
  }
  httplib::Result Upload(const std::string& token, const std::string& body) {
    auto c = Client();
    httplib::Headers h = {{"Authorization", "Bearer " + token}};
    return c.Post("/v1/segments", h, body, "application/octet-stream");
  }

  TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<VaultServer> server_;
  std::thread serve_;
  absl::Status serve_status_;
  int port_ = 0;
  std::string secret_;
};

TEST_F(ServerTest, EnrollUploadStateMetrics) {
  auto c = Client();
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");

  json e = Enroll("Ada");
  ASSERT_TRUE(e.contains("device_token"));
  Id16 cid = *Id16::FromHex(e["contributor_id"].get<std::string>());
  Id16 did = *Id16::FromHex(e["device_id"].get<std::string>());
  std::string token = e["device_token"];
  std::string pk = *FromBase64(e["contributor_public_key"].get<std::string>());
  EXPECT_EQ(e["key_id"], ToHex(KeyIdOf(pk)));

  Id16 sid = RandomId();
  std::string seg = MakeSegment(cid, did, sid, 42, pk, 10, "canary-over-http");
  auto res = Upload(token, seg);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  EXPECT_EQ(j["status"], "stored");
  EXPECT_EQ(j["segment_id"], sid.Hex());
  EXPECT_EQ(j["sequence"], 42);

  res = Upload(token, seg);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "duplicate");

  // The vault holds what was sent: open it with the released key.
  auto row = vault_->store()->GetSegment(sid);
  ASSERT_TRUE(row.ok() && row->has_value());
  auto blob = vault_->blobs()->Get((*row)->blob_sha256);
  ASSERT_TRUE(blob.ok());
  auto key = vault_->keys()->ReleaseSecretKey(cid, [] { return absl::OkStatus(); });
  ASSERT_TRUE(key.ok());
  auto opened = OpenSegment(*blob, key->public_key, key->secret_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->events.size(), 10u);
  EXPECT_EQ(opened->events[9].key().text(), "canary-over-http");

  httplib::Headers h = {{"Authorization", "Bearer " + token}};
  auto st = c.Get("/v1/device/state", h);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, 200);
  json sj = json::parse(st->body);
  EXPECT_EQ(sj["programme_state"], "ACTIVE");
  EXPECT_EQ(sj["recording_allowed"], true);
  ASSERT_TRUE(vault_->store()->PutSetting(kSettingProgrammeState, "PAUSED").ok());
  st = c.Get("/v1/device/state", h);
  EXPECT_EQ(json::parse(st->body)["recording_allowed"], false);
  // The programme's title policy rides on the device state: absent = full, an
  // unknown stored value = app-only (fail closed).
  EXPECT_EQ(sj["title_policy"], "full");
  ASSERT_TRUE(vault_->store()->PutSetting(kSettingTitlePolicy, "app-and-domain").ok());
  st = c.Get("/v1/device/state", h);
  EXPECT_EQ(json::parse(st->body)["title_policy"], "app-and-domain");
  ASSERT_TRUE(vault_->store()->PutSetting(kSettingTitlePolicy, "titles-please").ok());
  st = c.Get("/v1/device/state", h);
  EXPECT_EQ(json::parse(st->body)["title_policy"], "app-only");
  ASSERT_TRUE(vault_->store()->PutSetting(kSettingTitlePolicy, "full").ok());
  st = c.Get("/v1/device/state");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, 401);

  // The agent's spool backlog rides on the poll and is kept for fleet health;
  // a malformed report is ignored (the poll still answers) and keeps the last one.
  EXPECT_FALSE(vault_->GetSpoolReport(did)->has_value());
  httplib::Headers with_spool = {{"Authorization", "Bearer " + token},
                                 {"X-Sealtrace-Spool", "segments=7;bytes=123456"}};
  st = c.Get("/v1/device/state", with_spool);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, 200);
  auto rep = vault_->GetSpoolReport(did);
  ASSERT_TRUE(rep.ok() && rep->has_value());
  EXPECT_EQ((*rep)->segments, 7u);
  EXPECT_EQ((*rep)->bytes, 123456u);
  EXPECT_GT((*rep)->reported_us, 0);
  for (const char* bad : {"segments=-1;bytes=2", "segments=1", "bytes=2;segments=1",
                          "segments=1;bytes=99999999999999999999", "segments=1;bytes=2;x=3", ""}) {
    httplib::Headers hb = {{"Authorization", "Bearer " + token}, {"X-Sealtrace-Spool", bad}};
    st = c.Get("/v1/device/state", hb);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->status, 200) << bad;
    EXPECT_FALSE(ParseSpoolHeader(bad).has_value()) << bad;
  }
  EXPECT_EQ((*vault_->GetSpoolReport(did))->segments, 7u);

  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("sealtrace_ingest_segments_total{result=\"stored\"} 1\n"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("sealtrace_ingest_segments_total{result=\"duplicate\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m->body.find("sealtrace_ingest_bytes_total " + std::to_string(seg.size()) + "\n"),
            std::string::npos);
  EXPECT_NE(m->body.find("sealtrace_enrolments_total{result=\"enrolled\"} 1\n"), std::string::npos);
  EXPECT_NE(m->body.find("sealtrace_segments_stored 1\n"), std::string::npos);
  EXPECT_NE(m->body.find("sealtrace_devices 1\n"), std::string::npos);
  EXPECT_NE(
      m->body.find("sealtrace_http_request_duration_seconds_count{route=\"/v1/segments\"} 2\n"),
      std::string::npos);
}

TEST_F(ServerTest, RefusalsCarryCodesAndJsonErrors) {
  json e = Enroll("Ada");
  Id16 cid = *Id16::FromHex(e["contributor_id"].get<std::string>());
  Id16 did = *Id16::FromHex(e["device_id"].get<std::string>());
  std::string token = e["device_token"];
  std::string pk = *FromBase64(e["contributor_public_key"].get<std::string>());
  std::string seg = MakeSegment(cid, did, RandomId(), 1, pk);

  auto expect = [](const httplib::Result& res, int status, const std::string& code) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    json j = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << res->body;
    EXPECT_EQ(j["error"], code) << res->body;
    EXPECT_TRUE(j["message"].is_string());
  };
  expect(Upload("std_wrong", seg), 401, "unauthenticated");
  expect(Upload(token, seg.substr(0, seg.size() - 3)), 400, "truncated");
  std::string bad = seg;
  bad[0] = 'Z';
  expect(Upload(token, bad), 400, "malformed");
  Id16 sid = RandomId();
  ASSERT_EQ(Upload(token, MakeSegment(cid, did, sid, 1, pk))->status, 200);
  expect(Upload(token, MakeSegment(cid, did, sid, 1, pk)), 409, "conflict");
  expect(Upload(token, MakeSegment(cid, RandomId(), RandomId(), 1, pk)), 403, "wrong_device");

  // Oversized by Content-Length: refused without reading the body.
  std::string big(kTestMaxSegment + 1, 'x');
  expect(Upload(token, big), 413, "oversized");
  // Oversized with chunked transfer encoding (no Content-Length): cut off at the limit.
  {
    auto c = Client();
    httplib::Headers h = {{"Authorization", "Bearer " + token}};
    size_t sent = 0;
    auto res = c.Post(
        "/v1/segments", h,
        [&](size_t, httplib::DataSink& sink) {
          if (sent >= 2 * kTestMaxSegment) {
            sink.done();
            return true;
          }
          std::string chunk(16 << 10, 'y');
          sent += chunk.size();
          return sink.write(chunk.data(), chunk.size());
        },
        "application/octet-stream");
    if (res) {  // the server may close before reading everything: then no response reaches us
      EXPECT_EQ(res->status, 413);
    }
  }
  // The server still serves after those.
  expect(Client().Get("/nope"), 404, "not_found");
  auto ok = Upload(token, MakeSegment(cid, did, RandomId(), 2, pk));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  // Enrolment refusals.
  auto c = Client();
  auto r = c.Post("/v1/enroll", {{"Authorization", "Bearer wrong"}}, R"({"name":"x"})",
                  "application/json");
  expect(r, 401, "unauthenticated");
  r = c.Post("/v1/enroll", {{"Authorization", "Bearer " + secret_}}, R"({"name":""})",
             "application/json");
  expect(r, 400, "invalid");
  r = c.Post("/v1/enroll", {{"Authorization", "Bearer " + secret_}}, std::string(5000, '{'),
             "application/json");
  expect(r, 413, "invalid");

  EXPECT_EQ(vault_->metrics()->ingest(IngestOutcome::kOversized), 2u);
  EXPECT_EQ(vault_->metrics()->ingest(IngestOutcome::kUnauthenticated), 1u);
}

// Kill -9 of the vault process during uploads, at several moments: after restart
// every acknowledged segment is present, its blob verifies, and it decrypts.
TEST(VaultCrashTest, KillNineDuringUploadsLosesNoAcknowledgedSegment) {
  TempDir dir;
  VaultOptions o;
  o.data_dir = dir.Sub("data");
  Id16 cid, did;
  std::string token, pk;
  {
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok());
    auto s = Env::Default()->ReadFile((*v)->enroll_secret_path());
    EnrollResult r =
        (*v)->enroll()->Enroll({"Bearer " + s->substr(0, s->find('\n')), R"({"name":"k"})"});
    ASSERT_EQ(r.outcome, EnrollOutcome::kEnrolled);
    cid = *Id16::FromHex(r.contributor_id);
    did = *Id16::FromHex(r.device_id);
    token = r.device_token;
    pk = r.contributor_public_key;
  }
  std::vector<std::string> acked;
  uint64_t seq = 0;
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto v = Vault::Open(o);
      if (!v.ok()) _exit(3);
      VaultServer server(v->get());
      auto port = server.Bind("127.0.0.1", 0);
      if (!port.ok()) _exit(4);
      int p = *port;
      if (write(fds[1], &p, sizeof(p)) != sizeof(p)) _exit(5);
      (void)server.Serve();
      _exit(0);
    }
    close(fds[1]);
    int port = 0;
    ASSERT_EQ(read(fds[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
    close(fds[0]);
    // Kill after a varying number of acknowledged uploads, while later ones are in flight.
    const int kill_after = 1 + round * 3;
    std::atomic<int> acks{0};
    std::atomic<bool> client_done{false};
    std::thread killer([&] {
      while (acks.load() < kill_after && !client_done.load()) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      kill(child, SIGKILL);
    });
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    for (;;) {
      std::string seg = MakeSegment(cid, did, RandomId(), ++seq, pk, 50);
      auto res = c.Post("/v1/segments", {{"Authorization", "Bearer " + token}}, seg,
                        "application/octet-stream");
      if (!res) break;  // the vault died
      ASSERT_EQ(res->status, 200) << res->body;
      acked.push_back(seg);
      acks++;
    }
    client_done = true;
    killer.join();
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Restart (in process) and check everything acknowledged so far.
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    auto key = (*v)->keys()->ReleaseSecretKey(cid, [] { return absl::OkStatus(); });
    ASSERT_TRUE(key.ok());
    for (const auto& seg : acked) {
      Id16 sid = ParseSegmentHeader(seg)->segment_id;
      auto row = (*v)->store()->GetSegment(sid);
      ASSERT_TRUE(row.ok() && row->has_value()) << "round " << round;
      auto blob = (*v)->blobs()->Get((*row)->blob_sha256);
      ASSERT_TRUE(blob.ok()) << blob.status();
      ASSERT_EQ(*blob, seg);
      ASSERT_TRUE(OpenSegment(*blob, key->public_key, key->secret_key).ok());
    }
  }
  EXPECT_GE(acked.size(), 6u);
}

TEST(ServerStopTest, StopBeforeServeReturns) {
  TempDir dir;
  VaultOptions o;
  o.data_dir = dir.Sub("data");
  auto v = Vault::Open(o);
  ASSERT_TRUE(v.ok());
  VaultServer s(v->get());
  ASSERT_TRUE(s.Bind("127.0.0.1", 0).ok());
  s.Stop();
  EXPECT_TRUE(s.Serve().ok());  // returns at once
}

}  // namespace
}  // namespace sealtrace::vault
