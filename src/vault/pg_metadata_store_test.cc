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

// Schema v3 coarsens the exact times that v2 rows held (a frozen copy of the
// v2 segments table, the only one v3 touches, recorded as version 2).
TEST(PgMetadataStoreTest, MigrationToV3CoarsensSegmentTimes) {
  PgCluster* pg = PgCluster::Shared();
  ASSERT_NE(pg, nullptr);
  const std::string db = "pg_specific_migrate_v3";
  auto ci = pg->CreateDatabase(db);
  ASSERT_TRUE(ci.ok()) << ci.status();
  const int64_t anchor = 1'790'001'234'567'891, hour = 1'789'999'200'000'000;
  const std::string sql =
      "CREATE TABLE schema_migrations(component TEXT NOT NULL, version INTEGER NOT NULL, "
      "applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY(component, version));"
      "INSERT INTO schema_migrations(component, version) VALUES('metadata', 1), ('metadata', 2);"
      "CREATE TABLE segments(segment_id TEXT COLLATE \"C\" PRIMARY KEY, contributor_id TEXT "
      "COLLATE \"C\" NOT NULL, device_id TEXT COLLATE \"C\" NOT NULL, sequence BIGINT NOT NULL, "
      "wall_anchor_us BIGINT NOT NULL, duration_us BIGINT NOT NULL, event_count BIGINT NOT NULL, "
      "size BIGINT NOT NULL, blob_sha256 TEXT COLLATE \"C\" NOT NULL, flags BIGINT NOT NULL, "
      "received_us BIGINT NOT NULL);"
      "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO segments VALUES('" + std::string(32, 'a') + "','" + std::string(32, 'c') +
      "','" + std::string(32, 'd') + "',1," + std::to_string(anchor) + ",1800000000,17,500,'" +
      std::string(64, 'b') + "',0," + std::to_string(anchor + 3'000'000) + ");"
      "INSERT INTO segments VALUES('" + std::string(32, 'e') + "','" + std::string(32, 'c') +
      "','" + std::string(32, 'd') + "',2,-5,1000,3,500,'" + std::string(64, 'b') + "',1,99);"
      // A hostile v1 header: anchor + duration overflows BIGINT.
      "INSERT INTO segments VALUES('" + std::string(32, 'f') + "','" + std::string(32, 'c') +
      "','" + std::string(32, 'd') + "',3,9223372036854775000,5000,0,500,'" +
      std::string(64, 'b') + "',0,-9223372036854775000);";
  ASSERT_TRUE(pg->Exec(sql, db).ok());
  auto s = PgMetadataStore::Open({*ci, 2});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*(*s)->SchemaVersion(), 3);
  auto a = (*s)->GetSegment(*Id16::FromHex(std::string(32, 'a')));
  ASSERT_TRUE(a.ok() && a->has_value()) << a.status();
  EXPECT_EQ((*a)->wall_start_us, hour);
  EXPECT_EQ((*a)->wall_end_us, hour + 2 * 3'600'000'000LL);  // the last event is in the next hour
  EXPECT_EQ((*a)->received_us, hour);
  EXPECT_EQ((*a)->size, 500u);
  auto e = (*s)->GetSegment(*Id16::FromHex(std::string(32, 'e')));
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->wall_start_us, -3'600'000'000LL);
  EXPECT_EQ((*e)->wall_end_us, 3'600'000'000LL);  // -5 µs .. 995 µs spans 1970-01-01 00:00
  EXPECT_EQ((*e)->received_us, 0);
  auto f = (*s)->GetSegment(*Id16::FromHex(std::string(32, 'f')));
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->wall_start_us, 9223372036800000000LL);
  EXPECT_EQ((*f)->wall_end_us, 9223372036800000000LL);  // clamped: an empty range matches no read
  EXPECT_EQ((*f)->received_us, -9223372036800000000LL);
  // The exact columns are gone from the table.
  absl::Status cols = pg->Exec(
      "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = "
      "'segments' AND column_name IN ('wall_anchor_us', 'duration_us', 'event_count')) THEN "
      "RAISE EXCEPTION 'exact columns remain'; END IF; END $$;",
      db);
  EXPECT_TRUE(cols.ok()) << cols;
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
