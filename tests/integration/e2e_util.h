// Shared steps of the whole-process tests: a vault process, enrolment, replay
// files, and reading back what the vault holds (decrypting in the test with
// the contributor key, as only an audited reader may in the product).
// Under SEALTRACE_TEST_BACKEND=postgres (the pg_e2e_test, pg_crash_test and
// pg_identity_leak_test ctest entries run the same binaries with it) every
// vault runs with `--backend postgres` on a fresh database of a throwaway
// PostgreSQL cluster, with its master keys in a SoftHSM2 token (as a
// PostgreSQL deployment must: docs/DEPLOY.md "Keys in an HSM"), so the same
// tests prove the same promises there.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "segment/event_json.h"
#include "capture/replay/replay_source.h"
#include "capture/replay/synthetic.h"
#include "harness.h"
#include "privacy/exclusions.h"
#include "privacy/gate.h"
#include "segment/format.h"
#include "vault/vault.h"
#include "hsm/softhsm.h"
#include "pg/pg_cluster.h"
#include "vault/pg_metadata_store.h"

namespace sealtrace::testing {

// True in the pg-labelled runs (see above).
inline bool OnPostgres() { return PgCluster::Requested(); }

struct VaultProcess {
  std::string dir;
  std::string log;
  int port = 0;
  std::string pg_conninfo;  // "" = SQLite (the embedded default)
  std::vector<std::string> hsm_flags;  // --hsm-* (with PostgreSQL)
  std::unique_ptr<Process> proc;
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port); }
  void Start() {
    std::vector<std::string> argv{SealtraceBinary(), "server", "--data", dir, "--listen",
                                  "127.0.0.1:" + std::to_string(port), "--allow-plain-http"};
    if (!pg_conninfo.empty()) {
      argv.insert(argv.end(), {"--backend", "postgres", "--postgres", pg_conninfo});
    }
    argv.insert(argv.end(), hsm_flags.begin(), hsm_flags.end());
    proc = std::make_unique<Process>(argv, log);
    ASSERT_TRUE(WaitHealthy(port, 15000)) << ReadAll(log);
  }
  void Stop() {
    if (!proc) return;
    proc->Terminate();
    EXPECT_EQ(proc->Wait(15000), 0) << ReadAll(log);
    proc.reset();
  }
  void Kill9() {
    proc->Kill9();
    proc->Wait(5000);
    proc.reset();
  }
};

inline VaultProcess NewVault(const std::string& root) {
  VaultProcess v;
  v.dir = root + "/vault";
  v.log = root + "/vault.log";
  v.port = FreeLoopbackPort();
  if (!OnPostgres()) return v;
  static int n = 0;
  PgCluster* pg = PgCluster::Shared();
  EXPECT_NE(pg, nullptr);
  if (pg) {
    auto ci = pg->CreateDatabase("e2e_" + std::to_string(getpid()) + "_" + std::to_string(++n));
    EXPECT_TRUE(ci.ok()) << ci.status();
    if (ci.ok()) v.pg_conninfo = *ci;
  }
  auto token = SoftHsm::Get().NewToken("e2e-pin");
  EXPECT_TRUE(token.ok()) << token.status();
  const std::string pin_file = root + "/hsm.pin";
  WriteAll(pin_file, "e2e-pin\n");
  ::chmod(pin_file.c_str(), 0600);
  if (token.ok()) {
    v.hsm_flags = {"--hsm-module", SoftHsm::Get().module(), "--hsm-token", *token,
                   "--hsm-pin-file", pin_file};
  }
  return v;
}

// Enrols `name` and returns the agent config path.
inline std::string Enrol(const VaultProcess& v, const std::string& root, const std::string& name,
                         const std::vector<std::string>& extra = {}) {
  std::string cfg = root + "/" + name + "/agent.toml";
  std::vector<std::string> argv{SealtraceBinary(), "enroll",        "--server",
                                v.Url(),           "--name",        name,
                                "--config",        cfg,             "--secret-file",
                                v.dir + "/enroll.secret", "--accept-scope"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  int rc = RunToExit(argv, root + "/enroll.log");
  EXPECT_EQ(rc, 0) << ReadAll(root + "/enroll.log");
  return cfg;
}

inline std::string WriteReplay(const std::string& path, const std::vector<v1::Event>& events) {
  std::string out;
  uint64_t t0 = events.empty() ? 0 : events[0].t_us();
  for (auto e : events) {
    e.set_t_us(e.t_us() - t0);
    out += FormatReplayLine(e) + "\n";
  }
  WriteAll(path, out);
  return path;
}

struct VaultContents {
  std::vector<vault::SegmentRecord> segments;  // by sequence
  std::vector<v1::Event> events;        // absolute device-monotonic t_us
  int failed_to_open = 0;
};

// Opens the vault in-process (the server must be stopped) and decrypts every
// event segment of `contributor` with its released key.
inline VaultContents ReadVault(const std::string& vault_dir, const Id16& contributor,
                               const std::string& pg_conninfo = "") {
  VaultContents out;
  vault::VaultOptions o;
  o.data_dir = vault_dir;
  if (!pg_conninfo.empty()) {
    o.open_metadata = [pg_conninfo]() -> absl::StatusOr<std::unique_ptr<vault::MetadataStore>> {
      auto s = vault::PgMetadataStore::Open({pg_conninfo, 2});
      if (!s.ok()) return s.status();
      return std::unique_ptr<vault::MetadataStore>(*std::move(s));
    };
  }
  auto v = vault::Vault::Open(o);
  EXPECT_TRUE(v.ok()) << v.status();
  if (!v.ok()) return out;
  auto key = (*v)->keys()->ReleaseSecretKey(contributor, [] { return absl::OkStatus(); });
  EXPECT_TRUE(key.ok()) << key.status();
  if (!key.ok()) return out;
  auto segs = (*v)->store()->ListSegments(contributor, 1'000'000);
  EXPECT_TRUE(segs.ok());
  if (!segs.ok()) return out;
  out.segments = *segs;
  std::sort(out.segments.begin(), out.segments.end(),
            [](const vault::SegmentRecord& a, const vault::SegmentRecord& b) { return a.sequence < b.sequence; });
  for (const auto& s : out.segments) {
    auto blob = (*v)->blobs()->Get(s.blob_sha256);
    if (!blob.ok() || ToHex(Sha256(*blob)) != s.blob_sha256) {
      ++out.failed_to_open;
      continue;
    }
    auto seg = OpenSegment(*blob, key->public_key, key->secret_key);
    if (!seg.ok()) {
      ++out.failed_to_open;
      continue;
    }
    for (auto e : seg->events) {
      e.set_t_us(e.t_us() + seg->header.start_mono_us);
      out.events.push_back(std::move(e));
    }
  }
  return out;
}

inline VaultContents ReadVault(const VaultProcess& v, const Id16& contributor) {
  return ReadVault(v.dir, contributor, v.pg_conninfo);
}

// Directories where the vault keeps data: its dir, and with PostgreSQL the
// database cluster's files too.
inline std::vector<std::string> VaultStorageRoots(const VaultProcess& v) {
  std::vector<std::string> roots{v.dir};
  if (OnPostgres() && PgCluster::Shared()) roots.push_back(PgCluster::Shared()->dir());
  return roots;
}

// Waits (bounded) until the agent whose config is `agent_config` reports one of
// `states` in its status file (<config dir>/state/status.json); false on
// timeout. A source selects its input before the agent writes a state, so
// input sent after this returns is captured, however slow the build (ASan).
inline bool WaitForAgentState(const std::string& agent_config,
                              const std::vector<std::string>& states, int timeout_ms = 60000) {
  const std::string dir = agent_config.substr(0, agent_config.rfind('/'));
  const std::string file = dir + "/state/status.json";
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    const std::string text = ReadAll(file);
    for (const auto& st : states) {
      if (text.find("\"state\": \"" + st + "\"") != std::string::npos) return true;
    }
    usleep(100 * 1000);
  }
  return false;
}

inline Id16 ContributorOf(const std::string& agent_config) {
  std::string text = ReadAll(agent_config);
  auto pos = text.find("contributor_id = ");
  if (pos == std::string::npos) return Id16{};
  pos += 1;  // skip the opening quote ('...' or "...") below
  auto id = Id16::FromHex(text.substr(pos + 17, 32));
  return id ? *id : Id16{};
}

// What the agent's privacy gate (default config, consent given) makes of a
// session: the events the recorder seals. The gate is deterministic, so the
// vault must hold exactly these.
// If `released_at` is given, it receives for each output event the input
// time at which the gate let it go (the gate holds typed text until a run
// ends, so this is when the recorder first had it).
inline std::vector<v1::Event> ThroughGate(const std::vector<v1::Event>& in,
                                          std::vector<uint64_t>* released_at = nullptr) {
  struct Collect : EventSink {
    std::vector<v1::Event> out;
    std::vector<uint64_t> at;
    uint64_t now = 0;
    void OnEvent(v1::Event e) override {
      out.push_back(std::move(e));
      at.push_back(now);
    }
  } sink;
  auto cfg = privacy::ParsePrivacyConfig(privacy::DefaultPrivacyConfigToml(), "<default>");
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  auto gate = privacy::PrivacyGate::Create(&sink, *cfg);
  EXPECT_TRUE(gate.ok()) << gate.status();
  (*gate)->SetConsent(true);
  for (const auto& e : in) {
    sink.now = e.t_us();
    (*gate)->OnEvent(e);
  }
  (*gate)->Flush();
  if (released_at) *released_at = sink.at;
  return sink.out;
}

// A compact, comparable rendering of the content of an event (no time).
inline std::string Content(const v1::Event& e) {
  v1::Event c = e;
  c.clear_t_us();
  return sealtrace::EventToJson(c);
}

}  // namespace sealtrace::testing
