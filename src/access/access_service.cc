#include "access/access_service.h"
#include "access/signin.h"

#include "export/ledger_sqlite.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit/sqlite_store.h"
#include "crypto/crypto.h"
#include "vault/enroll.h"
#include "vault/ingest.h"

namespace sealtrace::access {
namespace {

using audit::AuditEntry;
using audit::AuditKind;

constexpr size_t kMaxPurposeChars = 500;
constexpr size_t kMaxScopeContributors = 1000;

std::string NewId(Env* env, const char* prefix, size_t bytes = 12) {
  std::string r(bytes, '\0');
  env->RandomBytes(r.data(), r.size());
  return prefix + ToHex(r);
}

absl::Status Denied(const Decision& d) {
  return absl::PermissionDeniedError(d.rule + ": " + d.explanation);
}

// Whether the segment's coarse range (whole hours, from the index) overlaps
// [from, to). Its events all lie inside that range (OpenSegment checks), so
// this selects a superset of the segments with events in [from, to); the
// exact per-event filter after opening (ReleaseAndOpen) narrows it.
bool Overlaps(const vault::SegmentRecord& s, int64_t from, int64_t to) {
  return s.wall_start_us < to && s.wall_end_us > from;
}

// Whether an opened segment's exact span [anchor, anchor + duration] overlaps [from, to).
bool ExactOverlaps(const SegmentHeader& h, int64_t from, int64_t to) {
  const int64_t end = h.wall_anchor_us + static_cast<int64_t>(h.duration_us) + 1;
  return h.wall_anchor_us < to && end > from;
}

uint32_t ChannelOf(const v1::Event& e) {
  switch (e.body_case()) {
    case v1::Event::kKey:
    case v1::Event::kRedaction:
      return kChannelKeys;
    case v1::Event::kPointer:
      return kChannelPointer;
    case v1::Event::kFocus:
      return kChannelFocus;
    case v1::Event::kFrame:
      return kChannelFrames;
    default:
      return 0;  // control events: always included (no content)
  }
}

void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

SegmentRef RefOf(const vault::SegmentRecord& s) {
  SegmentRef r;
  r.segment_id = s.segment_id.Hex();
  r.contributor_id = s.contributor_id.Hex();
  r.device_id = s.device_id.Hex();
  r.sequence = s.sequence;
  r.wall_start_us = s.wall_start_us;
  r.wall_end_us = s.wall_end_us;
  r.frame = (s.flags & kFlagFramePayload) != 0;
  r.size = s.size;
  return r;
}

}  // namespace

std::string RuleOf(const absl::Status& s) {
  if (s.ok()) return "";
  std::string m(s.message());
  size_t colon = m.find(": ");
  if (colon == std::string::npos) return "";
  std::string rule = m.substr(0, colon);
  if (rule.find(' ') != std::string::npos) return "";
  return rule;
}

AccessService::AccessService(vault::Vault* vault, AccessStore* store, audit::AuditLog* log,
                             audit::AuditSigner* signer, AccessOptions options)
    : vault_(vault),
      store_(store),
      log_(log),
      signer_(signer),
      options_(std::move(options)),
      env_(options_.env ? options_.env : Env::Default()) {
  InitCrypto();
  if (options_.field_hash_key.empty()) options_.field_hash_key = RandomBytes(32);
  if (options_.grant_seal_key.empty()) options_.grant_seal_key = RandomBytes(32);
}

AccessService::~AccessService() { StopBackground(); }

std::string AccessService::Hash(std::string_view v) const {
  return audit::KeyedFieldHash(options_.field_hash_key, v);
}

AuditEntry AccessService::Entry(AuditKind kind, const Principal* p) {
  AuditEntry e;
  e.kind = kind;
  e.actor_id = p ? p->id : "anonymous";
  e.actor_role = p ? std::string(RoleName(p->role)) : "none";
  if (p != nullptr && !p->token_id.empty()) {
    e.extra["credential"] = p->token_id;
    e.extra["auth_method"] = p->auth_method;
    if (!p->client.empty()) e.extra["client"] = p->client;
  }
  return e;
}

absl::StatusOr<uint64_t> AccessService::Append(AuditEntry e) {
  e.time_us = env_->NowWallMicros();
  return log_->Append(e);
}

void AccessService::AuditRefusal(const Principal* p, std::string_view rule, std::string_view route,
                                 std::string_view detail) {
  AuditEntry e = Entry(AuditKind::kRefused, p);
  e.decision = audit::Decision::kRefuse;
  e.rule = std::string(rule);
  e.object_id = std::string(route);
  if (!detail.empty()) e.extra["explanation"] = std::string(detail);
  auto r = Append(e);
  if (!r.ok()) spdlog::error("audit: cannot record a refusal ({})", std::string(rule));
}

absl::Status AccessService::Refuse(const Principal* p, const Decision& d, AuditKind attempted,
                                   std::string_view object, const std::string& subject,
                                   const std::string& grant_id) {
  AuditEntry e = Entry(AuditKind::kRefused, p);
  e.decision = audit::Decision::kRefuse;
  e.rule = d.rule;
  e.subject_contributor = subject;
  e.grant_id = grant_id;
  e.object_id = std::string(object);
  e.extra["attempted"] = std::string(audit::AuditKindName(attempted));
  e.extra["explanation"] = d.explanation;
  auto r = Append(e);
  if (!r.ok()) spdlog::error("audit: cannot record a refusal ({})", d.rule);
  return Denied(d);
}

absl::StatusOr<Decision> AccessService::Decide(const Principal& p, Action a, const Target& t,
                                               const std::vector<Grant>& grants, AuditKind kind,
                                               std::string_view object) {
  Decision d = Evaluate(p, a, t, grants, CurrentState(), env_->NowWallMicros());
  if (!d.allow) return Refuse(&p, d, kind, object, t.contributor_id, t.grant_id);
  return d;
}

// --- authentication ---

absl::StatusOr<Principal> AccessService::Authenticate(std::string_view authorization,
                                                      std::string_view scope,
                                                      std::string_view route) {
  auto refuse = [&](const Principal* p, const char* rule, const std::string& why,
                    bool unauthenticated) -> absl::Status {
    AuditRefusal(p, rule, route, why);
    std::string m = std::string(rule) + ": " + why;
    return unauthenticated ? absl::UnauthenticatedError(m) : absl::PermissionDeniedError(m);
  };
  auto tok = vault::ParseBearer(authorization);
  if (!tok) return refuse(nullptr, "token.missing", "no bearer token", true);
  if (tok->substr(0, 4) == vault::kDeviceTokenPrefix) {
    // Tell the contributor that one of their devices' credentials was tried here.
    auto dev = vault::AuthenticateDevice(vault_->store(), authorization);
    if (dev.ok()) {
      AuditEntry e = Entry(AuditKind::kRefused, nullptr);
      e.actor_id = "device:" + dev->id.Hex();
      e.actor_role = "device";
      e.decision = audit::Decision::kRefuse;
      e.rule = "device.not_a_reader";
      e.subject_contributor = dev->contributor_id.Hex();
      e.object_id = std::string(route);
      e.extra["explanation"] = "a device token was used to read, delete or sign in";
      if (!Append(e).ok()) spdlog::error("audit: cannot record a refusal (device.not_a_reader)");
      return absl::PermissionDeniedError(
          "device.not_a_reader: a device token only uploads segments and polls programme "
          "state; it never reads, deletes or signs in (sign in with your passkey)");
    }
    return refuse(nullptr, "device.not_a_reader",
                  "a device token only uploads segments and polls programme state; it never "
                  "reads, deletes or signs in (sign in with your passkey)",
                  false);
  }
  if (tok->substr(0, 4) != kApiTokenPrefix) {
    return refuse(nullptr, "token.malformed", "not a sealtrace API token (stp_...)", true);
  }
  auto raw = FromBase64Url(tok->substr(4));
  if (!raw.ok() || raw->size() != 32) {
    return refuse(nullptr, "token.malformed", "malformed API token", true);
  }
  auto rec = store_->FindTokenByHash(Sha256(*tok));
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return refuse(nullptr, "token.unknown", "unknown or forged token", true);
  const TokenRecord& t = **rec;
  auto p = store_->GetPrincipal(t.principal_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return refuse(nullptr, "token.unknown", "token of no principal", true);
  Principal& pr = **p;
  pr.token_id = t.id;
  pr.auth_method = t.method;
  pr.client = t.client;
  pr.token_created_us = t.created_us;
  if (t.revoked_us != 0) {
    return refuse(&pr, "token.revoked", "token " + t.id + " was revoked", true);
  }
  if (env_->NowWallMicros() >= t.expires_us) {
    return refuse(&pr, "token.expired", absl::StrCat("token ", t.id, " expired at ", t.expires_us),
                  true);
  }
  if (pr.disabled) {
    return refuse(&pr, "principal.disabled",
                  "principal " + pr.id + " is disabled or awaits activation by a privacy officer",
                  false);
  }
  if (pr.role == Role::kContributor && t.method != "passkey" && t.method != "device_flow") {
    // Contributor tokens minted before passkey sign-in (stored beside device
    // configs by older versions) read nothing any more.
    return refuse(&pr, "token.contributor_signin",
                  "token " + t.id + " was not issued by a passkey sign-in; sign in with your passkey",
                  true);
  }
  if (!scope.empty() && std::find(t.scopes.begin(), t.scopes.end(), scope) == t.scopes.end()) {
    return refuse(&pr, "token.scope",
                  "token " + t.id + " lacks scope \"" + std::string(scope) + "\" (has " +
                      absl::StrJoin(t.scopes, ",") + ")",
                  false);
  }
  return pr;
}

// --- principals and tokens ---

absl::StatusOr<IssuedToken> AccessService::MintToken(const std::string& principal_id, Role role,
                                                     std::vector<std::string> scopes,
                                                     int64_t ttl_us, const Principal* actor,
                                                     std::string_view method,
                                                     std::string_view client) {
  if (scopes.empty()) scopes = DefaultScopes(role);
  for (const auto& s : scopes) {
    if (!ScopeAllowedForRole(role, s)) {
      return absl::InvalidArgumentError("scope \"" + s + "\" is not allowed for role " +
                                        std::string(RoleName(role)));
    }
  }
  if (ttl_us <= 0) ttl_us = options_.default_token_ttl_us;
  if (ttl_us > options_.max_token_ttl_us) {
    return absl::InvalidArgumentError("token lifetime exceeds the maximum (366 days)");
  }
  std::string raw(32, '\0');
  env_->RandomBytes(raw.data(), raw.size());
  IssuedToken out;
  out.principal_id = principal_id;
  out.token = kApiTokenPrefix + Base64Url(raw);
  out.token_id = NewId(env_, "t_", 8);
  out.scopes = scopes;
  const int64_t now = env_->NowWallMicros();
  out.expires_us = now + ttl_us;
  TokenRecord rec{out.token_id, principal_id, Sha256(out.token), scopes, now, out.expires_us, 0,
                  std::string(method), std::string(client)};
  AuditEntry e = Entry(AuditKind::kTokenIssue, actor);
  if (!actor) e.actor_id = "system";
  e.decision = audit::Decision::kAllow;
  e.rule = "token.issue";
  e.object_id = out.token_id;
  e.extra["principal"] = principal_id;
  e.extra["role"] = std::string(RoleName(role));
  e.extra["scopes"] = absl::StrJoin(scopes, ",");
  e.extra["expires_us"] = std::to_string(out.expires_us);
  e.extra["method"] = std::string(method);
  if (actor != nullptr && actor->role == Role::kContributor && actor->id == principal_id) {
    e.subject_contributor = actor->contributor_id;
  }
  if (!client.empty()) e.extra["issued_to"] = std::string(client);
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->PutToken(rec); !s.ok()) return s;
  return out;
}

absl::StatusOr<IssuedToken> AccessService::BootstrapPrincipal(Role role, const std::string& name) {
  Principal p;
  p.id = NewId(env_, "p_");
  p.role = role;
  p.name = name;
  p.created_us = env_->NowWallMicros();
  AuditEntry e = Entry(AuditKind::kPolicyChange, nullptr);
  e.actor_id = "bootstrap";
  e.decision = audit::Decision::kAllow;
  e.rule = "bootstrap.init";
  e.object_id = p.id;
  e.extra["role"] = std::string(RoleName(role));
  e.extra["name_hash"] = Hash(name);
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->CreatePrincipal(p); !s.ok()) return s;
  return MintToken(p.id, role, {}, 0, nullptr);
}

absl::StatusOr<IssuedToken> AccessService::CreatePrincipal(const Principal& actor, Role role,
                                                           const std::string& name,
                                                           std::vector<std::string> scopes,
                                                           int64_t ttl_us) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError("principal name must be 1..128 bytes");
  }
  Target t;
  t.principal_role = role;
  auto d = Decide(actor, Action::kManagePrincipals, t, {}, AuditKind::kPolicyChange, "principal");
  if (!d.ok()) return d.status();
  Principal p;
  p.id = NewId(env_, "p_");
  p.role = role;
  p.name = name;
  p.created_us = env_->NowWallMicros();
  // Anything that could read or approve starts disabled until a privacy officer activates it.
  p.disabled = role != Role::kOperator;
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = p.id;
  e.extra["action"] = "create_principal";
  e.extra["role"] = std::string(RoleName(role));
  e.extra["name_hash"] = Hash(name);
  e.extra["pending_activation"] = p.disabled ? "true" : "false";
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->CreatePrincipal(p); !s.ok()) return s;
  return MintToken(p.id, role, std::move(scopes), ttl_us, &actor);
}

absl::Status AccessService::ActivatePrincipal(const Principal& actor,
                                              const std::string& principal_id) {
  auto p = store_->GetPrincipal(principal_id);
  if (!p.ok()) return p.status();
  if (!p->has_value()) return absl::NotFoundError("no principal " + principal_id);
  Target t;
  t.principal_id = principal_id;
  t.principal_role = (*p)->role;
  auto d = Decide(actor, Action::kActivatePrincipal, t, {}, AuditKind::kPolicyChange, principal_id);
  if (!d.ok()) return d.status();
  if ((*p)->role == Role::kContributor) {
    return absl::FailedPreconditionError("contributor principals are not activated this way");
  }
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = principal_id;
  e.extra["action"] = "activate_principal";
  if (auto r = Append(e); !r.ok()) return r.status();
  return store_->SetPrincipalDisabled(principal_id, false);
}

absl::StatusOr<IssuedToken> AccessService::IssueToken(const Principal& actor,
                                                      const std::string& principal_id,
                                                      std::vector<std::string> scopes,
                                                      int64_t ttl_us) {
  auto p = store_->GetPrincipal(principal_id);
  if (!p.ok()) return p.status();
  Target t;
  t.principal_id = principal_id;
  if (p->has_value()) t.principal_role = (*p)->role;
  auto d = Decide(actor, Action::kIssueToken, t, {}, AuditKind::kTokenIssue, principal_id);
  if (!d.ok()) return d.status();
  if (!p->has_value()) return absl::NotFoundError("no principal " + principal_id);
  return MintToken(principal_id, (*p)->role, std::move(scopes), ttl_us, &actor);
}

absl::Status AccessService::RevokeToken(const Principal& actor, const std::string& token_id) {
  auto t = store_->GetToken(token_id);
  if (!t.ok()) return t.status();
  const bool own = t->has_value() && (*t)->principal_id == actor.id;
  if (!own) {
    auto d = Decide(actor, Action::kManagePrincipals, {}, {}, AuditKind::kPolicyChange, token_id);
    if (!d.ok()) return d.status();
  }
  if (!t->has_value()) return absl::NotFoundError("no token " + token_id);
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = own ? "token.self" : "operator.manage";
  e.object_id = token_id;
  e.extra["action"] = "revoke_token";
  if (auto r = Append(e); !r.ok()) return r.status();
  return store_->RevokeToken(token_id, env_->NowWallMicros());
}

absl::StatusOr<std::vector<Principal>> AccessService::ListPrincipals(const Principal& actor) {
  auto d = Decide(actor, Action::kManagePrincipals, {}, {}, AuditKind::kPolicyChange, "principals");
  if (!d.ok()) return d.status();
  return store_->ListPrincipals();
}

absl::StatusOr<Principal> AccessService::OnEnrolled(const std::string& contributor_id,
                                                    const std::string& device_id,
                                                    const std::string& name,
                                                    bool new_contributor, std::string_view via) {
  const int64_t now = env_->NowWallMicros();
  AuditEntry e = Entry(AuditKind::kEnrol, nullptr);
  e.actor_id = "device:" + device_id;
  e.actor_role = "device";
  e.decision = audit::Decision::kAllow;
  e.rule = !via.empty()        ? "enrol." + std::string(via)
           : new_contributor ? "enrol.secret"
                             : "enrol.device_code";
  e.subject_contributor = contributor_id;
  e.object_id = device_id;
  if (new_contributor) e.extra["name_hash"] = Hash(name);
  e.extra["new_contributor"] = new_contributor ? "true" : "false";
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->RecordDevice({device_id, contributor_id, now}); !s.ok()) return s;
  auto p = store_->FindContributorPrincipal(contributor_id);
  if (!p.ok()) return p.status();
  if (p->has_value()) return **p;
  Principal np;
  np.id = NewId(env_, "p_");
  np.role = Role::kContributor;
  np.name = name;
  np.contributor_id = contributor_id;
  np.created_us = now;
  absl::Status s = store_->CreatePrincipal(np);
  if (absl::IsAlreadyExists(s)) {  // a concurrent enrolment of the same contributor
    auto again = store_->FindContributorPrincipal(contributor_id);
    if (!again.ok()) return again.status();
    if (!again->has_value()) return s;
    return **again;
  }
  if (!s.ok()) return s;
  return np;
}

absl::StatusOr<Principal> AccessService::EnsureContributorPrincipal(const std::string& cid) {
  auto p = store_->FindContributorPrincipal(cid);
  if (!p.ok()) return p.status();
  if (p->has_value()) return **p;
  auto id = Id16::FromHex(cid);
  if (!id) return absl::InvalidArgumentError("contributor id must be 32 hex characters");
  auto c = vault_->store()->GetContributor(*id);
  if (!c.ok()) return c.status();
  if (!c->has_value()) return absl::NotFoundError("no contributor " + cid);
  Principal np;
  np.id = NewId(env_, "p_");
  np.role = Role::kContributor;
  np.name = (*c)->name;
  np.contributor_id = cid;
  np.created_us = env_->NowWallMicros();
  absl::Status s = store_->CreatePrincipal(np);
  if (absl::IsAlreadyExists(s)) return EnsureContributorPrincipal(cid);
  if (!s.ok()) return s;
  return np;
}

absl::StatusOr<IssuedToken> AccessService::MintSignInToken(const Principal& p,
                                                           std::string_view method,
                                                           std::string_view client,
                                                           int64_t ttl_us) {
  if (p.role != Role::kContributor) {
    return absl::PermissionDeniedError("signin.contributors_only: passkey sign-in is for contributors");
  }
  if (p.disabled) return absl::PermissionDeniedError("principal.disabled: principal is disabled");
  return MintToken(p.id, p.role, {kScopeMe}, ttl_us, &p, method, client);
}

absl::StatusOr<std::vector<DeviceEntry>> AccessService::ListOwnDevices(const Principal& actor) {
  if (actor.role != Role::kContributor || actor.contributor_id.empty()) {
    return absl::PermissionDeniedError("devices.own_only: only contributors list their own devices");
  }
  auto all = store_->ListDevices();
  if (!all.ok()) return all.status();
  std::vector<DeviceEntry> out;
  for (auto& d : *all) {
    if (d.contributor_id == actor.contributor_id) out.push_back(std::move(d));
  }
  return out;
}

absl::Status AccessService::RevokeOwnDevice(const Principal& actor,
                                            const std::string& device_id_hex) {
  auto id = Id16::FromHex(device_id_hex);
  if (!id) return absl::InvalidArgumentError("device id must be 32 hex characters");
  auto dev = vault_->store()->GetDevice(*id);
  if (!dev.ok()) return dev.status();
  if (actor.role != Role::kContributor || !dev->has_value() ||
      (*dev)->contributor_id.Hex() != actor.contributor_id) {
    Decision d{false, "devices.own_only", "a contributor revokes only their own devices"};
    return Refuse(&actor, d, AuditKind::kPolicyChange, device_id_hex, actor.contributor_id, "");
  }
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = "devices.own";
  e.subject_contributor = actor.contributor_id;
  e.object_id = device_id_hex;
  e.extra["action"] = "revoke_device";
  if (auto r = Append(e); !r.ok()) return r.status();
  return vault_->store()->RevokeDevice(*id, env_->NowWallMicros());
}

// --- grants ---

std::string AccessService::SealGrant(const Grant& g) const {
  std::string c = "sealtrace-grant-v1";
  PutStr(&c, g.id);
  PutStr(&c, g.requester_id);
  PutStr(&c, RoleName(g.requester_role));
  PutStr(&c, g.grantee_id);
  PutStr(&c, RoleName(g.grantee_role));
  PutStr(&c, g.purpose);
  PutU32(&c, static_cast<uint32_t>(g.scope.contributors.size()));
  for (const auto& x : g.scope.contributors) PutStr(&c, x);
  PutU32(&c, static_cast<uint32_t>(g.scope.datasets.size()));
  for (const auto& x : g.scope.datasets) PutStr(&c, x);
  PutU64(&c, static_cast<uint64_t>(g.scope.from_us));
  PutU64(&c, static_cast<uint64_t>(g.scope.to_us));
  PutU32(&c, g.scope.channels);
  PutU64(&c, static_cast<uint64_t>(g.created_us));
  PutU64(&c, static_cast<uint64_t>(g.not_before_us));
  PutU64(&c, static_cast<uint64_t>(g.expires_us));
  PutStr(&c, GrantStatusName(g.status));
  PutStr(&c, g.approver_id);
  PutStr(&c, RoleName(g.approver_role));
  PutU64(&c, static_cast<uint64_t>(g.decided_us));
  return ToHex(HmacSha256(options_.grant_seal_key, c));
}

absl::StatusOr<std::vector<Grant>> AccessService::LoadGrantChecked(const std::string& grant_id) {
  std::vector<Grant> out;
  if (grant_id.empty()) return out;
  auto g = store_->GetGrant(grant_id);
  if (!g.ok()) return g.status();
  if (!g->has_value()) return out;
  if (!ConstantTimeEquals(SealGrant(**g), (*g)->seal)) {
    return absl::DataLossError("grant " + grant_id + " fails its integrity seal");
  }
  out.push_back(**g);
  return out;
}

absl::StatusOr<Grant> AccessService::RequestGrant(const Principal& actor, const GrantRequest& req) {
  const std::string grantee_id = req.grantee_id.empty() ? actor.id : req.grantee_id;
  auto grantee = store_->GetPrincipal(grantee_id);
  if (!grantee.ok()) return grantee.status();
  Target t;
  t.grant_grantee_id = grantee_id;
  if (grantee->has_value()) t.grantee_role = (*grantee)->role;
  if (req.scope.contributors.size() == 1) t.contributor_id = req.scope.contributors[0];
  auto d = Decide(actor, Action::kRequestGrant, t, {}, AuditKind::kGrantRequest, "grant");
  if (!d.ok()) return d.status();
  if (!grantee->has_value()) return absl::NotFoundError("no principal " + grantee_id);
  const int64_t now = env_->NowWallMicros();
  if (req.purpose.empty() || req.purpose.size() > kMaxPurposeChars) {
    return absl::InvalidArgumentError("a grant needs a purpose of 1..500 bytes");
  }
  if (req.scope.contributors.empty() || req.scope.contributors.size() > kMaxScopeContributors) {
    return absl::InvalidArgumentError("a grant's scope must name 1..1000 contributor ids");
  }
  for (const auto& c : req.scope.contributors) {
    if (!Id16::FromHex(c) || c.size() != 32) {
      return absl::InvalidArgumentError("scope contributor \"" + c.substr(0, 40) +
                                        "\" is not a 32-hex-digit id");
    }
  }
  if (req.scope.to_us <= req.scope.from_us) {
    return absl::InvalidArgumentError("a grant's time range must be non-empty (from_us < to_us)");
  }
  if (req.scope.channels == 0 || (req.scope.channels & ~kAllChannels) != 0) {
    return absl::InvalidArgumentError("a grant must name channels (keys, pointer, focus, frames)");
  }
  const int64_t nb = req.not_before_us > 0 ? req.not_before_us : now;
  if (req.expires_us <= nb || req.expires_us <= now) {
    return absl::InvalidArgumentError("a grant needs an expiry in the future, after not_before");
  }
  if (req.expires_us - std::max(nb, now) > options_.max_grant_ttl_us) {
    return absl::InvalidArgumentError("a grant may last at most 90 days");
  }
  Grant g;
  g.id = NewId(env_, "g_");
  g.requester_id = actor.id;
  g.requester_role = actor.role;
  g.grantee_id = grantee_id;
  g.grantee_role = (*grantee)->role;
  g.purpose = req.purpose;
  g.scope = req.scope;
  g.created_us = now;
  g.not_before_us = nb;
  g.expires_us = req.expires_us;
  g.status = GrantStatus::kPending;
  g.seal = SealGrant(g);
  AuditEntry e = Entry(AuditKind::kGrantRequest, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.grant_id = g.id;
  e.purpose = g.purpose;
  e.subject_contributor = t.contributor_id;
  e.extra["grantee"] = grantee_id;
  e.extra["contributors"] = absl::StrJoin(g.scope.contributors, ",");
  e.extra["channels"] = ChannelsToString(g.scope.channels);
  e.extra["range"] = absl::StrCat(g.scope.from_us, "..", g.scope.to_us);
  e.extra["expires_us"] = std::to_string(g.expires_us);
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->CreateGrant(g); !s.ok()) return s;
  return g;
}

namespace {
absl::StatusOr<Grant> RequireGrant(const absl::StatusOr<std::vector<Grant>>& gs,
                                   const std::string& id) {
  if (!gs.ok()) return gs.status();
  if (gs->empty()) return absl::NotFoundError("no grant " + id);
  return (*gs)[0];
}
}  // namespace

absl::StatusOr<Grant> AccessService::ApproveGrant(const Principal& actor, const std::string& id) {
  auto loaded = LoadGrantChecked(id);
  if (absl::IsDataLoss(loaded.status())) {
    return Refuse(&actor, {false, "grant.integrity", std::string(loaded.status().message())},
                  AuditKind::kGrantApprove, id, "", id);
  }
  auto g = RequireGrant(loaded, id);
  if (!g.ok()) return g.status();
  Target t;
  t.grant_id = id;
  t.grant_requester_id = g->requester_id;
  t.grant_grantee_id = g->grantee_id;
  if (g->scope.contributors.size() == 1) t.contributor_id = g->scope.contributors[0];
  auto d = Decide(actor, Action::kDecideGrant, t, {}, AuditKind::kGrantApprove, id);
  if (!d.ok()) return d.status();
  if (g->status != GrantStatus::kPending) {
    return absl::FailedPreconditionError("grant " + id + " is " +
                                         std::string(GrantStatusName(g->status)) + ", not pending");
  }
  const int64_t now = env_->NowWallMicros();
  if (now >= g->expires_us) {
    return absl::FailedPreconditionError("grant " + id + " expired before approval");
  }
  Grant n = *g;
  n.status = GrantStatus::kApproved;
  n.approver_id = actor.id;
  n.approver_role = actor.role;
  n.decided_us = now;
  n.seal = SealGrant(n);
  AuditEntry e = Entry(AuditKind::kGrantApprove, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.grant_id = id;
  e.purpose = n.purpose;
  e.subject_contributor = t.contributor_id;
  e.extra["requester"] = n.requester_id;
  e.extra["grantee"] = n.grantee_id;
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->UpdateGrantIf(n, GrantStatus::kPending); !s.ok()) return s;
  return n;
}

absl::StatusOr<Grant> AccessService::DenyGrant(const Principal& actor, const std::string& id) {
  auto loaded = LoadGrantChecked(id);
  if (absl::IsDataLoss(loaded.status())) {
    return Refuse(&actor, {false, "grant.integrity", std::string(loaded.status().message())},
                  AuditKind::kGrantDeny, id, "", id);
  }
  auto g = RequireGrant(loaded, id);
  if (!g.ok()) return g.status();
  Target t;
  t.grant_id = id;
  t.grant_requester_id = g->requester_id;
  t.grant_grantee_id = g->grantee_id;
  auto d = Decide(actor, Action::kDecideGrant, t, {}, AuditKind::kGrantDeny, id);
  if (!d.ok()) return d.status();
  if (g->status != GrantStatus::kPending) {
    return absl::FailedPreconditionError("grant " + id + " is not pending");
  }
  Grant n = *g;
  n.status = GrantStatus::kDenied;
  n.approver_id = actor.id;
  n.approver_role = actor.role;
  n.decided_us = env_->NowWallMicros();
  n.seal = SealGrant(n);
  AuditEntry e = Entry(AuditKind::kGrantDeny, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.grant_id = id;
  e.purpose = n.purpose;
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->UpdateGrantIf(n, GrantStatus::kPending); !s.ok()) return s;
  return n;
}

absl::StatusOr<Grant> AccessService::RevokeGrant(const Principal& actor, const std::string& id) {
  auto loaded = LoadGrantChecked(id);
  Target rt;
  rt.grant_id = id;
  auto d = Decide(actor, Action::kRevokeGrant, rt, {}, AuditKind::kGrantDeny, id);
  if (!d.ok()) return d.status();
  if (absl::IsDataLoss(loaded.status())) {
    // A tampered grant can always be revoked (the seal is rewritten).
    auto raw = store_->GetGrant(id);
    if (!raw.ok() || !raw->has_value()) return absl::NotFoundError("no grant " + id);
    loaded = std::vector<Grant>{**raw};
  }
  auto g = RequireGrant(loaded, id);
  if (!g.ok()) return g.status();
  if (g->status == GrantStatus::kRevoked || g->status == GrantStatus::kDenied) {
    return absl::FailedPreconditionError("grant " + id + " is already " +
                                         std::string(GrantStatusName(g->status)));
  }
  Grant n = *g;
  const GrantStatus before = n.status;
  n.status = GrantStatus::kRevoked;
  n.seal = SealGrant(n);
  AuditEntry e = Entry(AuditKind::kGrantDeny, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.grant_id = id;
  e.purpose = n.purpose;
  e.extra["action"] = "revoke";
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->UpdateGrantIf(n, before); !s.ok()) return s;
  return n;
}

absl::StatusOr<Grant> AccessService::GetOwnGrant(const Principal& actor,
                                                 const std::string& grant_id) {
  auto loaded = LoadGrantChecked(grant_id);
  if (!loaded.ok()) return loaded.status();
  if (loaded->empty() || (*loaded)[0].grantee_id != actor.id) {
    // The same answer for "no such grant" and "not yours": ids are not probed.
    AuditRefusal(&actor, "grant.not_grantee", grant_id, "not the grantee of this grant");
    return absl::PermissionDeniedError("grant.not_grantee: you are not the grantee of grant " +
                                       grant_id);
  }
  return (*loaded)[0];
}

absl::StatusOr<std::vector<Grant>> AccessService::ListGrants(const Principal& actor) {
  auto d = Decide(actor, Action::kListGrants, {}, {}, AuditKind::kRead, "grants");
  if (!d.ok()) return d.status();
  return store_->ListGrants();
}

// --- reads ---

absl::StatusOr<std::vector<vault::SegmentRecord>> AccessService::SegmentsOf(
    const std::string& contributor) {
  auto id = Id16::FromHex(contributor);
  if (!id || contributor.size() != 32) {
    return absl::InvalidArgumentError("contributor must be a 32-hex-digit id");
  }
  return vault_->store()->ListSegments(*id, 1'000'000);
}

absl::StatusOr<ReadResult> AccessService::ReleaseAndOpen(
    const Principal& actor, AuditKind kind, const std::string& contributor,
    const std::vector<vault::SegmentRecord>& segs, const Grant* grant, const Decision& d,
    int64_t from_us, int64_t to_us, uint32_t channels, bool drop_outside) {
  ReadResult out;
  AuditEntry e = Entry(kind, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d.rule;
  e.subject_contributor = contributor;
  if (grant) {
    e.grant_id = grant->id;
    e.purpose = grant->purpose;
  }
  std::vector<std::string> ids;
  for (const auto& s : segs) ids.push_back(s.segment_id.Hex());
  e.object_id = segs.size() == 1 ? ids[0] : "";
  e.extra["segments"] = std::to_string(segs.size());
  if (segs.size() > 1) e.extra["segment_ids"] = absl::StrJoin(ids, ",");
  e.extra["range"] = absl::StrCat(from_us, "..", to_us);
  e.extra["channels"] = ChannelsToString(channels);
  if (segs.empty()) {
    auto r = Append(e);
    if (!r.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "audit.unavailable: the audit log cannot record this read, so it is refused: ",
          r.status().message()));
    }
    out.audit_index = *r;
    return out;
  }
  e.extra["key_use"] = "contributor_secret_key";
  auto cid = Id16::FromHex(contributor);
  if (!cid) return absl::InvalidArgumentError("bad contributor id");
  bool audit_failed = false;
  auto key = vault_->keys()->ReleaseSecretKey(*cid, [&]() -> absl::Status {
    auto r = Append(e);
    if (!r.ok()) {
      audit_failed = true;
      return r.status();
    }
    out.audit_index = *r;
    return absl::OkStatus();
  });
  if (!key.ok()) {
    if (audit_failed) {
      return absl::UnavailableError(absl::StrCat(
          "audit.unavailable: the audit log cannot record this read, so it is refused and no "
          "key was released: ",
          key.status().message()));
    }
    if (absl::IsNotFound(key.status())) {
      return Refuse(&actor,
                    {false, "key.destroyed",
                     "the contributor's key no longer exists (data deleted by crypto-shredding)"},
                    kind, "", contributor, grant ? grant->id : "");
    }
    return key.status();
  }
  for (const auto& s : segs) {
    auto blob = vault_->blobs()->Get(s.blob_sha256);
    if (!blob.ok()) {
      out.errors.push_back(s.segment_id.Hex() + ": " + std::string(blob.status().message()));
      continue;
    }
    auto opened = OpenSegment(*blob, key->public_key, key->secret_key);
    if (!opened.ok()) {
      out.errors.push_back(s.segment_id.Hex() + ": " + std::string(opened.status().message()));
      continue;
    }
    if (opened->header.segment_id != s.segment_id ||
        opened->header.contributor_id != s.contributor_id) {
      out.errors.push_back(s.segment_id.Hex() + ": blob does not match its metadata row");
      continue;
    }
    // Selected by whole hours; a segment whose exact span misses the range is
    // not part of the answer (its events are all outside it).
    if (drop_outside && !ExactOverlaps(opened->header, from_us, to_us)) continue;
    // A range read answers at most max_segments_per_read segments: stop
    // opening (and holding) more as soon as the answer is too large.
    if (drop_outside && out.segments.size() == options_.max_segments_per_read) {
      return TooManyInRange(options_.max_segments_per_read + 1, options_.max_segments_per_read,
                            "or more in range");
    }
    ReadSegment rs;
    rs.header = opened->header;
    rs.segment_id = s.segment_id.Hex();
    rs.contributor_id = contributor;
    rs.sequence = s.sequence;
    rs.wall_anchor_us = opened->header.wall_anchor_us;
    rs.frame = (opened->header.flags & kFlagFramePayload) != 0;
    if (rs.frame) {
      if ((channels & kChannelFrames) && rs.wall_anchor_us >= from_us &&
          rs.wall_anchor_us < to_us) {
        rs.raw = std::move(opened->raw);
      }
    } else {
      for (auto& ev : opened->events) {
        const int64_t wall = rs.wall_anchor_us + static_cast<int64_t>(ev.t_us());
        if (wall < from_us || wall >= to_us) continue;
        const uint32_t ch = ChannelOf(ev);
        if (ch != 0 && (channels & ch) == 0) continue;
        rs.events.push_back(std::move(ev));
      }
    }
    out.segments.push_back(std::move(rs));
  }
  return out;
}

absl::Status AccessService::TooManyInRange(size_t n, size_t max, const char* where) const {
  return absl::ResourceExhaustedError(absl::StrCat("request.too_large: ", n, " segments ", where,
                                                   " (max ", max, "); narrow the time range"));
}

absl::StatusOr<ReadResult> AccessService::Read(const Principal& actor, const std::string& grant_id,
                                               const std::string& contributor, int64_t from_us,
                                               int64_t to_us, uint32_t channels) {
  auto loaded = LoadGrantChecked(grant_id);
  if (absl::IsDataLoss(loaded.status())) {
    return Refuse(&actor, {false, "grant.integrity", std::string(loaded.status().message())},
                  AuditKind::kRead, "", contributor, grant_id);
  }
  if (!loaded.ok()) return loaded.status();
  Target t;
  t.contributor_id = contributor;
  t.grant_id = grant_id;
  t.from_us = from_us;
  t.to_us = to_us;
  t.channels = channels;
  auto d = Decide(actor, Action::kRead, t, *loaded, AuditKind::kRead, "");
  if (!d.ok()) return d.status();
  const Grant& g = (*loaded)[0];
  const uint32_t eff = channels ? channels : g.scope.channels;
  auto all = SegmentsOf(contributor);
  if (!all.ok()) return all.status();
  std::vector<vault::SegmentRecord> segs;
  for (const auto& s : *all) {
    if (!Overlaps(s, from_us, to_us)) continue;
    if ((s.flags & kFlagFramePayload) && !(eff & kChannelFrames)) continue;
    segs.push_back(s);
  }
  if (segs.size() > options_.max_segments_opened_per_read) {
    AuditRefusal(&actor, "request.too_large", "/v1/read", "too many segments in range");
    return TooManyInRange(segs.size(), options_.max_segments_opened_per_read, "in the range's hours");
  }
  return ReleaseAndOpen(actor, AuditKind::kRead, contributor, segs, &g, *d, from_us, to_us, eff);
}

absl::StatusOr<ReadResult> AccessService::ReadOwn(const Principal& actor, int64_t from_us,
                                                  int64_t to_us) {
  Target t;
  t.contributor_id = actor.contributor_id;
  t.from_us = from_us;
  t.to_us = to_us;
  auto d = Decide(actor, Action::kReadOwn, t, {}, AuditKind::kRead, "");
  if (!d.ok()) return d.status();
  if (to_us <= from_us) return absl::InvalidArgumentError("empty time range (from >= to)");
  auto all = SegmentsOf(actor.contributor_id);
  if (!all.ok()) return all.status();
  std::vector<vault::SegmentRecord> segs;
  for (const auto& s : *all) {
    if (Overlaps(s, from_us, to_us)) segs.push_back(s);
  }
  if (segs.size() > options_.max_segments_opened_per_read) {
    return TooManyInRange(segs.size(), options_.max_segments_opened_per_read, "in the range's hours");
  }
  return ReleaseAndOpen(actor, AuditKind::kRead, actor.contributor_id, segs, nullptr, *d, from_us,
                        to_us, kAllChannels);
}

absl::StatusOr<ReadResult> AccessService::ReadOwnSegments(
    const Principal& actor, const std::vector<std::string>& segment_ids) {
  Target t;
  t.contributor_id = actor.contributor_id;
  auto d = Decide(actor, Action::kReadOwn, t, {}, AuditKind::kRead, "");
  if (!d.ok()) return d.status();
  auto all = SegmentsOf(actor.contributor_id);
  if (!all.ok()) return all.status();
  const std::set<std::string> want(segment_ids.begin(), segment_ids.end());
  std::vector<vault::SegmentRecord> segs;
  for (const auto& s : *all) {
    if (want.count(s.segment_id.Hex())) segs.push_back(s);
  }
  if (segs.size() > options_.max_segments_per_read) {
    return absl::ResourceExhaustedError(
        absl::StrCat("request.too_large: ", segs.size(), " segments (max ",
                     options_.max_segments_per_read, ")"));
  }
  return ReleaseAndOpen(actor, AuditKind::kRead, actor.contributor_id, segs, nullptr, *d,
                        std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                        kAllChannels);
}

absl::StatusOr<std::vector<SegmentRef>> AccessService::ListOwnSegments(const Principal& actor) {
  Target t;
  t.contributor_id = actor.contributor_id;
  auto d = Decide(actor, Action::kReadOwn, t, {}, AuditKind::kRead, "segments");
  if (!d.ok()) return d.status();
  auto all = SegmentsOf(actor.contributor_id);
  if (!all.ok()) return all.status();
  std::vector<SegmentRef> out;
  for (const auto& s : *all) out.push_back(RefOf(s));
  return out;
}

absl::StatusOr<std::vector<SegmentRef>> AccessService::ListSegmentsInScope(
    const Principal& actor, const std::string& grant_id, const std::string& dataset_id) {
  auto loaded = LoadGrantChecked(grant_id);
  if (absl::IsDataLoss(loaded.status())) {
    return Refuse(&actor, {false, "grant.integrity", std::string(loaded.status().message())},
                  AuditKind::kExport, "list", "", grant_id);
  }
  if (!loaded.ok()) return loaded.status();
  if (loaded->empty()) {
    Target t;
    t.grant_id = grant_id;
    auto d = Decide(actor, Action::kExportRead, t, {}, AuditKind::kExport, "list");
    if (!d.ok()) return d.status();
    return absl::NotFoundError("no grant " + grant_id);
  }
  const Grant& g = (*loaded)[0];
  std::vector<SegmentRef> out;
  for (const auto& c : g.scope.contributors) {
    Target t;
    t.contributor_id = c;
    t.dataset_id = dataset_id;
    t.grant_id = grant_id;
    t.from_us = g.scope.from_us;
    t.to_us = g.scope.to_us;
    auto d = Decide(actor, Action::kExportRead, t, *loaded, AuditKind::kExport, "list");
    if (!d.ok()) return d.status();
    auto segs = SegmentsOf(c);
    if (!segs.ok()) return segs.status();
    for (const auto& s : *segs) {
      if (!Overlaps(s, g.scope.from_us, g.scope.to_us)) continue;
      if ((s.flags & kFlagFramePayload) && !(g.scope.channels & kChannelFrames)) continue;
      out.push_back(RefOf(s));
    }
  }
  AuditEntry e = Entry(AuditKind::kExport, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = "grant.approved";
  e.grant_id = grant_id;
  e.purpose = g.purpose;
  e.object_id = "list";
  e.extra["segments"] = std::to_string(out.size());
  if (!dataset_id.empty()) e.extra["dataset"] = dataset_id;
  if (auto r = Append(e); !r.ok()) {
    return absl::UnavailableError("audit.unavailable: cannot record the listing, refused");
  }
  return out;
}

absl::StatusOr<BudgetCharge> AccessService::SpendPrivacyBudget(const Principal& actor,
                                                               const std::string& grant_id,
                                                               const std::string& contributor_id,
                                                               const std::string& release_id,
                                                               const std::string& epsilon) {
  if (options_.budget_ledger == nullptr) {
    return absl::FailedPreconditionError(
        "dp.no_ledger: this vault hosts no privacy-budget ledger");
  }
  auto eps = exporter::Rational::Parse(epsilon);
  if (!eps.ok() || eps->IsZero()) {
    return absl::InvalidArgumentError("epsilon must be a positive rational such as 1/2");
  }
  if (release_id.empty() || release_id.size() > 128) {
    return absl::InvalidArgumentError("release_id must be 1 to 128 bytes");
  }
  if (!Id16::FromHex(contributor_id) || contributor_id.size() != 32) {
    return absl::InvalidArgumentError("contributor must be a 32-hex-digit id");
  }
  auto loaded = LoadGrantChecked(grant_id);
  if (absl::IsDataLoss(loaded.status())) {
    return Refuse(&actor, {false, "grant.integrity", std::string(loaded.status().message())},
                  AuditKind::kExport, "dp_spend", contributor_id, grant_id);
  }
  if (!loaded.ok()) return loaded.status();
  Target t;
  t.contributor_id = contributor_id;
  t.grant_id = grant_id;
  if (!loaded->empty()) {
    t.from_us = (*loaded)[0].scope.from_us;
    t.to_us = (*loaded)[0].scope.to_us;
  }
  auto d = Decide(actor, Action::kExportRead, t, *loaded, AuditKind::kExport, "dp_spend");
  if (!d.ok()) return d.status();
  if (loaded->empty()) return absl::NotFoundError("no grant " + grant_id);
  const Grant& g = (*loaded)[0];
  AuditEntry e = Entry(AuditKind::kExport, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.grant_id = grant_id;
  e.purpose = g.purpose;
  e.subject_contributor = contributor_id;
  e.object_id = "dp_spend";
  e.extra["epsilon"] = eps->ToString();
  e.extra["release"] = release_id;
  if (auto r = Append(e); !r.ok()) {
    return absl::UnavailableError("audit.unavailable: cannot record the budget charge, refused");
  }
  absl::Status spend = options_.budget_ledger->Spend(contributor_id, release_id, *eps);
  if (absl::IsResourceExhausted(spend)) {
    AuditRefusal(&actor, "dp.budget_exhausted", "dp_spend", std::string(spend.message()));
    return absl::ResourceExhaustedError("dp.budget_exhausted: " + std::string(spend.message()));
  }
  if (!spend.ok()) return spend;
  BudgetCharge out;
  auto spent = options_.budget_ledger->Spent(contributor_id);
  if (!spent.ok()) return spent.status();
  auto budget = options_.budget_ledger->Budget(contributor_id);
  if (!budget.ok()) return budget.status();
  out.spent = *spent;
  out.budget = *budget;
  return out;
}

absl::StatusOr<OpenedSegment> AccessService::OpenSegmentForGrant(const Principal& actor,
                                                                 const std::string& grant_id,
                                                                 const std::string& segment_id,
                                                                 const std::string& dataset_id) {
  auto sid = Id16::FromHex(segment_id);
  if (!sid || segment_id.size() != 32) {
    return absl::InvalidArgumentError("segment id must be 32 hex digits");
  }
  auto loaded = LoadGrantChecked(grant_id);
  if (absl::IsDataLoss(loaded.status())) {
    return Refuse(&actor, {false, "grant.integrity", std::string(loaded.status().message())},
                  AuditKind::kExport, segment_id, "", grant_id);
  }
  if (!loaded.ok()) return loaded.status();
  auto seg = vault_->store()->GetSegment(*sid);
  if (!seg.ok()) return seg.status();
  if (!seg->has_value()) {
    AuditRefusal(&actor, "segment.unknown", "export", segment_id);
    return absl::NotFoundError("no segment " + segment_id);
  }
  const vault::SegmentRecord& s = **seg;
  Target t;
  t.contributor_id = s.contributor_id.Hex();
  t.dataset_id = dataset_id;
  t.grant_id = grant_id;
  t.from_us = s.wall_start_us;  // coarse: the grant check is an overlap
  t.to_us = s.wall_end_us;
  if (s.flags & kFlagFramePayload) t.channels = kChannelFrames;
  auto d = Decide(actor, Action::kExportRead, t, *loaded, AuditKind::kExport, segment_id);
  if (!d.ok()) return d.status();
  const Grant& g = (*loaded)[0];
  // Listed by whole hours: a segment of the grant's edge hours may hold no
  // event in the grant's range; it comes back empty (not an error).
  auto r = ReleaseAndOpen(actor, AuditKind::kExport, t.contributor_id, {s}, &g, *d, g.scope.from_us,
                          g.scope.to_us, g.scope.channels, /*drop_outside=*/false);
  if (!r.ok()) return r.status();
  if (r->segments.empty()) {
    return absl::DataLossError(r->errors.empty() ? "segment could not be opened" : r->errors[0]);
  }
  OpenedSegment out;
  out.header = r->segments[0].header;
  out.events = std::move(r->segments[0].events);
  out.raw = std::move(r->segments[0].raw);
  if (!ExactOverlaps(out.header, g.scope.from_us, g.scope.to_us)) {
    // Outside the grant's range: nothing of it is released, not even its
    // exact times (only the whole hours the index already shows).
    out.events.clear();
    out.raw.clear();
    out.header.wall_anchor_us = s.wall_start_us;
    out.header.start_mono_us = 0;
    out.header.duration_us = 0;
    out.header.event_count = 0;
    out.header.plaintext_bytes = 0;
  }
  return out;
}

// --- deletion and retention ---

absl::StatusOr<std::vector<vault::SegmentRecord>> AccessService::OwnSegmentsSpanning(
    const Principal& actor, const Decision& d, int64_t from_us, int64_t to_us) {
  auto all = SegmentsOf(actor.contributor_id);
  if (!all.ok()) return all.status();
  std::vector<vault::SegmentRecord> out, edge;
  for (const auto& s : *all) {
    if (!Overlaps(s, from_us, to_us)) continue;
    // Whole hours inside the range: every event of the segment is in it.
    if (s.wall_start_us >= from_us && s.wall_end_us <= to_us) {
      out.push_back(s);
    } else {
      edge.push_back(s);
    }
  }
  if (edge.empty()) return out;
  // The range's first and last hour: only the sealed exact span tells.
  auto r = ReleaseAndOpen(actor, AuditKind::kDeletion, actor.contributor_id, edge, nullptr, d,
                          from_us, to_us, kAllChannels, /*drop_outside=*/false);
  if (!r.ok()) return r.status();
  std::set<std::string> opened;
  for (const auto& rs : r->segments) {
    opened.insert(rs.segment_id);
    if (ExactOverlaps(rs.header, from_us, to_us)) {
      for (const auto& s : edge) {
        if (s.segment_id.Hex() == rs.segment_id) out.push_back(s);
      }
    }
  }
  // Unreadable (damaged) segments whose hours overlap go too.
  for (const auto& s : edge) {
    if (!opened.count(s.segment_id.Hex())) out.push_back(s);
  }
  return out;
}

absl::StatusOr<size_t> AccessService::CountOwnInRange(const Principal& actor, int64_t from_us,
                                                      int64_t to_us) {
  Target t;
  t.contributor_id = actor.contributor_id;
  auto d = Decide(actor, Action::kDeleteOwn, t, {}, AuditKind::kDeletion, "count");
  if (!d.ok()) return d.status();
  if (to_us <= from_us) return absl::InvalidArgumentError("empty deletion range");
  auto sel = OwnSegmentsSpanning(actor, *d, from_us, to_us);
  if (!sel.ok()) return sel.status();
  return sel->size();
}

absl::StatusOr<DeletionReport> AccessService::PurgeSegments(
    const std::vector<vault::SegmentRecord>& segs) {
  DeletionReport rep;
  for (const auto& s : segs) {
    if (auto st = vault_->store()->DeleteSegment(s.segment_id); !st.ok()) return st;
    ++rep.segments_deleted;
    auto ref = vault_->store()->BlobReferenced(s.blob_sha256);
    if (!ref.ok()) return ref.status();
    if (!*ref) {
      if (auto st = vault_->blobs()->Delete(s.blob_sha256); !st.ok()) return st;
      ++rep.blobs_deleted;
    }
  }
  return rep;
}

absl::StatusOr<DeletionReport> AccessService::DeleteOwn(const Principal& actor, bool all,
                                                        int64_t from_us, int64_t to_us) {
  Target t;
  t.contributor_id = actor.contributor_id;
  auto d = Decide(actor, Action::kDeleteOwn, t, {}, AuditKind::kDeletion, "");
  if (!d.ok()) return d.status();
  if (!all && to_us <= from_us) return absl::InvalidArgumentError("empty deletion range");
  std::vector<vault::SegmentRecord> segs;
  if (all) {
    auto segs_all = SegmentsOf(actor.contributor_id);
    if (!segs_all.ok()) return segs_all.status();
    segs = *std::move(segs_all);
  } else {
    auto sel = OwnSegmentsSpanning(actor, *d, from_us, to_us);
    if (!sel.ok()) return sel.status();
    segs = *std::move(sel);
  }
  AuditEntry e = Entry(AuditKind::kDeletion, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.subject_contributor = actor.contributor_id;
  e.extra["step"] = "begin";
  e.extra["scope"] = all ? "all" : absl::StrCat(from_us, "..", to_us);
  e.extra["segments"] = std::to_string(segs.size());
  if (auto r = Append(e); !r.ok()) return r.status();
  DeletionReport rep;
  if (all) {
    auto cid = Id16::FromHex(actor.contributor_id);
    if (auto s = vault_->keys()->DestroyContributorKey(*cid); !s.ok()) return s;
    rep.key_destroyed = true;
  }
  auto purged = PurgeSegments(segs);
  if (!purged.ok()) return purged.status();
  rep.segments_deleted = purged->segments_deleted;
  rep.blobs_deleted = purged->blobs_deleted;
  e.extra["step"] = "done";
  e.extra["key_destroyed"] = rep.key_destroyed ? "true" : "false";
  e.extra["blobs_deleted"] = std::to_string(rep.blobs_deleted);
  if (auto r = Append(e); !r.ok()) {
    spdlog::error("audit: deletion done but its completion entry failed");
  }
  return rep;
}

namespace {
constexpr char kSettingRetentionProposal[] = "retention_proposal";
// Whether retention `to` keeps everything `from` keeps (0 = for ever).
bool KeepsAtLeast(int to, int from) { return to == 0 || (from != 0 && to >= from); }
}  // namespace

absl::StatusOr<RetentionChange> AccessService::SetRetentionDays(const Principal& actor, int days) {
  auto d = Decide(actor, Action::kSetRetention, {}, {}, AuditKind::kPolicyChange, "retention");
  if (!d.ok()) return d.status();
  if (days < 0 || days > 3650) {
    return absl::InvalidArgumentError("retention days must be 0 (keep) .. 3650");
  }
  auto current = RetentionDays();
  if (!current.ok()) return current.status();
  RetentionChange out;
  out.days = days;
  out.proposer_id = actor.id;
  out.applied = KeepsAtLeast(days, *current);
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = "retention";
  e.extra["retention_days"] = std::to_string(days);
  if (out.applied) {
    if (auto r = Append(e); !r.ok()) return r.status();
    if (auto s = store_->PutSetting(kSettingRetentionDays, std::to_string(days)); !s.ok()) return s;
    return out;
  }
  out.proposal_id = NewId(env_, "rp_", 8);
  out.expires_us = env_->NowWallMicros() + options_.proposal_ttl_us;
  e.extra["action"] = "propose_retention";
  e.extra["proposal"] = out.proposal_id;
  if (auto r = Append(e); !r.ok()) return r.status();
  const std::string row = absl::StrCat(out.proposal_id, " ", days, " ", actor.id, " ",
                                       out.expires_us);
  if (auto s = store_->PutSetting(kSettingRetentionProposal, row); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<RetentionChange>> AccessService::PendingRetention() {
  auto v = store_->GetSetting(kSettingRetentionProposal);
  if (!v.ok()) return v.status();
  if (!v->has_value() || (*v)->empty()) return std::optional<RetentionChange>();
  std::vector<std::string> f = absl::StrSplit(**v, ' ');
  RetentionChange c;
  if (f.size() != 4 || !absl::SimpleAtoi(f[1], &c.days) || !absl::SimpleAtoi(f[3], &c.expires_us)) {
    return absl::DataLossError("malformed retention proposal setting");
  }
  c.proposal_id = f[0];
  c.proposer_id = f[2];
  if (env_->NowWallMicros() >= c.expires_us) return std::optional<RetentionChange>();
  return std::optional<RetentionChange>(c);
}

absl::StatusOr<int> AccessService::ConfirmRetention(const Principal& actor,
                                                    const std::string& proposal_id) {
  auto p = PendingRetention();
  if (!p.ok()) return p.status();
  if (actor.role != Role::kPrivacyOfficer || actor.disabled) {
    Decision d{false, "retention.officer_confirms",
               "a shorter retention deletes other people's data: a privacy officer confirms it"};
    return Refuse(&actor, d, AuditKind::kPolicyChange, "retention", "", "");
  }
  if (!p->has_value() || (*p)->proposal_id != proposal_id) {
    return absl::FailedPreconditionError("no pending retention change " + proposal_id +
                                         " (expired, confirmed or replaced)");
  }
  if ((*p)->proposer_id == actor.id) {
    Decision d{false, "retention.two_person", "the proposer cannot confirm their own change"};
    return Refuse(&actor, d, AuditKind::kPolicyChange, "retention", "", "");
  }
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = "retention.two_person";
  e.object_id = "retention";
  e.extra["action"] = "confirm_retention";
  e.extra["proposal"] = proposal_id;
  e.extra["proposer"] = (*p)->proposer_id;
  e.extra["retention_days"] = std::to_string((*p)->days);
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->PutSetting(kSettingRetentionDays, std::to_string((*p)->days)); !s.ok()) {
    return s;
  }
  if (auto s = store_->PutSetting(kSettingRetentionProposal, ""); !s.ok()) return s;
  return (*p)->days;
}

absl::StatusOr<int> AccessService::RetentionDays() {
  auto v = store_->GetSetting(kSettingRetentionDays);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return 0;
  return std::atoi((*v)->c_str());
}

absl::StatusOr<DeletionReport> AccessService::RunPurge(const Principal* actor) {
  if (actor) {
    auto d = Decide(*actor, Action::kRunPurge, {}, {}, AuditKind::kDeletion, "purge");
    if (!d.ok()) return d.status();
  }
  DeletionReport total;
  auto days = RetentionDays();
  if (!days.ok()) return days.status();
  if (*days <= 0) return total;
  const int64_t cutoff = env_->NowWallMicros() - static_cast<int64_t>(*days) * 86400LL * 1000000;
  std::set<std::string> contributors;
  auto devs = store_->ListDevices();
  if (!devs.ok()) return devs.status();
  for (const auto& d : *devs) contributors.insert(d.contributor_id);
  for (const auto& c : contributors) {
    auto segs = SegmentsOf(c);
    if (!segs.ok()) return segs.status();
    std::vector<vault::SegmentRecord> old;
    for (const auto& s : *segs) {
      // The index has whole hours only: a segment goes once its coarse end
      // (after its last event) is not after the cutoff, so data is kept up
      // to one hour longer than the retention period.
      if (s.wall_end_us <= cutoff) old.push_back(s);
    }
    if (old.empty()) continue;
    AuditEntry e = Entry(AuditKind::kDeletion, actor);
    if (!actor) e.actor_id = "retention-job";
    e.decision = audit::Decision::kAllow;
    e.rule = "retention.purge";
    e.subject_contributor = c;
    e.extra["retention_days"] = std::to_string(*days);
    e.extra["segments"] = std::to_string(old.size());
    if (auto r = Append(e); !r.ok()) return r.status();
    auto rep = PurgeSegments(old);
    if (!rep.ok()) return rep.status();
    total.segments_deleted += rep->segments_deleted;
    total.blobs_deleted += rep->blobs_deleted;
  }
  return total;
}

// --- window-title policy ---

namespace {
constexpr char kSettingTitlePolicyProposal[] = "title_policy_proposal";
}  // namespace

absl::StatusOr<std::string> AccessService::CurrentTitlePolicy() {
  auto v = vault_->store()->GetSetting(vault::kSettingTitlePolicy);
  if (!v.ok()) return v.status();
  return vault::TitlePolicyFromSetting(*v);
}

absl::StatusOr<TitlePolicyChange> AccessService::SetTitlePolicy(const Principal& actor,
                                                                const std::string& policy) {
  auto d = Decide(actor, Action::kSetTitlePolicy, {}, {}, AuditKind::kPolicyChange,
                  "title_policy");
  if (!d.ok()) return d.status();
  if (vault::TitlePolicyRank(policy) < 0) {
    return absl::InvalidArgumentError(
        "title_policy must be \"full\", \"app-and-domain\" or \"app-only\"");
  }
  auto current = CurrentTitlePolicy();
  if (!current.ok()) return current.status();
  TitlePolicyChange out;
  out.policy = policy;
  out.proposer_id = actor.id;
  out.applied = vault::TitlePolicyRank(policy) >= vault::TitlePolicyRank(*current);
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = "title_policy";
  e.extra["title_policy"] = policy;
  e.extra["previous"] = *current;
  if (out.applied) {
    if (auto r = Append(e); !r.ok()) return r.status();
    if (auto s = vault_->store()->PutSetting(vault::kSettingTitlePolicy, policy); !s.ok()) {
      return s;
    }
    // A pending loosening is moot once the policy was set again.
    if (auto s = store_->PutSetting(kSettingTitlePolicyProposal, ""); !s.ok()) return s;
    return out;
  }
  out.proposal_id = NewId(env_, "tp_", 8);
  out.expires_us = env_->NowWallMicros() + options_.proposal_ttl_us;
  e.extra["action"] = "propose_title_policy";
  e.extra["proposal"] = out.proposal_id;
  if (auto r = Append(e); !r.ok()) return r.status();
  const std::string row =
      absl::StrCat(out.proposal_id, " ", policy, " ", actor.id, " ", out.expires_us);
  if (auto s = store_->PutSetting(kSettingTitlePolicyProposal, row); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<TitlePolicyChange>> AccessService::PendingTitlePolicy() {
  auto v = store_->GetSetting(kSettingTitlePolicyProposal);
  if (!v.ok()) return v.status();
  if (!v->has_value() || (*v)->empty()) return std::optional<TitlePolicyChange>();
  std::vector<std::string> f = absl::StrSplit(**v, ' ');
  TitlePolicyChange c;
  if (f.size() != 4 || vault::TitlePolicyRank(f[1]) < 0 ||
      !absl::SimpleAtoi(f[3], &c.expires_us)) {
    return absl::DataLossError("malformed title policy proposal setting");
  }
  c.proposal_id = f[0];
  c.policy = f[1];
  c.proposer_id = f[2];
  if (env_->NowWallMicros() >= c.expires_us) return std::optional<TitlePolicyChange>();
  return std::optional<TitlePolicyChange>(c);
}

absl::StatusOr<std::string> AccessService::ConfirmTitlePolicy(const Principal& actor,
                                                              const std::string& proposal_id) {
  auto p = PendingTitlePolicy();
  if (!p.ok()) return p.status();
  if (actor.role != Role::kPrivacyOfficer || actor.disabled) {
    Decision d{false, "title_policy.officer_confirms",
               "recording more of everyone's window titles needs a privacy officer's confirmation"};
    return Refuse(&actor, d, AuditKind::kPolicyChange, "title_policy", "", "");
  }
  if (!p->has_value() || (*p)->proposal_id != proposal_id) {
    return absl::FailedPreconditionError("no pending title policy change " + proposal_id +
                                         " (expired, confirmed or replaced)");
  }
  if ((*p)->proposer_id == actor.id) {
    Decision d{false, "title_policy.two_person", "the proposer cannot confirm their own change"};
    return Refuse(&actor, d, AuditKind::kPolicyChange, "title_policy", "", "");
  }
  auto current = CurrentTitlePolicy();
  if (!current.ok()) return current.status();
  AuditEntry e = Entry(AuditKind::kPolicyChange, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = "title_policy.two_person";
  e.object_id = "title_policy";
  e.extra["action"] = "confirm_title_policy";
  e.extra["proposal"] = proposal_id;
  e.extra["proposer"] = (*p)->proposer_id;
  e.extra["title_policy"] = (*p)->policy;
  e.extra["previous"] = *current;
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = vault_->store()->PutSetting(vault::kSettingTitlePolicy, (*p)->policy); !s.ok()) {
    return s;
  }
  if (auto s = store_->PutSetting(kSettingTitlePolicyProposal, ""); !s.ok()) return s;
  return (*p)->policy;
}

// --- programme state ---

ProgrammeState AccessService::CurrentState() {
  auto v = vault_->store()->GetSetting(vault::kSettingProgrammeState);
  if (!v.ok()) return ProgrammeState::kIncident;  // fail closed
  if (!v->has_value()) return ProgrammeState::kActive;
  return ProgrammeStateFromName(**v).value_or(ProgrammeState::kIncident);
}

absl::StatusOr<StateProposal> AccessService::ProposeState(const Principal& actor,
                                                          ProgrammeState state,
                                                          const std::string& reason) {
  auto d = Decide(actor, Action::kProposeState, {}, {}, AuditKind::kProgrammeState, "propose");
  if (!d.ok()) return d.status();
  if (reason.size() > 500) return absl::InvalidArgumentError("reason longer than 500 bytes");
  StateProposal p;
  p.id = NewId(env_, "sp_");
  p.proposer_id = actor.id;
  p.state = state;
  p.reason = reason;
  p.created_us = env_->NowWallMicros();
  p.expires_us = p.created_us + options_.proposal_ttl_us;
  AuditEntry e = Entry(AuditKind::kProgrammeState, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = p.id;
  e.extra["step"] = "propose";
  e.extra["state"] = std::string(ProgrammeStateName(state));
  e.extra["reason"] = reason;
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->CreateProposal(p); !s.ok()) return s;
  return p;
}

absl::StatusOr<std::vector<StateProposal>> AccessService::ListPendingProposals(
    const Principal& actor) {
  auto d = Decide(actor, Action::kProposeState, {}, {}, AuditKind::kProgrammeState, "proposals");
  if (!d.ok()) return d.status();
  auto all = store_->ListPendingProposals();
  if (!all.ok()) return all.status();
  const int64_t now = env_->NowWallMicros();
  std::vector<StateProposal> out;
  for (auto& p : *all) {
    if (now < p.expires_us) out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<ProgrammeState> AccessService::ConfirmState(const Principal& actor,
                                                           const std::string& proposal_id) {
  auto p = store_->GetProposal(proposal_id);
  if (!p.ok()) return p.status();
  Target t;
  if (p->has_value()) t.proposer_id = (*p)->proposer_id;
  auto d = Decide(actor, Action::kConfirmState, t, {}, AuditKind::kProgrammeState, proposal_id);
  if (!d.ok()) return d.status();
  if (!p->has_value()) return absl::NotFoundError("no proposal " + proposal_id);
  StateProposal n = **p;
  if (n.status != ProposalStatus::kPending) {
    return absl::FailedPreconditionError("proposal " + proposal_id + " is no longer pending");
  }
  if (env_->NowWallMicros() >= n.expires_us) {
    AuditRefusal(&actor, "state.proposal_expired", proposal_id, "proposal expired");
    return absl::FailedPreconditionError("state.proposal_expired: proposal " + proposal_id +
                                         " expired; propose again");
  }
  n.status = ProposalStatus::kConfirmed;
  n.confirmer_id = actor.id;
  AuditEntry e = Entry(AuditKind::kProgrammeState, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = proposal_id;
  e.extra["step"] = "confirm";
  e.extra["state"] = std::string(ProgrammeStateName(n.state));
  e.extra["proposer"] = n.proposer_id;
  e.extra["previous"] = std::string(ProgrammeStateName(CurrentState()));
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = store_->UpdateProposalIfPending(n); !s.ok()) return s;
  if (auto s = vault_->store()->PutSetting(vault::kSettingProgrammeState,
                                           std::string(ProgrammeStateName(n.state)));
      !s.ok()) {
    return s;
  }
  return n.state;
}

// --- fleet ---

absl::StatusOr<std::vector<DeviceHealth>> AccessService::ListDevices(const Principal& actor) {
  auto d = Decide(actor, Action::kListDevices, {}, {}, AuditKind::kRead, "devices");
  if (!d.ok()) return d.status();
  auto devs = store_->ListDevices();
  if (!devs.ok()) return devs.status();
  // Device health without presence: no contributor, times floored to the hour,
  // so the fleet view cannot tell who is at their desk right now.
  constexpr int64_t kHour = 3600LL * 1000000;
  auto hour = [](int64_t us) { return us - us % kHour; };
  std::vector<DeviceHealth> out;
  for (const auto& e : *devs) {
    DeviceHealth h;
    h.device_id = e.device_id;
    h.enrolled_us = hour(e.enrolled_us);
    if (auto id = Id16::FromHex(e.device_id)) {
      auto rec = vault_->store()->GetDevice(*id);
      if (rec.ok() && rec->has_value()) {
        h.last_seen_us = hour((*rec)->last_seen_us);
        h.last_upload_us = hour((*rec)->last_upload_us);
      }
      auto spool = vault_->GetSpoolReport(*id);
      if (spool.ok() && spool->has_value()) {
        h.spool_reported = true;
        h.spool_segments = (*spool)->segments;
        h.spool_bytes = (*spool)->bytes;
        h.spool_reported_us = hour((*spool)->reported_us);
      }
    }
    out.push_back(h);
  }
  return out;
}

// --- audit ---

absl::StatusOr<std::string> AccessService::Checkpoint(const Principal& actor, bool fresh) {
  auto d = Decide(actor, fresh ? Action::kCheckpoint : Action::kReadAuditProofs, {}, {},
                  AuditKind::kRead, "checkpoint");
  if (!d.ok()) return d.status();
  if (!fresh) {
    auto latest = log_->LatestCheckpoint();
    if (latest.ok()) return latest;
    if (!absl::IsNotFound(latest.status())) return latest.status();
  }
  return log_->Checkpoint();
}

absl::StatusOr<std::vector<std::string>> AccessService::InclusionProof(const Principal& actor,
                                                                       uint64_t index,
                                                                       uint64_t size) {
  auto d = Decide(actor, Action::kReadAuditProofs, {}, {}, AuditKind::kRead, "proof");
  if (!d.ok()) return d.status();
  return log_->InclusionProof(index, size);
}

absl::StatusOr<std::vector<std::string>> AccessService::ConsistencyProof(const Principal& actor,
                                                                         uint64_t old_size,
                                                                         uint64_t new_size) {
  auto d = Decide(actor, Action::kReadAuditProofs, {}, {}, AuditKind::kRead, "proof");
  if (!d.ok()) return d.status();
  return log_->ConsistencyProof(old_size, new_size);
}

absl::StatusOr<std::vector<AuditLeafOut>> AccessService::AuditEntries(
    const Principal& actor, const std::string& contributor) {
  std::string who = contributor;
  if (actor.role == Role::kContributor) {
    Target t;
    t.contributor_id = contributor.empty() ? actor.contributor_id : contributor;
    auto d = Decide(actor, Action::kReadOwnAuditLog, t, {}, AuditKind::kRead, "audit_entries");
    if (!d.ok()) return d.status();
    who = actor.contributor_id;
  } else {
    auto d = Decide(actor, Action::kReadAuditLog, {}, {}, AuditKind::kRead, "audit_entries");
    if (!d.ok()) return d.status();
  }
  std::vector<AuditLeafOut> out;
  if (!who.empty()) {
    auto es = log_->EntriesForContributor(who);
    if (!es.ok()) return es.status();
    for (auto& [i, e] : *es) out.push_back({i, std::move(e)});
    return out;
  }
  const uint64_t n = log_->Size();
  const uint64_t begin = n > 10000 ? n - 10000 : 0;
  for (uint64_t i = begin; i < n; ++i) {
    auto e = log_->Entry(i);
    if (!e.ok()) return e.status();
    out.push_back({i, *std::move(e)});
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> AccessService::AuditLeaves(const Principal& actor,
                                                                    uint64_t begin, uint64_t end) {
  auto d = Decide(actor, Action::kReadAuditLog, {}, {}, AuditKind::kRead, "audit_leaves");
  if (!d.ok()) return d.status();
  const uint64_t n = log_->Size();
  if (end > n) end = n;
  if (begin > end) return absl::InvalidArgumentError("begin > end");
  if (end - begin > 100000) return absl::InvalidArgumentError("at most 100000 leaves per request");
  std::vector<std::string> out;
  for (uint64_t i = begin; i < end; ++i) {
    auto e = log_->Entry(i);
    if (!e.ok()) return e.status();
    auto data = audit::SerializeEntry(*e);
    if (!data.ok()) return data.status();
    out.push_back(*std::move(data));
  }
  return out;
}

absl::Status AccessService::RotateAuditKey(const Principal& actor) {
  auto d = Decide(actor, Action::kRotateKeys, {}, {}, AuditKind::kKeyRotation, "audit_key");
  if (!d.ok()) return d.status();
  AuditEntry e = Entry(AuditKind::kKeyRotation, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = "audit_signing_key";
  e.extra["old_key"] = signer_->VerifierKey();
  if (auto r = Append(e); !r.ok()) return r.status();
  if (auto s = signer_->Rotate(); !s.ok()) return s;
  return log_->Checkpoint().status();
}

absl::StatusOr<vault::MasterKeyRotation> AccessService::RotateMasterKey(const Principal& actor) {
  auto d = Decide(actor, Action::kRotateKeys, {}, {}, AuditKind::kKeyRotation, "master_key");
  if (!d.ok()) return d.status();
  vault::KeyService* keys = vault_->keys();
  AuditEntry e = Entry(AuditKind::kKeyRotation, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = "master_key";
  e.extra["phase"] = "start";
  e.extra["from_version"] = std::to_string(keys->current_master_key_version());
  if (auto r = Append(e); !r.ok()) return r.status();
  auto rot = keys->RotateMasterKey();
  AuditEntry done = Entry(AuditKind::kKeyRotation, &actor);
  done.decision = audit::Decision::kAllow;
  done.rule = d->rule;
  done.object_id = "master_key";
  if (rot.ok()) {
    done.extra["phase"] = "done";
    done.extra["master_key_version"] = std::to_string(rot->master_key_version);
    done.extra["new_version"] = rot->new_version ? "true" : "false";
    done.extra["rewrapped"] = std::to_string(rot->rewrapped);
    done.extra["bound"] = std::to_string(rot->bound);
  } else {
    done.extra["phase"] = "failed";
    done.extra["error"] = std::string(absl::StatusCodeToString(rot.status().code()));
  }
  // The start leaf is durable already; a lost outcome leaf does not undo the rotation.
  if (auto r = Append(done); !r.ok()) {
    spdlog::error("audit: cannot record the outcome of a master key rotation");
  }
  return rot;
}

absl::Status AccessService::RetireMasterKey(const Principal& actor, uint32_t version) {
  auto d = Decide(actor, Action::kRotateKeys, {}, {}, AuditKind::kKeyRotation, "master_key");
  if (!d.ok()) return d.status();
  AuditEntry e = Entry(AuditKind::kKeyRotation, &actor);
  e.decision = audit::Decision::kAllow;
  e.rule = d->rule;
  e.object_id = "master_key";
  e.extra["phase"] = "retire";
  e.extra["version"] = std::to_string(version);
  if (auto r = Append(e); !r.ok()) return r.status();
  return vault_->keys()->RetireMasterKey(version);
}

std::vector<std::string> AccessService::VerifierKeys() const {
  std::vector<std::string> out;
  for (const auto& v : signer_->Verifiers()) out.push_back(v.VerifierKey());
  return out;
}

void AccessService::StartBackground(int64_t checkpoint_interval_us, int64_t purge_interval_us) {
  StopBackground();
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = false;
  }
  bg_ = std::thread([this, checkpoint_interval_us, purge_interval_us] {
    uint64_t signed_size = log_->Size();
    int64_t next_purge = env_->NowMonoMicros();
    std::unique_lock<std::mutex> l(bg_mu_);
    while (!bg_stop_) {
      bg_cv_.wait_for(l, std::chrono::microseconds(checkpoint_interval_us));
      if (bg_stop_) break;
      l.unlock();
      if (log_->Size() != signed_size) {
        auto cp = log_->Checkpoint();
        if (cp.ok()) {
          signed_size = log_->Size();
        } else {
          spdlog::error("audit: periodic checkpoint failed: {}",
                        std::string(cp.status().message()));
        }
      }
      if (purge_interval_us > 0 && env_->NowMonoMicros() >= next_purge) {
        next_purge = env_->NowMonoMicros() + purge_interval_us;
        auto rep = RunPurge(nullptr);
        if (!rep.ok()) {
          spdlog::error("retention purge failed: {}", std::string(rep.status().message()));
        } else if (rep->segments_deleted > 0) {
          spdlog::info("retention purge removed {} segments", rep->segments_deleted);
        }
      }
      l.lock();
    }
  });
}

void AccessService::StopBackground() {
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
}

// --- stack ---

namespace {

// The audit signing key (in the vault's HSM when its master keys are there)
// and the audit log, into stack->signer and stack->log.
absl::Status OpenStackAuditLog(vault::Vault* vault, const AccessOptions& options, Env* env,
                               AccessStack* stack) {
  const std::string dir = vault->data_dir();
  if (!env->FileExists(JoinPath(dir, "keys"))) {
    if (auto s = env->CreateDirs(JoinPath(dir, "keys"), 0700); !s.ok()) return s;
  }
  // With the master keys in an HSM, the checkpoint signing key is made there too.
  audit::AuditSigner::TokenFn token;
  if (vault::MasterKeys* mk = vault->keys()->master_keys(); mk->InHsm()) {
    token = [mk] { return mk->Token(); };
  }
  auto signer = audit::AuditSigner::OpenOrCreate(env, JoinPath(dir, "keys/audit.key"),
                                                 audit::kDefaultOrigin, std::move(token));
  if (!signer.ok()) return signer.status();
  stack->signer = *std::move(signer);
  absl::StatusOr<std::unique_ptr<audit::AuditStore>> astore =
      options.open_audit_store ? options.open_audit_store()
                               : absl::StatusOr<std::unique_ptr<audit::AuditStore>>(
                                     audit::SqliteAuditStore::Open(JoinPath(dir, "audit.db")));
  if (!astore.ok()) return astore.status();
  audit::AuditLogOptions lo;
  lo.env = env;
  auto log = audit::AuditLog::Open(*std::move(astore), stack->signer.get(), lo);
  if (!log.ok()) return log.status();
  stack->log = *std::move(log);
  return absl::OkStatus();
}

// The differential-privacy budget ledger (options' opener, else SQLite in the
// data dir), into stack->ledger.
absl::Status OpenStackLedger(const AccessOptions& options, Env* env, const std::string& dir,
                             AccessStack* stack) {
  auto budget = exporter::Rational::Parse(options.dp_default_budget);
  if (!budget.ok()) {
    return absl::InvalidArgumentError("dp default budget: " + std::string(budget.status().message()));
  }
  absl::StatusOr<std::unique_ptr<exporter::BudgetLedger>> ledger;
  if (options.open_budget_ledger) {
    ledger = options.open_budget_ledger(*budget);
  } else {
    const std::string p = JoinPath(dir, "dp_ledger.db");
    if (!env->FileExists(p)) {  // 0600: SQLite would create it 0644
      auto w = env->NewWritableFile(p, 0600);
      if (!w.ok()) return w.status();
      if (auto s = (*w)->Close(); !s.ok()) return s;
    }
    auto l = exporter::SqliteBudgetLedger::Open(p, *budget);
    if (l.ok()) {
      ledger = std::unique_ptr<exporter::BudgetLedger>(*std::move(l));
    } else {
      ledger = l.status();
    }
  }
  if (!ledger.ok()) return ledger.status();
  stack->ledger = *std::move(ledger);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccessStack>> OpenAccessStack(vault::Vault* vault,
                                                             AccessOptions options) {
  Env* env = options.env ? options.env : Env::Default();
  const std::string dir = vault->data_dir();
  for (const char* f : {"access.db", "audit.db"}) {
    if (std::string_view(f) == "access.db" && options.open_access_store) continue;
    if (std::string_view(f) == "audit.db" && options.open_audit_store) continue;
    const std::string p = JoinPath(dir, f);
    if (!env->FileExists(p)) {
      auto w = env->NewWritableFile(p, 0600);
      if (!w.ok()) return w.status();
      if (auto s = (*w)->Close(); !s.ok()) return s;
    }
  }
  auto stack = std::make_unique<AccessStack>();
  auto store = options.open_access_store ? options.open_access_store()
                                         : OpenSqliteAccessStore(JoinPath(dir, "access.db"));
  if (!store.ok()) return store.status();
  stack->store = *std::move(store);
  if (auto st = OpenStackAuditLog(vault, options, env, stack.get()); !st.ok()) return st;
  auto secret = vault::LoadOrCreateSecretFile(env, JoinPath(dir, "keys/access.key"));
  if (!secret.ok()) return secret.status();
  if (options.field_hash_key.empty()) options.field_hash_key = HmacSha256(Sha256(*secret), "field");
  if (options.grant_seal_key.empty()) options.grant_seal_key = HmacSha256(Sha256(*secret), "grant");
  if (options.budget_ledger == nullptr) {
    if (auto st = OpenStackLedger(options, env, dir, stack.get()); !st.ok()) return st;
    options.budget_ledger = stack->ledger.get();
  }
  stack->service = std::make_unique<AccessService>(vault, stack->store.get(), stack->log.get(),
                                                   stack->signer.get(), options);
  SignInOptions so;
  so.rp_id = options.webauthn_rp_id;
  stack->signin =
      std::make_shared<SignInService>(stack->service.get(), stack->store.get(), std::move(so));
  // A second device joins a contributor only with a device code they created.
  std::weak_ptr<SignInService> weak = stack->signin;
  vault->enroll()->SetDeviceCodeCheck([weak](std::string_view code) -> absl::StatusOr<std::string> {
    auto s = weak.lock();
    if (s == nullptr) return absl::UnavailableError("the access layer is shutting down");
    return s->UseDeviceCode(code);
  });
  vault->enroll()->SetInvitationCheck([weak](std::string_view code) -> absl::StatusOr<std::string> {
    auto s = weak.lock();
    if (s == nullptr) return absl::UnavailableError("the access layer is shutting down");
    return s->UseInvitation(code);
  });
  AccessService* svc = stack->service.get();
  // A revoked device that keeps uploading: audited for its contributor, at
  // most once an hour per device (its uploader retries with back-off).
  auto last = std::make_shared<std::pair<std::mutex, std::map<std::string, int64_t>>>();
  vault->ingest()->SetRevokedUploadHook([svc, last](const vault::DeviceRecord& d) {
    const int64_t now = svc->env()->NowWallMicros();
    {
      std::lock_guard<std::mutex> l(last->first);
      int64_t& t = last->second[d.id.Hex()];
      if (t != 0 && now - t < 3600LL * 1000000) return;
      t = now;
      if (last->second.size() > 100000) last->second.clear();
    }
    audit::AuditEntry e = svc->NewAuditEntry(AuditKind::kRefused, nullptr);
    e.actor_id = "device:" + d.id.Hex();
    e.actor_role = "device";
    e.decision = audit::Decision::kRefuse;
    e.rule = "device.revoked";
    e.subject_contributor = d.contributor_id.Hex();
    e.object_id = "/v1/segments";
    e.extra["explanation"] = "a revoked device tried to upload; refused";
    if (!svc->AppendAudit(e).ok()) spdlog::error("audit: cannot record a refusal (device.revoked)");
  });
  vault->enroll()->SetNameTakenAudit([svc](const std::string& contributor_hex) {
    audit::AuditEntry e = svc->NewAuditEntry(AuditKind::kRefused, nullptr);
    e.decision = audit::Decision::kRefuse;
    e.rule = "enrol.name_taken";
    e.subject_contributor = contributor_hex;
    e.object_id = "/v1/enroll";
    e.extra["explanation"] = "someone tried to enrol a device under your name; it was refused";
    if (!svc->AppendAudit(e).ok()) spdlog::error("audit: cannot record a refusal (enrol.name_taken)");
  });
  return stack;
}

}  // namespace sealtrace::access
