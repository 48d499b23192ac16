// Conformance tests for MetadataStore implementations, in vault_store_test:
// SQLite (file and memory) always; PgMetadataStore on a throwaway PostgreSQL
// cluster (tests/pg/pg_cluster.h, one fresh database per test) only in the
// pg-labelled ctest entry pg_vault_store_test, which runs the same binary with
// SEALTRACE_TEST_BACKEND=postgres.
#include "vault/metadata_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "common/env.h"
#include "gtest/gtest.h"
#include "vault/sqlite_metadata_store.h"
#include "vault/test_util.h"
#include "pg/pg_cluster.h"
#include "vault/pg_metadata_store.h"

namespace sealtrace::vault {
namespace {

using testing::RandomId;
using testing::TempDir;

struct StoreFactory {
  std::string name;
  std::function<std::unique_ptr<MetadataStore>(const TempDir&)> make;
};

const StoreFactory kSqliteFile{"sqlite_file", [](const TempDir& dir) {
                                 auto s = SqliteMetadataStore::Open(dir.Sub("meta.db"));
                                 EXPECT_TRUE(s.ok()) << s.status();
                                 return std::unique_ptr<MetadataStore>(std::move(*s));
                               }};
const StoreFactory kSqliteMemory{"sqlite_memory", [](const TempDir&) {
                                   auto s = SqliteMetadataStore::Open(":memory:");
                                   EXPECT_TRUE(s.ok()) << s.status();
                                   return std::unique_ptr<MetadataStore>(std::move(*s));
                                 }};

const StoreFactory kPostgres{"postgres", [](const TempDir&) {
                               static int n = 0;
                               auto* cluster = ::sealtrace::testing::PgCluster::Shared();
                               EXPECT_NE(cluster, nullptr);
                               if (cluster == nullptr) return std::unique_ptr<MetadataStore>();
                               auto ci = cluster->CreateDatabase("meta_" + std::to_string(++n));
                               EXPECT_TRUE(ci.ok()) << ci.status();
                               if (!ci.ok()) return std::unique_ptr<MetadataStore>();
                               auto s = PgMetadataStore::Open({*ci, 4});
                               EXPECT_TRUE(s.ok()) << s.status();
                               if (!s.ok()) return std::unique_ptr<MetadataStore>();
                               return std::unique_ptr<MetadataStore>(std::move(*s));
                             }};

class MetadataStoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    if (GetParam().name == "postgres" && !::sealtrace::testing::PgCluster::Requested()) {
      GTEST_SKIP() << "PostgreSQL runs in pg_vault_store_test (SEALTRACE_TEST_BACKEND=postgres)";
    }
    store_ = GetParam().make(dir_);
    ASSERT_NE(store_, nullptr);
  }

  ContributorRecord NewContributor(const std::string& name) {
    ContributorRecord c;
    c.id = RandomId();
    c.name = name;
    c.public_key = std::string(32, 'p');
    c.created_us = 42;
    EXPECT_TRUE(store_->CreateContributor(c).ok());
    return c;
  }
  DeviceRecord NewDevice(const Id16& contributor) {
    DeviceRecord d;
    d.id = RandomId();
    d.contributor_id = contributor;
    d.token_sha256 = RandomBytes(32);
    d.created_us = 7;
    EXPECT_TRUE(store_->CreateDevice(d).ok());
    return d;
  }
  SegmentRecord NewSegment(const ContributorRecord& c, const DeviceRecord& d, uint64_t seq) {
    SegmentRecord s;
    s.segment_id = RandomId();
    s.contributor_id = c.id;
    s.device_id = d.id;
    s.sequence = seq;
    s.wall_start_us = -3'600'000'000;  // whole hours (FORMAT.md §1.1), before 1970
    s.wall_end_us = 0;
    s.size = 500;
    s.blob_sha256 = std::string(64, 'a');
    s.flags = 1;
    s.received_us = 99;
    return s;
  }

  TempDir dir_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreTest, PingAndDefaultProgrammeState) {
  EXPECT_TRUE(store_->Ping().ok());
  auto st = store_->GetSetting(kSettingProgrammeState);
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->has_value());
  EXPECT_EQ(**st, "ACTIVE");
  ASSERT_TRUE(store_->PutSetting(kSettingProgrammeState, "PAUSED").ok());
  EXPECT_EQ(**store_->GetSetting(kSettingProgrammeState), "PAUSED");
  EXPECT_FALSE(store_->GetSetting("nope")->has_value());
}

TEST_P(MetadataStoreTest, ContributorRoundTripAndUniqueName) {
  ContributorRecord c = NewContributor("Ada Lovelace");
  auto got = store_->GetContributor(c.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "Ada Lovelace");
  EXPECT_EQ((*got)->public_key, c.public_key);
  EXPECT_EQ((*got)->created_us, 42);
  auto by_name = store_->FindContributorByName("Ada Lovelace");
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  EXPECT_EQ((*by_name)->id, c.id);
  EXPECT_FALSE(store_->FindContributorByName("ada lovelace")->has_value());

  ContributorRecord dup = c;
  dup.id = RandomId();
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateContributor(dup)));
  EXPECT_FALSE(store_->GetContributor(RandomId())->has_value());
}

TEST_P(MetadataStoreTest, ContributorKeysAndDestroy) {
  Id16 id = RandomId();
  EXPECT_FALSE(store_->GetLatestContributorKey(id)->has_value());
  ContributorKeyRecord k;
  k.contributor_id = id;
  k.key_version = 1;
  k.master_key_version = 3;
  k.public_key = std::string(32, 'k');
  k.wrapped_secret_key = std::string(72, 'w');
  k.created_us = 5;
  ASSERT_TRUE(store_->PutContributorKey(k).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store_->PutContributorKey(k)));
  k.key_version = 2;
  k.wrapped_secret_key = std::string(72, 'v');
  ASSERT_TRUE(store_->PutContributorKey(k).ok());
  auto got = store_->GetLatestContributorKey(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->key_version, 2u);
  EXPECT_EQ((*got)->master_key_version, 3u);
  EXPECT_EQ((*got)->wrapped_secret_key, std::string(72, 'v'));
  EXPECT_FALSE((*got)->destroyed);

  auto n = store_->DestroyContributorKeys(id, 77);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  got = store_->GetLatestContributorKey(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->destroyed);
  EXPECT_TRUE((*got)->wrapped_secret_key.empty());
  EXPECT_EQ(*store_->DestroyContributorKeys(id, 78), 0);
}

TEST_P(MetadataStoreTest, ListAndRewrapContributorKeys) {
  EXPECT_TRUE(store_->ListContributorKeys()->empty());
  auto key = [](const Id16& id, uint32_t version, char fill) {
    ContributorKeyRecord k;
    k.contributor_id = id;
    k.key_version = version;
    k.master_key_version = 1;
    k.public_key = std::string(32, 'k');
    k.wrapped_secret_key = std::string(72, fill);
    k.created_us = 9;
    return k;
  };
  Id16 a = RandomId(), b = RandomId(), gone = RandomId();
  ASSERT_TRUE(store_->PutContributorKey(key(a, 1, 'a')).ok());
  ASSERT_TRUE(store_->PutContributorKey(key(a, 2, 'A')).ok());
  ASSERT_TRUE(store_->PutContributorKey(key(b, 1, 'b')).ok());
  ASSERT_TRUE(store_->PutContributorKey(key(gone, 1, 'g')).ok());
  ASSERT_EQ(*store_->DestroyContributorKeys(gone, 50), 1);

  // Only live rows, every key version, ordered by (contributor, key version).
  auto rows = store_->ListContributorKeys();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  std::vector<std::pair<std::string, uint32_t>> order;
  for (const auto& r : *rows) {
    order.emplace_back(r.contributor_id.Hex(), r.key_version);
    EXPECT_NE(r.contributor_id, gone);
    EXPECT_EQ(r.master_key_version, 1u);
    EXPECT_EQ(r.public_key, std::string(32, 'k'));
    EXPECT_EQ(r.created_us, 9);
    EXPECT_FALSE(r.destroyed);
  }
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  for (const auto& r : *rows) {
    if (r.contributor_id == a && r.key_version == 2) {
      EXPECT_EQ(r.wrapped_secret_key, std::string(72, 'A'));
    }
  }

  // Compare-and-set on the master key version.
  auto up = store_->UpdateWrappedKey(a, 2, 1, 2, std::string(72, 'N'));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_TRUE(*up);
  auto got = store_->GetLatestContributorKey(a);
  EXPECT_EQ((*got)->master_key_version, 2u);
  EXPECT_EQ((*got)->wrapped_secret_key, std::string(72, 'N'));
  // Already moved on: a second rewrap from version 1 changes nothing.
  EXPECT_FALSE(*store_->UpdateWrappedKey(a, 2, 1, 3, std::string(72, 'X')));
  got = store_->GetLatestContributorKey(a);
  EXPECT_EQ((*got)->master_key_version, 2u);
  EXPECT_EQ((*got)->wrapped_secret_key, std::string(72, 'N'));
  // Key version 1 of the same contributor is untouched.
  auto after = *store_->ListContributorKeys();
  for (const auto& r : after) {
    if (r.contributor_id == a && r.key_version == 1) {
      EXPECT_EQ(r.master_key_version, 1u);
      EXPECT_EQ(r.wrapped_secret_key, std::string(72, 'a'));
    }
  }
  // A shredded key is never brought back; unknown rows are not created.
  EXPECT_FALSE(*store_->UpdateWrappedKey(gone, 1, 1, 2, std::string(72, 'R')));
  got = store_->GetLatestContributorKey(gone);
  EXPECT_TRUE((*got)->destroyed);
  EXPECT_TRUE((*got)->wrapped_secret_key.empty());
  EXPECT_FALSE(*store_->UpdateWrappedKey(RandomId(), 1, 1, 2, std::string(72, 'R')));
  EXPECT_EQ(store_->ListContributorKeys()->size(), 3u);
  // Destroy after a rewrap still shreds every version.
  EXPECT_EQ(*store_->DestroyContributorKeys(a, 60), 2);
  rows = store_->ListContributorKeys();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].contributor_id, b);
}

TEST_P(MetadataStoreTest, DevicesByTokenHash) {
  ContributorRecord c = NewContributor("c");
  DeviceRecord d = NewDevice(c.id);
  auto got = store_->FindDeviceByTokenHash(d.token_sha256);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, d.id);
  EXPECT_EQ((*got)->contributor_id, c.id);
  EXPECT_FALSE(store_->FindDeviceByTokenHash(RandomBytes(32))->has_value());
  // Same token hash twice is refused.
  DeviceRecord d2 = d;
  d2.id = RandomId();
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateDevice(d2)));
  // Unknown contributor is refused.
  DeviceRecord d3;
  d3.id = RandomId();
  d3.contributor_id = RandomId();
  d3.token_sha256 = RandomBytes(32);
  EXPECT_FALSE(store_->CreateDevice(d3).ok());
  ASSERT_TRUE(store_->TouchDevice(d.id, 1234).ok());
  EXPECT_EQ((*store_->GetDevice(d.id))->last_seen_us, 1234);
  ASSERT_TRUE(store_->TouchDevice(d.id, 1000).ok());  // never goes backwards
  EXPECT_EQ((*store_->GetDevice(d.id))->last_seen_us, 1234);
  // Revocation: kept with its first time, visible to the token lookup.
  EXPECT_EQ((*store_->GetDevice(d.id))->revoked_us, 0);
  ASSERT_TRUE(store_->RevokeDevice(d.id, 5000).ok());
  ASSERT_TRUE(store_->RevokeDevice(d.id, 6000).ok());
  auto found = store_->FindDeviceByTokenHash(d.token_sha256);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->revoked_us, 5000);
  EXPECT_TRUE(absl::IsNotFound(store_->RevokeDevice(RandomId(), 1)));
}

TEST_P(MetadataStoreTest, SegmentsInsertOnceAndList) {
  ContributorRecord c = NewContributor("c");
  DeviceRecord d = NewDevice(c.id);
  SegmentRecord s = NewSegment(c, d, 1);
  s.sequence = ~0ull;  // full u64 range survives
  auto r = store_->InsertSegment(s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, InsertSegmentResult::kInserted);
  SegmentRecord other = s;
  other.blob_sha256 = std::string(64, 'b');
  r = store_->InsertSegment(other);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, InsertSegmentResult::kExists);
  auto got = store_->GetSegment(s.segment_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, s);  // the first insert won, unchanged
  auto dev = store_->GetDevice(d.id);
  EXPECT_EQ((*dev)->last_upload_us, 99);

  ASSERT_TRUE(store_->InsertSegment(NewSegment(c, d, 2)).ok());
  auto list = store_->ListSegments(c.id, 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  std::set<uint64_t> seqs{(*list)[0].sequence, (*list)[1].sequence};
  EXPECT_EQ(seqs, (std::set<uint64_t>{2, ~0ull}));
  EXPECT_TRUE(*store_->BlobReferenced(std::string(64, 'a')));
  EXPECT_FALSE(*store_->BlobReferenced(std::string(64, 'c')));

  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->contributors, 1);
  EXPECT_EQ(counts->devices, 1);
  EXPECT_EQ(counts->segments, 2);
  EXPECT_EQ(counts->segment_bytes, 1000);

  ASSERT_TRUE(store_->DeleteSegment(s.segment_id).ok());
  EXPECT_FALSE(store_->GetSegment(s.segment_id)->has_value());
  EXPECT_TRUE(store_->DeleteSegment(s.segment_id).ok());
}

TEST_P(MetadataStoreTest, ConcurrentInsertsOfOneIdConvergeOnOneRow) {
  ContributorRecord c = NewContributor("c");
  DeviceRecord d = NewDevice(c.id);
  SegmentRecord s = NewSegment(c, d, 1);
  std::atomic<int> inserted{0}, exists{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      auto r = store_->InsertSegment(s);
      ASSERT_TRUE(r.ok()) << r.status();
      (*r == InsertSegmentResult::kInserted ? inserted : exists)++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(inserted.load(), 1);
  EXPECT_EQ(exists.load(), 7);
}

INSTANTIATE_TEST_SUITE_P(Stores, MetadataStoreTest, ::testing::Values(kSqliteFile, kSqliteMemory, kPostgres),
                         [](const auto& info) { return info.param.name; });

// --- SQLite specifics ---

TEST(SqliteMetadataStoreTest, WalModeSchemaVersionAndReopen) {
  TempDir dir;
  Id16 id = RandomId();
  {
    auto s = SqliteMetadataStore::Open(dir.Sub("meta.db"));
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*(*s)->UserVersion(), SqliteMetadataStore::kSchemaVersion);
    ContributorRecord c{id, "x", std::string(32, 'p'), 1};
    ASSERT_TRUE((*s)->CreateContributor(c).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.Sub("meta.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);

  auto s = SqliteMetadataStore::Open(dir.Sub("meta.db"));  // migrations are not re-applied
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*(*s)->GetContributor(id)).has_value());
}

TEST(SqliteMetadataStoreTest, RefusesNewerSchema) {
  TempDir dir;
  { ASSERT_TRUE(SqliteMetadataStore::Open(dir.Sub("meta.db")).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.Sub("meta.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteMetadataStore::Open(dir.Sub("meta.db"));
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
}

// Schema v3 coarsens the exact times that v2 rows held (a frozen copy of the
// v2 segments table, the only one v3 touches).
TEST(SqliteMetadataStoreTest, MigrationToV3CoarsensSegmentTimes) {
  TempDir dir;
  const std::string path = dir.Sub("meta.db");
  // 2026-09-21 ~13:33:54.567891 UTC + 30 min, and one around 1970-01-01 00:00.
  const int64_t anchor = 1'790'001'234'567'891, hour = 1'789'999'200'000'000;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string sql =
        "CREATE TABLE segments(segment_id TEXT PRIMARY KEY, contributor_id TEXT NOT NULL, "
        "device_id TEXT NOT NULL, sequence INTEGER NOT NULL, wall_anchor_us INTEGER NOT NULL, "
        "duration_us INTEGER NOT NULL, event_count INTEGER NOT NULL, size INTEGER NOT NULL, "
        "blob_sha256 TEXT NOT NULL, flags INTEGER NOT NULL, received_us INTEGER NOT NULL);"
        "CREATE INDEX segments_by_contributor ON segments(contributor_id, device_id, sequence);"
        "CREATE INDEX segments_by_blob ON segments(blob_sha256);"
        "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO segments VALUES('" + std::string(32, 'a') + "','" + std::string(32, 'c') +
        "','" + std::string(32, 'd') + "',1," + std::to_string(anchor) + ",1800000000,17,500,'" +
        std::string(64, 'b') + "',0," + std::to_string(anchor + 3'000'000) + ");"
        "INSERT INTO segments VALUES('" + std::string(32, 'e') + "','" + std::string(32, 'c') +
        "','" + std::string(32, 'd') + "',2,-5,1000,3,500,'" + std::string(64, 'b') + "',1,99);"
        "PRAGMA user_version=2;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    auto s = SqliteMetadataStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*(*s)->UserVersion(), 3);
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
    EXPECT_EQ((*e)->flags, 1u);
    EXPECT_EQ((*s)->ListSegments(*Id16::FromHex(std::string(32, 'c')), 10)->size(), 2u);
  }
  // The dropped columns' values are gone from the files too (secure_delete, checkpoint).
  std::string be;
  for (int i = 7; i >= 0; --i) be.push_back(static_cast<char>((static_cast<uint64_t>(anchor) >> (8 * i)) & 0xff));
  for (const char* f : {"meta.db", "meta.db-wal"}) {
    if (!std::filesystem::exists(dir.Sub(f))) continue;
    auto data = Env::Default()->ReadFile(dir.Sub(f));
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->find(be), std::string::npos) << f;
  }
}

TEST(SqliteMetadataStoreTest, DestroyedKeyBytesLeaveTheDatabaseFile) {
  TempDir dir;
  Id16 id = RandomId();
  const std::string marker = "WRAPPED-KEY-MARKER-0123456789abcdef";
  {
    auto s = SqliteMetadataStore::Open(dir.Sub("meta.db"));
    ASSERT_TRUE(s.ok());
    ContributorKeyRecord k;
    k.contributor_id = id;
    k.public_key = std::string(32, 'k');
    k.wrapped_secret_key = marker;
    ASSERT_TRUE((*s)->PutContributorKey(k).ok());
    ASSERT_TRUE((*s)->DestroyContributorKeys(id, 1).ok());
  }
  for (const char* f : {"meta.db", "meta.db-wal"}) {
    std::string path = dir.Sub(f);
    if (!std::filesystem::exists(path)) continue;
    auto data = Env::Default()->ReadFile(path);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->find(marker), std::string::npos) << f;
  }
}

}  // namespace
}  // namespace sealtrace::vault
