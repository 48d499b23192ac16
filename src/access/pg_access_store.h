// PgAccessStore: the AccessStore on PostgreSQL (libpq), for deployments where
// several vault processes share one access layer (docs/DEPLOY.md). Same
// contract as the SQLite store (access_store.h), same row encodings
// (store_rows.h), run by the same access test suites (target pg_access_test).
//
// Schema (migrations in schema_migrations, component "access"):
//   access_principals, access_tokens, access_grants (seq BIGSERIAL keeps
//   creation order), access_proposals, access_devices, access_settings.
// Conditional updates (UpdateGrantIf, UpdateProposalIfPending) are single
// UPDATE ... WHERE status = expected statements: of two concurrent deciders on
// any number of vault processes exactly one wins.
//
// Failure: connection loss -> UNAVAILABLE (callers refuse the action; the
// pool reconnects on the next call); unique violations -> ALREADY_EXISTS.
// Thread-safety: safe for concurrent use (a small connection pool).
#pragma once

#include <memory>
#include <string>

#include "access/access_store.h"

namespace sealtrace::access {

inline constexpr int kPgAccessSchemaVersion = 2;

absl::StatusOr<std::unique_ptr<AccessStore>> OpenPgAccessStore(const std::string& conninfo,
                                                               int max_connections = 4);

}  // namespace sealtrace::access
