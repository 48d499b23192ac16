// PostgreSQL specifics of PgAuditStore (the AuditLog tests in
// src/audit/audit_log_test.cc run on it in the same binary).
#include "audit/pg_audit_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "audit/audit_log.h"
#include "audit/verify.h"
#include "common/env.h"
#include "pg/pg_cluster.h"

namespace sealtrace::audit {
namespace {

using ::sealtrace::testing::PgCluster;

TEST(PgAuditStoreTest, DenseAppendsAcrossConnectionsAndCrashFailsClosed) {
  PgCluster* pg = PgCluster::Shared();
  ASSERT_NE(pg, nullptr);
  auto ci = pg->CreateDatabase("audit_specific");
  ASSERT_TRUE(ci.ok()) << ci.status();
  // Two stores (two pools) on one database: appends at a taken index are refused.
  auto a = PgAuditStore::Open(*ci);
  auto b = PgAuditStore::Open(*ci);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->AppendLeaf(0, "d0", std::string(32, 'h'), "c").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition((*b)->AppendLeaf(0, "x", std::string(32, 'h'), "c")));
  EXPECT_TRUE(absl::IsFailedPrecondition((*b)->AppendLeaf(2, "x", std::string(32, 'h'), "c")));
  ASSERT_TRUE((*b)->AppendLeaf(1, "d1", std::string(32, 'i'), "c").ok());
  EXPECT_EQ(*(*a)->Size(), 2u);
  auto leaves = (*a)->ReadLeaves(0, 2);
  ASSERT_TRUE(leaves.ok());
  ASSERT_EQ(leaves->size(), 2u);
  EXPECT_EQ((*leaves)[1].data, "d1");
  EXPECT_EQ((*leaves)[1].leaf_hash, std::string(32, 'i'));
  ASSERT_TRUE((*a)->StoreCheckpoint(2, "note\nwith lines\n").ok());
  EXPECT_EQ(**(*b)->LoadLatestCheckpoint(), "note\nwith lines\n");

  // The server crashes: appends fail (UNAVAILABLE, so AuditLog fails closed), then recover.
  ASSERT_TRUE(pg->Kill().ok());
  absl::Status down = (*a)->AppendLeaf(2, "d2", std::string(32, 'j'), "c");
  EXPECT_TRUE(absl::IsUnavailable(down)) << down;
  ASSERT_TRUE(pg->Restart().ok());
  EXPECT_EQ(*(*a)->Size(), 2u);  // nothing of the failed append is visible
  EXPECT_TRUE((*a)->AppendLeaf(2, "d2", std::string(32, 'j'), "c").ok());
}

TEST(PgAuditStoreTest, ConcurrentAuditLogAppendsStayDenseAndVerify) {
  PgCluster* pg = PgCluster::Shared();
  ASSERT_NE(pg, nullptr);
  auto ci = pg->CreateDatabase("audit_concurrent");
  ASSERT_TRUE(ci.ok()) << ci.status();
  std::string tmpl = (std::filesystem::temp_directory_path() / "pg_audit_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto signer = AuditSigner::OpenOrCreate(Env::Default(), tmpl + "/audit.key", kDefaultOrigin);
  ASSERT_TRUE(signer.ok());
  auto store = PgAuditStore::Open(*ci, 4);
  ASSERT_TRUE(store.ok());
  auto log = AuditLog::Open(*std::move(store), signer->get());
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        AuditEntry e;
        e.kind = AuditKind::kRead;
        e.time_us = 1'700'000'000'000'000 + t * 100 + i;
        e.actor_id = "po-" + std::to_string(t);
        e.actor_role = "privacy_officer";
        e.subject_contributor = "c-" + std::to_string(t);
        e.purpose = "model-training";
        e.decision = Decision::kAllow;
        e.rule = "test";
        ASSERT_TRUE((*log)->Append(e).ok());
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ((*log)->Size(), 100u);
  auto note = (*log)->Checkpoint();
  ASSERT_TRUE(note.ok());
  // Reopening recomputes every leaf hash and the tree against the signed checkpoint.
  auto store2 = PgAuditStore::Open(*ci);
  ASSERT_TRUE(store2.ok());
  auto reopened = AuditLog::Open(*std::move(store2), signer->get());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->Size(), 100u);
  auto cp = VerifyCheckpoint(*note, (*reopened)->Verifiers());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->checkpoint.size, 100u);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace sealtrace::audit
