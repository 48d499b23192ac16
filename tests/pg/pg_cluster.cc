#include "pg/pg_cluster.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "pg/subprocess.h"

namespace sealtrace::testing {
namespace fs = std::filesystem;

std::string PgCluster::Bin(const std::string& tool) const {
  return bin_dir_.empty() ? tool : bin_dir_ + "/" + tool;
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start() {
  std::unique_ptr<PgCluster> c(new PgCluster());
  if (const char* b = getenv("SEALTRACE_PG_BIN"); b && *b) {
    c->bin_dir_ = b;
  } else if (fs::exists("/usr/lib/postgresql/15/bin/initdb")) {
    c->bin_dir_ = "/usr/lib/postgresql/15/bin";
  }
  std::string tmpl = (fs::temp_directory_path() / "sealtrace-pg-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return absl::InternalError("mkdtemp failed");
  c->dir_ = tmpl;
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (!pw) return absl::FailedPreconditionError("no postgres user (apt-get install postgresql)");
    if (chown(c->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("chown of the temp dir failed");
    }
  }
  const std::string log = c->dir_ + "/fixture.log";
  auto rc = RunCommand(AsPostgres({c->Bin("initdb"), "-D", c->dir_ + "/data", "-A", "trust", "-U",
                                   "postgres", "-E", "UTF8", "--locale=C", "--no-sync"}),
                       log);
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return absl::InternalError("initdb failed, see " + log);
  c->port_ = FreeLoopbackPort();
  if (auto s = c->Restart(); !s.ok()) return s;
  if (auto s = c->Exec("CREATE DATABASE sealtrace", "postgres"); !s.ok()) return s;
  return c;
}

PgCluster::~PgCluster() {
  if (running_) Kill().IgnoreError();
  if (!dir_.empty() && getenv("SEALTRACE_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PgCluster::ConnInfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db;
}

absl::Status PgCluster::Exec(const std::string& sql, const std::string& db) {
  PGconn* conn = PQconnectdb((ConnInfo(db) + " connect_timeout=5").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError("pg fixture connect: " + msg);
  }
  PGresult* r = PQexec(conn, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  absl::Status s = absl::OkStatus();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    s = absl::InternalError("pg fixture: " + sql + ": " + PQresultErrorMessage(r));
  }
  PQclear(r);
  PQfinish(conn);
  return s;
}

absl::StatusOr<int64_t> PgCluster::QueryInt(const std::string& sql, const std::string& db) {
  PGconn* conn = PQconnectdb((ConnInfo(db) + " connect_timeout=5").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError("pg fixture connect: " + msg);
  }
  PGresult* r = PQexec(conn, sql.c_str());
  absl::StatusOr<int64_t> out = absl::InternalError("pg fixture: no row: " + sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    out = absl::InternalError("pg fixture: " + sql + ": " + PQresultErrorMessage(r));
  } else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
    out = std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
  }
  PQclear(r);
  PQfinish(conn);
  return out;
}

absl::StatusOr<std::string> PgCluster::CreateDatabase(const std::string& name) {
  if (auto s = Exec("CREATE DATABASE " + name, "postgres"); !s.ok()) return s;
  return ConnInfo(name);
}

absl::Status PgCluster::Kill() {
  auto rc =
      RunCommand(AsPostgres({Bin("pg_ctl"), "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}),
                 dir_ + "/fixture.log");
  if (!rc.ok()) return rc.status();
  running_ = false;
  if (*rc != 0) return absl::InternalError("pg_ctl stop failed, see " + dir_ + "/fixture.log");
  return absl::OkStatus();
}

absl::Status PgCluster::Restart() {
  const std::string opts = "-p " + std::to_string(port_) + " -k " + dir_ +
                           " -c listen_addresses=127.0.0.1 -c max_connections=200"
                           " -c fsync=on -c synchronous_commit=on -c shared_buffers=32MB";
  auto rc = RunCommand(AsPostgres({Bin("pg_ctl"), "-D", dir_ + "/data", "-l",
                                   dir_ + "/postgres.log", "-w", "-t", "60", "-o", opts, "start"}),
                       dir_ + "/fixture.log");
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return absl::InternalError("pg_ctl start failed, see " + dir_ + "/postgres.log");
  running_ = true;
  return absl::OkStatus();
}

bool PgCluster::Requested() {
  const char* b = getenv("SEALTRACE_TEST_BACKEND");
  return b != nullptr && std::string_view(b) == "postgres";
}

PgCluster* PgCluster::Shared() {
  static PgCluster* shared = [] {
    auto c = Start();
    if (!c.ok()) {
      fprintf(stderr, "cannot start the PostgreSQL test cluster: %s\n",
              std::string(c.status().message()).c_str());
      return static_cast<PgCluster*>(nullptr);
    }
    return c->release();
  }();
  static struct Reaper {
    ~Reaper() { delete shared; }
  } reaper;
  return shared;
}

}  // namespace sealtrace::testing
