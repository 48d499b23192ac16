// Test-only fixture for the access tests: a real vault in a temp dir, an
// access service over an audit log whose appends can be made to fail,
// bootstrap principals, enrolled contributors with sealed canary segments.
// Backends: SQLite files in the vault dir; when PgCluster::Requested() (the
// pg_access_* ctest entries run the same binaries with
// SEALTRACE_TEST_BACKEND=postgres) metadata, access store, ledger and audit
// log live in a fresh database of a throwaway PostgreSQL cluster per fixture,
// so the same access-matrix tests run on both.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <functional>
#include <string>

#include "segment/event_json.h"
#include "access/access_service.h"
#include "audit/sqlite_store.h"
#include "common/env_fault.h"
#include "vault/ingest.h"
#include "export/ledger_sqlite.h"
#include "vault/test_util.h"
#include "export/pg_ledger.h"
#include <unistd.h>

#include "access/pg_access_store.h"
#include "audit/pg_audit_store.h"
#include "hsm/softhsm.h"
#include "pg/pg_cluster.h"
#include "vault/pg_metadata_store.h"

namespace sealtrace::access::testing {

// Wraps an AuditStore; appends fail while `fail` is set; `crash_after_append`
// makes the process exit right after a durable append (crash simulation).
class FlakyAuditStore : public audit::AuditStore {
 public:
  explicit FlakyAuditStore(std::unique_ptr<audit::AuditStore> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<uint64_t> Size() override { return inner_->Size(); }
  absl::Status AppendLeaf(uint64_t index, std::string_view data, std::string_view leaf_hash,
                          std::string_view contributor) override {
    if (fail) return absl::UnavailableError("injected audit store failure (disk full)");
    auto s = inner_->AppendLeaf(index, data, leaf_hash, contributor);
    if (s.ok() && crash_after_append) _exit(42);
    return s;
  }
  absl::StatusOr<std::vector<audit::StoredLeaf>> ReadLeaves(uint64_t b, uint64_t e) override {
    return inner_->ReadLeaves(b, e);
  }
  absl::StatusOr<std::vector<uint64_t>> LeavesForContributor(std::string_view c) override {
    return inner_->LeavesForContributor(c);
  }
  absl::Status StoreCheckpoint(uint64_t size, std::string_view note) override {
    return inner_->StoreCheckpoint(size, note);
  }
  absl::StatusOr<std::optional<std::string>> LoadLatestCheckpoint() override {
    return inner_->LoadLatestCheckpoint();
  }
  std::atomic<bool> fail{false};
  std::atomic<bool> crash_after_append{false};

 private:
  std::unique_ptr<audit::AuditStore> inner_;
};

inline constexpr int64_t kT0 = 1'790'000'000'000'000;  // FaultInjectionEnv's wall start

struct Contributor {
  std::string name;
  std::string id;  // hex
  std::string device_token;
  std::string token;  // contributor API token
  Principal p;
  std::string canary;
};

class AccessFixture {
 public:
  AccessFixture() : env_(Env::Default(), 1'000'000, kT0) {
    InitCrypto();
    vault::VaultOptions vo;
    vo.data_dir = dir_.Sub("vault");
    if (::sealtrace::testing::PgCluster::Requested()) UsePostgres(&vo);
    if (HsmKeysRequested()) UseHsm(&vo);
    auto v = vault::Vault::Open(vo);
    EXPECT_TRUE(v.ok()) << v.status();
    vault_ = *std::move(v);
    OpenService();
    op_token = Boot(Role::kOperator, "op", &op);
    po1_token = Boot(Role::kPrivacyOfficer, "po1", &po1);
    po2_token = Boot(Role::kPrivacyOfficer, "po2", &po2);
    auditor_token = CreateActivated(Role::kAuditor, "auditor", &auditor);
    service_token = CreateActivated(Role::kService, "exporter", &service);
    if (on_postgres()) {  // really on PostgreSQL: no SQLite file was made
      for (const char* f : {"meta.db", "access.db", "audit.db"}) {
        EXPECT_FALSE(std::filesystem::exists(vault_->data_dir() + "/" + f)) << f;
      }
    }
  }

  // SEALTRACE_TEST_KEYS=pkcs11 (the hsm_access_service_test ctest entry):
  // the vault's master and binding keys live in a SoftHSM2 token.
  static bool HsmKeysRequested() {
    const char* k = std::getenv("SEALTRACE_TEST_KEYS");
    return k != nullptr && std::string_view(k) == "pkcs11";
  }
  void UseHsm(vault::VaultOptions* vo) {
    auto token = ::sealtrace::testing::SoftHsm::Get().NewToken("access-pin");
    ASSERT_TRUE(token.ok()) << token.status();
    ::setenv("SEALTRACE_HSM_PIN", "access-pin", 1);
    vo->master_keys.hsm_module = ::sealtrace::testing::SoftHsm::Get().module();
    vo->master_keys.hsm_token = *token;
  }

  // Puts this fixture's metadata (and, through pg_conninfo, every other
  // store) in a fresh database of the shared PostgreSQL test cluster.
  void UsePostgres(vault::VaultOptions* vo) {
    static int n = 0;
    auto* cluster = ::sealtrace::testing::PgCluster::Shared();
    ASSERT_NE(cluster, nullptr);
    auto ci = cluster->CreateDatabase("access_" + std::to_string(getpid()) + "_" +
                                      std::to_string(++n));
    ASSERT_TRUE(ci.ok()) << ci.status();
    pg_conninfo = *ci;
    vo->open_metadata = [ci = pg_conninfo]()
        -> absl::StatusOr<std::unique_ptr<vault::MetadataStore>> {
      auto s = vault::PgMetadataStore::Open({ci, 4});
      if (!s.ok()) return s.status();
      return std::unique_ptr<vault::MetadataStore>(*std::move(s));
    };
  }

  void OpenService() {
    svc.reset();
    log.reset();
    const std::string d = vault_->data_dir();
    if (!store) {
      auto st = on_postgres() ? OpenPgAccessStore(pg_conninfo)
                              : OpenSqliteAccessStore(d + "/access.db");
      EXPECT_TRUE(st.ok()) << st.status();
      store = *std::move(st);
    }
    if (!signer) {
      std::filesystem::create_directories(d + "/keys");
      auto sg = audit::AuditSigner::OpenOrCreate(Env::Default(), d + "/keys/audit.key",
                                                 audit::kDefaultOrigin);
      EXPECT_TRUE(sg.ok()) << sg.status();
      signer = *std::move(sg);
    }
    auto flaky_store = std::make_unique<FlakyAuditStore>(OpenAuditStore());
    flaky = flaky_store.get();
    auto lg = audit::AuditLog::Open(std::move(flaky_store), signer.get());
    EXPECT_TRUE(lg.ok()) << lg.status();
    log = *std::move(lg);
    if (!ledger) {
      absl::StatusOr<std::unique_ptr<exporter::BudgetLedger>> l;
      if (on_postgres()) {
        l = exporter::PgBudgetLedger::Open(pg_conninfo, exporter::Rational{4, 1});
      } else {
        l = exporter::SqliteBudgetLedger::Open(d + "/dp_ledger.db", exporter::Rational{4, 1});
      }
      EXPECT_TRUE(l.ok()) << l.status();
      if (l.ok()) ledger = *std::move(l);
    }
    AccessOptions o;
    o.env = &env_;
    o.budget_ledger = ledger.get();
    o.field_hash_key = std::string(32, 'f');
    o.grant_seal_key = std::string(32, 's');
    if (tweak_options) tweak_options(&o);
    svc = std::make_unique<AccessService>(vault_.get(), store.get(), log.get(), signer.get(), o);
  }

  bool on_postgres() const { return !pg_conninfo.empty(); }
  // Applied to the service's options by OpenService (call it again after setting).
  std::function<void(AccessOptions*)> tweak_options;

  // A fresh connection to the audit store of this fixture's backend.
  std::unique_ptr<audit::AuditStore> OpenAuditStore() {
    absl::StatusOr<std::unique_ptr<audit::AuditStore>> as;
    if (on_postgres()) {
      as = audit::PgAuditStore::Open(pg_conninfo);
    } else {
      as = audit::SqliteAuditStore::Open(vault_->data_dir() + "/audit.db");
    }
    EXPECT_TRUE(as.ok()) << as.status();
    return as.ok() ? *std::move(as) : nullptr;
  }

  std::string Boot(Role r, const std::string& name, Principal* out) {
    auto t = svc->BootstrapPrincipal(r, name);
    EXPECT_TRUE(t.ok()) << t.status();
    *out = Auth(t->token);
    return t->token;
  }
  std::string CreateActivated(Role r, const std::string& name, Principal* out) {
    auto t = svc->CreatePrincipal(op, r, name, {}, 0);
    EXPECT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(svc->ActivatePrincipal(po1, t->principal_id).ok());
    *out = Auth(t->token);
    return t->token;
  }
  Principal Auth(const std::string& token, std::string_view scope = "") {
    auto p = svc->Authenticate("Bearer " + token, scope, "test");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : Principal{};
  }

  Contributor Enrol(const std::string& name) {
    Contributor c;
    c.name = name;
    auto secret = Env::Default()->ReadFile(vault_->enroll_secret_path());
    EXPECT_TRUE(secret.ok());
    while (!secret->empty() && (secret->back() == '\n' || secret->back() == ' '))
      secret->pop_back();
    std::string body = "{\"name\":\"" + name + "\"}";
    auto r = vault_->enroll()->Enroll({"Bearer " + *secret, body});
    EXPECT_EQ(r.outcome, vault::EnrollOutcome::kEnrolled) << r.message;
    c.id = r.contributor_id;
    c.device_token = r.device_token;
    auto pr = svc->OnEnrolled(r.contributor_id, r.device_id, name, r.new_contributor);
    EXPECT_TRUE(pr.ok()) << pr.status();
    // Stands in for a completed passkey sign-in (the ceremony itself is
    // tested in signin_test): the token a dashboard session would hold.
    auto t = svc->MintSignInToken(*pr, "passkey", "test", 0);
    EXPECT_TRUE(t.ok()) << t.status();
    c.token = t->token;
    c.p = Auth(c.token);
    c.canary = "CANARY-" + name + "-" + ToHex(RandomBytes(6));
    device_[c.id] = r.device_id;
    pk_[c.id] = r.contributor_public_key;
    return c;
  }

  // Seals a segment of key/pointer/focus events (typed text = the canary) and ingests it.
  std::string Upload(const Contributor& c, uint64_t seq, int64_t wall_anchor) {
    SegmentBuilder::Params p;
    p.contributor_id = *Id16::FromHex(c.id);
    p.device_id = *Id16::FromHex(device_[c.id]);
    p.segment_id = vault::testing::RandomId();
    p.sequence = seq;
    p.wall_anchor_us = wall_anchor;
    p.start_mono_us = 1000;
    p.recipient_public_key = pk_[c.id];
    SegmentBuilder b(p);
    v1::Event e;
    e.set_t_us(0);
    e.mutable_focus()->set_app_class("Editor");
    e.mutable_focus()->set_title("title " + c.canary);
    b.Add(e);
    for (int i = 0; i < 3; ++i) {
      v1::Event k;
      k.set_t_us(1000 + i * 1000);
      k.mutable_key()->set_text(c.canary);
      k.mutable_key()->set_down(true);
      b.Add(k);
    }
    v1::Event m;
    m.set_t_us(5000);
    m.mutable_pointer()->set_x(10);
    m.mutable_pointer()->set_y(20);
    b.Add(m);
    IngestSealed(c, b.Seal());
    return p.segment_id.Hex();
  }

  // Uploads a sealed segment with `c`'s device token, as the uploader does.
  void IngestSealed(const Contributor& c, const absl::StatusOr<std::string>& sealed) {
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    const std::string auth = "Bearer " + c.device_token;  // the request holds views
    vault::IngestRequest in;
    in.authorization = auth;
    in.body = *sealed;
    in.content_length = sealed->size();
    auto r = vault_->ingest()->Ingest(in);
    EXPECT_TRUE(r.ok()) << r.message;
  }

  // Approved grant for `grantee` requested by `requester`, approved by `approver`.
  Grant MakeGrant(const Principal& requester, const Principal& approver,
                  const std::string& grantee_id, std::vector<std::string> contributors,
                  uint32_t channels = kAllChannels, int64_t from = kT0 - 3600'000'000LL,
                  int64_t to = kT0 + 3600'000'000LL) {
    GrantRequest req;
    req.grantee_id = grantee_id;
    req.purpose = "incident review";
    req.scope.contributors = std::move(contributors);
    req.scope.from_us = from;
    req.scope.to_us = to;
    req.scope.channels = channels;
    req.expires_us = env_.NowWallMicros() + 86400'000'000LL;
    auto g = svc->RequestGrant(requester, req);
    EXPECT_TRUE(g.ok()) << g.status();
    if (!g.ok()) return {};
    auto a = svc->ApproveGrant(approver, g->id);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : *g;
  }

  // Leaves appended since `from`.
  std::vector<audit::AuditEntry> EntriesSince(uint64_t from) {
    std::vector<audit::AuditEntry> out;
    for (uint64_t i = from; i < log->Size(); ++i) {
      auto e = log->Entry(i);
      EXPECT_TRUE(e.ok());
      if (e.ok()) out.push_back(*e);
    }
    return out;
  }

  vault::testing::TempDir dir_;
  std::string pg_conninfo;  // "" = SQLite
  FaultInjectionEnv env_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<AccessStore> store;
  std::unique_ptr<exporter::BudgetLedger> ledger;  // budget 4 per contributor
  std::unique_ptr<audit::AuditSigner> signer;
  FlakyAuditStore* flaky = nullptr;
  std::unique_ptr<audit::AuditLog> log;
  std::unique_ptr<AccessService> svc;
  Principal op, po1, po2, auditor, service;
  std::string op_token, po1_token, po2_token, auditor_token, service_token;
  std::map<std::string, std::string> device_, pk_;
};

// Every regular file under root whose bytes contain needle.
inline std::vector<std::string> FilesWith(const std::string& root, const std::string& needle) {
  std::vector<std::string> hits;
  for (auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) hits.push_back(e.path().string());
  }
  return hits;
}

inline std::string AllText(const ReadResult& r) {
  std::string s;
  for (const auto& seg : r.segments) {
    for (const auto& e : seg.events) s += sealtrace::EventToJson(e);
    s += seg.raw;
  }
  return s;
}

}  // namespace sealtrace::access::testing
