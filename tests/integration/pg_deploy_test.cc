// A PostgreSQL vault set up as docs/DEPLOY.md says: `sealtrace server init
// --backend postgres --hsm-module ...` then `sealtrace server --backend
// postgres`. The principals and bootstrap audit entries are in PostgreSQL, the
// keys in a SoftHSM2 token, and the data directory holds no SQLite file and no
// master key file. (Label pg: needs the throwaway PostgreSQL cluster.)
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/env.h"
#include "harness.h"
#include "hsm/softhsm.h"
#include "pg/pg_cluster.h"

namespace sealtrace::testing {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(PgDeploy, InitOnPostgresWithAnHsmThenServeKeepsNothingInTheDataDirectory) {
  PgCluster* pg = PgCluster::Shared();
  ASSERT_NE(pg, nullptr);
  auto db = pg->CreateDatabase("deploy_" + std::to_string(getpid()));
  ASSERT_TRUE(db.ok()) << db.status();
  auto token = SoftHsm::Get().NewToken("deploy-pin");
  ASSERT_TRUE(token.ok()) << token.status();
  const std::string root = MakeTempDir("pg-deploy");
  const std::string pin = root + "/hsm.pin";
  WriteAll(pin, "deploy-pin\n");
  ::chmod(pin.c_str(), 0600);
  const std::string data = root + "/vault";

  // Without an HSM, a PostgreSQL vault refuses a master key file in --data.
  const std::string refused_log = root + "/init-refused.log";
  EXPECT_NE(RunToExit({SealtraceBinary(), "server", "init", "--data", root + "/nohsm", "--backend",
                       "postgres", "--postgres", *db},
                      refused_log),
            0);
  EXPECT_NE(ReadAll(refused_log).find("--allow-local-master-key"), std::string::npos)
      << ReadAll(refused_log);

  const std::string init_log = root + "/init.log";
  ASSERT_EQ(RunToExit({SealtraceBinary(), "server", "init", "--data", data, "--backend",
                       "postgres", "--postgres", *db, "--hsm-module", SoftHsm::Get().module(),
                       "--hsm-token", *token, "--hsm-pin-file", pin},
                      init_log),
            0)
      << ReadAll(init_log);
  for (const char* f : {"meta.db", "access.db", "audit.db", "dp_ledger.db", "keys/master.key"}) {
    EXPECT_FALSE(Env::Default()->FileExists(data + "/" + f)) << f << "\n" << ReadAll(init_log);
  }
  EXPECT_TRUE(Env::Default()->FileExists(data + "/hsm.conf"));

  const int port = FreeLoopbackPort();
  const std::string log = root + "/vault.log";
  Process vault({SealtraceBinary(), "server", "--data", data, "--backend", "postgres",
                 "--postgres", *db, "--listen", "127.0.0.1:" + std::to_string(port)},
                log);
  const std::string ca = data + "/tls/ca.crt";
  ASSERT_TRUE(WaitHealthyTls(port, ca, 20000)) << ReadAll(log);
  EXPECT_NE(ReadAll(log).find("PKCS#11 token"), std::string::npos) << ReadAll(log);

  // The operator made by init is known to the PostgreSQL vault.
  httplib::SSLClient c("127.0.0.1", port);
  c.set_ca_cert_path(ca.c_str());
  c.enable_server_certificate_verification(true);
  const std::string op = Trimmed(ReadAll(data + "/bootstrap/operator.token"));
  auto r = c.Get("/v1/principals", {{"Authorization", "Bearer " + op}});
  ASSERT_TRUE(r) << ReadAll(log);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("privacy officer 2"), std::string::npos) << r->body;
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->body, "ok\n");
  vault.Terminate();
  EXPECT_EQ(vault.Wait(15000), 0) << ReadAll(log);
  for (const char* f : {"meta.db", "access.db", "audit.db", "dp_ledger.db", "keys/master.key"}) {
    EXPECT_FALSE(Env::Default()->FileExists(data + "/" + f)) << f;
  }
}

}  // namespace
}  // namespace sealtrace::testing
