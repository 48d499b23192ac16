#include "vault/key_service.h"

#include <sys/stat.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "common/env_fault.h"
#include "gtest/gtest.h"
#include "vault/sqlite_metadata_store.h"
#include "vault/test_util.h"

namespace sealtrace::vault {
namespace {

using testing::RandomId;
using testing::TempDir;

class KeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteMetadataStore::Open(dir_.Sub("meta.db"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    key_file_ = dir_.Sub("keys/master.key");
    auto ks = KeyService::Open(Env::Default(), store_.get(), key_file_);
    ASSERT_TRUE(ks.ok()) << ks.status();
    keys_ = std::move(*ks);
  }
  TempDir dir_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::string key_file_;
  std::unique_ptr<KeyService> keys_;
};

absl::Status AuditOk() { return absl::OkStatus(); }

TEST_F(KeyServiceTest, MasterKeyFileIsPrivate) {
  struct stat st;
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.Sub("keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  EXPECT_EQ(keys_->current_master_key_version(), 1u);
}

TEST_F(KeyServiceTest, RefusesGroupOrWorldReadableKeyFile) {
  ASSERT_EQ(::chmod(key_file_.c_str(), 0640), 0);
  auto ks = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_FALSE(ks.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(ks.status()));
  EXPECT_NE(ks.status().message().find("chmod 600"), std::string::npos) << ks.status();
  ASSERT_EQ(::chmod(key_file_.c_str(), 0604), 0);
  EXPECT_FALSE(KeyService::Open(Env::Default(), store_.get(), key_file_).ok());
  ASSERT_EQ(::chmod(key_file_.c_str(), 0600), 0);
  EXPECT_TRUE(KeyService::Open(Env::Default(), store_.get(), key_file_).ok());
}

TEST_F(KeyServiceTest, RefusesMalformedKeyFile) {
  std::string path = dir_.Sub("bad.key");
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), path, "1 notbase64!!\n", 0600).ok());
  auto ks = KeyService::Open(Env::Default(), store_.get(), path);
  EXPECT_TRUE(absl::IsFailedPrecondition(ks.status())) << ks.status();
}

TEST_F(KeyServiceTest, CreateReleaseRoundTripSurvivesReopen) {
  Id16 id = RandomId();
  auto pk = keys_->CreateContributorKey(id);
  ASSERT_TRUE(pk.ok()) << pk.status();
  EXPECT_EQ(pk->size(), kPublicKeyBytes);
  EXPECT_EQ(*keys_->PublicKey(id), *pk);
  EXPECT_TRUE(absl::IsAlreadyExists(keys_->CreateContributorKey(id).status()));

  // The stored row holds only the wrapped key.
  auto row = store_->GetLatestContributorKey(id);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->public_key, *pk);

  auto ks2 = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_TRUE(ks2.ok());
  int audited = 0;
  auto rel = (*ks2)->ReleaseSecretKey(id, [&] {
    ++audited;
    return absl::OkStatus();
  });
  ASSERT_TRUE(rel.ok()) << rel.status();
  EXPECT_EQ(audited, 1);
  EXPECT_EQ(rel->public_key, *pk);
  EXPECT_EQ(BoxPublicKeyOf(rel->secret_key), *pk);
  EXPECT_EQ((*row)->wrapped_secret_key.find(rel->secret_key.view()), std::string::npos);
}

TEST_F(KeyServiceTest, NoAuditNoKey) {
  Id16 id = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(id).ok());
  auto rel = keys_->ReleaseSecretKey(id, [] { return absl::UnavailableError("audit log down"); });
  ASSERT_FALSE(rel.ok());
  EXPECT_TRUE(absl::IsUnavailable(rel.status()));
  EXPECT_EQ(rel.status().message(), "audit log down");
  EXPECT_FALSE(keys_->ReleaseSecretKey(id, nullptr).ok());
}

TEST_F(KeyServiceTest, WrappedKeyNeedsTheSameMasterKey) {
  Id16 id = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(id).ok());
  auto other = KeyService::Open(Env::Default(), store_.get(), dir_.Sub("other/master.key"));
  ASSERT_TRUE(other.ok());
  auto rel = (*other)->ReleaseSecretKey(id, AuditOk);
  EXPECT_TRUE(absl::IsDataLoss(rel.status())) << rel.status();
}

TEST_F(KeyServiceTest, WrappedKeyIsBoundToItsContributor) {
  Id16 a = RandomId(), b = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(a).ok());
  auto row = store_->GetLatestContributorKey(a);
  ContributorKeyRecord moved = **row;
  moved.contributor_id = b;  // copy a's wrapped key to b
  ASSERT_TRUE(store_->PutContributorKey(moved).ok());
  EXPECT_TRUE(absl::IsDataLoss(keys_->ReleaseSecretKey(b, AuditOk).status()));
}

TEST_F(KeyServiceTest, DestroyShredsTheKey) {
  Id16 id = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(id).ok());
  ASSERT_TRUE(keys_->DestroyContributorKey(id).ok());
  EXPECT_TRUE(absl::IsNotFound(keys_->PublicKey(id).status()));
  bool audited = false;
  auto rel = keys_->ReleaseSecretKey(id, [&] {
    audited = true;
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsNotFound(rel.status()));
  EXPECT_FALSE(audited);
  auto row = store_->GetLatestContributorKey(id);
  EXPECT_TRUE((*row)->destroyed);
  EXPECT_TRUE((*row)->wrapped_secret_key.empty());
  EXPECT_TRUE(keys_->DestroyContributorKey(id).ok());  // idempotent
  EXPECT_TRUE(absl::IsNotFound(keys_->PublicKey(RandomId()).status()));
}

// A MetadataStore that forwards to a real one and fails UpdateWrappedKey after
// `allowed_updates` successful calls (a rotation that dies midway).
class FailingStore final : public MetadataStore {
 public:
  FailingStore(MetadataStore* base, int allowed_updates) : base_(base), allowed_(allowed_updates) {}
  absl::Status Ping() override { return base_->Ping(); }
  absl::Status CreateContributor(const ContributorRecord& c) override {
    return base_->CreateContributor(c);
  }
  absl::StatusOr<std::optional<ContributorRecord>> GetContributor(const Id16& id) override {
    return base_->GetContributor(id);
  }
  absl::StatusOr<std::optional<ContributorRecord>> FindContributorByName(
      const std::string& name) override {
    return base_->FindContributorByName(name);
  }
  absl::Status PutContributorKey(const ContributorKeyRecord& k) override {
    return base_->PutContributorKey(k);
  }
  absl::StatusOr<std::optional<ContributorKeyRecord>> GetLatestContributorKey(
      const Id16& id) override {
    return base_->GetLatestContributorKey(id);
  }
  absl::StatusOr<int> DestroyContributorKeys(const Id16& id, int64_t now_us) override {
    return base_->DestroyContributorKeys(id, now_us);
  }
  absl::StatusOr<std::vector<ContributorKeyRecord>> ListContributorKeys() override {
    return base_->ListContributorKeys();
  }
  absl::StatusOr<bool> UpdateWrappedKey(const Id16& id, uint32_t key_version, uint32_t from,
                                        uint32_t to, const std::string& wrapped) override {
    if (allowed_-- <= 0) return absl::UnavailableError("store went away (injected)");
    return base_->UpdateWrappedKey(id, key_version, from, to, wrapped);
  }
  absl::Status CreateDevice(const DeviceRecord& d) override { return base_->CreateDevice(d); }
  absl::StatusOr<std::optional<DeviceRecord>> GetDevice(const Id16& id) override {
    return base_->GetDevice(id);
  }
  absl::StatusOr<std::optional<DeviceRecord>> FindDeviceByTokenHash(const std::string& h) override {
    return base_->FindDeviceByTokenHash(h);
  }
  absl::Status TouchDevice(const Id16& id, int64_t t) override { return base_->TouchDevice(id, t); }
  absl::Status RevokeDevice(const Id16& id, int64_t t) override { return base_->RevokeDevice(id, t); }
  absl::Status DeleteEnrolment(const Id16& d, const Id16& c, bool n) override {
    return base_->DeleteEnrolment(d, c, n);
  }
  absl::StatusOr<InsertSegmentResult> InsertSegment(const SegmentRecord& s) override {
    return base_->InsertSegment(s);
  }
  absl::StatusOr<std::optional<SegmentRecord>> GetSegment(const Id16& id) override {
    return base_->GetSegment(id);
  }
  absl::StatusOr<std::vector<SegmentRecord>> ListSegments(const Id16& id, int limit) override {
    return base_->ListSegments(id, limit);
  }
  absl::Status DeleteSegment(const Id16& id) override { return base_->DeleteSegment(id); }
  absl::StatusOr<bool> BlobReferenced(const std::string& h) override {
    return base_->BlobReferenced(h);
  }
  absl::StatusOr<StoreCounts> Counts() override { return base_->Counts(); }
  absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& k) override {
    return base_->GetSetting(k);
  }
  absl::Status PutSetting(const std::string& k, const std::string& v) override {
    return base_->PutSetting(k, v);
  }

 private:
  MetadataStore* base_;
  std::atomic<int> allowed_;
};

// Contributor id -> its secret key as released before any rotation.
std::map<Id16, std::string> MakeKeys(KeyService* ks, int n) {
  std::map<Id16, std::string> out;
  for (int i = 0; i < n; ++i) {
    Id16 id = RandomId();
    EXPECT_TRUE(ks->CreateContributorKey(id).ok());
    auto rel = ks->ReleaseSecretKey(id, AuditOk);
    EXPECT_TRUE(rel.ok()) << rel.status();
    if (rel.ok()) out[id] = std::string(rel->secret_key.view());
  }
  return out;
}

// Every key releases to the same secret key as before.
void ExpectAllReleasable(KeyService* ks, const std::map<Id16, std::string>& keys) {
  for (const auto& [id, sk] : keys) {
    auto rel = ks->ReleaseSecretKey(id, AuditOk);
    ASSERT_TRUE(rel.ok()) << id.Hex() << ": " << rel.status();
    EXPECT_EQ(std::string(rel->secret_key.view()), sk) << id.Hex();
  }
}

std::map<uint32_t, int> RowsByMasterVersion(MetadataStore* store) {
  std::map<uint32_t, int> out;
  auto rows = store->ListContributorKeys();
  EXPECT_TRUE(rows.ok()) << rows.status();
  if (rows.ok()) {
    for (const auto& r : *rows) ++out[r.master_key_version];
  }
  return out;
}

std::vector<uint32_t> VersionsInFile(MetadataStore* store, const std::string& key_file) {
  auto ks = KeyService::Open(Env::Default(), store, key_file);
  EXPECT_TRUE(ks.ok()) << ks.status();
  return ks.ok() ? (*ks)->master_key_versions() : std::vector<uint32_t>{};
}

TEST_F(KeyServiceTest, RotateRewrapsEveryLiveKeyAndRetiresTheOldVersion) {
  auto keys = MakeKeys(keys_.get(), 4);
  Id16 shredded = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(shredded).ok());
  ASSERT_TRUE(keys_->DestroyContributorKey(shredded).ok());
  std::map<Id16, std::string> wrapped_before;
  auto rows_before = *store_->ListContributorKeys();
  for (const auto& r : rows_before) {
    wrapped_before[r.contributor_id] = r.wrapped_secret_key;
  }

  auto r = keys_->RotateMasterKey();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->new_version);
  EXPECT_EQ(r->previous_version, 1u);
  EXPECT_EQ(r->master_key_version, 2u);
  EXPECT_EQ(r->rewrapped, 4);
  EXPECT_EQ(r->skipped, 0);
  EXPECT_EQ(keys_->current_master_key_version(), 2u);
  EXPECT_EQ(RowsByMasterVersion(store_.get()), (std::map<uint32_t, int>{{2, 4}}));
  auto rows_after = *store_->ListContributorKeys();
  for (const auto& row : rows_after) {
    EXPECT_NE(row.wrapped_secret_key, wrapped_before[row.contributor_id]);
  }
  // The file holds both versions, still private.
  struct stat st;
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(VersionsInFile(store_.get(), key_file_), (std::vector<uint32_t>{1, 2}));
  ExpectAllReleasable(keys_.get(), keys);
  // The shredded key stays shredded.
  EXPECT_TRUE(absl::IsNotFound(keys_->ReleaseSecretKey(shredded, AuditOk).status()));
  // New keys are wrapped under the new version.
  Id16 later = RandomId();
  ASSERT_TRUE(keys_->CreateContributorKey(later).ok());
  EXPECT_EQ((*store_->GetLatestContributorKey(later))->master_key_version, 2u);

  // Retirement: not the current one, not an unknown one; the old one once unused.
  EXPECT_TRUE(absl::IsFailedPrecondition(keys_->RetireMasterKey(2)));
  EXPECT_TRUE(absl::IsNotFound(keys_->RetireMasterKey(7)));
  ASSERT_TRUE(keys_->RetireMasterKey(1).ok());
  EXPECT_EQ(keys_->master_key_versions(), (std::vector<uint32_t>{2}));
  EXPECT_EQ(VersionsInFile(store_.get(), key_file_), (std::vector<uint32_t>{2}));
  ASSERT_EQ(::stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // After a restart every key still releases (nothing needs version 1).
  auto reopened = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ExpectAllReleasable(reopened->get(), keys);

  // A completed rotation followed by another one adds a version again.
  auto r2 = (*reopened)->RotateMasterKey();
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_TRUE(r2->new_version);
  EXPECT_EQ(r2->master_key_version, 3u);
  EXPECT_EQ(r2->rewrapped, 5);
  ExpectAllReleasable(reopened->get(), keys);
}

class RotationCrashTest : public KeyServiceTest, public ::testing::WithParamInterface<int> {};

// The store fails after `GetParam()` rewraps (0: right after the key file was
// written). The process "dies": a fresh service on the same file and rows must
// release every key, refuse to retire the old version, and finish on a second run.
TEST_P(RotationCrashTest, CrashMidwayKeepsEveryKeyAndASecondRunFinishes) {
  const int done_before_crash = GetParam();
  auto keys = MakeKeys(keys_.get(), 6);
  {
    FailingStore failing(store_.get(), done_before_crash);
    auto ks = KeyService::Open(Env::Default(), &failing, key_file_);
    ASSERT_TRUE(ks.ok()) << ks.status();
    auto r = (*ks)->RotateMasterKey();
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  }
  std::map<uint32_t, int> want{{1, 6 - done_before_crash}};
  if (done_before_crash > 0) want[2] = done_before_crash;
  EXPECT_EQ(RowsByMasterVersion(store_.get()), want);
  auto restarted = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  KeyService* ks = restarted->get();
  EXPECT_EQ(ks->master_key_versions(), (std::vector<uint32_t>{1, 2}));
  ExpectAllReleasable(ks, keys);
  // The old version is still needed.
  absl::Status retire = ks->RetireMasterKey(1);
  EXPECT_TRUE(absl::IsFailedPrecondition(retire)) << retire;
  EXPECT_NE(retire.message().find(std::to_string(6 - done_before_crash) + " contributor key"),
            std::string::npos)
      << retire;
  EXPECT_EQ(ks->master_key_versions(), (std::vector<uint32_t>{1, 2}));

  // The second run resumes: no third version, the rest rewrapped.
  auto r = ks->RotateMasterKey();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->new_version);
  EXPECT_EQ(r->master_key_version, 2u);
  EXPECT_EQ(r->rewrapped, 6 - done_before_crash);
  EXPECT_EQ(RowsByMasterVersion(store_.get()), (std::map<uint32_t, int>{{2, 6}}));
  ASSERT_TRUE(ks->RetireMasterKey(1).ok());
  auto after = KeyService::Open(Env::Default(), store_.get(), key_file_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->master_key_versions(), (std::vector<uint32_t>{2}));
  ExpectAllReleasable(after->get(), keys);
}

INSTANTIATE_TEST_SUITE_P(AfterRewraps, RotationCrashTest, ::testing::Values(0, 1, 5));

TEST_F(KeyServiceTest, FailedKeyFileWriteChangesNothingAndPowerLossKeepsTheNewFile) {
  TempDir dir;
  FaultInjectionEnv fenv(Env::Default());
  const std::string file = dir.Sub("keys/master.key");
  auto opened = KeyService::Open(&fenv, store_.get(), file);
  ASSERT_TRUE(opened.ok()) << opened.status();
  KeyService* ks = opened->get();
  auto keys = MakeKeys(ks, 3);
  // The key file cannot be written: the rotation fails before any row changes.
  fenv.FailNthWrite(1);
  auto r = ks->RotateMasterKey();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ks->current_master_key_version(), 1u);
  EXPECT_EQ(RowsByMasterVersion(store_.get()), (std::map<uint32_t, int>{{1, 3}}));
  EXPECT_EQ(VersionsInFile(store_.get(), file), (std::vector<uint32_t>{1}));
  ExpectAllReleasable(ks, keys);
  // Next time it works, and a power loss right after keeps the new file.
  r = ks->RotateMasterKey();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rewrapped, 3);
  ASSERT_TRUE(fenv.DropUnsyncedData().ok());
  EXPECT_EQ(VersionsInFile(store_.get(), file), (std::vector<uint32_t>{1, 2}));
  auto reopened = KeyService::Open(Env::Default(), store_.get(), file);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ExpectAllReleasable(reopened->get(), keys);
}

TEST_F(KeyServiceTest, TamperedRowStopsRotationAndNamesTheContributor) {
  auto keys = MakeKeys(keys_.get(), 2);
  Id16 victim = keys.begin()->first;
  auto row = *store_->GetLatestContributorKey(victim);
  std::string bad = row->wrapped_secret_key;
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(*store_->UpdateWrappedKey(victim, 1, 1, 1, bad));
  auto r = keys_->RotateMasterKey();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  EXPECT_NE(r.status().message().find(victim.Hex()), std::string::npos) << r.status();
  // The untouched key still releases; retiring version 1 is refused.
  auto other = std::next(keys.begin());
  EXPECT_TRUE(keys_->ReleaseSecretKey(other->first, AuditOk).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(keys_->RetireMasterKey(1)));
}

TEST_F(KeyServiceTest, ReleasesAndEnrolmentsKeepWorkingDuringRotations) {
  auto keys = MakeKeys(keys_.get(), 8);
  std::vector<Id16> ids;
  for (const auto& kv : keys) ids.push_back(kv.first);
  std::atomic<bool> stop{false};
  std::atomic<int> releases{0}, failures{0}, created{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      size_t i = static_cast<size_t>(t);
      while (!stop.load()) {
        const Id16& id = ids[i++ % ids.size()];
        auto rel = keys_->ReleaseSecretKey(id, AuditOk);
        if (!rel.ok() || std::string(rel->secret_key.view()) != keys.at(id)) {
          ++failures;
          ADD_FAILURE() << id.Hex() << ": " << rel.status();
        }
        ++releases;
      }
    });
  }
  std::vector<Id16> new_ids;
  std::thread creator([&] {
    while (!stop.load() && created.load() < 40) {
      Id16 id = RandomId();
      if (keys_->CreateContributorKey(id).ok()) {
        new_ids.push_back(id);
        ++created;
      } else {
        ++failures;
      }
    }
  });
  for (uint32_t round = 0; round < 6; ++round) {
    auto r = keys_->RotateMasterKey();
    ASSERT_TRUE(r.ok()) << r.status();
    // A concurrent enrolment can land under the previous version only before
    // the new one is published; rotation lists rows after that, so none is left.
    absl::Status retire = keys_->RetireMasterKey(r->previous_version);
    EXPECT_TRUE(retire.ok()) << retire;
  }
  stop = true;
  for (auto& t : readers) t.join();
  creator.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(releases.load(), 0);
  EXPECT_EQ(keys_->master_key_versions(), (std::vector<uint32_t>{7}));
  EXPECT_EQ(RowsByMasterVersion(store_.get()),
            (std::map<uint32_t, int>{{7, static_cast<int>(keys.size() + new_ids.size())}}));
  for (const auto& id : new_ids) {
    EXPECT_TRUE(keys_->ReleaseSecretKey(id, AuditOk).ok()) << id.Hex();
  }
}

}  // namespace
}  // namespace sealtrace::vault
