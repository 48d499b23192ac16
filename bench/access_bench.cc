// Access layer throughput, each beside a no-audit baseline measured in the same run:
//
//  * audit appends/s through AccessService-style entries on the durable SQLite
//    audit store (WAL, synchronous=FULL) with a signed checkpoint every 100
//    appends, vs. building + serialising the same entries without appending;
//  * authorised reads/s: AccessService::Read of one sealed segment under an
//    approved grant (policy, grant seal, durable audit append, key unwrap,
//    OpenSegment, channel filter), vs. the same key unwrap + OpenSegment + filter
//    with no policy and no audit.
//
// Data goes to $ACCESS_BENCH_DIR (default: the current directory); run it on the
// disk you care about (tmpfs makes fsync free). Prints ratios at the end.
#include <benchmark/benchmark.h>

#include "bench/rate_reporter.h"
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "access/access_service.h"
#include "audit/audit_log.h"
#include "audit/sqlite_store.h"
#include "crypto/crypto.h"
#include "vault/ingest.h"

namespace sealtrace::access {
namespace {

namespace fs = std::filesystem;

std::string BenchDir(const std::string& tag) {
  const char* d = std::getenv("ACCESS_BENCH_DIR");
  fs::path base = d && *d ? fs::path(d) : fs::current_path();
  fs::path p = base / ("access_bench_" + tag + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

audit::AuditEntry MakeEntry(int64_t i) {
  audit::AuditEntry e;
  e.kind = audit::AuditKind::kRead;
  e.time_us = 1'700'000'000'000'000 + i;
  e.actor_id = "p_00112233445566778899aabb";
  e.actor_role = "privacy_officer";
  e.subject_contributor = "0123456789abcdef0123456789abcdef";
  e.purpose = "incident review";
  e.grant_id = "g_00112233445566778899aabb";
  e.object_id = "fedcba9876543210fedcba9876543210";
  e.decision = audit::Decision::kAllow;
  e.rule = "grant.approved";
  e.extra["key_use"] = "contributor_secret_key";
  e.extra["channels"] = "keys,pointer";
  return e;
}

void BM_NoAuditBaseline_Append(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) {
    auto data = audit::SerializeEntry(MakeEntry(i++));
    benchmark::DoNotOptimize(data);
  }
}
BENCHMARK(BM_NoAuditBaseline_Append)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AuditAppendDurable_Checkpoint100(benchmark::State& state) {
  const std::string dir = BenchDir("append");
  auto signer =
      audit::AuditSigner::OpenOrCreate(Env::Default(), dir + "/audit.key", audit::kDefaultOrigin);
  auto store = audit::SqliteAuditStore::Open(dir + "/audit.db");
  auto log = audit::AuditLog::Open(*std::move(store), signer->get());
  if (!log.ok()) {
    state.SkipWithError("cannot open the audit log");
    return;
  }
  int64_t i = 0;
  for (auto _ : state) {
    auto r = (*log)->Append(MakeEntry(i));
    if (!r.ok()) state.SkipWithError("append failed");
    if (++i % 100 == 0) benchmark::DoNotOptimize((*log)->Checkpoint());
  }
  log->reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_AuditAppendDurable_Checkpoint100)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A vault with one contributor, one sealed segment and an approved grant.
struct ReadSetup {
  std::string dir;
  std::unique_ptr<vault::Vault> vault;
  std::unique_ptr<AccessStack> stack;
  Principal po1, po2;
  std::string contributor, grant_id;
  bool ok = false;

  ReadSetup() {
    dir = BenchDir("read");
    vault::VaultOptions vo;
    vo.data_dir = dir;
    auto v = vault::Vault::Open(vo);
    if (!v.ok()) return;
    vault = *std::move(v);
    auto s = OpenAccessStack(vault.get());
    if (!s.ok()) return;
    stack = *std::move(s);
    AccessService* svc = stack->service.get();
    auto t1 = svc->BootstrapPrincipal(Role::kPrivacyOfficer, "po1");
    auto t2 = svc->BootstrapPrincipal(Role::kPrivacyOfficer, "po2");
    po1 = *svc->Authenticate("Bearer " + t1->token, "", "bench");
    po2 = *svc->Authenticate("Bearer " + t2->token, "", "bench");
    auto secret = *Env::Default()->ReadFile(vault->enroll_secret_path());
    while (!secret.empty() && secret.back() == '\n') secret.pop_back();
    auto r = vault->enroll()->Enroll({"Bearer " + secret, R"({"name":"bench"})"});
    contributor = r.contributor_id;
    SegmentBuilder::Params p;
    p.contributor_id = *Id16::FromHex(r.contributor_id);
    p.device_id = *Id16::FromHex(r.device_id);
    std::string sid = RandomBytes(16);
    p.segment_id = *Id16::FromBytes(sid);
    p.wall_anchor_us = 1'790'000'000'000'000;
    p.start_mono_us = 1;
    p.recipient_public_key = r.contributor_public_key;
    SegmentBuilder b(p);
    for (int i = 0; i < 2000; ++i) {  // ~ one minute of activity
      v1::Event e;
      e.set_t_us(static_cast<uint64_t>(i) * 30000);
      if (i % 3 == 0) {
        e.mutable_pointer()->set_x(i);
        e.mutable_pointer()->set_y(i);
      } else {
        e.mutable_key()->set_text("x");
        e.mutable_key()->set_down(true);
      }
      b.Add(e);
    }
    auto sealed = b.Seal();
    vault::IngestRequest in;
    std::string auth = "Bearer " + r.device_token;
    in.authorization = auth;
    in.body = *sealed;
    in.content_length = sealed->size();
    if (!vault->ingest()->Ingest(in).ok()) return;
    GrantRequest g;
    g.purpose = "bench";
    g.scope.contributors = {contributor};
    g.scope.from_us = p.wall_anchor_us - 1;
    g.scope.to_us = p.wall_anchor_us + 3'600'000'000LL;
    g.scope.channels = kAllChannels;
    g.expires_us = Env::Default()->NowWallMicros() + 86400'000'000LL;
    auto req = svc->RequestGrant(po1, g);
    if (!req.ok()) return;
    if (!svc->ApproveGrant(po2, req->id).ok()) return;
    grant_id = req->id;
    ok = true;
  }
  ~ReadSetup() {
    stack.reset();
    vault.reset();
    fs::remove_all(dir);
  }
};

ReadSetup* Setup() {
  static ReadSetup* s = new ReadSetup();
  return s;
}

void BM_NoAuditBaseline_Read(benchmark::State& state) {
  ReadSetup* s = Setup();
  if (!s->ok) {
    state.SkipWithError("setup failed");
    return;
  }
  auto cid = *Id16::FromHex(s->contributor);
  for (auto _ : state) {
    // The same work minus policy and audit: list, unwrap, open, filter.
    auto segs = *s->vault->store()->ListSegments(cid, 1000);
    auto key = s->vault->keys()->ReleaseSecretKey(cid, [] { return absl::OkStatus(); });
    size_t kept = 0;
    for (const auto& seg : segs) {
      auto blob = s->vault->blobs()->Get(seg.blob_sha256);
      auto opened = OpenSegment(*blob, key->public_key, key->secret_key);
      for (const auto& e : opened->events) kept += e.has_key() || e.has_pointer();
    }
    benchmark::DoNotOptimize(kept);
  }
}
BENCHMARK(BM_NoAuditBaseline_Read)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AuthorisedRead_DurableAudit(benchmark::State& state) {
  ReadSetup* s = Setup();
  if (!s->ok) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    auto r = s->stack->service->Read(s->po1, s->grant_id, s->contributor, 1'790'000'000'000'000 - 1,
                                     1'790'000'000'000'000 + 3'600'000'000LL, 0);
    if (!r.ok()) state.SkipWithError("read refused");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_AuthorisedRead_DurableAudit)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace sealtrace::access

int main(int argc, char** argv) {
  sealtrace::InitCrypto();
  benchmark::Initialize(&argc, argv);
  sealtrace::bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nper-second rates against the no-audit baselines of the same run:\n");
  reporter.PrintRatio("BM_AuditAppendDurable_Checkpoint100", "BM_NoAuditBaseline_Append");
  reporter.PrintRatio("BM_AuthorisedRead_DurableAudit", "BM_NoAuditBaseline_Read");
  benchmark::Shutdown();
  return 0;
}
