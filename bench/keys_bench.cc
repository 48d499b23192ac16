// Key releases (unwrap of a contributor key, both layers) and audit checkpoint
// signatures per second, with the keys in a PKCS#11 token (SoftHSM2, started
// here in a temp directory) beside the key-file backend measured in the same
// run. Prints each HSM rate as a ratio to its file-backend baseline.
//
// Needs softhsm2 (scripts/install-deps.sh). The metadata store is SQLite in
// $KEYS_BENCH_DIR (default: a temp dir).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "bench/rate_reporter.h"
#include "audit/signer.h"
#include "crypto/crypto.h"
#include "crypto/pkcs11.h"
#include "vault/key_service.h"
#include "vault/master_keys.h"
#include "vault/sqlite_metadata_store.h"

namespace sealtrace {
namespace {

namespace fs = std::filesystem;

constexpr char kPin[] = "bench-pin";
constexpr int kContributors = 64;

struct Fixture {
  std::string dir;
  vault::MasterKeyConfig hsm;
  std::string error;

  Fixture() {
    const char* d = std::getenv("KEYS_BENCH_DIR");
    dir = (d && *d ? fs::path(d) : fs::temp_directory_path()) /
          ("keys_bench_" + std::to_string(getpid()));
    fs::create_directories(dir + "/tokens");
    const std::string conf = dir + "/softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << dir
                        << "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    const std::string cmd = "softhsm2-util --init-token --free --label bench --pin " +
                            std::string(kPin) + " --so-pin so-bench > " + dir + "/init.log 2>&1";
    if (std::system(cmd.c_str()) != 0) error = "softhsm2-util failed (see " + dir + "/init.log)";
    for (const char* m : {"/usr/lib/softhsm/libsofthsm2.so",
                          "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"}) {
      if (::access(m, R_OK) == 0) hsm.hsm_module = m;
    }
    if (hsm.hsm_module.empty()) error = "libsofthsm2.so not found";
    hsm.hsm_token = "bench";
    ::setenv("SEALTRACE_HSM_PIN", kPin, 1);
  }
  ~Fixture() { fs::remove_all(dir); }
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

// A key service over `config` with kContributors enrolled.
struct Keys {
  std::unique_ptr<vault::SqliteMetadataStore> store;
  std::unique_ptr<vault::KeyService> ks;
  std::vector<Id16> ids;
};

absl::StatusOr<Keys> MakeKeys(const std::string& name, const vault::MasterKeyConfig& config) {
  Keys k;
  auto store = vault::SqliteMetadataStore::Open(F().dir + "/" + name + ".db");
  if (!store.ok()) return store.status();
  k.store = std::move(*store);
  auto mk = vault::OpenMasterKeys(Env::Default(), config);
  if (!mk.ok()) return mk.status();
  auto ks = vault::KeyService::Open(Env::Default(), k.store.get(), *std::move(mk));
  if (!ks.ok()) return ks.status();
  k.ks = std::move(*ks);
  for (int i = 0; i < kContributors; ++i) {
    Id16 id = *Id16::FromBytes(RandomBytes(16));
    if (auto s = k.ks->CreateContributorKey(id); !s.ok()) return s.status();
    k.ids.push_back(id);
  }
  return k;
}

void Release(benchmark::State& state, const vault::MasterKeyConfig& config, const char* name) {
  if (!F().error.empty()) return state.SkipWithError(F().error.c_str());
  auto keys = MakeKeys(name, config);
  if (!keys.ok()) return state.SkipWithError(std::string(keys.status().message()).c_str());
  size_t i = 0;
  for (auto _ : state) {
    auto r = keys->ks->ReleaseSecretKey(keys->ids[i++ % keys->ids.size()],
                                        [] { return absl::OkStatus(); });
    if (!r.ok()) return state.SkipWithError(std::string(r.status().message()).c_str());
    benchmark::DoNotOptimize(r->public_key);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ReleaseKey_File(benchmark::State& state) {
  vault::MasterKeyConfig c;
  c.key_file = F().dir + "/file/master.key";
  Release(state, c, "file");
}
BENCHMARK(BM_ReleaseKey_File)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ReleaseKey_Pkcs11(benchmark::State& state) { Release(state, F().hsm, "pkcs11"); }
BENCHMARK(BM_ReleaseKey_Pkcs11)->Unit(benchmark::kMicrosecond)->UseRealTime();

void Sign(benchmark::State& state, bool hsm) {
  if (!F().error.empty()) return state.SkipWithError(F().error.c_str());
  audit::AuditSigner::TokenFn token;
  std::shared_ptr<Pkcs11Token> t;
  if (hsm) {
    auto opened = vault::OpenConfiguredToken(Env::Default(), F().hsm);
    if (!opened.ok()) return state.SkipWithError(std::string(opened.status().message()).c_str());
    t = *opened;
    token = [t]() -> absl::StatusOr<Pkcs11Token*> { return t.get(); };
  }
  const std::string path = F().dir + (hsm ? "/audit-hsm.key" : "/audit-file.key");
  auto signer = audit::AuditSigner::OpenOrCreate(Env::Default(), path, audit::kDefaultOrigin,
                                                 std::move(token));
  if (!signer.ok()) return state.SkipWithError(std::string(signer.status().message()).c_str());
  audit::Checkpoint cp;
  cp.origin = audit::kDefaultOrigin;
  cp.root_hash = Sha256("root");
  for (auto _ : state) {
    ++cp.size;
    auto note = (*signer)->SignCheckpoint(cp);
    if (!note.ok()) return state.SkipWithError(std::string(note.status().message()).c_str());
    benchmark::DoNotOptimize(*note);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_SignCheckpoint_File(benchmark::State& state) { Sign(state, false); }
BENCHMARK(BM_SignCheckpoint_File)->Unit(benchmark::kMicrosecond)->UseRealTime();
void BM_SignCheckpoint_Pkcs11(benchmark::State& state) { Sign(state, true); }
BENCHMARK(BM_SignCheckpoint_Pkcs11)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace sealtrace

int main(int argc, char** argv) {
  sealtrace::InitCrypto();
  benchmark::Initialize(&argc, argv);
  sealtrace::bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nper-second rates, PKCS#11 (SoftHSM2) against the key file in the same run:\n");
  reporter.PrintRatio("BM_ReleaseKey_Pkcs11", "BM_ReleaseKey_File");
  reporter.PrintRatio("BM_SignCheckpoint_Pkcs11", "BM_SignCheckpoint_File");
  benchmark::Shutdown();
  return 0;
}
