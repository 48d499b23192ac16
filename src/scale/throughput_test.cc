// Sustained-ingest measurement on this machine (label "scale"; prints figures,
// asserts only correctness — no timed assertions):
//   1. gateway -> JetStream (3 nodes, R=3) -> 2 writers -> PostgreSQL + blob dir,
//   2. the same load into the embedded single-process vault (SQLite),
//   3. the raw fsync'd sequential write rate of the same disk (the physical limit),
// all in the same run. Rate and duration: SEALTRACE_SCALE_RATE (default 300
// segments/s) and SEALTRACE_SCALE_SECONDS (default 10).
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/env.h"
#include "gtest/gtest.h"
#include "nats/nats_cluster.h"
#include "pg/pg_cluster.h"
#include "pg/subprocess.h"
#include "scale/loadgen.h"
#include "vault/pg_metadata_store.h"
#include "vault/server.h"
#include "vault/vault.h"

namespace sealtrace::scale {
namespace {

namespace fs = std::filesystem;
using ::sealtrace::testing::FreeLoopbackPort;
using ::sealtrace::testing::KillProcess;
using ::sealtrace::testing::NatsCluster;
using ::sealtrace::testing::PgCluster;
using ::sealtrace::testing::SpawnProcess;
using Clock = std::chrono::steady_clock;

double EnvOr(const char* name, double dflt) {
  const char* v = getenv(name);
  return v && *v ? std::atof(v) : dflt;
}

// write(block) + fdatasync, sequentially, for `seconds`.
std::pair<double, double> FsyncRate(const std::string& path, size_t block, double seconds) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return {0, 0};
  std::string buf(block, 'x');
  uint64_t n = 0;
  auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    if (write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) break;
    fdatasync(fd);
    ++n;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  unlink(path.c_str());
  return {n / secs, n * block / secs / 1e6};
}

void Print(const char* what, const LoadgenReport& r, double drained_s) {
  fprintf(stderr,
          "%-34s acked %5llu/%-5llu  %7.1f seg/s  %6.2f MB/s  %8.0f events/s  "
          "ack p50 %6.1f ms  p99 %7.1f ms  (stored all within %.1f s)\n",
          what, static_cast<unsigned long long>(r.acked), static_cast<unsigned long long>(r.sent),
          r.acked / drained_s, r.bytes / drained_s / 1e6, r.events / drained_s, r.p50_ms, r.p99_ms,
          drained_s);
}

TEST(ScaleThroughputTest, PipelineVersusEmbeddedVaultVersusRawFsync) {
  const double rate = EnvOr("SEALTRACE_SCALE_RATE", 300);
  const double seconds = EnvOr("SEALTRACE_SCALE_SECONDS", 10);
  std::string tmpl = (fs::temp_directory_path() / "sealtrace-tput-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string d = tmpl;
  LoadgenOptions lo;
  lo.devices = 20;
  lo.rate = rate;
  lo.duration_s = seconds;
  lo.threads = 16;
  lo.give_up_after_ms = 60000;

  // --- 1. scale pipeline ---
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  auto nats = NatsCluster::Start(3);
  ASSERT_TRUE(nats.ok()) << nats.status();
  const int port = FreeLoopbackPort();
  std::string urls;
  for (const auto& u : (*nats)->ClientUrls()) urls += "\"" + u + "\", ";
  {
    std::ofstream f(d + "/scale.toml");
    f << "[metadata]\nbackend = \"postgres\"\npostgres = \"" << (*pg)->ConnInfo()
      << "\"\npool_size = 8\n[blobs]\ndir = \"" << d << "/blobs\"\n[nats]\nurls = [" << urls
      << "]\nreplicas = 3\n[gateway]\nlisten = \"127.0.0.1:" << port
      << "\"\nthreads = 32\nenroll = true\nkey_file = \"" << d << "/master.key\"\n"
      << "enroll_secret_file = \"" << d << "/enroll.secret\"\n[writer]\nbatch = 64\nthreads = 4\n";
  }
  auto gw = SpawnProcess(
      {SEALTRACE_SCALE_BINARY, "server", "--role", "ingest", "--config", d + "/scale.toml"},
      d + "/gateway.log");
  ASSERT_TRUE(gw.ok());
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    httplib::Client cli("127.0.0.1", port);
    auto res = cli.Get("/healthz");
    up = res && res->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(up);
  std::vector<pid_t> writers;
  for (int i = 0; i < 2; ++i) {
    auto w = SpawnProcess(
        {SEALTRACE_SCALE_BINARY, "server", "--role", "writer", "--config", d + "/scale.toml"},
        d + "/writer" + std::to_string(i) + ".log");
    ASSERT_TRUE(w.ok());
    writers.push_back(*w);
  }
  auto secret = Env::Default()->ReadFile(d + "/enroll.secret");
  ASSERT_TRUE(secret.ok());
  lo.servers = {"http://127.0.0.1:" + std::to_string(port)};
  lo.enrol_secret = *secret;
  auto start = Clock::now();
  auto rep = RunLoadgen(lo);
  ASSERT_TRUE(rep.ok()) << rep.status();
  auto store = vault::PgMetadataStore::Open({(*pg)->ConnInfo(), 2});
  ASSERT_TRUE(store.ok());
  int64_t rows = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds + 120) {
    rows = (*store)->Counts()->segments;
    if (rows >= static_cast<int64_t>(rep->acked)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double scale_s = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(rows, static_cast<int64_t>(rep->acked));
  EXPECT_EQ(rep->failed, 0u);
  KillProcess(*gw, SIGTERM);
  for (pid_t w : writers) KillProcess(w, SIGTERM);
  LoadgenReport scale_rep = *rep;

  // --- 2. embedded vault ---
  vault::VaultOptions vo;
  vo.data_dir = d + "/vault";
  auto v = vault::Vault::Open(vo);
  ASSERT_TRUE(v.ok()) << v.status();
  vault::VaultServer server(v->get());
  auto vport = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(vport.ok());
  std::thread serve([&] { server.Serve().IgnoreError(); });
  auto vsecret = Env::Default()->ReadFile((*v)->enroll_secret_path());
  ASSERT_TRUE(vsecret.ok());
  lo.servers = {"http://127.0.0.1:" + std::to_string(*vport)};
  lo.enrol_secret = *vsecret;
  start = Clock::now();
  rep = RunLoadgen(lo);
  const double vault_s = std::chrono::duration<double>(Clock::now() - start).count();
  server.Stop();
  serve.join();
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ((*v)->store()->Counts()->segments, static_cast<int64_t>(rep->acked));

  // --- 3. the disk ---
  const size_t avg = scale_rep.acked ? scale_rep.bytes / scale_rep.acked : 4096;
  auto [ops, mbs] = FsyncRate(d + "/fsync.bin", avg, 3);

  fprintf(stderr,
          "\n== sustained ingest, offered %.0f segments/s for %.0f s, %zu-byte avg "
          "segments (10 s of ~13 events/s each) ==\n",
          rate, seconds, avg);
  Print("gateway->JetStream R3->2 writers->PG", scale_rep, scale_s);
  Print("embedded vault (SQLite, 1 process)", *rep, vault_s);
  fprintf(stderr, "%-34s %7.1f writes/s  %6.2f MB/s  (write %zu bytes + fdatasync, sequential)\n\n",
          "raw fsync'd sequential writes", ops, mbs, avg);
  std::error_code ec;
  if (getenv("SEALTRACE_KEEP_TEST_DIRS") == nullptr) fs::remove_all(d, ec);
}

}  // namespace
}  // namespace sealtrace::scale
