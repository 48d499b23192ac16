// `sealtrace server`: runs the embedded vault (ingest, enrolment, health, metrics,
// and the access layer: grants, audited reads, audit log, programme state) over
// HTTPS until SIGINT or SIGTERM, then stops gracefully (in-flight requests finish).
// `--backend postgres --postgres CONNINFO` keeps metadata, grants and the audit
// log in PostgreSQL (blobs and keys stay in --data). `--role ingest|writer
// --config FILE` runs the multi-machine roles instead (docs/DEPLOY.md).
// `sealtrace server init`: creates the data dir, a local CA + server certificate
// and the first operator and privacy-officer tokens.
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "dashboard/dashboard.h"
#include <atomic>
#include <cerrno>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "access/access_service.h"
#include "access/http_api.h"
#include "access/tls.h"
#include "cli/commands.h"
#include "common/env.h"
#include "vault/server.h"
#include "vault/vault.h"
#include "access/pg_access_store.h"
#include "audit/pg_audit_store.h"
#include "export/pg_ledger.h"
#include "vault/pg_metadata_store.h"

namespace sealtrace::cli {
namespace {

struct ServerFlags {
  std::string data;
  std::string listen = "127.0.0.1:8420";
  std::string key_file;
  std::string hsm_module, hsm_token, hsm_pin_file;  // master keys in a PKCS#11 token
  bool allow_local_master_key = false;
  std::string tls_cert, tls_key;
  bool allow_plain_http = false;
  int checkpoint_seconds = 60;
  int purge_seconds = 3600;
  std::string backend = "sqlite";
  std::string postgres;  // libpq connection string (or $SEALTRACE_POSTGRES)
  int pg_pool = 8;
  std::string dp_budget = "4";  // default total epsilon per contributor
  std::string rp_id = "localhost";  // WebAuthn relying party (passkey sign-in)
  std::string role;    // ingest | writer: multi-machine roles
  std::string config;  // scale config for --role
};

// "host:port" or "[v6]:port".
bool ParseListen(const std::string& s, std::string* host, int* port) {
  std::string p;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    *host = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    *host = s.substr(0, colon);
    p = s.substr(colon + 1);
    if (host->find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  if (p.empty() || p.size() > 5) return false;
  int v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 65535) return false;
  *port = v;
  return true;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    return (ntohl(a4.s_addr) >> 24) == 127;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
  }
  return false;
}

// The certificate and key to serve with: the flags, else DIR/tls from
// `server init`, else none (plain HTTP, allowed on loopback with
// --allow-plain-http only). Returns 0, or the exit code after a message.
int ResolveTls(const ServerFlags& f, const std::string& host, std::string* cert_out,
               std::string* key_out) {
  std::string cert = f.tls_cert, key = f.tls_key;
  if (cert.empty() != key.empty()) {
    std::cerr << "sealtrace server: give both --tls-cert and --tls-key\n";
    return 2;
  }
  if (cert.empty()) {
    auto paths = access::TlsPathsIn(f.data + "/tls");
    if (Env::Default()->FileExists(paths.server_cert) &&
        Env::Default()->FileExists(paths.server_key)) {
      cert = paths.server_cert;
      key = paths.server_key;
    }
  }
  if (cert.empty()) {
    if (!IsLoopback(host)) {
      std::cerr << "sealtrace server: refusing plain HTTP on " << host
                << ": device tokens, API tokens and segment uploads would cross the network\n"
                   "unencrypted. Run `sealtrace server init --data DIR` (local CA and server\n"
                   "certificate) or pass --tls-cert/--tls-key.\n";
      return 2;
    }
    if (!f.allow_plain_http) {
      std::cerr << "sealtrace server: no TLS certificate (run `sealtrace server init --data "
                << f.data
                << "`,\nor pass --tls-cert/--tls-key). Plain HTTP on loopback needs "
                   "--allow-plain-http.\n";
      return 2;
    }
    spdlog::warn("serving plain HTTP on loopback {} (--allow-plain-http)", host);
  }

  *cert_out = cert;
  *key_out = key;
  return 0;
}

// Every store on PostgreSQL (--backend postgres). Returns 0, or the exit code.
int UsePostgres(const ServerFlags& f, vault::VaultOptions* opts,
                access::AccessOptions* access_opts) {
  std::string conninfo = f.postgres;
  if (conninfo.empty()) {
    const char* e = getenv("SEALTRACE_POSTGRES");
    if (e) conninfo = e;
  }
  if (conninfo.empty()) {
    std::cerr << "sealtrace server: --backend postgres needs --postgres CONNINFO (or "
                 "$SEALTRACE_POSTGRES)\n";
    return 2;
  }
  const int pool = f.pg_pool;
  opts->open_metadata = [conninfo,
                        pool]() -> absl::StatusOr<std::unique_ptr<vault::MetadataStore>> {
    auto s = vault::PgMetadataStore::Open({conninfo, pool});
    if (!s.ok()) return s.status();
    return std::unique_ptr<vault::MetadataStore>(*std::move(s));
  };
  access_opts->open_access_store = [conninfo, pool] {
    return access::OpenPgAccessStore(conninfo, pool);
  };
  access_opts->open_budget_ledger = [conninfo](exporter::Rational budget)
      -> absl::StatusOr<std::unique_ptr<exporter::BudgetLedger>> {
    auto l = exporter::PgBudgetLedger::Open(conninfo, budget);
    if (!l.ok()) return l.status();
    return std::unique_ptr<exporter::BudgetLedger>(*std::move(l));
  };
  access_opts->open_audit_store =
      [conninfo]() -> absl::StatusOr<std::unique_ptr<audit::AuditStore>> {
    auto s = audit::PgAuditStore::Open(conninfo, 2);
    if (!s.ok()) return s.status();
    return std::unique_ptr<audit::AuditStore>(*std::move(s));
  };
  return 0;
}

// The stores and keys the flags name, for `server` and `server init` alike.
// Returns 0, or the exit code after a message.
int StoreOptions(const ServerFlags& f, const char* cmd, vault::VaultOptions* opts,
                 access::AccessOptions* access_opts) {
  opts->data_dir = f.data;
  opts->master_keys.key_file = f.key_file;
  opts->master_keys.hsm_module = f.hsm_module;
  opts->master_keys.hsm_token = f.hsm_token;
  opts->master_keys.hsm_pin_file = f.hsm_pin_file;
  opts->allow_local_master_key = f.backend != "postgres" || f.allow_local_master_key;
  access_opts->dp_default_budget = f.dp_budget;
  access_opts->webauthn_rp_id = f.rp_id;
  if (f.backend == "postgres") return UsePostgres(f, opts, access_opts);
  if (f.backend != "sqlite") {
    std::cerr << "sealtrace " << cmd << ": --backend must be sqlite or postgres, got \""
              << f.backend << "\"\n";
    return 2;
  }
  return 0;
}

// Serves until SIGINT/SIGTERM (blocked in `sigs` by the caller before any
// thread started) or until the listen loop fails.
absl::Status ServeUntilSignal(vault::VaultServer& server, const sigset_t& sigs) {
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        spdlog::info("received {}, stopping (in-flight requests finish)",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
        server.Stop();
        return;
      }
    }
  });
  absl::Status s = server.Serve();
  done = true;
  waiter.join();
  return s;
}

// --hsm-module/--hsm-token/--hsm-pin-file: the master keys in a PKCS#11 token.
void AddHsmOptions(CLI::App* cmd, std::string* module, std::string* token, std::string* pin_file) {
  auto* m = cmd->add_option("--hsm-module", *module,
                            "PKCS#11 module (.so) of the HSM that holds the master keys "
                            "(docs/DEPLOY.md \"Keys in an HSM\")");
  cmd->add_option("--hsm-token", *token, "Label of the HSM token")->needs(m);
  cmd->add_option("--hsm-pin-file", *pin_file,
                  "File (0600) holding the token's user PIN; default: $SEALTRACE_HSM_PIN")
      ->needs(m);
  m->needs(cmd->get_option("--hsm-token"));
}

// Where the vault keeps its stores and keys: the same flags on `server` and
// `server init`, so init writes the principals where the server will read them.
void AddStoreOptions(CLI::App* cmd, ServerFlags* f) {
  cmd->add_option("--backend", f->backend,
                  "Metadata, grants and audit log: sqlite (files in --data) or postgres")
      ->capture_default_str();
  cmd->add_option("--postgres", f->postgres,
                  "libpq connection string for --backend postgres (default $SEALTRACE_POSTGRES;\n"
                  "put the password in ~/.pgpass, not here)");
  cmd->add_option("--pg-pool", f->pg_pool, "PostgreSQL connections per store")
      ->capture_default_str();
  cmd->add_option("--key-file", f->key_file,
                  "Master key file (default DIR/keys/master.key); must be mode 0600");
  AddHsmOptions(cmd, &f->hsm_module, &f->hsm_token, &f->hsm_pin_file);
  cmd->add_flag("--allow-local-master-key", f->allow_local_master_key,
                "With --backend postgres: accept a master key file inside --data (refused by "
                "default: whoever copies the data would hold the key that opens it)");
}

void PrintInitResult(const ServerFlags& f, const access::InitResult& r) {
  std::cout << "initialised " << f.data << " (" << f.backend << ")\n"
            << "  CA certificate (give to agents, --ca-file): " << r.tls.ca_cert << "\n"
            << "  server certificate:    " << r.tls.server_cert << "\n"
            << "  server key (0600):     " << r.tls.server_key << "\n"
            << "  operator token (0600): " << r.operator_token_file << "\n"
            << "  privacy officer tokens (0600): " << r.officer_token_files[0] << ", "
            << r.officer_token_files[1] << "\n"
            << "  enrolment secret (0600): " << r.enroll_secret_file << "\n"
            << "  master keys:           "
            << (f.hsm_module.empty()
                    ? (f.key_file.empty() ? f.data + "/keys/master.key" : f.key_file) +
                          " (0600; keep it off backups)"
                    : "PKCS#11 token \"" + f.hsm_token + "\" (recorded in " + f.data +
                          "/hsm.conf)")
            << "\n"
            << "Hand each token to its holder and delete the files.\n";
}

int RunServer(const ServerFlags& f) {
  std::string host;
  int port = 0;
  if (!ParseListen(f.listen, &host, &port)) {
    std::cerr << "sealtrace server: --listen must be HOST:PORT (or [IPv6]:PORT), got \"" << f.listen
              << "\"\n";
    return 2;
  }
  if (f.data.empty()) {
    std::cerr << "sealtrace server: --data DIR is required\n";
    return 2;
  }
  std::string cert, key;
  if (int rc = ResolveTls(f, host, &cert, &key); rc != 0) return rc;
  // Block SIGINT/SIGTERM before any thread starts, so every thread inherits the
  // mask and only the waiter below sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  vault::VaultOptions opts;
  access::AccessOptions access_opts;
  if (int rc = StoreOptions(f, "server", &opts, &access_opts); rc != 0) return rc;
  auto v = vault::Vault::Open(opts);
  if (!v.ok()) {
    std::cerr << "sealtrace server: cannot open the vault in " << f.data << ": "
              << v.status().message() << "\n";
    return 1;
  }
  auto stack = access::OpenAccessStack(v->get(), access_opts);
  if (!stack.ok()) {
    std::cerr << "sealtrace server: cannot open the access layer / audit log in " << f.data << ": "
              << stack.status().message() << "\n";
    return 1;
  }
  access::AccessApi api((*stack)->service.get(), (*stack)->signin.get());
  vault::ServerOptions so;
  so.tls_cert_file = cert;
  so.tls_key_file = key;
  so.api = &api;
  dashboard::DashboardDeps dd;
  dd.access = (*stack)->service.get();
  dd.signin = (*stack)->signin.get();
  dd.audit_log = (*stack)->log.get();
  dd.vault = v->get();
  dd.https = !cert.empty();
  so.register_routes = [dd](net::HttpServer& s) { dashboard::RegisterDashboardRoutes(s, dd); };
  vault::VaultServer server(v->get(), so);
  if (!server.valid()) {
    std::cerr << "sealtrace server: cannot load the TLS certificate " << cert << " / key " << key
              << "\n";
    return 1;
  }
  (*stack)->service->StartBackground(static_cast<int64_t>(f.checkpoint_seconds) * 1000000,
                                     static_cast<int64_t>(f.purge_seconds) * 1000000);
  auto bound = server.Bind(host, port);
  if (!bound.ok()) {
    std::cerr << "sealtrace server: " << bound.status().message() << "\n";
    return 1;
  }
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const char* scheme = server.tls() ? "https" : "http";
  std::cout << "sealtrace vault listening on " << scheme << "://" << shown_host << ":" << *bound
            << "\n"
            << "  data directory:    " << f.data << "\n"
            << "  metadata backend:  " << f.backend << "\n"
            << "  master keys:       " << (*v)->keys()->DescribeKeys() << "\n"
            << "  enrolment secret:  " << (*v)->enroll_secret_path()
            << " (give it only to whoever enrols devices)\n"
            << "  stop with Ctrl-C or SIGTERM\n"
            << std::flush;
  if (server.tls()) std::cout << "  TLS certificate:   " << cert << "\n" << std::flush;
  spdlog::info("vault listening on {}://{}:{}", scheme, shown_host, *bound);

  absl::Status s = ServeUntilSignal(server, sigs);
  (*stack)->service->StopBackground();
  if (!s.ok()) {
    std::cerr << "sealtrace server: " << s.message() << "\n";
    return 1;
  }
  spdlog::info("vault stopped");
  return 0;
}

}  // namespace

void RegisterServerCommand(CLI::App& app) {
  auto flags = std::make_shared<ServerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "server",
      "Run the embedded vault over HTTPS: device enrolment, sealed-segment ingest (never\n"
      "decrypts), the access layer (grants, audited reads, audit log, programme state), health\n"
      "and Prometheus metrics. Run `sealtrace server init --data DIR` first.");
  cmd->add_option("--data", flags->data, "Vault data directory (metadata, blobs, keys)");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  AddStoreOptions(cmd, flags.get());
  cmd->add_option("--tls-cert", flags->tls_cert,
                  "Server certificate (PEM); default DIR/tls/server.crt when present");
  cmd->add_option("--tls-key", flags->tls_key,
                  "Server private key (PEM); default DIR/tls/server.key when present");
  cmd->add_flag("--allow-plain-http", flags->allow_plain_http,
                "Serve plain HTTP when no certificate is configured (loopback only; tests)");
  cmd->add_option("--checkpoint-seconds", flags->checkpoint_seconds,
                  "Sign an audit checkpoint this often when the log grew")
      ->capture_default_str();
  cmd->add_option("--purge-seconds", flags->purge_seconds, "Run the retention purge this often")
      ->capture_default_str();
  cmd->add_option("--rp-id", flags->rp_id,
                  "host name contributors open the dashboard by: their passkeys are bound to it "
                  "(default localhost)");
  cmd->add_option("--dp-budget", flags->dp_budget,
                  "Total differential-privacy budget (epsilon, a rational such as 4 or 7/2)\n"
                  "of each contributor across all dataset releases; the vault's ledger refuses\n"
                  "a release beyond it")
      ->capture_default_str();
  cmd->add_option("--role", flags->role,
                  "Run a multi-machine role instead of the embedded vault: ingest | writer\n"
                  "(needs --config; see docs/DEPLOY.md)");
  cmd->add_option("--config", flags->config, "Scale config (TOML) for --role");

  auto init_flags = std::make_shared<ServerFlags>();
  auto init_names = std::make_shared<std::vector<std::string>>();
  CLI::App* init = cmd->add_subcommand(
      "init",
      "Create DIR, a local CA and server certificate (DIR/tls), and the first operator and\n"
      "two privacy officer tokens (DIR/bootstrap/*.token, mode 0600), in the stores and\n"
      "with the keys `sealtrace server` will use (give it the same --backend and --hsm-*).");
  init->add_option("--data", init_flags->data, "Vault data directory to create")->required();
  init->add_option("--name", *init_names,
                   "Extra DNS name or IP for the server certificate (repeatable)");
  AddStoreOptions(init, init_flags.get());
  init->callback([init_flags, init_names] {
    vault::VaultOptions vo;
    access::AccessOptions ao;
    if (int rc = StoreOptions(*init_flags, "server init", &vo, &ao); rc != 0) {
      throw CLI::RuntimeError(rc);
    }
    auto r = access::InitDataDir(init_flags->data, *init_names, vo, ao);
    if (!r.ok()) {
      std::cerr << "sealtrace server init: " << r.status().message() << "\n";
      throw CLI::RuntimeError(1);
    }
    PrintInitResult(*init_flags, *r);
  });
  cmd->callback([flags, init] {
    if (init->parsed()) return;
    if (!flags->role.empty() || !flags->config.empty()) {
#ifdef SEALTRACE_NO_SCALE
      std::cerr << "sealtrace server: this build has no multi-machine roles (libnats missing)\n";
      throw CLI::RuntimeError(2);
#else
      if (flags->config.empty()) {
        std::cerr << "sealtrace server: --role " << flags->role << " needs --config FILE\n";
        throw CLI::RuntimeError(2);
      }
      int rc = RunScaleRoles(flags->config, flags->role);
      if (rc != 0) throw CLI::RuntimeError(rc);
      return;
#endif
    }
    int rc = RunServer(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sealtrace::cli
