// SessionStore: the dashboard's server-side sessions.
//
// A session id is 32 random bytes (base64url, 43 chars) handed to the browser
// once, in a cookie; the store keys sessions by SHA-256(id), so a memory or
// core dump of the store does not yield usable cookies. Each session carries
// a synchronizer CSRF token (32 random bytes, base64url) that every form
// echoes; CheckCsrf compares in constant time.
//
// Expiry: a session ends after `idle_us` without a request or `absolute_us`
// after sign-in, whichever comes first; expired sessions are removed when
// looked up and swept on Create. At most `max_sessions` live at once (the
// oldest is evicted).
//
// The API token the principal signed in with is kept in memory only (never
// on disk, never logged) so every request re-authenticates it with the access
// layer: revoking or expiring the token ends the dashboard session too.
//
// Ownership: borrows `env` (clock, randomness). Thread-safety: safe for
// concurrent use (one internal mutex). Failure: none (lookups return a code).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "access/policy.h"

namespace sealtrace {
class Env;
}

namespace sealtrace::dashboard {

struct SessionOptions {
  int64_t idle_us = 15LL * 60 * 1000000;       // 15 minutes
  int64_t absolute_us = 8LL * 3600 * 1000000;  // 8 hours
  size_t max_sessions = 10000;
};

struct Session {
  std::string principal_id;
  access::Role role = access::Role::kContributor;
  std::string name;            // display name
  std::string contributor_id;  // contributors only
  std::string api_token;       // re-authenticated on every request; memory only
  std::string csrf_token;      // set by Create
  int64_t created_us = 0;
  int64_t last_seen_us = 0;
  std::string flash;  // a one-time notice for the next page
  std::string auth_method;    // "passkey" (contributors) or "token" (other roles)
  int64_t stepped_up_us = 0;  // last fresh passkey assertion in this session (step-up)
};

enum class SessionLookup { kOk, kMissing, kIdleExpired, kAbsoluteExpired };

class SessionStore {
 public:
  SessionStore(Env* env, SessionOptions options);

  // Stores `s` (fresh CSRF token, times set) and returns the new session id.
  std::string Create(Session s);
  // Looks up the session of `id`; on kOk copies it into *out and refreshes
  // its idle timer. Expired sessions are removed.
  SessionLookup Get(std::string_view id, Session* out);
  void Destroy(std::string_view id);
  // Sets / takes the one-time notice of a session (no-op if it is gone).
  void SetFlash(std::string_view id, std::string message);
  std::string TakeFlash(std::string_view id);
  // Records a fresh passkey assertion (step-up) at `now_us`; no-op if gone.
  void MarkSteppedUp(std::string_view id, int64_t now_us);
  size_t size();

  // Constant-time comparison of a submitted token with the session's.
  static bool CheckCsrf(const Session& s, std::string_view submitted);

 private:
  std::string Key(std::string_view id) const;
  void SweepLocked(int64_t now);
  std::string RandomToken();

  Env* env_;
  const SessionOptions options_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;  // SHA-256(id) -> session
};

}  // namespace sealtrace::dashboard
