// Small libpq helpers shared by the PostgreSQL stores: a connection pool with
// per-connection prepared statements, SQLSTATE -> absl::Status mapping, and
// versioned schema migrations (table schema_migrations).
//
// Error mapping: unique violation -> ALREADY_EXISTS, foreign key violation ->
// NOT_FOUND, connection loss / server shutting down / starting / too many
// connections / serialization failure / deadlock -> UNAVAILABLE (retryable),
// everything else INTERNAL. A connection that went bad is dropped from the pool
// and a new one is made on the next call, so a restarted server is picked up
// without restarting the process.
//
// Ownership: PgPool owns its connections; PgPool::Lease returns one to the pool
// on destruction.
// Thread-safety: PgPool is safe for concurrent use; a Lease (and its PgConn) is
// used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace::storage {

// One statement parameter: text (ints, hex ids) or binary (bytea) or NULL.
struct PgParam {
  enum Kind { kText, kBinary } kind = kText;
  std::string value;
  bool is_null = false;
  static PgParam Null() { return {kText, {}, true}; }
  static PgParam Text(std::string v) { return {kText, std::move(v)}; }
  static PgParam Int(int64_t v) { return {kText, std::to_string(v)}; }
  static PgParam Bytes(std::string_view v) { return {kBinary, std::string(v)}; }
};

// A query result (text format). Owns the PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() {
    if (r_) PQclear(r_);
  }
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  PGresult* raw() const { return r_; }
  int rows() const { return r_ ? PQntuples(r_) : 0; }
  int64_t affected() const;
  bool IsNull(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  std::string Bytes(int row, int col) const;  // bytea (hex output decoded)

 private:
  PGresult* r_;
};

// One connection with the names of the statements prepared on it.
class PgConn {
 public:
  PgConn(PGconn* c) : c_(c) {}
  ~PgConn();
  PGconn* raw() { return c_; }
  bool bad() const { return PQstatus(c_) != CONNECTION_OK; }

  // Runs a prepared statement (prepared on this connection at first use under `name`).
  absl::StatusOr<PgResult> Exec(const std::string& name, const char* sql,
                                const std::vector<PgParam>& params);
  // Runs one or more statements without parameters.
  absl::Status ExecSimple(const char* sql, const std::string& what);

 private:
  PGconn* c_;
  std::set<std::string> prepared_;
};

// Maps a failed result (or a connection-level failure when `r` is null) to a Status.
absl::Status PgError(PGconn* conn, PGresult* r, const std::string& what);

class PgPool {
 public:
  // `conninfo` is a libpq connection string ("host=... port=... dbname=..."); a
  // connect_timeout of 5 s is added unless it names one. Connects once to check
  // (UNAVAILABLE if the server does not answer).
  static absl::StatusOr<std::unique_ptr<PgPool>> Open(const std::string& conninfo, int max_conns);
  ~PgPool();

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConn> c) : pool_(pool), c_(std::move(c)) {}
    ~Lease();
    Lease(Lease&&) = default;
    PgConn* operator->() { return c_.get(); }
    PgConn* get() { return c_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConn> c_;
  };

  // Borrows a connection (blocks while all max_conns are lent). UNAVAILABLE if
  // a new connection cannot be made.
  absl::StatusOr<Lease> Acquire();

  // Runs `body` in BEGIN ... COMMIT on one connection; rolls back on failure.
  absl::Status InTransaction(const std::function<absl::Status(PgConn*)>& body);

  // Applies migrations[i] (bringing `component` from version i to i+1) in
  // order, each in its own transaction, serialised across processes by an
  // advisory lock. FAILED_PRECONDITION if the database is newer than this binary.
  absl::Status Migrate(const std::string& component, const std::vector<const char*>& migrations);
  // Highest applied version of `component` (0 if none).
  absl::StatusOr<int> SchemaVersion(const std::string& component);

 private:
  PgPool(std::string conninfo, int max) : conninfo_(std::move(conninfo)), max_(max) {}
  absl::StatusOr<std::unique_ptr<PgConn>> Connect();
  void Return(std::unique_ptr<PgConn> c);

  std::string conninfo_;
  int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int lent_ = 0;
};

// Runs `op` until it returns something other than UNAVAILABLE or `attempts` is used up,
// sleeping `backoff_ms` (doubling, capped at 2 s) between attempts.
template <typename F>
auto RetryUnavailable(int attempts, int backoff_ms, F&& op) -> decltype(op());

}  // namespace sealtrace::storage

#include <chrono>
#include <thread>

namespace sealtrace::storage {
template <typename F>
auto RetryUnavailable(int attempts, int backoff_ms, F&& op) -> decltype(op()) {
  for (int i = 1;; ++i) {
    auto r = op();
    absl::Status s;
    if constexpr (std::is_same_v<decltype(r), absl::Status>) {
      s = r;
    } else {
      s = r.status();
    }
    if (!absl::IsUnavailable(s) || i >= attempts) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(backoff_ms * 2, 2000);
  }
}
}  // namespace sealtrace::storage
