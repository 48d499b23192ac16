// End to end over HTTPS, as deployed: `sealtrace server init` makes a local CA
// and server certificate, the vault serves TLS only (no --allow-plain-http),
// devices enrol and upload with the CA file. An agent that lacks the CA cannot
// upload (its segments stay spooled, nothing falls back to plain HTTP), and a
// plain-HTTP request to the TLS port gets no HTTP answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "e2e_util.h"

namespace sealtrace::testing {
namespace {

constexpr char kTypedCanary[] = "zqxCANARYtls5521";

// A vault process serving TLS from DIR/tls (made by `sealtrace server init`).
struct TlsVaultProcess {
  std::string root;
  std::string dir;
  std::string log;
  int port = 0;
  std::unique_ptr<Process> proc;

  std::string Url() const { return "https://127.0.0.1:" + std::to_string(port); }
  std::string CaFile() const { return dir + "/tls/ca.crt"; }  // access::TlsPathsIn
  void Init() {
    std::string init_log = root + "/init.log";
    ASSERT_EQ(RunToExit({SealtraceBinary(), "server", "init", "--data", dir}, init_log), 0)
        << ReadAll(init_log);
    ASSERT_TRUE(Env::Default()->FileExists(CaFile())) << ReadAll(init_log);
  }
  void Start() {
    proc = std::make_unique<Process>(
        std::vector<std::string>{SealtraceBinary(), "server", "--data", dir, "--listen",
                                 "127.0.0.1:" + std::to_string(port)},
        log);
    ASSERT_TRUE(WaitHealthyTls(port, CaFile(), 15000)) << ReadAll(log);
  }
  void Stop() {
    if (!proc) return;
    proc->Terminate();
    EXPECT_EQ(proc->Wait(15000), 0) << ReadAll(log);
    proc.reset();
  }
};

TlsVaultProcess NewTlsVault(const std::string& root) {
  TlsVaultProcess v;
  v.root = root;
  v.dir = root + "/vault";
  v.log = root + "/vault.log";
  v.port = FreeLoopbackPort();
  return v;
}

std::string EnrolTls(const TlsVaultProcess& v, const std::string& name) {
  std::string cfg = v.root + "/" + name + "/agent.toml";
  std::string log = v.root + "/enroll-" + name + ".log";
  int rc = RunToExit(
      {SealtraceBinary(), "enroll", "--server", v.Url(), "--name", name, "--config", cfg,
       "--secret-file", v.dir + "/enroll.secret", "--ca-file", v.CaFile(), "--accept-scope"},
      log);
  EXPECT_EQ(rc, 0) << ReadAll(log);
  return cfg;
}

// Spooled segment files (the spool keeps rejected ones in a subdirectory).
size_t SpooledSegments(const std::string& spool_dir) {
  auto names = Env::Default()->ListDir(spool_dir);
  if (!names.ok()) return 0;
  size_t n = 0;
  for (const auto& s : *names) n += s == "rejected" ? 0 : 1;
  return n;
}

// Sends a plain-HTTP request over TCP and returns whatever comes back
// (until the peer closes or 3 s pass).
std::string RawPlainRequest(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "<socket failed>";
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
    }
  } else {
    got = "<connect failed>";
  }
  ::close(fd);
  return got;
}

TEST(TlsEndToEnd, AgentUploadsOverHttpsOnlyWithTheCa) {
  std::string root = MakeTempDir("st_tls_e2e");
  TlsVaultProcess v = NewTlsVault(root);
  ASSERT_NO_FATAL_FAILURE(v.Init());
  ASSERT_NO_FATAL_FAILURE(v.Start());

  // --- a plain-HTTP request to the TLS port gets no HTTP answer ---
  {
    httplib::Client plain("127.0.0.1", v.port);
    plain.set_connection_timeout(2, 0);
    plain.set_read_timeout(2, 0);
    auto r = plain.Get("/healthz");
    EXPECT_FALSE(r) << "plain HTTP got status " << r->status;
    std::string raw = RawPlainRequest(v.port);
    EXPECT_EQ(raw.find("HTTP/"), std::string::npos) << "plain HTTP answered: " << raw.substr(0, 80);
    EXPECT_NE(raw, "<connect failed>");
  }

  // --- alice enrols and records with the CA file: everything arrives ---
  std::string alice_cfg = EnrolTls(v, "alice");
  EXPECT_NE(ReadAll(alice_cfg).find(v.CaFile()), std::string::npos) << ReadAll(alice_cfg);
  SyntheticOptions so;
  so.events = 2000;
  so.seed = 31;
  so.planted_text = kTypedCanary;
  auto input = MakeSyntheticSession(so);
  std::string replay = WriteReplay(root + "/alice/session.jsonl", input);
  auto session = ThroughGate(input);
  std::string alice_log = root + "/agent-alice.log";
  int rc = RunToExit({SealtraceBinary(), "agent", "--config", alice_cfg, "--source",
                      "replay:" + replay, "--speed", "0"},
                     alice_log);
  ASSERT_EQ(rc, 0) << ReadAll(alice_log);
  EXPECT_EQ(SpooledSegments(root + "/alice/spool"), 0u) << ReadAll(alice_log);

  // --- bob enrols with the CA, then his agent runs without it ---
  std::string bob_cfg = EnrolTls(v, "bob");
  const std::string bob_cfg_text = ReadAll(bob_cfg);
  std::string no_ca;
  {
    std::istringstream in(bob_cfg_text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("ca_file") == std::string::npos) no_ca += line + "\n";
    }
  }
  ASSERT_NE(no_ca, bob_cfg_text);
  ASSERT_NE(no_ca.find("https://127.0.0.1:"), std::string::npos) << no_ca;
  WriteAll(bob_cfg, no_ca);
  ASSERT_EQ(::chmod(bob_cfg.c_str(), 0600), 0);
  SyntheticOptions bo;
  bo.events = 1200;
  bo.seed = 32;
  auto bob_input = MakeSyntheticSession(bo);
  std::string bob_replay = WriteReplay(root + "/bob/session.jsonl", bob_input);
  auto bob_session = ThroughGate(bob_input);
  std::string bob_log1 = root + "/agent-bob-noca.log";
  rc = RunToExit({SealtraceBinary(), "agent", "--config", bob_cfg, "--source",
                  "replay:" + bob_replay, "--drain-timeout", "2s"},
                 bob_log1);
  EXPECT_EQ(rc, 0) << ReadAll(bob_log1);
  const size_t bob_spooled = SpooledSegments(root + "/bob/spool");
  EXPECT_GE(bob_spooled, 1u) << "segments left the spool without a verified server: "
                             << ReadAll(bob_log1);
  EXPECT_NE(ReadAll(bob_log1).find("uploaded 0,"), std::string::npos) << ReadAll(bob_log1);

  // With the CA back, the backlog goes up intact (the spooled segments were kept).
  WriteAll(bob_cfg, bob_cfg_text);
  ASSERT_EQ(::chmod(bob_cfg.c_str(), 0600), 0);
  std::string empty = root + "/bob/empty.jsonl";
  WriteAll(empty, "");
  std::string bob_log2 = root + "/agent-bob-ca.log";
  rc = RunToExit({SealtraceBinary(), "agent", "--config", bob_cfg, "--source", "replay:" + empty},
                 bob_log2);
  ASSERT_EQ(rc, 0) << ReadAll(bob_log2);
  EXPECT_EQ(SpooledSegments(root + "/bob/spool"), 0u) << ReadAll(bob_log2);
  v.Stop();

  // --- the vault holds exactly what the recorders sealed ---
  auto got = ReadVault(v.dir, ContributorOf(alice_cfg));
  EXPECT_EQ(got.failed_to_open, 0);
  ASSERT_EQ(got.events.size(), session.size());
  for (size_t i = 0; i < session.size(); ++i) {
    ASSERT_EQ(Content(got.events[i]), Content(session[i])) << "event " << i;
  }
  std::string typed;
  for (const auto& e : got.events) {
    if (e.has_key()) typed += e.key().text();
  }
  EXPECT_NE(typed.find(kTypedCanary), std::string::npos);
  auto bob_got = ReadVault(v.dir, ContributorOf(bob_cfg));
  EXPECT_EQ(bob_got.failed_to_open, 0);
  EXPECT_GE(bob_got.segments.size(), bob_spooled);
  ASSERT_EQ(bob_got.events.size(), bob_session.size());
  // No plaintext of the typed canary anywhere but the test's own replay input.
  for (const auto& h : FilesContaining(root, kTypedCanary)) {
    EXPECT_EQ(h, replay) << "plaintext canary found in " << h;
  }
}

}  // namespace
}  // namespace sealtrace::testing
