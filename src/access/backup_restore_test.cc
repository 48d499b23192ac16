// Deletion holds against backups: enrol, record, read under a grant, rotate
// the master key, back the vault up, delete one contributor; then restore the
// backup beside the live keys (token, or keys/ on the file backend) and try
// every way to her data. Runs on the key file (access_service_test) and on a
// SoftHSM2 token (hsm_access_service_test).
#include <cstdlib>
#include <filesystem>

#include "access/access_test_util.h"
#include "gtest/gtest.h"

namespace sealtrace::access {
namespace {

namespace fs = std::filesystem;
using testing::AccessFixture;
using testing::AllText;
using testing::Contributor;
using testing::kT0;

constexpr int64_t kFrom = kT0 - 3600'000'000LL;
constexpr int64_t kTo = kT0 + 3600'000'000LL;

// A backup as an operator takes it: the database online (sqlite3 .backup), the
// other files copied, keys/ excluded (docs/THREAT_MODEL.md, "Deletion and
// backups").
void Backup(const std::string& data, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(data)) {
    const std::string name = e.path().filename().string();
    if (name == "keys" || name.find("-wal") != std::string::npos ||
        name.find("-shm") != std::string::npos) {
      continue;
    }
    if (name.size() > 3 && name.substr(name.size() - 3) == ".db") {
      const std::string cmd = "sqlite3 '" + e.path().string() + "' \".backup '" + to + "/" +
                              name + "'\"";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    } else {
      fs::copy(e.path(), to + "/" + name, fs::copy_options::recursive);
    }
  }
}

TEST(BackupRestore, DeletedContributorStaysUnreadableFromARestoredBackup) {
  AccessFixture f;
  if (f.on_postgres()) GTEST_SKIP() << "SQLite files are backed up here; pg: master_keys_test";
  Contributor alice = f.Enrol("alice");
  Contributor bob = f.Enrol("bob");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  f.Upload(bob, 0, kT0 - 600'000'000LL);
  Grant g = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id, bob.id});
  ASSERT_EQ(g.status, GrantStatus::kApproved);
  auto before = f.svc->Read(f.po1, g.id, alice.id, kFrom, kTo, 0);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_NE(AllText(*before).find(alice.canary), std::string::npos);
  auto rot = f.vault_->keys()->RotateMasterKey();
  ASSERT_TRUE(rot.ok()) << rot.status();

  const std::string data = f.vault_->data_dir();
  const std::string backup = data + "-backup";
  Backup(data, backup);
  auto del = f.svc->DeleteOwn(alice.p, true, 0, 0);
  ASSERT_TRUE(del.ok()) << del.status();
  auto after = f.svc->Read(f.po1, g.id, alice.id, kFrom, kTo, 0);
  EXPECT_TRUE(!after.ok() || after->segments.empty());

  // Restore the backup next to the live keys.
  const std::string restored = data + "-restored";
  fs::copy(backup, restored, fs::copy_options::recursive);
  fs::copy(data + "/keys", restored + "/keys", fs::copy_options::recursive);
  vault::VaultOptions vo;
  vo.data_dir = restored;
  if (AccessFixture::HsmKeysRequested()) {
    ASSERT_TRUE(fs::exists(restored + "/hsm.conf"));
  }
  auto v = vault::Vault::Open(vo);
  ASSERT_TRUE(v.ok()) << v.status();
  // Her segments and key row are all in the backup ...
  auto row = (*v)->store()->GetLatestContributorKey(*Id16::FromHex(alice.id));
  ASSERT_TRUE(row.ok() && row->has_value() && !(*row)->destroyed);
  // ... but no code path opens them: the key service refuses her key,
  AccessOptions o;
  o.env = &f.env_;  // the fixture's clock, under which the grant is valid
  o.field_hash_key = std::string(32, 'f');  // the fixture's keys, so its grants stay valid
  o.grant_seal_key = std::string(32, 's');
  auto stack = OpenAccessStack(v->get(), o);
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto released = (*v)->keys()->ReleaseSecretKey(*Id16::FromHex(alice.id),
                                                 [] { return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsNotFound(released.status())) << released.status();
  // an officer's read under the approved grant gets no content,
  auto read = (*stack)->service->Read(f.po1, g.id, alice.id, kFrom, kTo, 0);
  ASSERT_FALSE(read.ok() && !read->segments.empty());
  if (read.ok()) {
    EXPECT_FALSE(read->errors.empty());
  }
  std::cerr << "officer read of the deleted contributor from the backup: "
            << (read.ok() ? "errors: " + (read->errors.empty() ? "" : read->errors[0])
                          : read.status().ToString())
            << "\n";
  // and so does her own sign-in.
  auto own = (*stack)->service->ReadOwn(alice.p, kFrom, kTo);
  if (own.ok()) {
    EXPECT_EQ(AllText(*own).find(alice.canary), std::string::npos);
  }
  // Bob, not deleted, reads back from the same backup.
  auto bob_read = (*stack)->service->Read(f.po1, g.id, bob.id, kFrom, kTo, 0);
  ASSERT_TRUE(bob_read.ok()) << bob_read.status();
  EXPECT_NE(AllText(*bob_read).find(bob.canary), std::string::npos);
  // Nowhere in the restored files is her canary in plaintext.
  EXPECT_TRUE(testing::FilesWith(restored, alice.canary).empty());
}

}  // namespace
}  // namespace sealtrace::access

namespace sealtrace::access {
namespace {

// THREAT_MODEL "Keys in an HSM": an administrator holds the whole data
// directory and the database, but not the token's PIN. Pointed at a key file
// or a token of their own, the vault opens and releases nothing.
TEST(BackupRestore, AnAdministratorWithTheDataDirectoryButNotTheTokenGetsNoPlaintext) {
  if (!AccessFixture::HsmKeysRequested()) GTEST_SKIP() << "runs as hsm_access_service_test";
  // Their own token (made before the module is initialised, so it is seen).
  auto own = ::sealtrace::testing::SoftHsm::Get().NewToken("access-pin");
  ASSERT_TRUE(own.ok());
  AccessFixture f;
  if (f.on_postgres()) GTEST_SKIP() << "SQLite files are copied here";
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  const std::string data = f.vault_->data_dir();
  const std::string copy = data + "-taken";
  fs::copy(data, copy, fs::copy_options::recursive);
  EXPECT_TRUE(testing::FilesWith(copy, alice.canary).empty());
  const Id16 id = *Id16::FromHex(alice.id);
  // Opening the copy must not give them a key: the vault refuses to start on
  // master keys that hold none of the store's versions, and if it started, no
  // release would open.
  auto try_open = [&](const vault::VaultOptions& vo, const char* what) {
    auto v = vault::Vault::Open(vo);
    if (!v.ok()) {
      EXPECT_TRUE(absl::IsFailedPrecondition(v.status())) << what << ": " << v.status();
      return;
    }
    auto r = (*v)->keys()->ReleaseSecretKey(id, [] { return absl::OkStatus(); });
    EXPECT_FALSE(r.ok()) << what;
  };
  // (a) Without hsm.conf, the vault would fall back to a key file.
  fs::remove(copy + "/hsm.conf");
  vault::VaultOptions plain;
  plain.data_dir = copy;
  try_open(plain, "key file");
  EXPECT_FALSE(fs::exists(copy + "/keys/master.key"));  // no fresh key was made
  // (b) A token of their own.
  vault::VaultOptions theirs = plain;
  theirs.master_keys.hsm_module = ::sealtrace::testing::SoftHsm::Get().module();
  theirs.master_keys.hsm_token = *own;
  try_open(theirs, "own token");
  EXPECT_TRUE(testing::FilesWith(copy, alice.canary).empty());
}

}  // namespace
}  // namespace sealtrace::access
