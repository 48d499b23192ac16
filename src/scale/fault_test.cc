// Fault tests of the scale pipeline on real components (label "scale"):
// a 3-node NATS JetStream cluster, a throwaway PostgreSQL cluster, an ingest
// gateway and two writers as separate `sealtrace server --role ...` processes, and the load
// generator in this process. Under sustained load (bounded in count and time,
// loopback only) one NATS node, one writer and PostgreSQL are killed for a few
// seconds each; afterwards every acknowledged segment must be stored exactly
// once (metadata row + intact blob). Also: a poison message is parked, not
// retried forever.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/env.h"
#include "gtest/gtest.h"
#include "nats/nats_cluster.h"
#include "pg/pg_cluster.h"
#include "pg/subprocess.h"
#include "scale/jetstream.h"
#include "scale/loadgen.h"
#include "scale/pipeline.h"
#include "vault/blob_store.h"
#include "vault/pg_metadata_store.h"

namespace sealtrace::scale {
namespace {

namespace fs = std::filesystem;
using ::sealtrace::testing::FreeLoopbackPort;
using ::sealtrace::testing::KillProcess;
using ::sealtrace::testing::NatsCluster;
using ::sealtrace::testing::PgCluster;
using ::sealtrace::testing::SpawnProcess;
using Clock = std::chrono::steady_clock;

void Log(const std::string& s) {
  static const auto t0 = Clock::now();
  double t = std::chrono::duration<double>(Clock::now() - t0).count();
  fprintf(stderr, "[scale %6.1fs] %s\n", t, s.c_str());
}

class ScaleFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "sealtrace-scale-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    auto pg = PgCluster::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = pg->release();
    auto nats = NatsCluster::Start(3);
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = nats->release();
    Log("postgres on port " + std::to_string(pg_->port()) + ", 3 NATS nodes up");
  }
  static void TearDownTestSuite() {
    delete nats_;
    delete pg_;
    nats_ = nullptr;
    pg_ = nullptr;
    if (dir_ && getenv("SEALTRACE_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      fs::remove_all(*dir_, ec);
    }
    delete dir_;
  }

  // Writes a config for database `db` and stream `stream`; returns its path.
  std::string WriteConfig(const std::string& name, const std::string& db, int gateway_port) {
    std::string urls;
    for (const auto& u : nats_->ClientUrls()) urls += "\"" + u + "\", ";
    const std::string d = *dir_ + "/" + name;
    fs::create_directories(d);
    std::ofstream f(d + "/scale.toml");
    f << "[metadata]\nbackend = \"postgres\"\npostgres = \"" << pg_->ConnInfo(db)
      << "\"\npool_size = 4\n"
      << "[blobs]\ndir = \"" << d << "/blobs\"\n"
      << "[nats]\nurls = [" << urls << "]\nstream = \"SEG_" << name << "\"\nsubject = \"seg."
      << name << "\"\npark_stream = \"PARK_" << name << "\"\npark_subject = \"park." << name
      << "\"\nreplicas = 3\nduplicate_window_s = 600\npublish_timeout_ms = 4000\n"
      << "[gateway]\nlisten = \"127.0.0.1:" << gateway_port << "\"\nthreads = 16\n"
      << "enroll = true\nkey_file = \"" << d << "/master.key\"\nenroll_secret_file = \"" << d
      << "/enroll.secret\"\n"
      << "[writer]\nconsumer = \"writers\"\nbatch = 16\nack_wait_ms = 3000\n"
      << "max_deliveries = 200\nnak_delay_ms = 300\n";
    return d + "/scale.toml";
  }

  pid_t StartRole(const std::string& config, const std::string& role, const std::string& log) {
    auto pid = SpawnProcess(
        {SEALTRACE_SCALE_BINARY, "server", "--role", role, "--config", config}, log);
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? *pid : -1;
  }

  static bool WaitHealthy(int port, int seconds) {
    auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < deadline) {
      httplib::Client cli("127.0.0.1", port);
      cli.set_connection_timeout(1, 0);
      auto res = cli.Get("/healthz");
      if (res && res->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  static std::string* dir_;
  static PgCluster* pg_;
  static NatsCluster* nats_;
};
std::string* ScaleFaultTest::dir_ = nullptr;
PgCluster* ScaleFaultTest::pg_ = nullptr;
NatsCluster* ScaleFaultTest::nats_ = nullptr;

TEST_F(ScaleFaultTest, AcknowledgedSegmentsAreStoredExactlyOnceThroughFaults) {
  ASSERT_TRUE(pg_->CreateDatabase("faults").ok());
  const int port = FreeLoopbackPort();
  const std::string cfg = WriteConfig("faults", "faults", port);
  const std::string d = *dir_ + "/faults";
  pid_t gw = StartRole(cfg, "ingest", d + "/gateway.log");
  ASSERT_TRUE(WaitHealthy(port, 60)) << "gateway did not come up, see " << d << "/gateway.log";
  pid_t w1 = StartRole(cfg, "writer", d + "/writer1.log");
  pid_t w2 = StartRole(cfg, "writer", d + "/writer2.log");

  auto secret = Env::Default()->ReadFile(d + "/enroll.secret");
  ASSERT_TRUE(secret.ok());
  LoadgenOptions lo;
  lo.servers = {"http://127.0.0.1:" + std::to_string(port)};
  lo.devices = 6;
  lo.rate = 25;
  lo.duration_s = 26;  // 650 segments
  lo.enrol_secret = *secret;
  while (!lo.enrol_secret.empty() && lo.enrol_secret.back() == '\n') lo.enrol_secret.pop_back();
  lo.frame_every = 25;  // some frame segments: blob store + reference through the stream
  lo.threads = 8;
  lo.give_up_after_ms = 90000;
  absl::StatusOr<LoadgenReport> report = absl::UnknownError("not run");
  std::thread load([&] { report = RunLoadgen(lo); });

  auto at = [](double s) {
    static const auto start = Clock::now();
    std::this_thread::sleep_until(start + std::chrono::milliseconds(static_cast<int>(s * 1000)));
  };
  at(0);
  at(4);
  Log("fault: SIGKILL NATS node n1");
  ASSERT_TRUE(nats_->KillNode(0).ok());
  at(8);
  Log("recover: restart NATS node n1");
  ASSERT_TRUE(nats_->RestartNode(0).ok());
  at(10);
  Log("fault: SIGKILL writer 1");
  KillProcess(w1, SIGKILL);
  at(13);
  Log("recover: restart writer 1");
  w1 = StartRole(cfg, "writer", d + "/writer1b.log");
  at(15);
  Log("fault: PostgreSQL crash (pg_ctl stop -m immediate)");
  ASSERT_TRUE(pg_->Kill().ok());
  at(19);
  Log("recover: PostgreSQL start");
  ASSERT_TRUE(pg_->Restart().ok());
  load.join();
  ASSERT_TRUE(report.ok()) << report.status();
  Log("load done:\n" + report->ToText());

  // Let the writers drain the stream, then compare.
  auto store = vault::PgMetadataStore::Open({pg_->ConnInfo("faults"), 2});
  ASSERT_TRUE(store.ok()) << store.status();
  auto blobs = vault::FsBlobStore::Open(Env::Default(), d + "/blobs");
  ASSERT_TRUE(blobs.ok());
  int64_t rows = 0;
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    auto c = (*store)->Counts();
    if (c.ok()) rows = c->segments;
    if (c.ok() && rows >= static_cast<int64_t>(report->acked)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // late redeliveries must not add rows
  uint64_t stored = 0, lost = 0, bad_blob = 0;
  for (const auto& hex : report->acked_ids) {
    auto id = Id16::FromHex(hex);
    ASSERT_TRUE(id.has_value());
    auto row = (*store)->GetSegment(*id);
    ASSERT_TRUE(row.ok()) << row.status();
    if (!row->has_value()) {
      ++lost;
      continue;
    }
    ++stored;
    auto blob = (*blobs)->Get((*row)->blob_sha256);  // verifies the hash
    if (!blob.ok() || blob->size() != (*row)->size) ++bad_blob;
  }
  auto total_rows = pg_->QueryInt("SELECT count(*) FROM segments", "faults");
  auto distinct = pg_->QueryInt(
      "SELECT count(*) FROM (SELECT DISTINCT device_id, sequence FROM segments) t", "faults");
  ASSERT_TRUE(total_rows.ok() && distinct.ok());
  const int64_t duplicates = *total_rows - *distinct;
  const std::set<std::string> acked(report->acked_ids.begin(), report->acked_ids.end());
  const int64_t stored_unacked = *total_rows - static_cast<int64_t>(stored);
  auto js = JetStream::Connect(nats_->ClientUrls(), "fault-test");
  ASSERT_TRUE(js.ok());
  auto parked = (*js)->StreamMessages("PARK_faults");
  fprintf(stderr,
          "\n== scale fault test: segments sent %llu, acknowledged %llu, stored %llu, "
          "duplicates %lld, lost %llu ==\n"
          "   (loadgen retries %llu, failed %llu; rows %lld, stored but not acked %lld, "
          "bad blobs %llu, parked %llu)\n\n",
          static_cast<unsigned long long>(report->sent),
          static_cast<unsigned long long>(report->acked), static_cast<unsigned long long>(stored),
          static_cast<long long>(duplicates), static_cast<unsigned long long>(lost),
          static_cast<unsigned long long>(report->retried),
          static_cast<unsigned long long>(report->failed), static_cast<long long>(*total_rows),
          static_cast<long long>(stored_unacked), static_cast<unsigned long long>(bad_blob),
          static_cast<unsigned long long>(parked.ok() ? *parked : 0));
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(report->acked, report->sent);
  EXPECT_GT(report->acked, 500u);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(bad_blob, 0u);
  EXPECT_EQ(stored, report->acked);
  EXPECT_TRUE(parked.ok() && *parked == 0);
  KillProcess(gw, SIGTERM);
  KillProcess(w1, SIGTERM);
  KillProcess(w2, SIGTERM);
}

TEST_F(ScaleFaultTest, PoisonMessagesAreParkedNotRetriedForever) {
  ASSERT_TRUE(pg_->CreateDatabase("poison").ok());
  const int port = FreeLoopbackPort();
  const std::string cfg = WriteConfig("poison", "poison", port);
  const std::string d = *dir_ + "/poison";
  pid_t w = StartRole(cfg, "writer", d + "/writer.log");
  auto js = JetStream::Connect(nats_->ClientUrls(), "poison-test");
  ASSERT_TRUE(js.ok());
  // Wait until the writer has created the streams.
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && !(*js)->StreamMessages("PARK_poison").ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // 1. Not a segment at all. 2. A reference to a blob that does not exist.
  Headers junk = {{kHdrKind, kKindInline}, {kHdrReceived, "1"}, {kHdrSegment, "junk"}};
  auto publish = [&](std::string_view data, const Headers& h, const std::string& id) {
    absl::Status s;
    for (int i = 0; i < 20; ++i) {  // the new stream may still be electing its leader
      s = (*js)->Publish("seg.poison", data, h, id, 4000).status();
      if (s.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return s;
  };
  ASSERT_TRUE(publish("this is not a segment", junk, "poison-1").ok());
  SegmentHeader h;
  h.contributor_id.b[0] = 1;
  h.device_id.b[0] = 2;
  h.segment_id.b[0] = 3;
  h.recipient_key_id = std::string(8, 'k');
  h.sealed_key = std::string(kSealedKeyBytes, 's');
  h.stream_header = std::string(kStreamHeaderBytes, 'h');
  h.chunk_count = 2;  // format 2: the info chunk and one payload chunk
  h.wall_hour_start_us = 0;
  h.wall_hour_end_us = kHourUs;
  Headers ref = {{kHdrKind, kKindBlobRef},
                 {kHdrBlob, std::string(64, 'e')},
                 {kHdrSize, "100000"},
                 {kHdrReceived, "1"},
                 {kHdrSegment, h.segment_id.Hex()}};
  ASSERT_TRUE(publish(h.Encode(), ref, "poison-2").ok());
  uint64_t parked = 0;
  deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    auto n = (*js)->StreamMessages("PARK_poison");
    if (n.ok()) parked = *n;
    if (parked >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(parked, 2u);
  // Each parked copy says why; nothing was stored.
  std::set<std::string> reasons;
  for (uint64_t seq = 1; seq <= parked; ++seq) {
    auto m = (*js)->GetMessage("PARK_poison", seq);
    ASSERT_TRUE(m.ok()) << m.status();
    for (const auto& [k, v] : m->second) {
      if (k == kHdrParkReason) reasons.insert(v);
    }
  }
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons.begin()->rfind("framing:", 0), 0u) << *reasons.begin();
  EXPECT_EQ(*reasons.rbegin(), "referenced blob is missing");
  auto rows = pg_->QueryInt("SELECT count(*) FROM segments", "poison");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 0);
  // Not retried forever: after parking, nothing is redelivered (the log shows each once).
  std::this_thread::sleep_for(std::chrono::seconds(4));  // > ack_wait
  auto parked_again = (*js)->StreamMessages("PARK_poison");
  ASSERT_TRUE(parked_again.ok());
  EXPECT_EQ(*parked_again, 2u);
  fprintf(stderr,
          "\n== poison test: 2 poison messages published, %llu parked, 0 stored; reasons: "
          "\"%s\", \"%s\" ==\n\n",
          static_cast<unsigned long long>(*parked_again), reasons.begin()->c_str(),
          reasons.rbegin()->c_str());
  KillProcess(w, SIGTERM);
}

}  // namespace
}  // namespace sealtrace::scale
