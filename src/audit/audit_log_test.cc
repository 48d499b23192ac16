#include "audit/audit_log.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "audit/memory_store.h"
#include "audit/pg_audit_store.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "pg/pg_cluster.h"

// The pg-labelled ctest entry pg_audit_log_test runs this binary again with
// SEALTRACE_TEST_BACKEND=postgres: the store behind OpenSqlite() is then a
// PgAuditStore on a throwaway PostgreSQL cluster.

namespace sealtrace::audit {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "audit_test_XXXXXX").string();
    path_ = mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

AuditEntry Entry(int i, const std::string& contributor = "c-1") {
  AuditEntry e;
  e.kind = i % 2 ? AuditKind::kRead : AuditKind::kKeyUse;
  e.time_us = 1'700'000'000'000'000 + i;
  e.actor_id = "po-" + std::to_string(i % 3);
  e.actor_role = "privacy_officer";
  e.subject_contributor = contributor;
  e.purpose = "model-training";
  e.grant_id = "g-" + std::to_string(i);
  e.object_id = "seg-" + std::to_string(i);
  e.decision = Decision::kAllow;
  e.rule = "grant.approved_two_person";
  e.extra["title_hash"] = KeyedFieldHash(std::string(32, 'k'), "window title " + std::to_string(i));
  return e;
}

// A store that fails on demand (fault injection) around a MemoryAuditStore.
class FailingStore : public AuditStore {
 public:
  explicit FailingStore(MemoryAuditStore* base) : base_(base) {}
  std::atomic<bool> fail_append{false};
  std::atomic<bool> write_then_fail{false};  // leaf lands, but an error is reported
  std::atomic<bool> fail_size{false};
  absl::StatusOr<uint64_t> Size() override {
    if (fail_size) return absl::UnavailableError("disk gone");
    return base_->Size();
  }
  absl::Status AppendLeaf(uint64_t i, std::string_view d, std::string_view h,
                          std::string_view c) override {
    if (fail_append) return absl::UnavailableError("injected: disk full");
    if (write_then_fail) {
      base_->AppendLeaf(i, d, h, c).IgnoreError();
      return absl::UnavailableError("injected: fsync failed after write");
    }
    return base_->AppendLeaf(i, d, h, c);
  }
  absl::StatusOr<std::vector<StoredLeaf>> ReadLeaves(uint64_t b, uint64_t e) override {
    return base_->ReadLeaves(b, e);
  }
  absl::StatusOr<std::vector<uint64_t>> LeavesForContributor(std::string_view c) override {
    return base_->LeavesForContributor(c);
  }
  absl::Status StoreCheckpoint(uint64_t s, std::string_view n) override {
    return base_->StoreCheckpoint(s, n);
  }
  absl::StatusOr<std::optional<std::string>> LoadLatestCheckpoint() override {
    return base_->LoadLatestCheckpoint();
  }

 private:
  MemoryAuditStore* base_;
};

std::unique_ptr<AuditSigner> MakeSigner(const TempDir& dir) {
  auto s = AuditSigner::OpenOrCreate(Env::Default(), dir.Path("audit.key"), kDefaultOrigin);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

// One database per TempDir, so reopening the same dir reopens the same log.
absl::StatusOr<std::unique_ptr<AuditStore>> OpenStoreFor(const TempDir& dir) {
  using ::sealtrace::testing::PgCluster;
  if (!PgCluster::Requested()) return SqliteAuditStore::Open(dir.Path("audit.db"));
  static std::map<std::string, std::string> dbs;
  auto* pg = PgCluster::Shared();
  if (pg == nullptr) return absl::UnavailableError("no PostgreSQL test cluster");
  auto& ci = dbs[dir.Path("")];
  if (ci.empty()) {
    auto made = pg->CreateDatabase("audit_" + std::to_string(dbs.size()));
    if (!made.ok()) return made.status();
    ci = *made;
  }
  return PgAuditStore::Open(ci);
}

std::unique_ptr<AuditLog> OpenSqlite(const TempDir& dir, AuditSigner* signer) {
  auto store = OpenStoreFor(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  auto log = AuditLog::Open(*std::move(store), signer);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? *std::move(log) : nullptr;
}

void Exec(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(h);
}

TEST(AuditEntry, CanonicalRoundTripAndRefusals) {
  AuditEntry e = Entry(7);
  auto data = SerializeEntry(e);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*SerializeEntry(e), *data);  // deterministic
  auto back = ParseEntry(*data);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, e);
  EXPECT_FALSE(ParseEntry("{").ok());
  EXPECT_FALSE(ParseEntry("[]").ok());
  std::string spaced = *data;
  spaced.insert(1, " ");
  EXPECT_FALSE(ParseEntry(spaced).ok());  // not canonical
  AuditEntry bad = e;
  bad.purpose = "\xff";
  EXPECT_FALSE(SerializeEntry(bad).ok());
  EXPECT_EQ(KeyedFieldHash("k", "v").size(), 64u);
  EXPECT_NE(KeyedFieldHash("k", "v"), KeyedFieldHash("k2", "v"));
}

TEST(AuditLog, AppendReopenAndProofsAgainstCheckpoints) {
  TempDir dir;
  auto signer = MakeSigner(dir);
  std::vector<std::string> notes;
  {
    auto log = OpenSqlite(dir, signer.get());
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 40; ++i) {
      auto idx = log->Append(Entry(i, i % 4 == 0 ? "c-2" : "c-1"));
      ASSERT_TRUE(idx.ok()) << idx.status();
      EXPECT_EQ(*idx, static_cast<uint64_t>(i));
      if (i % 7 == 0) notes.push_back(*log->Checkpoint());
    }
    notes.push_back(*log->Checkpoint());
  }
  auto log = OpenSqlite(dir, signer.get());  // reopen verifies everything
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Size(), 40u);
  EXPECT_EQ(*log->LatestCheckpoint(), notes.back());
  const auto verifiers = log->Verifiers();
  std::vector<Checkpoint> cps;
  for (const auto& n : notes) {
    auto v = VerifyCheckpoint(n, verifiers, kDefaultOrigin);
    ASSERT_TRUE(v.ok()) << v.status();
    cps.push_back(v->checkpoint);
  }
  for (const auto& cp : cps) {
    for (uint64_t i = 0; i < cp.size; ++i) {
      auto p = log->InclusionProof(i, cp.size);
      ASSERT_TRUE(p.ok());
      EXPECT_TRUE(VerifyInclusion(*log->LeafHash(i), i, cp.size, *p, cp.root_hash).ok());
    }
    for (const auto& later : cps) {
      if (later.size < cp.size || cp.size == 0) continue;
      auto p = log->ConsistencyProof(cp.size, later.size);
      ASSERT_TRUE(p.ok());
      EXPECT_TRUE(VerifyConsistency(cp.size, later.size, *p, cp.root_hash, later.root_hash).ok());
    }
  }
  auto mine = log->EntriesForContributor("c-2");
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(mine->size(), 10u);
  for (const auto& [i, e] : *mine) {
    EXPECT_EQ(i % 4, 0u);
    EXPECT_EQ(e, Entry(static_cast<int>(i), "c-2"));
  }
  EXPECT_TRUE(log->EntriesForContributor("nobody")->empty());
}

TEST(AuditLog, TamperedSqliteRowIsDetectedOnOpen) {
  if (::sealtrace::testing::PgCluster::Requested()) GTEST_SKIP() << "edits the SQLite file";
  TempDir dir;
  auto signer = MakeSigner(dir);
  {
    auto log = OpenSqlite(dir, signer.get());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Entry(i)).ok());
    ASSERT_TRUE(log->Checkpoint().ok());
  }
  const std::string db = dir.Path("audit.db");
  const std::string saved = dir.Path("saved.db");
  fs::copy_file(db, saved);
  // 1. Data edited, hash left alone.
  Exec(db, "UPDATE leaves SET data = replace(data, 'po-1', 'po-9') WHERE idx = 4");
  {
    auto log = AuditLog::Open(*SqliteAuditStore::Open(db), signer.get());
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(log.status().message().find("leaf 4"), std::string::npos) << log.status();
  }
  // 2. Data and leaf hash both rewritten consistently: the signed root catches it.
  fs::remove(db);
  fs::copy_file(saved, db);
  {
    AuditEntry forged = Entry(4);
    forged.actor_id = "someone-else";
    const std::string data = *SerializeEntry(forged);
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "UPDATE leaves SET data = ?, leaf_hash = ? WHERE idx = 4", -1, &st,
                       nullptr);
    const std::string lh = HashLeaf(data);
    sqlite3_bind_blob(st, 1, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, lh.data(), static_cast<int>(lh.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
    auto log = AuditLog::Open(*SqliteAuditStore::Open(db), signer.get());
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.status().message().find("signed checkpoint root"), std::string::npos)
        << log.status();
  }
  // 3. Truncation (last rows deleted).
  fs::remove(db);
  fs::copy_file(saved, db);
  Exec(db, "DELETE FROM leaves WHERE idx >= 8");
  {
    auto log = AuditLog::Open(*SqliteAuditStore::Open(db), signer.get());
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.status().message().find("leaves removed"), std::string::npos) << log.status();
  }
  // 4. Checkpoint row edited.
  fs::remove(db);
  fs::copy_file(saved, db);
  Exec(db, "UPDATE checkpoints SET note = replace(note, '\n10\n', '\n9\n')");
  {
    auto log = AuditLog::Open(*SqliteAuditStore::Open(db), signer.get());
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.status().message().find("checkpoint does not verify"), std::string::npos)
        << log.status();
  }
}

TEST(AuditLog, FailsClosedWhenTheStoreFails) {
  TempDir dir;
  auto signer = MakeSigner(dir);
  MemoryAuditStore mem;
  auto fs_store = std::make_unique<FailingStore>(&mem);
  FailingStore* faults = fs_store.get();
  auto log = AuditLog::Open(std::move(fs_store), signer.get());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(Entry(0)).ok());
  const std::string root_before = (*log)->Root();

  faults->fail_append = true;
  auto r = (*log)->Append(Entry(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("must be refused"), std::string::npos);
  EXPECT_EQ((*log)->Size(), 1u);  // nothing partial visible
  EXPECT_EQ((*log)->Root(), root_before);
  EXPECT_EQ(*mem.Size(), 1u);

  faults->fail_append = false;  // clean failure: the log carries on
  ASSERT_TRUE((*log)->Append(Entry(1)).ok());
  EXPECT_EQ((*log)->Size(), 2u);

  // Ambiguous failure (written but reported failed): refuse everything until reopened.
  faults->write_then_fail = true;
  EXPECT_FALSE((*log)->Append(Entry(2)).ok());
  faults->write_then_fail = false;
  auto after = (*log)->Append(Entry(3));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kFailedPrecondition) << after.status();
  EXPECT_EQ((*log)->Size(), 2u);
}

TEST(AuditLog, ConcurrentAppendsAreSerialised) {
  TempDir dir;
  auto signer = MakeSigner(dir);
  auto log = AuditLog::Open(std::make_unique<MemoryAuditStore>(), signer.get());
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) ASSERT_TRUE((*log)->Append(Entry(t * 1000 + i)).ok());
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ((*log)->Size(), 400u);
  auto cp = VerifyCheckpoint(*(*log)->Checkpoint(), (*log)->Verifiers());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->checkpoint.size, 400u);
}

TEST(AuditSigner, KeyFileModeAndRotation) {
  TempDir dir;
  auto signer = MakeSigner(dir);
  struct stat st {};
  ASSERT_EQ(stat(dir.Path("audit.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  auto log = AuditLog::Open(*SqliteAuditStore::Open(dir.Path("audit.db")), signer.get());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(Entry(0)).ok());
  const std::string old_note = *(*log)->Checkpoint();
  const std::string old_vk = signer->VerifierKey();
  ASSERT_TRUE(signer->Rotate().ok());
  EXPECT_NE(signer->VerifierKey(), old_vk);
  ASSERT_TRUE((*log)->Append(Entry(1)).ok());  // no downtime
  const std::string new_note = *(*log)->Checkpoint();
  log->reset();

  // Reload from disk: both checkpoints verify with the retained keys.
  auto reloaded = AuditSigner::Open(Env::Default(), dir.Path("audit.key"));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)->Verifiers().size(), 2u);
  EXPECT_TRUE(VerifyCheckpoint(old_note, (*reloaded)->Verifiers()).ok());
  EXPECT_TRUE(VerifyCheckpoint(new_note, (*reloaded)->Verifiers()).ok());
  EXPECT_FALSE(VerifyCheckpoint(old_note, {(*reloaded)->Verifiers()[0]}).ok());
  auto reopened = AuditLog::Open(*SqliteAuditStore::Open(dir.Path("audit.db")), reloaded->get());
  EXPECT_TRUE(reopened.ok()) << reopened.status();
  // A key file for a different origin is refused.
  EXPECT_FALSE(AuditSigner::OpenOrCreate(Env::Default(), dir.Path("audit.key"), "other/log").ok());
}

TEST(AuditVerify, DetectsRewritesAndProvesContributorEntries) {
  if (::sealtrace::testing::PgCluster::Requested()) GTEST_SKIP() << "edits the SQLite file";
  TempDir dir;
  auto signer = MakeSigner(dir);
  std::string saved_note;
  {
    auto log = OpenSqlite(dir, signer.get());
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(log->Append(Entry(i, i % 5 ? "c-1" : "c-7")).ok());
    saved_note = *log->Checkpoint();
    for (int i = 25; i < 30; ++i) ASSERT_TRUE(log->Append(Entry(i, "c-7")).ok());
  }
  const std::string db = dir.Path("audit.db");
  const std::vector<std::string> keys = {signer->VerifierKey()};
  auto ok = VerifyAuditLogFile(db, saved_note, keys, "c-7");
  EXPECT_TRUE(ok.ok);
  std::string all;
  for (const auto& l : ok.lines) all += l + "\n";
  EXPECT_NE(all.find("5 proven included"), std::string::npos) << all;
  EXPECT_NE(all.find("5 newer than the checkpoint"), std::string::npos) << all;

  // Wrong key.
  auto other = NoteSigner::Generate(kDefaultOrigin);
  EXPECT_FALSE(VerifyAuditLogFile(db, saved_note, {other->verifier().VerifierKey()}).ok);

  // History rewritten consistently (data + hash): consistency with the saved checkpoint fails.
  AuditEntry forged = Entry(3, "c-1");
  forged.decision = Decision::kRefuse;
  const std::string data = *SerializeEntry(forged);
  const std::string lh = HashLeaf(data);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "UPDATE leaves SET data = ?, leaf_hash = ? WHERE idx = 3", -1, &st,
                     nullptr);
  sqlite3_bind_blob(st, 1, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, 2, lh.data(), static_cast<int>(lh.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(h);
  auto bad = VerifyAuditLogFile(db, saved_note, keys);
  EXPECT_FALSE(bad.ok);
  all.clear();
  for (const auto& l : bad.lines) all += l + "\n";
  EXPECT_NE(all.find("REWRITE"), std::string::npos) << all;

  // Contributor view after an edit of one of their rows (hash left alone).
  Exec(db, "UPDATE leaves SET data = replace(data, 'seg-10', 'seg-99') WHERE idx = 10");
  auto c = VerifyAuditLogFile(db, saved_note, keys, "c-7");
  EXPECT_FALSE(c.ok);
  all.clear();
  for (const auto& l : c.lines) all += l + "\n";
  EXPECT_NE(all.find("FAIL leaf 10"), std::string::npos) << all;
  EXPECT_NE(all.find("FAIL entry 10"), std::string::npos) << all;

  EXPECT_FALSE(VerifyAuditLogFile(dir.Path("missing.db"), saved_note, keys).ok);
  EXPECT_FALSE(VerifyAuditLogFile(db, "garbage", keys).ok);
}


}  // namespace
}  // namespace sealtrace::audit
