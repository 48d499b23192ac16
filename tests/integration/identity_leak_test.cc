// The leak scenario through identity, on real processes: a vault, a real
// `sealtrace enroll` and agent recording a session with a canary, then two
// attackers who are not the contributor:
//   1. a colleague who holds the fleet's enrolment secret and enrols under
//      the contributor's name;
//   2. a thief with a byte copy of the contributor's whole agent directory
//      (config, spool, state), who tries every token-like string in it on
//      every reading endpoint, as a bearer token, a session cookie and a
//      sign-in code.
// Neither gets one plaintext byte; every attempt is refused and the
// contributor sees the attempts in their audit trail. Then the contributor,
// with the sign-in code shown once on their terminal and their own passkey,
// does read the canary (so the refusals above mean something).
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "access/access_service.h"
#include "access/webauthn_test_util.h"
#include "e2e_util.h"

namespace sealtrace::testing {
namespace {

using json = nlohmann::json;
constexpr char kCanary[] = "zqxCANARYidentity5521";

// Every token-like string in every file under `root`.
std::set<std::string> TokenLikeStrings(const std::string& root) {
  std::set<std::string> out;
  const std::regex re("[A-Za-z0-9_\\-]{16,}");
  for (auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string data = ReadAll(e.path().string());
    for (auto it = std::sregex_iterator(data.begin(), data.end(), re); it != std::sregex_iterator();
         ++it) {
      out.insert(it->str());
    }
  }
  return out;
}

TEST(IdentityLeak, NeitherTheSecretHolderNorTheDeviceThiefReadsAByte) {
  const std::string root = MakeTempDir("st_identity");
  VaultProcess v = NewVault(root);
  v.Start();
  // Alice enrols; the sign-in code goes to her terminal only.
  const std::string cfg = root + "/alice/agent.toml";
  const std::string terminal = root + "/alice-terminal.log";
  ASSERT_EQ(RunToExit({SealtraceBinary(), "enroll", "--server", v.Url(), "--name", "alice",
                       "--config", cfg, "--secret-file", v.dir + "/enroll.secret",
                       "--accept-scope"},
                      terminal),
            0)
      << ReadAll(terminal);
  std::smatch m;
  const std::string shown = ReadAll(terminal);
  ASSERT_TRUE(std::regex_search(shown, m, std::regex("sign-in code: (\\S+)"))) << shown;
  const std::string signin_code = m[1];
  const Id16 alice = ContributorOf(cfg);
  // She records a session with a canary.
  SyntheticOptions so;
  so.events = 400;
  so.seed = 5;
  so.planted_text = kCanary;
  const std::string replay = WriteReplay(root + "/alice-session.jsonl", MakeSyntheticSession(so));
  ASSERT_EQ(RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                       "--speed", "0"},
                      root + "/agent.log"),
            0)
      << ReadAll(root + "/agent.log");

  httplib::Client http("127.0.0.1", v.port);
  http.set_read_timeout(30, 0);
  const std::string secret = ReadAll(v.dir + "/enroll.secret").substr(0, 43);

  // Attacker 1: the enrolment secret and her name.
  const std::string eve_log = root + "/eve.log";
  EXPECT_NE(RunToExit({SealtraceBinary(), "enroll", "--server", v.Url(), "--name", "alice",
                       "--config", root + "/eve/agent.toml", "--secret", secret, "--accept-scope"},
                      eve_log),
            0);
  EXPECT_NE(ReadAll(eve_log).find("--device-code"), std::string::npos) << ReadAll(eve_log);
  EXPECT_FALSE(std::filesystem::exists(root + "/eve/agent.toml"));
  auto raw = http.Post("/v1/enroll", {{"Authorization", "Bearer " + secret}},
                       R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 409) << raw->body;
  EXPECT_EQ(raw->body.find("device_token"), std::string::npos);

  // Attacker 2: a byte copy of her agent directory. The sign-in code is not in it.
  EXPECT_TRUE(FilesContaining(root + "/alice", signin_code).empty());
  const std::set<std::string> candidates = TokenLikeStrings(root + "/alice");
  ASSERT_FALSE(candidates.empty());
  bool had_device_token = false;
  const std::vector<std::string> reads = {
      "/v1/whoami", "/v1/me/segments", "/v1/me/read?from=0&to=9223372036854775807",
      "/v1/grants", "/v1/audit/entries", "/v1/export/segments?grant=g_x"};
  const std::vector<std::string> posts = {"/v1/me/token", "/v1/me/delete", "/v1/tokens",
                                          "/v1/signin/recovery-code"};
  int attempts = 0;
  for (const std::string& tok : candidates) {
    had_device_token |= tok.rfind("std_", 0) == 0;
    const httplib::Headers bearer = {{"Authorization", "Bearer " + tok}};
    for (const auto& path : reads) {
      auto r = http.Get(path, bearer);
      ASSERT_TRUE(r);
      EXPECT_NE(r->status, 200) << path << " with a string from the copy";
      EXPECT_EQ(r->body.find(kCanary), std::string::npos);
      ++attempts;
    }
    for (const auto& path : posts) {
      auto r = http.Post(path, bearer, R"({"all":true,"contributor_id":")" + alice.Hex() + "\"}",
                         "application/json");
      ASSERT_TRUE(r);
      EXPECT_NE(r->status, 200) << path;
      ++attempts;
    }
    auto cookie = http.Get("/dashboard/me/export.jsonl", {{"Cookie", "st_session=" + tok}});
    ASSERT_TRUE(cookie);
    EXPECT_EQ(cookie->body.find(kCanary), std::string::npos);
    auto code = http.Post("/dashboard/passkey/register/begin",
                          {{"Origin", "http://127.0.0.1:" + std::to_string(v.port)}},
                          "code=" + tok, "application/x-www-form-urlencoded");
    ASSERT_TRUE(code);
    EXPECT_NE(code->status, 200) << code->body;
    attempts += 2;
  }
  EXPECT_TRUE(had_device_token) << "the copy holds the device token (so the test tried it)";
  std::cout << candidates.size() << " strings from the copy, " << attempts
            << " attempts, none read anything\n";

  // Alice herself: the code from her terminal, her passkey, her data.
  access::testing::SoftAuthenticator key;
  // The browser is on http://localhost:PORT: passkeys are bound to the RP id localhost.
  const std::string origin = "http://localhost:" + std::to_string(v.port);
  const std::string host = "localhost:" + std::to_string(v.port);
  key.origin = origin;
  const httplib::Headers o = {{"Origin", origin}, {"Host", host}};
  auto begin = http.Post("/dashboard/passkey/register/begin", o, "code=" + signin_code,
                         "application/x-www-form-urlencoded");
  ASSERT_TRUE(begin);
  ASSERT_EQ(begin->status, 200) << begin->body;
  json b = json::parse(begin->body);
  auto reg = key.Register(*FromBase64Url(b["options"]["challenge"].get<std::string>()));
  auto finish = http.Post(
      "/dashboard/passkey/register/finish", o,
      "ceremony=" + b["ceremony"].get<std::string>() + "&client_data=" +
          Base64Url(reg.client_data_json) + "&attestation=" + Base64Url(reg.attestation_object),
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(finish);
  ASSERT_EQ(finish->status, 200) << finish->body;
  std::string cookie = finish->get_header_value("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  auto mine = http.Get("/dashboard/me/export.jsonl", {{"Cookie", cookie}, {"Host", host}});
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->status, 200);
  std::string typed;
  for (size_t at = 0; (at = mine->body.find("\"text\":\"", at)) != std::string::npos;) {
    at += 8;
    typed += mine->body.substr(at, mine->body.find('"', at) - at);
  }
  EXPECT_NE(typed.find(kCanary), std::string::npos) << "her own read sees her canary";

  // She revokes the copied device: its token no longer uploads, and she sees the attempts.
  std::smatch dm;
  const std::string conf = ReadAll(cfg);
  ASSERT_TRUE(std::regex_search(conf, dm, std::regex("device_token = ['\"](std_[^'\"]+)")));
  const std::string device_token = dm[1];
  auto page = http.Get("/dashboard/me/devices", {{"Cookie", cookie}, {"Host", host}});
  ASSERT_TRUE(page);
  std::smatch cm;
  ASSERT_TRUE(std::regex_search(page->body, cm, std::regex("name=\"csrf\" value=\"([^\"]+)\"")));
  auto revoke = http.Post("/dashboard/me/devices/revoke",
                          {{"Cookie", cookie}, {"Origin", origin}, {"Host", host}},
                          "csrf=" + cm[1].str() + "&device_id=" + ReadAll(cfg).substr(
                              ReadAll(cfg).find("device_id = ") + 13, 32),
                          "application/x-www-form-urlencoded");
  ASSERT_TRUE(revoke);
  EXPECT_EQ(revoke->status, 303) << revoke->body;
  for (int i = 0; i < 2; ++i) {
    auto up = http.Post("/v1/segments", {{"Authorization", "Bearer " + device_token}},
                        std::string(300, 'x'), "application/octet-stream");
    ASSERT_TRUE(up);
    EXPECT_EQ(up->status, 401);
    EXPECT_NE(up->body.find("revoked"), std::string::npos) << up->body;
  }
  v.Stop();

  // Her audit trail shows the attempts: the taken name and her device's token.
  // (Read in-process from the embedded files; on PostgreSQL the same entries
  // are checked by pg_access_signin_test and pg_access_http_test.)
  if (OnPostgres()) return;
  vault::VaultOptions vo;
  vo.data_dir = v.dir;
  auto vault = vault::Vault::Open(vo);
  ASSERT_TRUE(vault.ok()) << vault.status();
  auto stack = access::OpenAccessStack(vault->get());
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto entries = (*stack)->log->EntriesForContributor(alice.Hex());
  ASSERT_TRUE(entries.ok());
  int name_taken = 0, device_refused = 0, revoked_upload = 0;
  for (const auto& [i, e] : *entries) {
    name_taken += e.rule == "enrol.name_taken";
    device_refused += e.rule == "device.not_a_reader";
    revoked_upload += e.rule == "device.revoked";
  }
  EXPECT_EQ(name_taken, 2);  // the CLI and the raw request
  EXPECT_GE(device_refused, 10);
  EXPECT_EQ(revoked_upload, 1);  // at most one an hour per device
}

}  // namespace
}  // namespace sealtrace::testing
