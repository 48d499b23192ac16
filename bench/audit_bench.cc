// Audit log append throughput with a durable (SQLite WAL, synchronous=FULL)
// store, with a signed checkpoint every N appends, against a no-audit baseline
// measured in the same run (the same entry building and serialisation, no
// append). Prints the ratios at the end.
//
// The database goes to $AUDIT_BENCH_DIR (default: the current directory), so
// run it on the disk you care about (tmpfs makes fsync free).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "audit/audit_log.h"
#include "audit/memory_store.h"
#include "audit/sqlite_store.h"
#include "crypto/crypto.h"

namespace sealtrace::audit {
namespace {

namespace fs = std::filesystem;

std::string BenchDir() {
  const char* d = std::getenv("AUDIT_BENCH_DIR");
  fs::path base = d && *d ? fs::path(d) : fs::current_path();
  fs::path p = base / ("audit_bench_" + std::to_string(getpid()));
  fs::create_directories(p);
  return p.string();
}

AuditEntry MakeEntry(int64_t i) {
  AuditEntry e;
  e.kind = AuditKind::kRead;
  e.time_us = 1'700'000'000'000'000 + i;
  e.actor_id = "po-" + std::to_string(i % 17);
  e.actor_role = "privacy_officer";
  e.subject_contributor = "c-" + std::to_string(i % 1000);
  e.purpose = "model-training";
  e.grant_id = "g-42";
  e.object_id = "seg-" + std::to_string(i);
  e.decision = Decision::kAllow;
  e.rule = "grant.approved_two_person";
  return e;
}

// Baseline: the work an audited action does anyway, minus the audit append.
void BM_NoAuditBaseline(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) {
    auto data = SerializeEntry(MakeEntry(i++));
    benchmark::DoNotOptimize(data);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NoAuditBaseline)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Audit append into a non-durable store: cost of hashing + tree alone.
void BM_AuditAppendMemory(benchmark::State& state) {
  const std::string dir = BenchDir();
  auto signer = AuditSigner::OpenOrCreate(nullptr, dir + "/k", kDefaultOrigin);
  auto log = AuditLog::Open(std::make_unique<MemoryAuditStore>(), signer->get());
  int64_t i = 0;
  for (auto _ : state) {
    if (!(*log)->Append(MakeEntry(i++)).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  fs::remove_all(dir);
}
BENCHMARK(BM_AuditAppendMemory)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Durable append; range(0) = checkpoint every N appends (0 = never).
void BM_AuditAppendDurable(benchmark::State& state) {
  const int64_t every = state.range(0);
  const std::string dir = BenchDir();
  auto signer = AuditSigner::OpenOrCreate(nullptr, dir + "/k", kDefaultOrigin);
  auto log = AuditLog::Open(*SqliteAuditStore::Open(dir + "/audit.db"), signer->get());
  if (!log.ok()) {
    state.SkipWithError("open failed");
    return;
  }
  int64_t i = 0;
  for (auto _ : state) {
    if (!(*log)->Append(MakeEntry(i++)).ok()) state.SkipWithError("append failed");
    if (every > 0 && i % every == 0 && !(*log)->Checkpoint().ok()) {
      state.SkipWithError("checkpoint failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
  log->reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_AuditAppendDurable)
    ->Arg(0)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Records per-second rates so main() can print ratios against the baseline.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      const double us = r.GetAdjustedRealTime();  // per iteration, microseconds
      if (us > 0) rate_[r.benchmark_name()] = 1e6 / us;
    }
  }
  void PrintRatios() const {
    auto base = rate_.begin();
    while (base != rate_.end() && base->first.rfind("BM_NoAuditBaseline", 0) != 0) ++base;
    if (base == rate_.end()) return;
    std::printf("\nper-second rates and ratio to the no-audit baseline (%.0f/s):\n", base->second);
    for (const auto& [name, rate] : rate_) {
      std::printf("  %-32s %12.0f/s   %8.4fx baseline\n", name.c_str(), rate, rate / base->second);
    }
  }

 private:
  std::map<std::string, double> rate_;
};

}  // namespace
}  // namespace sealtrace::audit

int main(int argc, char** argv) {
  sealtrace::InitCrypto();
  benchmark::Initialize(&argc, argv);
  sealtrace::audit::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
