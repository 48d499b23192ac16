// Local TLS material and the operator bootstrap for `sealtrace server init`.
//
// MakeLocalTls writes, under `dir` (created 0700):
//   ca.crt      self-signed local CA (EC P-256, 10 years), give it to agents (--ca-file)
//   ca.key      its private key (0600)
//   server.crt  server certificate signed by the CA, SAN IP:127.0.0.1, DNS:localhost
//               (+ extra DNS names / IPs), serverAuth, 2 years
//   server.key  its private key (0600)
// using OpenSSL's EVP APIs. Existing files are never overwritten
// (ALREADY_EXISTS).
//
// Thread-safety: functions are independent; do not run two on the same dir.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "access/access_service.h"
#include "vault/vault.h"

namespace sealtrace::access {

struct TlsPaths {
  std::string ca_cert, ca_key, server_cert, server_key;
};
TlsPaths TlsPathsIn(const std::string& dir);

absl::StatusOr<TlsPaths> MakeLocalTls(const std::string& dir,
                                      const std::vector<std::string>& extra_names = {});

struct InitResult {
  TlsPaths tls;
  std::string operator_token_file;
  std::vector<std::string> officer_token_files;  // two privacy officers
  std::string enroll_secret_file;
};

// Creates the data dir (via Vault::Open), the TLS material in <data>/tls, and
// the first operator and two privacy officers, whose tokens are written to
// <data>/bootstrap/{operator,privacy_officer_1,privacy_officer_2}.token (0600).
// `vault_options` and `access_options` choose the stores and keys as for
// `sealtrace server` (e.g. PostgreSQL, an HSM: then the principals and the
// bootstrap audit entries go there, and no SQLite file is made); their
// data_dir is replaced by `data_dir`. FAILED_PRECONDITION if the vault already
// has principals.
absl::StatusOr<InitResult> InitDataDir(const std::string& data_dir,
                                       const std::vector<std::string>& extra_names = {},
                                       vault::VaultOptions vault_options = {},
                                       AccessOptions access_options = {});

}  // namespace sealtrace::access
