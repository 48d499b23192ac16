// Test fixture: a throwaway PostgreSQL cluster on loopback.
//
// Start(): initdb (as the postgres user when run as root: initdb refuses root)
// into a fresh temp dir, pg_ctl start on a free 127.0.0.1 port with the socket
// dir inside the temp dir, create database "sealtrace". The destructor stops
// the server (immediate) and removes the directory. Kill()/Restart() simulate a
// crash of the database server (pg_ctl stop -m immediate, then start again).
//
// Binaries: $SEALTRACE_PG_BIN, else /usr/lib/postgresql/15/bin, else PATH.
// Thread-safety: none; use from the test thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sealtrace::testing {

class PgCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start();
  ~PgCluster();

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // libpq connection string for database `db`.
  std::string ConnInfo(const std::string& db = "sealtrace") const;
  // Creates a fresh database and returns its connection string.
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);
  // Runs SQL on database `db` (admin connection).
  absl::Status Exec(const std::string& sql, const std::string& db = "sealtrace");
  // Runs a query returning one integer (first column of the first row).
  absl::StatusOr<int64_t> QueryInt(const std::string& sql, const std::string& db = "sealtrace");

  absl::Status Kill();     // pg_ctl stop -m immediate (a crash: WAL recovery on start)
  absl::Status Restart();  // pg_ctl start -w

  // Shared cluster for a test binary (started on first use, stopped at exit).
  static PgCluster* Shared();

  // True when this test process is to run its backend-neutral tests on
  // PostgreSQL: the environment has SEALTRACE_TEST_BACKEND=postgres, which the
  // pg-labelled ctest entries of sealtrace_pg_variant() set. Each test source
  // is compiled once and run on both backends.
  static bool Requested();

 private:
  PgCluster() = default;
  std::string Bin(const std::string& tool) const;
  std::string dir_;
  std::string bin_dir_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace sealtrace::testing
