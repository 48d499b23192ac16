// PostgreSQL specifics of PgMetadataStore (the shared conformance suite is
// src/vault/metadata_store_test.cc, built into the same test binary).
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "pg/pg_cluster.h"
#include "vault/pg_metadata_store.h"

namespace sealtrace::vault {
namespace {

using ::sealtrace::testing::PgCluster;

TEST(PgMetadataStoreTest, MigrationsAreRecordedAndNotReapplied) {
  PgCluster* pg = PgCluster::Shared();
  ASSERT_NE(pg, nullptr);
  auto ci = pg->CreateDatabase("pg_specific_migrate");
  ASSERT_TRUE(ci.ok()) << ci.status();
  Id16 id;
  id.b[0] = 7;
  {
    auto s = PgMetadataStore::Open({*ci, 2});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*(*s)->SchemaVersion(), PgMetadataStore::kSchemaVersion);
    ASSERT_TRUE((*s)->CreateContributor({id, "x", std::string(32, 'p'), 1}).ok());
  }
  auto s = PgMetadataStore::Open({*ci, 2});  // second open: nothing re-applied, data kept
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*(*s)->GetContributor(id)).has_value());
  // A database from a newer binary is refused.
  ASSERT_TRUE(pg->Exec("INSERT INTO schema_migrations(component, version) VALUES('metadata', 99)",
                       "pg_specific_migrate")
                  .ok());
  auto newer = PgMetadataStore::Open({*ci, 2});
  ASSERT_FALSE(newer.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(newer.status())) << newer.status();
}

TEST(PgMetadataStoreTest, ServerCrashIsUnavailableThenRecovers) {
  PgCluster* pg = PgCluster::Shared();
  ASSERT_NE(pg, nullptr);
  auto ci = pg->CreateDatabase("pg_specific_crash");
  ASSERT_TRUE(ci.ok()) << ci.status();
  auto s = PgMetadataStore::Open({*ci, 2});
  ASSERT_TRUE(s.ok()) << s.status();
  PgMetadataStore* store = s->get();
  Id16 id;
  id.b[0] = 9;
  ASSERT_TRUE(store->CreateContributor({id, "before", std::string(32, 'p'), 1}).ok());
  ASSERT_TRUE(pg->Kill().ok());
  absl::Status down = store->Ping();
  EXPECT_TRUE(absl::IsUnavailable(down)) << down;
  auto get = store->GetContributor(id);
  EXPECT_TRUE(absl::IsUnavailable(get.status())) << get.status();
  ASSERT_TRUE(pg->Restart().ok());
  // The pool drops the dead connections and reconnects.
  EXPECT_TRUE(store->Ping().ok());
  auto after = store->GetContributor(id);  // committed before the crash: survived it
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->name, "before");
}

}  // namespace
}  // namespace sealtrace::vault
