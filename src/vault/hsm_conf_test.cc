// <data>/hsm.conf and how a Vault picks its master key backend from it.
#include <sys/stat.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "hsm/softhsm.h"
#include "vault/master_keys.h"
#include "vault/test_util.h"
#include "vault/vault.h"

namespace sealtrace::vault {
namespace {

using ::sealtrace::testing::SoftHsm;
using testing::TempDir;

TEST(HsmConfTest, ParsesWhatItWritesAndRefusesWhatItDoesNotKnow) {
  MasterKeyConfig c;
  c.hsm_module = "/usr/lib/softhsm/libsofthsm2.so";
  c.hsm_token = "vault token";
  c.hsm_pin_file = "/etc/sealtrace/hsm pin";
  auto back = ParseHsmConf(EncodeHsmConf(c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->hsm_module, c.hsm_module);
  EXPECT_EQ(back->hsm_token, c.hsm_token);
  EXPECT_EQ(back->hsm_pin_file, c.hsm_pin_file);
  EXPECT_EQ(EncodeHsmConf(c).find("pin ="), std::string::npos);

  auto crlf = ParseHsmConf("# c\r\nmodule=/m.so\r\n\r\n  token =  t  \r\n");
  ASSERT_TRUE(crlf.ok()) << crlf.status();
  EXPECT_EQ(crlf->hsm_module, "/m.so");
  EXPECT_EQ(crlf->hsm_token, "t");
  EXPECT_TRUE(crlf->hsm_pin_file.empty());

  for (const char* bad : {"", "module = /m.so\n", "token = t\n", "module /m.so\ntoken = t\n",
                          "module = /m.so\ntoken = t\npin = 1234\n",
                          "module = /a\nmodule = /b\ntoken = t\n", "module = /m.so\ntoken =\n",
                          "module = /m.so\ntoken = 012345678901234567890123456789012\n"}) {
    auto r = ParseHsmConf(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
  auto line = ParseHsmConf("module = /m.so\nbogus = 1\ntoken = t\n");
  EXPECT_NE(line.status().message().find("line 2"), std::string::npos) << line.status();
}

TEST(HsmConfTest, AVaultSetUpOnAnHsmRemembersIt) {
  TempDir dir;
  auto token = SoftHsm::Get().NewToken("8642");
  ASSERT_TRUE(token.ok());
  const std::string pin = dir.Sub("pin");
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), pin, "8642\n", 0600).ok());
  VaultOptions o;
  o.data_dir = dir.Sub("data");
  o.master_keys.hsm_module = SoftHsm::Get().module();
  o.master_keys.hsm_token = *token;
  o.master_keys.hsm_pin_file = pin;
  {
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE((*v)->keys()->master_keys()->InHsm());
    EXPECT_TRUE((*v)->KeysHealth().ok());
  }
  EXPECT_FALSE(Env::Default()->FileExists(dir.Sub("data/keys/master.key")));
  struct stat st;
  ASSERT_EQ(::stat(dir.Sub("data/hsm.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  {  // Opened with no key options: hsm.conf decides; no key file appears.
    VaultOptions plain;
    plain.data_dir = o.data_dir;
    auto v = Vault::Open(plain);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE((*v)->keys()->master_keys()->InHsm());
  }
  EXPECT_FALSE(Env::Default()->FileExists(dir.Sub("data/keys/master.key")));
  VaultOptions other = o;
  other.master_keys.hsm_token = "another-token";
  auto refused = Vault::Open(other);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
}

// The token goes away (its storage vanishes) and the vault restarts: it
// starts, ingests sealed segments, says "degraded", and releases no key.
TEST(HsmConfTest, WithoutItsTokenAVaultStillIngestsAndReleasesNothing) {
  TempDir dir;
  auto token = SoftHsm::Get().NewToken("9753");
  ASSERT_TRUE(token.ok());
  const std::string pin = dir.Sub("pin");
  ASSERT_TRUE(WriteFileAtomic(Env::Default(), pin, "9753\n", 0600).ok());
  VaultOptions o;
  o.data_dir = dir.Sub("data");
  o.master_keys.hsm_module = SoftHsm::Get().module();
  o.master_keys.hsm_token = *token;
  o.master_keys.hsm_pin_file = pin;
  std::string secret;
  EnrollResult alice;
  {
    auto v = Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    secret = *Env::Default()->ReadFile((*v)->enroll_secret_path());
    while (!secret.empty() && secret.back() == '\n') secret.pop_back();
    alice = (*v)->enroll()->Enroll({"Bearer " + secret, R"({"name":"alice"})"});
    ASSERT_EQ(alice.outcome, EnrollOutcome::kEnrolled) << alice.message;
  }
  // Every token's storage goes away (SoftHSM2 keeps one directory per token).
  namespace fs = std::filesystem;
  const fs::path tokens = SoftHsm::Get().token_dir(), away = tokens.string() + ".away";
  fs::create_directories(away);
  for (const auto& e : fs::directory_iterator(tokens)) fs::rename(e.path(), away / e.path().filename());
  struct Restore {
    fs::path from, to;
    ~Restore() {
      for (const auto& e : fs::directory_iterator(from)) fs::rename(e.path(), to / e.path().filename());
    }
  } restore{away, tokens};
  VaultOptions again;
  again.data_dir = o.data_dir;  // hsm.conf names the token
  auto v = Vault::Open(again);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(absl::IsUnavailable((*v)->KeysHealth())) << (*v)->KeysHealth();
  const Id16 c = *Id16::FromHex(alice.contributor_id);
  const Id16 d = *Id16::FromHex(alice.device_id);
  const std::string seg = testing::MakeSegment(c, d, testing::RandomId(), 0,
                                               alice.contributor_public_key);
  const std::string auth = "Bearer " + alice.device_token;
  IngestRequest req;
  req.authorization = auth;
  req.content_length = seg.size();
  req.body = seg;
  EXPECT_EQ((*v)->ingest()->Ingest(req).outcome, IngestOutcome::kStored);
  bool audited = false;
  auto rel = (*v)->keys()->ReleaseSecretKey(c, [&] {
    audited = true;
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsUnavailable(rel.status())) << rel.status();
  EXPECT_TRUE(audited);  // the attempt is on record; no key came out
  // Enrolment needs the token: refused, with the reason.
  EnrollResult bob = (*v)->enroll()->Enroll({"Bearer " + secret, R"({"name":"bob"})"});
  EXPECT_NE(bob.outcome, EnrollOutcome::kEnrolled);
}

TEST(HsmConfTest, KeyFileVaultsRefuseAnHsmAndPostgresStyleOpensRefuseALocalKey) {
  TempDir dir;
  VaultOptions o;
  o.data_dir = dir.Sub("data");
  ASSERT_TRUE(Vault::Open(o).ok());  // a key-file vault
  VaultOptions hsm = o;
  hsm.master_keys.hsm_module = SoftHsm::Get().module();
  hsm.master_keys.hsm_token = "whatever";
  auto r = Vault::Open(hsm);
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("not supported yet"), std::string::npos);

  VaultOptions strict = o;
  strict.allow_local_master_key = false;
  auto s = Vault::Open(strict);
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_NE(s.status().message().find("--allow-local-master-key"), std::string::npos);
  strict.master_keys.key_file = dir.Sub("elsewhere/master.key");  // outside the data dir
  EXPECT_TRUE(Vault::Open(strict).ok());
}

}  // namespace
}  // namespace sealtrace::vault
