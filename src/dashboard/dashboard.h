// Dashboard: the contributor's, privacy officer's and operator's web pages,
// served by the vault's own HTTP server under /dashboard (docs/DASHBOARD.md).
//
// Server-rendered HTML (every value escaped), one CSS and one JS file embedded
// in the binary (no runtime file reads, no outside hosts). Contributors sign
// in with a passkey (WebAuthn, access/signin.h; the first one registered with
// the single-use code enrolment printed) and confirm delete and download with
// a fresh passkey assertion (step-up); officers, auditors and operators sign
// in with their own API token (stp_...). Server-side sessions
// (session.h) with HttpOnly, Secure, SameSite=Strict cookies; every POST
// needs the session's synchronizer CSRF token and a same-origin Origin.
// Everything reaches data only through access::AccessService (policy + audit
// first); the dashboard itself decides nothing about who may read what.
//
//   /dashboard/login, /dashboard/logout, /dashboard/register (sign-in code)
//   /dashboard/passkey/...   WebAuthn ceremonies (JSON, called by app.js)
//   /dashboard/terminal      approve a terminal's sign-in (`sealtrace me read`)
//   /dashboard/me/...        contributors: state + pause, timeline, preview,
//                            who read my data (+ proofs), delete, download
//   /dashboard/officer/...   privacy officers: grants, programme state, retention
//   /dashboard/fleet         operators: device health, retention (no content)
//   /dashboard/audit         auditors: latest signed checkpoint and log keys
//
// Ownership: RegisterDashboardRoutes borrows everything in DashboardDeps (all
// must outlive the server); the route handlers own the dashboard's state
// (sessions, pending proposals) through a shared pointer.
// Thread-safety: handlers run concurrently on the server's pool; all state is
// internally synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dashboard/session.h"

namespace sealtrace::net {
class HttpServer;
}
namespace sealtrace {
class Env;
}
namespace sealtrace::access {
class AccessService;
class SignInService;
}
namespace sealtrace::audit {
class AuditLog;
}
namespace sealtrace::vault {
class Vault;
}

namespace sealtrace::dashboard {

struct DashboardDeps {
  access::AccessService* access = nullptr;  // required
  // Passkey sign-in for contributors (null: contributors cannot sign in here).
  access::SignInService* signin = nullptr;
  // Delete and download need a passkey assertion this recent in the session.
  int64_t step_up_window_us = 5LL * 60 * 1000000;
  audit::AuditLog* audit_log = nullptr;     // required: checkpoints, leaf bytes, pause entries
  vault::Vault* vault = nullptr;            // required: the per-contributor pause flags (pause.h)
  Env* env = nullptr;                       // sessions' clock and randomness; nullptr = Default
  // Served over HTTPS: the cookie is named "__Host-st_session" (Path=/), the
  // expected Origin is https://<Host>. Over plain HTTP (loopback only) the
  // cookie is "st_session" (Path=/dashboard); it is still marked Secure, which
  // browsers accept from http://localhost and http://127.0.0.1.
  bool https = false;
  // Further origins accepted on POST (e.g. "https://vault.example.com" behind a proxy).
  std::vector<std::string> extra_origins;
  SessionOptions sessions;
  // A contributor's "verify" may sign a fresh checkpoint when the latest one does
  // not cover their entry yet, at most once per this interval.
  int64_t checkpoint_min_interval_us = 5LL * 1000000;
  // Segments decrypted for the timeline page (the newest ones).
  size_t timeline_max_segments = 200;
};

// Registers GET/POST handlers for "/dashboard" and "/dashboard/..." on `server`.
// Call before the server starts listening.
void RegisterDashboardRoutes(net::HttpServer& server, const DashboardDeps& deps);

}  // namespace sealtrace::dashboard
