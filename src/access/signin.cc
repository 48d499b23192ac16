#include "access/signin.h"

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "vault/enroll.h"

namespace sealtrace::access {
namespace {

using json = nlohmann::json;
using audit::AuditKind;

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr char kUserCodeLetters[] = "BCDFGHJKLMNPQRSTVWXZ";  // RFC 8628 §6.1: no vowels

std::string RandomText(Env* env, const char* alphabet, size_t alphabet_size, size_t n) {
  std::string raw(n, '\0');
  std::string out;
  // 256 is a multiple of 32; for the 20-letter alphabet, rejection sampling.
  while (out.size() < n) {
    env->RandomBytes(raw.data(), raw.size());
    for (char c : raw) {
      const unsigned v = static_cast<uint8_t>(c);
      if (v >= 256 - 256 % alphabet_size) continue;
      out.push_back(alphabet[v % alphabet_size]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string Grouped(const std::string& s, size_t group) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && i % group == 0) out.push_back('-');
    out.push_back(s[i]);
  }
  return out;
}

// The explanation of a "<rule>: <why>" status, without the rule.
std::string WhyOf(const absl::Status& s) {
  std::string m(s.message());
  const std::string rule = RuleOf(s);
  return rule.empty() ? m : m.substr(rule.size() + 2);
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json CredentialList(const std::vector<PasskeyRecord>& keys) {
  json list = json::array();
  for (const auto& k : keys) {
    if (k.revoked_us == 0) list.push_back({{"type", "public-key"}, {"id", Base64Url(k.credential_id)}});
  }
  return list;
}

}  // namespace

std::string NormaliseCode(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ' || c == '\t') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    out.push_back(c);
  }
  return out;
}

namespace {
// Terminal user codes use letters only (RFC 8628): no look-alike mapping.
std::string NormaliseUserCode(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ' || c == '\t') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  return out;
}
}  // namespace

SignInService::SignInService(AccessService* access, AccessStore* store, SignInOptions options)
    : access_(access), store_(store), options_(std::move(options)), env_(access->env()) {}

absl::Status SignInService::Refuse(const Principal* p, std::string_view rule,
                                   std::string_view route, const std::string& why,
                                   bool unauthenticated) {
  access_->AuditRefusal(p, rule, route, why);
  std::string m = std::string(rule) + ": " + why;
  return unauthenticated ? absl::UnauthenticatedError(m) : absl::PermissionDeniedError(m);
}

// --- codes ---

absl::StatusOr<IssuedCode> SignInService::IssueCode(std::string_view kind, const Principal& owner,
                                                    const std::string& issuer_id,
                                                    const Principal* actor,
                                                    const std::string& label, int64_t ttl_us) {
  IssuedCode out;
  const std::string plain = RandomText(env_, kCrockford, 32, 20);
  out.code = Grouped(plain, 5);
  const int64_t now = env_->NowWallMicros();
  out.expires_us = now + (ttl_us > 0 ? ttl_us : options_.code_ttl_us);
  OneTimeCode c;
  c.code_sha256 = Sha256(plain);
  c.kind = std::string(kind);
  c.principal_id = owner.id;
  c.contributor_id = owner.contributor_id;
  c.issuer_id = issuer_id;
  c.label = label;
  c.created_us = now;
  c.expires_us = out.expires_us;
  audit::AuditEntry e = access_->NewAuditEntry(AuditKind::kTokenIssue, actor);
  if (actor == nullptr) e.actor_id = issuer_id;
  e.decision = audit::Decision::kAllow;
  e.rule = kind == kCodeDevice       ? "signin.device_code"
           : kind == kCodeInvitation ? "signin.invitation"
                                     : "signin.code";
  if (!label.empty()) e.extra["name_hash"] = access_->FieldHash(label);
  e.subject_contributor = owner.contributor_id;
  e.object_id = "code:" + ToHex(c.code_sha256.substr(0, 8));
  e.extra["kind"] = c.kind;
  e.extra["principal"] = owner.id;
  e.extra["expires_us"] = std::to_string(c.expires_us);
  if (auto r = access_->AppendAudit(e); !r.ok()) return r.status();
  if (auto s = store_->PutCode(c); !s.ok()) return s;
  return out;
}

absl::StatusOr<IssuedCode> SignInService::IssueEnrolmentCode(const Principal& contributor) {
  return IssueCode(kCodeSignIn, contributor, "enrolment", nullptr);
}

absl::StatusOr<IssuedCode> SignInService::IssueRecoveryCode(const Principal& officer,
                                                            const std::string& contributor_id) {
  const char* route = "signin.recovery";
  if (officer.role != Role::kPrivacyOfficer || officer.disabled) {
    return Refuse(&officer, "signin.recovery_officer_only", route,
                  "only an active privacy officer issues recovery codes", false);
  }
  auto p = access_->EnsureContributorPrincipal(contributor_id);
  if (!p.ok()) return p.status();
  return IssueCode(kCodeSignIn, *p, officer.id, &officer);
}

absl::StatusOr<IssuedCode> SignInService::IssueDeviceCode(const Principal& contributor) {
  if (contributor.role != Role::kContributor || contributor.auth_method != "passkey") {
    return Refuse(&contributor, "signin.passkey_required", "signin.device_code",
                  "device codes are created only in a passkey session", false);
  }
  return IssueCode(kCodeDevice, contributor, contributor.id, &contributor);
}

absl::StatusOr<IssuedCode> SignInService::IssueInvitation(const Principal& op,
                                                          const std::string& name) {
  const char* route = "signin.invitation";
  if (op.role != Role::kOperator || op.disabled) {
    return Refuse(&op, "signin.invitation_operator_only", route,
                  "only an active operator issues invitations", false);
  }
  if (auto s = vault::ValidateContributorName(name); !s.ok()) return s;
  auto taken = access_->ContributorNameTaken(name);
  if (!taken.ok()) return taken.status();
  if (*taken) {
    return absl::AlreadyExistsError("the name \"" + name + "\" belongs to an existing contributor");
  }
  Principal nobody;  // the invited contributor does not exist yet
  return IssueCode(kCodeInvitation, nobody, op.id, &op, name, options_.invitation_ttl_us);
}

absl::StatusOr<std::string> SignInService::UseInvitation(std::string_view code) {
  auto c = UseOneTimeCode(code, kCodeInvitation, "/v1/enroll");
  if (!c.ok()) return c.status();
  return c->label;
}

absl::StatusOr<OneTimeCode> SignInService::UseOneTimeCode(std::string_view code,
                                                          std::string_view kind,
                                                          std::string_view route) {
  auto c = CheckCode(code, kind, route);
  if (!c.ok()) return c.status();
  auto used = store_->UseCode(c->code_sha256, kind, env_->NowWallMicros());
  if (!used.ok()) return used.status();
  if (!*used) return Refuse(nullptr, "signin.code_used", route, "this code was already used", false);
  return c;
}

absl::StatusOr<OneTimeCode> SignInService::CheckCode(std::string_view code, std::string_view kind,
                                                     std::string_view route) {
  const std::string plain = NormaliseCode(code);
  if (plain.size() != 20) {
    return Refuse(nullptr, "signin.code_unknown", route, "not a sealtrace code", false);
  }
  auto c = store_->GetCode(Sha256(plain));
  if (!c.ok()) return c.status();
  if (!c->has_value() || (*c)->kind != kind) {
    return Refuse(nullptr, "signin.code_unknown", route, "unknown code", false);
  }
  if ((*c)->used_us != 0) {
    return Refuse(nullptr, "signin.code_used", route, "this code was already used", false);
  }
  if (env_->NowWallMicros() >= (*c)->expires_us) {
    return Refuse(nullptr, "signin.code_expired", route, "this code has expired", false);
  }
  return **c;
}

absl::StatusOr<std::string> SignInService::UseDeviceCode(std::string_view code) {
  auto c = UseOneTimeCode(code, kCodeDevice, "/v1/enroll");
  if (!c.ok()) return c.status();
  return c->contributor_id;
}

// --- passkeys ---

webauthn::Expectation SignInService::Expect(const PendingCeremony& c,
                                            const std::vector<std::string>& origins) const {
  webauthn::Expectation e;
  e.rp_id = options_.rp_id;
  e.origins = origins;
  e.challenge = c.challenge;
  e.require_user_verification = true;
  return e;
}

void SignInService::SweepLocked(int64_t now) {
  for (auto it = ceremonies_.begin(); it != ceremonies_.end();) {
    it = it->second.expires_us <= now ? ceremonies_.erase(it) : std::next(it);
  }
  for (auto it = flows_.begin(); it != flows_.end();) {
    it = it->second.expires_us <= now ? flows_.erase(it) : std::next(it);
  }
}

absl::StatusOr<Ceremony> SignInService::NewCeremony(PendingCeremony c,
                                                    const std::string& options_json) {
  const int64_t now = env_->NowWallMicros();
  Ceremony out;
  std::string id(16, '\0');
  env_->RandomBytes(id.data(), id.size());
  out.id = ToHex(id);
  c.expires_us = now + options_.ceremony_ttl_us;
  std::lock_guard<std::mutex> l(mu_);
  SweepLocked(now);
  if (ceremonies_.size() >= options_.max_pending) {
    return absl::ResourceExhaustedError("signin.busy: too many sign-ins in progress; try again");
  }
  ceremonies_[out.id] = std::move(c);
  out.options_json = options_json;
  return out;
}

absl::StatusOr<SignInService::PendingCeremony> SignInService::TakeCeremony(std::string_view id,
                                                                           bool registration) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = ceremonies_.find(std::string(id));
  if (it == ceremonies_.end() || it->second.registration != registration) {
    return absl::UnauthenticatedError("webauthn.challenge: unknown or already used sign-in attempt");
  }
  PendingCeremony c = std::move(it->second);
  ceremonies_.erase(it);  // single use, whatever happens next
  if (c.expires_us <= env_->NowWallMicros()) {
    return absl::UnauthenticatedError("webauthn.challenge: the sign-in attempt expired");
  }
  return c;
}

absl::StatusOr<Ceremony> SignInService::RegistrationCeremony(const Principal& target,
                                                             std::string code_sha256) {
  auto existing = store_->ListPasskeys(target.id);
  if (!existing.ok()) return existing.status();
  PendingCeremony pc;
  pc.registration = true;
  pc.principal_id = target.id;
  pc.code_sha256 = std::move(code_sha256);
  pc.challenge.resize(32);
  env_->RandomBytes(pc.challenge.data(), pc.challenge.size());
  json o = {
      {"challenge", Base64Url(pc.challenge)},
      {"rp", {{"id", options_.rp_id}, {"name", options_.rp_name}}},
      {"user", {{"id", Base64Url(target.id)}, {"name", target.name}, {"displayName", target.name}}},
      {"pubKeyCredParams",
       json::array({{{"type", "public-key"}, {"alg", webauthn::kAlgES256}},
                    {{"type", "public-key"}, {"alg", webauthn::kAlgEdDSA}}})},
      {"authenticatorSelection",
       {{"residentKey", "required"}, {"requireResidentKey", true}, {"userVerification", "required"}}},
      {"attestation", "none"},
      {"timeout", options_.ceremony_ttl_us / 1000},
      {"excludeCredentials", CredentialList(*existing)}};
  return NewCeremony(std::move(pc), Dump(o));
}

absl::StatusOr<Ceremony> SignInService::BeginRegistration(std::string_view signin_code) {
  auto c = CheckCode(signin_code, kCodeSignIn, "signin.register");
  if (!c.ok()) return c.status();
  auto p = access_->GetPrincipal(c->principal_id);
  if (!p.ok()) return p.status();
  if (!p->has_value() || (*p)->role != Role::kContributor || (*p)->disabled) {
    return Refuse(nullptr, "signin.code_unknown", "signin.register",
                  "the code's contributor no longer exists or is disabled", false);
  }
  return RegistrationCeremony(**p, c->code_sha256);
}

absl::StatusOr<Ceremony> SignInService::BeginAddPasskey(const Principal& signed_in) {
  if (signed_in.role != Role::kContributor || signed_in.auth_method != "passkey") {
    return Refuse(&signed_in, "signin.passkey_required", "signin.add_passkey",
                  "another passkey is added only from a passkey session", false);
  }
  return RegistrationCeremony(signed_in, "");
}

absl::StatusOr<SignedIn> SignInService::FinishRegistration(std::string_view ceremony_id,
                                                           const webauthn::Registration& r,
                                                           const std::vector<std::string>& origins,
                                                           std::string_view client,
                                                           const Principal* signed_in) {
  const char* route = "signin.register";
  auto c = TakeCeremony(ceremony_id, true);
  if (!c.ok()) return Refuse(nullptr, RuleOf(c.status()), route, WhyOf(c.status()), true);
  // A code ceremony is finished without a session; an add-passkey ceremony
  // only by the signed-in principal it was begun for.
  const bool by_code = !c->code_sha256.empty();
  if (signed_in == nullptr ? !by_code : (by_code || c->principal_id != signed_in->id)) {
    return Refuse(signed_in, "webauthn.challenge", route,
                  "this registration was begun for someone else or another way", true);
  }
  auto cred = webauthn::VerifyRegistration(r, Expect(*c, origins));
  if (!cred.ok()) {
    return Refuse(nullptr, RuleOf(cred.status()), route, WhyOf(cred.status()), true);
  }
  auto p = access_->GetPrincipal(c->principal_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return absl::NotFoundError("the contributor no longer exists");
  if ((*p)->disabled || (*p)->role != Role::kContributor) {
    return Refuse(&**p, "principal.disabled", route, "the contributor is disabled", false);
  }
  const int64_t now = env_->NowWallMicros();
  if (!c->code_sha256.empty()) {
    auto used = store_->UseCode(c->code_sha256, kCodeSignIn, now);
    if (!used.ok()) return used.status();
    if (!*used) {
      return Refuse(&**p, "signin.code_used", route,
                    "the sign-in code was used or expired during registration", false);
    }
  }
  PasskeyRecord k;
  k.credential_id = cred->credential_id;
  k.principal_id = (*p)->id;
  k.alg = cred->public_key.alg;
  k.public_key = cred->public_key.key;
  k.sign_count = cred->sign_count;
  k.created_us = now;
  k.last_used_us = now;
  k.label = std::string(client.substr(0, 64));
  audit::AuditEntry e = access_->NewAuditEntry(AuditKind::kPolicyChange, &**p);
  e.decision = audit::Decision::kAllow;
  e.rule = c->code_sha256.empty() ? "signin.add_passkey" : "signin.code";
  e.subject_contributor = (*p)->contributor_id;
  e.object_id = "passkey:" + Base64Url(k.credential_id).substr(0, 43);
  e.extra["action"] = "register_passkey";
  e.extra["alg"] = std::to_string(k.alg);
  if (auto a = access_->AppendAudit(e); !a.ok()) return a.status();
  if (auto s = store_->PutPasskey(k); !s.ok()) {
    if (absl::IsAlreadyExists(s)) {
      return Refuse(&**p, "webauthn.credential", route, "this passkey is already registered", true);
    }
    return s;
  }
  SignedIn out{**p, {}, Base64Url(k.credential_id)};
  if (signed_in != nullptr) return out;  // an extra passkey: the session already has its token
  auto token = access_->MintSignInToken(**p, "passkey", client, options_.session_token_ttl_us);
  if (!token.ok()) return token.status();
  out.token = *std::move(token);
  return out;
}

absl::StatusOr<Ceremony> SignInService::BeginSignIn(const Principal* step_up_for) {
  PendingCeremony pc;
  pc.challenge.resize(32);
  env_->RandomBytes(pc.challenge.data(), pc.challenge.size());
  json o = {{"challenge", Base64Url(pc.challenge)},
            {"rpId", options_.rp_id},
            {"userVerification", "required"},
            {"timeout", options_.ceremony_ttl_us / 1000}};
  if (step_up_for != nullptr) {
    pc.principal_id = step_up_for->id;
    auto keys = store_->ListPasskeys(step_up_for->id);
    if (!keys.ok()) return keys.status();
    o["allowCredentials"] = CredentialList(*keys);
  }
  return NewCeremony(std::move(pc), Dump(o));
}

absl::StatusOr<SignedIn> SignInService::FinishSignIn(std::string_view ceremony_id,
                                                     std::string_view credential_id,
                                                     const webauthn::Assertion& a,
                                                     const std::vector<std::string>& origins,
                                                     std::string_view client,
                                                     const Principal* step_up_for) {
  const char* route = "signin.passkey";
  auto c = TakeCeremony(ceremony_id, false);
  if (!c.ok()) return Refuse(nullptr, RuleOf(c.status()), route, WhyOf(c.status()), true);
  // A plain sign-in ceremony cannot serve as a step-up, nor the other way round.
  if (step_up_for == nullptr ? !c->principal_id.empty() : c->principal_id != step_up_for->id) {
    return Refuse(step_up_for, "signin.step_up_mismatch", route,
                  "this sign-in attempt was begun for another purpose or person", false);
  }
  auto k = store_->GetPasskey(std::string(credential_id));
  if (!k.ok()) return k.status();
  if (!k->has_value() || (*k)->revoked_us != 0) {
    return Refuse(nullptr, "webauthn.credential", route, "unknown or revoked passkey", true);
  }
  const PasskeyRecord& key = **k;
  auto p = access_->GetPrincipal(key.principal_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return Refuse(nullptr, "webauthn.credential", route, "passkey of no one", true);
  const Principal* who = &**p;
  if (!c->principal_id.empty() && c->principal_id != key.principal_id) {
    return Refuse(who, "signin.step_up_mismatch", route,
                  "the step-up must be made with the signed-in person's own passkey", false);
  }
  auto result = webauthn::VerifyAssertion(a, {key.alg, key.public_key}, Expect(*c, origins));
  if (!result.ok()) {
    return Refuse(who, RuleOf(result.status()), route, WhyOf(result.status()), true);
  }
  if (!webauthn::CounterAdvances(key.sign_count, result->sign_count)) {
    return Refuse(who, "webauthn.counter", route,
                  "the passkey's signature counter went backwards (a cloned authenticator?)", true);
  }
  auto u = store_->UpdatePasskeyUse(key.credential_id, key.sign_count, result->sign_count,
                                    env_->NowWallMicros());
  if (absl::IsFailedPrecondition(u)) {
    return Refuse(who, "webauthn.counter", route, "a concurrent sign-in used this counter", true);
  }
  if (!u.ok()) return u;
  SignedIn out{*who, {}, Base64Url(key.credential_id)};
  if (step_up_for != nullptr) {
    // A step-up proves presence for a session that already has its token.
    audit::AuditEntry e = access_->NewAuditEntry(AuditKind::kPolicyChange, step_up_for);
    e.decision = audit::Decision::kAllow;
    e.rule = "signin.step_up";
    e.subject_contributor = who->contributor_id;
    e.object_id = "passkey:" + out.credential_id.substr(0, 43);
    e.extra["action"] = "step_up";
    if (auto a = access_->AppendAudit(e); !a.ok()) return a.status();
    return out;
  }
  auto token = access_->MintSignInToken(*who, "passkey", client, options_.session_token_ttl_us);
  if (!token.ok()) return token.status();
  out.token = *std::move(token);
  return out;
}

absl::StatusOr<std::vector<PasskeyRecord>> SignInService::ListPasskeys(const Principal& p) {
  if (p.role != Role::kContributor) return std::vector<PasskeyRecord>{};
  return store_->ListPasskeys(p.id);
}

// --- terminals ---

absl::StatusOr<TerminalFlow> SignInService::StartTerminalFlow(std::string_view client_name) {
  TerminalFlow out;
  std::string raw(32, '\0');
  env_->RandomBytes(raw.data(), raw.size());
  out.device_code = "stdc_" + Base64Url(raw);
  const std::string user = RandomText(env_, kUserCodeLetters, 20, 8);
  out.user_code = Grouped(user, 4);
  const int64_t now = env_->NowWallMicros();
  out.expires_us = now + options_.terminal_flow_ttl_us;
  PendingFlow f;
  f.device_code_sha256 = Sha256(out.device_code);
  f.client = std::string(client_name.substr(0, 64));
  f.expires_us = out.expires_us;
  std::lock_guard<std::mutex> l(mu_);
  SweepLocked(now);
  if (flows_.size() >= options_.max_pending) {
    return absl::ResourceExhaustedError("signin.busy: too many terminal sign-ins waiting; try again");
  }
  if (!flows_.emplace(user, std::move(f)).second) {
    return absl::UnavailableError("signin.busy: user code collision; try again");
  }
  return out;
}

absl::Status SignInService::DecideTerminalFlow(const Principal& contributor,
                                               std::string_view user_code, bool approve) {
  const char* route = "signin.terminal";
  if (contributor.role != Role::kContributor || contributor.auth_method != "passkey") {
    return Refuse(&contributor, "signin.passkey_required", route,
                  "a terminal is approved only from a passkey session", false);
  }
  std::string client;
  {
    std::lock_guard<std::mutex> l(mu_);
    SweepLocked(env_->NowWallMicros());
    auto it = flows_.find(NormaliseUserCode(user_code));
    if (it == flows_.end() || it->second.state != 0) {
      return Refuse(&contributor, "signin.code_unknown", route,
                    "no terminal is waiting with this code (expired or already decided)", false);
    }
    client = it->second.client;
  }
  audit::AuditEntry e = access_->NewAuditEntry(AuditKind::kPolicyChange, &contributor);
  e.decision = approve ? audit::Decision::kAllow : audit::Decision::kRefuse;
  e.rule = "signin.terminal";
  e.subject_contributor = contributor.contributor_id;
  e.extra["action"] = approve ? "approve_terminal" : "deny_terminal";
  e.extra["client"] = client;
  if (auto a = access_->AppendAudit(e); !a.ok()) return a.status();
  std::lock_guard<std::mutex> l(mu_);
  auto it = flows_.find(NormaliseUserCode(user_code));
  if (it == flows_.end() || it->second.state != 0) {
    return absl::FailedPreconditionError("signin.code_unknown: the terminal flow ended meanwhile");
  }
  it->second.state = approve ? 1 : 2;
  it->second.principal_id = contributor.id;
  return absl::OkStatus();
}

absl::StatusOr<IssuedToken> SignInService::PollTerminalFlow(std::string_view device_code) {
  const char* route = "signin.terminal";
  const std::string h = Sha256(device_code);
  PendingFlow f;
  {
    std::lock_guard<std::mutex> l(mu_);
    const int64_t now = env_->NowWallMicros();
    auto it = flows_.begin();
    for (; it != flows_.end(); ++it) {
      if (ConstantTimeEquals(it->second.device_code_sha256, h)) break;
    }
    if (it == flows_.end() || it->second.expires_us <= now) {
      if (it != flows_.end()) flows_.erase(it);
      it = flows_.end();
    }
    if (it == flows_.end()) {
      f.state = -1;
    } else if (it->second.state == 0) {
      return absl::FailedPreconditionError("signin.pending: waiting for approval in the browser");
    } else {
      f = it->second;
      flows_.erase(it);
    }
  }
  if (f.state == -1) {
    return Refuse(nullptr, "signin.code_expired", route,
                  "no such terminal sign-in (expired, denied earlier or already used)", true);
  }
  if (f.state == 2) return Refuse(nullptr, "signin.denied", route, "the contributor denied it", false);
  auto p = access_->GetPrincipal(f.principal_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return absl::NotFoundError("the approving contributor no longer exists");
  return access_->MintSignInToken(**p, "device_flow", "cli:" + f.client,
                                  options_.terminal_token_ttl_us);
}

}  // namespace sealtrace::access
