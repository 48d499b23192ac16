// SignInService: how a contributor proves who they are, with something a
// copy of their device does not hold.
//
//   single-use codes   A sign-in code (kCodeSignIn) lets its holder register a
//                      passkey for one contributor: enrolment shows the first
//                      one once on the terminal; a privacy officer can issue
//                      a recovery code (audited, the contributor sees it).
//                      A device code (kCodeDevice), created by the contributor
//                      in a passkey session, lets one new device join them.
//                      Codes are 100 random bits shown as XXXXX-XXXXX-XXXXX-
//                      XXXXX (Crockford base32), expire (default 15 minutes),
//                      work once, and only SHA-256 of each is stored.
//   passkeys           WebAuthn registration and sign-in (webauthn.h) with
//                      single-use challenges that expire (5 minutes); a
//                      passed sign-in mints a short-lived `me` token
//                      (AccessService::MintSignInToken, method "passkey").
//                      Step-up: a sign-in ceremony bound to one principal.
//   terminals          RFC 8628-style device authorisation: the CLI gets a
//                      device code and a short user code, the contributor
//                      approves the user code in a passkey session, and the
//                      CLI's poll receives a `me` token (method
//                      "device_flow", 1 hour by default) it keeps in memory.
//
// Every refusal is UNAUTHENTICATED or PERMISSION_DENIED "<rule>: <why>" and
// leaves an audit leaf; every code issued or used, passkey registered and
// sign-in is audited (fail closed: if the log cannot be written, nothing is
// issued).
//
// Ceremonies and terminal flows live in this process's memory (bounded by
// Options::max_pending; a restart cancels those in flight). Codes and
// passkeys are in the AccessStore.
//
// Ownership: borrows the AccessService and the AccessStore; both must outlive
// it. Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "access/access_service.h"
#include "access/access_store.h"
#include "access/webauthn.h"

namespace sealtrace::access {

inline constexpr char kCodeSignIn[] = "signin";
inline constexpr char kCodeDevice[] = "device";
inline constexpr char kCodeInvitation[] = "invite";

struct SignInOptions {
  std::string rp_id = "localhost";  // WebAuthn relying party id (the vault's host name)
  std::string rp_name = "sealtrace";
  int64_t code_ttl_us = 15LL * 60 * 1000000;
  int64_t invitation_ttl_us = 7LL * 86400 * 1000000;
  int64_t ceremony_ttl_us = 5LL * 60 * 1000000;
  int64_t session_token_ttl_us = 8LL * 3600 * 1000000;  // dashboard sessions
  int64_t terminal_token_ttl_us = 3600LL * 1000000;     // device-flow (CLI) tokens
  int64_t terminal_flow_ttl_us = 10LL * 60 * 1000000;
  size_t max_pending = 10000;  // ceremonies in memory; as many terminal flows again
};

struct IssuedCode {
  std::string code;  // shown once
  int64_t expires_us = 0;
};

// A WebAuthn ceremony handed to the browser: its id (echoed on finish) and the
// PublicKeyCredentialCreationOptions / RequestOptions as JSON, binary members
// base64url-encoded.
struct Ceremony {
  std::string id;
  std::string options_json;
};

struct SignedIn {
  Principal principal;
  IssuedToken token;  // a `me` token (memory only); none for a step-up or an extra passkey
  std::string credential_id;   // base64url of the passkey used or registered
};

struct TerminalFlow {
  std::string device_code;  // secret: the CLI polls with it
  std::string user_code;    // shown to the person: XXXX-XXXX
  int64_t expires_us = 0;
  int interval_s = 2;
};

class SignInService {
 public:
  SignInService(AccessService* access, AccessStore* store, SignInOptions options);

  // --- codes ---
  // The first sign-in code of a contributor principal, right after enrolment.
  absl::StatusOr<IssuedCode> IssueEnrolmentCode(const Principal& contributor);
  // A recovery sign-in code for a contributor, issued by a privacy officer.
  absl::StatusOr<IssuedCode> IssueRecoveryCode(const Principal& officer,
                                               const std::string& contributor_id);
  // A device code the signed-in contributor gives one new device.
  absl::StatusOr<IssuedCode> IssueDeviceCode(const Principal& contributor);
  // Uses up a device code at enrolment; returns the contributor id (hex).
  absl::StatusOr<std::string> UseDeviceCode(std::string_view code);
  // A per-person invitation an active operator issues for a name nobody has
  // (7 days, single use, audited); enrolment with it needs no fleet secret.
  absl::StatusOr<IssuedCode> IssueInvitation(const Principal& op, const std::string& name);
  // Uses up an invitation at enrolment; returns the invited name.
  absl::StatusOr<std::string> UseInvitation(std::string_view code);

  // --- passkeys ---
  // Registration with a sign-in code (first passkey, recovery) or, when
  // `signed_in` is set, an extra passkey for a signed-in contributor.
  absl::StatusOr<Ceremony> BeginRegistration(std::string_view signin_code);
  absl::StatusOr<Ceremony> BeginAddPasskey(const Principal& signed_in);
  // Finishes a registration; the code (if any) is used up only now. Signs the
  // contributor in. `signed_in` null: only a ceremony begun with a code;
  // otherwise only that principal's own BeginAddPasskey ceremony.
  absl::StatusOr<SignedIn> FinishRegistration(std::string_view ceremony_id,
                                              const webauthn::Registration& r,
                                              const std::vector<std::string>& origins,
                                              std::string_view client,
                                              const Principal* signed_in = nullptr);
  // Sign-in with any of the contributor's passkeys (discoverable), or, with
  // `step_up_for`, a fresh assertion by that principal's own passkey.
  absl::StatusOr<Ceremony> BeginSignIn(const Principal* step_up_for);
  // `step_up_for` null: only a plain sign-in ceremony; otherwise only the
  // step-up ceremony begun for that principal, with their own passkey.
  absl::StatusOr<SignedIn> FinishSignIn(std::string_view ceremony_id,
                                        std::string_view credential_id,
                                        const webauthn::Assertion& a,
                                        const std::vector<std::string>& origins,
                                        std::string_view client,
                                        const Principal* step_up_for = nullptr);
  absl::StatusOr<std::vector<PasskeyRecord>> ListPasskeys(const Principal& contributor);

  // --- terminals ---
  absl::StatusOr<TerminalFlow> StartTerminalFlow(std::string_view client_name);
  // The signed-in contributor approves (or denies) the flow showing `user_code`.
  absl::Status DecideTerminalFlow(const Principal& contributor, std::string_view user_code,
                                  bool approve);
  // FAILED_PRECONDITION "signin.pending" while undecided; PERMISSION_DENIED
  // once denied or expired; the token once (the flow ends when it is taken).
  absl::StatusOr<IssuedToken> PollTerminalFlow(std::string_view device_code);

  const SignInOptions& options() const { return options_; }

 private:
  struct PendingCeremony {
    bool registration = false;
    std::string challenge;
    std::string principal_id;      // registration target, or step-up principal ("" = any)
    std::string code_sha256;       // registration by code
    int64_t expires_us = 0;
  };
  struct PendingFlow {
    std::string device_code_sha256;
    std::string client;
    int64_t expires_us = 0;
    int state = 0;  // 0 pending, 1 approved, 2 denied
    std::string principal_id;
  };

  absl::StatusOr<IssuedCode> IssueCode(std::string_view kind, const Principal& owner,
                                       const std::string& issuer_id, const Principal* actor,
                                       const std::string& label = "", int64_t ttl_us = 0);
  absl::StatusOr<OneTimeCode> CheckCode(std::string_view code, std::string_view kind,
                                        std::string_view route);
  // CheckCode, then marks the code used (atomically: one of two concurrent uses wins).
  absl::StatusOr<OneTimeCode> UseOneTimeCode(std::string_view code, std::string_view kind,
                                             std::string_view route);
  absl::StatusOr<Ceremony> NewCeremony(PendingCeremony c, const std::string& options_json);
  absl::StatusOr<Ceremony> RegistrationCeremony(const Principal& target, std::string code_sha256);
  absl::StatusOr<PendingCeremony> TakeCeremony(std::string_view id, bool registration);
  absl::Status Refuse(const Principal* p, std::string_view rule, std::string_view route,
                      const std::string& why, bool unauthenticated);
  void SweepLocked(int64_t now);
  webauthn::Expectation Expect(const PendingCeremony& c,
                               const std::vector<std::string>& origins) const;

  AccessService* access_;
  AccessStore* store_;
  SignInOptions options_;
  Env* env_;

  std::mutex mu_;
  std::map<std::string, PendingCeremony> ceremonies_;  // by ceremony id
  std::map<std::string, PendingFlow> flows_;           // by user code (normalised)
};

// Upper-cases a typed code and drops separators and spaces ("abcde-fghij" ->
// "ABCDEFGHIJ"); maps the look-alikes O->0, I/L->1 (Crockford).
std::string NormaliseCode(std::string_view typed);

}  // namespace sealtrace::access
