#include "access/http_api.h"

#include <functional>
#include <optional>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "audit/entry.h"
#include "segment/event_json.h"

namespace sealtrace::access {
namespace {

using json = nlohmann::json;
using ApiRequest = net::HttpRequest;
using ApiResponse = net::HttpResponse;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

ApiResponse Json(int status, const json& j) { return ApiResponse::Json(status, Dump(j)); }

ApiResponse Error(int status, const std::string& code, const std::string& message,
                  const std::string& rule = "") {
  return net::ErrorResponse(status, code, message, rule);
}

ApiResponse FromStatus(const absl::Status& s) { return net::StatusResponse(s, RuleOf(s)); }

absl::StatusOr<json> ParseBody(const ApiRequest& req) {
  if (req.body.empty()) return json::object();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("request body must be a JSON object");
  }
  return j;
}

template <typename T>
absl::StatusOr<T> Field(const json& j, const char* name, bool required, T def = T()) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(std::string("missing field \"") + name + "\"");
    return def;
  }
  try {
    return it->get<T>();
  } catch (const std::exception&) {
    return absl::InvalidArgumentError(std::string("field \"") + name + "\" has the wrong type");
  }
}

absl::StatusOr<int64_t> IntParam(const ApiRequest& req, const char* name, bool required,
                                 int64_t def = 0) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) {
    if (required) {
      return absl::InvalidArgumentError(std::string("missing query parameter \"") + name + "\"");
    }
    return def;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(std::string("query parameter \"") + name +
                                      "\" must be an integer");
  }
  return v;
}

std::string Param(const ApiRequest& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

json TokenJson(const IssuedToken& t) {
  return {{"principal_id", t.principal_id},
          {"token", t.token},
          {"token_id", t.token_id},
          {"scopes", t.scopes},
          {"expires_us", t.expires_us}};
}

json PrincipalJson(const Principal& p) {
  json j = {{"id", p.id},
            {"role", RoleName(p.role)},
            {"name", p.name},
            {"created_us", p.created_us},
            {"disabled", p.disabled}};
  if (!p.contributor_id.empty()) j["contributor_id"] = p.contributor_id;
  return j;
}

json GrantJson(const Grant& g) {
  return {{"id", g.id},
          {"requester_id", g.requester_id},
          {"grantee_id", g.grantee_id},
          {"grantee_role", RoleName(g.grantee_role)},
          {"purpose", g.purpose},
          {"contributors", g.scope.contributors},
          {"datasets", g.scope.datasets},
          {"from_us", g.scope.from_us},
          {"to_us", g.scope.to_us},
          {"channels", ChannelsToString(g.scope.channels)},
          {"not_before_us", g.not_before_us},
          {"expires_us", g.expires_us},
          {"status", GrantStatusName(g.status)},
          {"approver_id", g.approver_id},
          {"decided_us", g.decided_us}};
}

json EventJson(const v1::Event& e) { return json::parse(EventToJson(e), nullptr, false); }

json ReadJson(const ReadResult& r) {
  json segs = json::array();
  for (const auto& s : r.segments) {
    json evs = json::array();
    for (const auto& e : s.events) evs.push_back(EventJson(e));
    json j = {{"segment_id", s.segment_id}, {"contributor_id", s.contributor_id},
              {"sequence", s.sequence},     {"wall_anchor_us", s.wall_anchor_us},
              {"frame", s.frame},           {"events", evs}};
    if (!s.raw.empty()) j["raw_base64"] = Base64(s.raw);
    segs.push_back(std::move(j));
  }
  return {{"audit_index", r.audit_index}, {"segments", segs}, {"errors", r.errors}};
}

json SegmentRefJson(const SegmentRef& s) {
  return {{"segment_id", s.segment_id},
          {"contributor_id", s.contributor_id},
          {"device_id", s.device_id},
          {"sequence", s.sequence},
          {"wall_start_us", s.wall_start_us},
          {"wall_end_us", s.wall_end_us},
          {"frame", s.frame},
          {"size", s.size}};
}

json EntryJson(uint64_t index, const audit::AuditEntry& e) {
  return {{"index", index},
          {"kind", audit::AuditKindName(e.kind)},
          {"time_us", e.time_us},
          {"actor_id", e.actor_id},
          {"actor_role", e.actor_role},
          {"subject_contributor", e.subject_contributor},
          {"purpose", e.purpose},
          {"grant_id", e.grant_id},
          {"object_id", e.object_id},
          {"decision", audit::DecisionName(e.decision)},
          {"rule", e.rule},
          {"extra", e.extra}};
}

json ProofJson(const std::vector<std::string>& proof) {
  json a = json::array();
  for (const auto& h : proof) a.push_back(Base64(h));
  return a;
}

std::vector<std::string> ScopesFrom(const json& j) {
  std::vector<std::string> out;
  auto it = j.find("scopes");
  if (it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

absl::StatusOr<uint32_t> ChannelsFrom(const json& j) {
  auto it = j.find("channels");
  if (it == j.end()) return absl::InvalidArgumentError("missing field \"channels\"");
  std::string csv;
  if (it->is_string()) {
    csv = it->get<std::string>();
  } else if (it->is_array()) {
    for (const auto& c : *it) {
      if (!c.is_string()) return absl::InvalidArgumentError("channels must be strings");
      if (!csv.empty()) csv += ",";
      csv += c.get<std::string>();
    }
  } else {
    return absl::InvalidArgumentError("channels must be a list of keys, pointer, focus, frames");
  }
  auto ch = ParseChannels(csv);
  if (!ch) return absl::InvalidArgumentError("channels must be keys, pointer, focus or frames");
  return *ch;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AccessApi::OnEnrolled(
    const std::string& contributor_id_hex, const std::string& device_id_hex,
    const std::string& name, bool new_contributor, const std::string& via) {
  auto p = service_->OnEnrolled(contributor_id_hex, device_id_hex, name, new_contributor, via);
  if (!p.ok()) return p.status();
  std::vector<std::pair<std::string, std::string>> extra;
  if (new_contributor && signin_ != nullptr) {
    auto code = signin_->IssueEnrolmentCode(*p);
    if (!code.ok()) return code.status();
    extra.emplace_back("signin_code", code->code);
    extra.emplace_back("signin_code_expires_us", std::to_string(code->expires_us));
    extra.emplace_back("signin_path", "/dashboard/register");
  }
  return extra;
}

ApiResponse AccessApi::HandleSignIn(const ApiRequest& req) {
  const std::string& path = req.path;
  if (signin_ == nullptr) return Error(501, "not_implemented", "sign-in is not served here");
  if (req.method != "POST") return Error(405, "method_not_allowed", "POST only");
  auto body = ParseBody(req);
  if (!body.ok()) return FromStatus(body.status());
  if (path == "/v1/signin/terminal/start") {
    auto client = Field<std::string>(*body, "client", false, "terminal");
    if (!client.ok()) return FromStatus(client.status());
    auto f = signin_->StartTerminalFlow(*client);
    if (!f.ok()) return FromStatus(f.status());
    return Json(200, {{"device_code", f->device_code},
                      {"user_code", f->user_code},
                      {"verification_path", "/dashboard/terminal"},
                      {"expires_us", f->expires_us},
                      {"interval", f->interval_s}});
  }
  if (path == "/v1/signin/terminal/poll") {
    auto code = Field<std::string>(*body, "device_code", true);
    if (!code.ok()) return FromStatus(code.status());
    auto t = signin_->PollTerminalFlow(*code);
    if (!t.ok()) return FromStatus(t.status());
    return Json(200, TokenJson(*t));
  }
  if (path == "/v1/signin/invitation") {
    auto p = service_->Authenticate(req.Header("Authorization"), kScopeAdmin, path);
    if (!p.ok()) return FromStatus(p.status());
    auto name = Field<std::string>(*body, "name", true);
    if (!name.ok()) return FromStatus(name.status());
    auto code = signin_->IssueInvitation(*p, *name);
    if (!code.ok()) return FromStatus(code.status());
    return Json(200, {{"invitation", code->code}, {"name", *name}, {"expires_us", code->expires_us}});
  }
  if (path == "/v1/signin/recovery-code") {
    auto p = service_->Authenticate(req.Header("Authorization"), kScopeGrants, path);
    if (!p.ok()) return FromStatus(p.status());
    auto cid = Field<std::string>(*body, "contributor_id", true);
    if (!cid.ok()) return FromStatus(cid.status());
    auto code = signin_->IssueRecoveryCode(*p, *cid);
    if (!code.ok()) return FromStatus(code.status());
    return Json(200, {{"signin_code", code->code},
                      {"expires_us", code->expires_us},
                      {"signin_path", "/dashboard/register"}});
  }
  return Error(404, "not_found", "no such route: " + req.method + " " + path);
}

namespace {

// One access-API request on its way through the route groups below. A group
// answers the routes it owns and returns nullopt for any other.
struct Call {
  const ApiRequest& req;
  const std::string& path;
  const absl::StatusOr<json>& body;
  AccessService* svc;
  bool get;
  bool post;  // POST or PUT

  // Authenticates with `scope` (a malformed body of a POST is refused and
  // audited), then runs fn with the principal.
  ApiResponse With(const char* scope,
                   const std::function<ApiResponse(const Principal&)>& fn) const {
    auto p = svc->Authenticate(req.Header("Authorization"), scope, path);
    if (!p.ok()) return FromStatus(p.status());
    if (post && !body.ok()) {
      svc->AuditRefusal(&*p, "request.malformed", path, std::string(body.status().message()));
      return FromStatus(body.status());
    }
    return fn(*p);
  }
};

// The names every route body below uses.
#define ST_ROUTE_LOCALS                                             \
  [[maybe_unused]] const ApiRequest& req = c.req;                   \
  [[maybe_unused]] const std::string& path = c.path;                \
  [[maybe_unused]] const absl::StatusOr<json>& body = c.body;       \
  [[maybe_unused]] AccessService* svc = c.svc;                      \
  [[maybe_unused]] const bool get = c.get;                          \
  [[maybe_unused]] const bool post = c.post;                        \
  auto with = [&c](const char* scope,                               \
                   const std::function<ApiResponse(const Principal&)>& fn) { \
    return c.With(scope, fn);                                       \
  };
#define ST_TRY(var, expr) \
  auto var = (expr);      \
  if (!var.ok()) return FromStatus(var.status());

// Principals and their API tokens.
std::optional<ApiResponse> PrincipalRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/principals" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(role_name, Field<std::string>(*body, "role", true));
      auto role = RoleFromName(*role_name);
      if (!role) return Error(400, "bad_request", "unknown role \"" + *role_name + "\"");
      ST_TRY(name, Field<std::string>(*body, "name", true));
      ST_TRY(days, Field<int64_t>(*body, "ttl_days", false, 0));
      ST_TRY(t,
             svc->CreatePrincipal(p, *role, *name, ScopesFrom(*body), *days * 86400LL * 1000000));
      json j = TokenJson(*t);
      j["pending_activation"] = *role != Role::kOperator;
      return Json(200, j);
    });
  }
  if (path == "/v1/principals" && get) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(list, svc->ListPrincipals(p));
      json a = json::array();
      for (const auto& x : *list) a.push_back(PrincipalJson(x));
      return Json(200, {{"principals", a}});
    });
  }
  if (path == "/v1/principals/activate" && post) {
    return with(kScopeGrants, [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "principal_id", true));
      if (auto s = svc->ActivatePrincipal(p, *id); !s.ok()) return FromStatus(s);
      return Json(200, {{"principal_id", *id}, {"activated", true}});
    });
  }
  if (path == "/v1/tokens" && post) {
    return with("", [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "principal_id", false, p.id));
      ST_TRY(days, Field<int64_t>(*body, "ttl_days", false, 0));
      ST_TRY(t, svc->IssueToken(p, *id, ScopesFrom(*body), *days * 86400LL * 1000000));
      return Json(200, TokenJson(*t));
    });
  }
  if (path == "/v1/tokens/revoke" && post) {
    return with("", [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "token_id", true));
      if (auto s = svc->RevokeToken(p, *id); !s.ok()) return FromStatus(s);
      return Json(200, {{"token_id", *id}, {"revoked", true}});
    });
  }
  return std::nullopt;
}

// A contributor's own data.
std::optional<ApiResponse> OwnDataRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/me/segments" && get) {
    return with(kScopeMe, [&](const Principal& p) {
      ST_TRY(list, svc->ListOwnSegments(p));
      json a = json::array();
      for (const auto& s : *list) a.push_back(SegmentRefJson(s));
      return Json(200, {{"segments", a}});
    });
  }
  if (path == "/v1/me/read" && get) {
    return with(kScopeMe, [&](const Principal& p) {
      ST_TRY(from, IntParam(req, "from", true));
      ST_TRY(to, IntParam(req, "to", true));
      ST_TRY(r, svc->ReadOwn(p, *from, *to));
      return Json(200, ReadJson(*r));
    });
  }
  if (path == "/v1/me/delete" && post) {
    return with(kScopeMe, [&](const Principal& p) {
      // Step-up: deleting needs a passkey sign-in from the last 10 minutes,
      // not a long-lived session's token nor a terminal's.
      constexpr int64_t kFresh = 10LL * 60 * 1000000;
      if (p.auth_method != "passkey" || svc->env()->NowWallMicros() - p.token_created_us > kFresh) {
        svc->AuditRefusal(&p, "signin.step_up", path, "deletion needs a fresh passkey sign-in");
        return Error(403, "forbidden",
                     "signin.step_up: deleting needs a passkey sign-in from the last 10 minutes",
                     "signin.step_up");
      }
      ST_TRY(all, Field<bool>(*body, "all", false, false));
      ST_TRY(from, Field<int64_t>(*body, "from_us", !*all, 0));
      ST_TRY(to, Field<int64_t>(*body, "to_us", !*all, 0));
      ST_TRY(r, svc->DeleteOwn(p, *all, *from, *to));
      return Json(200, {{"key_destroyed", r->key_destroyed},
                        {"segments_deleted", r->segments_deleted},
                        {"blobs_deleted", r->blobs_deleted}});
    });
  }
  return std::nullopt;
}

// Grants: proposals and approvals.
std::optional<ApiResponse> GrantRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/grants" && get) {
    return with(kScopeGrants, [&](const Principal& p) {
      ST_TRY(list, svc->ListGrants(p));
      json a = json::array();
      for (const auto& g : *list) a.push_back(GrantJson(g));
      return Json(200, {{"grants", a}});
    });
  }
  if (path == "/v1/grants" && post) {
    return with(kScopeGrants, [&](const Principal& p) {
      GrantRequest g;
      ST_TRY(grantee, Field<std::string>(*body, "grantee_id", false));
      ST_TRY(purpose, Field<std::string>(*body, "purpose", true));
      ST_TRY(contributors, Field<std::vector<std::string>>(*body, "contributors", true));
      ST_TRY(datasets, Field<std::vector<std::string>>(*body, "datasets", false));
      ST_TRY(from, Field<int64_t>(*body, "from_us", true));
      ST_TRY(to, Field<int64_t>(*body, "to_us", true));
      ST_TRY(nb, Field<int64_t>(*body, "not_before_us", false, 0));
      ST_TRY(exp, Field<int64_t>(*body, "expires_us", true));
      ST_TRY(ch, ChannelsFrom(*body));
      g.grantee_id = *grantee;
      g.purpose = *purpose;
      g.scope.contributors = *contributors;
      g.scope.datasets = *datasets;
      g.scope.from_us = *from;
      g.scope.to_us = *to;
      g.scope.channels = *ch;
      g.not_before_us = *nb;
      g.expires_us = *exp;
      ST_TRY(out, svc->RequestGrant(p, g));
      return Json(200, GrantJson(*out));
    });
  }
  if ((path == "/v1/grants/approve" || path == "/v1/grants/deny" || path == "/v1/grants/revoke") &&
      post) {
    return with(kScopeGrants, [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "grant_id", true));
      absl::StatusOr<Grant> out = path == "/v1/grants/approve" ? svc->ApproveGrant(p, *id)
                                  : path == "/v1/grants/deny"  ? svc->DenyGrant(p, *id)
                                                               : svc->RevokeGrant(p, *id);
      if (!out.ok()) return FromStatus(out.status());
      return Json(200, GrantJson(*out));
    });
  }
  return std::nullopt;
}

// Reads under a grant, and the exporter's routes.
std::optional<ApiResponse> ReadRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/read" && get) {
    return with(kScopeRead, [&](const Principal& p) {
      ST_TRY(from, IntParam(req, "from", true));
      ST_TRY(to, IntParam(req, "to", true));
      uint32_t channels = 0;
      if (!Param(req, "channels").empty()) {
        auto ch = ParseChannels(Param(req, "channels"));
        if (!ch) return Error(400, "bad_request", "channels must be keys, pointer, focus, frames");
        channels = *ch;
      }
      ST_TRY(r,
             svc->Read(p, Param(req, "grant_id"), Param(req, "contributor"), *from, *to, channels));
      return Json(200, ReadJson(*r));
    });
  }
  if (path == "/v1/export/segments" && get) {
    return with(kScopeExport, [&](const Principal& p) {
      ST_TRY(list, svc->ListSegmentsInScope(p, Param(req, "grant_id"), Param(req, "dataset")));
      json a = json::array();
      for (const auto& s : *list) a.push_back(SegmentRefJson(s));
      return Json(200, {{"segments", a}});
    });
  }
  if (path == "/v1/export/grant" && get) {
    return with(kScopeExport, [&](const Principal& p) {
      ST_TRY(g, svc->GetOwnGrant(p, Param(req, "grant_id")));
      return Json(200, GrantJson(*g));
    });
  }
  if (path == "/v1/export/dp/spend" && post) {
    return with(kScopeExport, [&](const Principal& p) {
      ST_TRY(grant, Field<std::string>(*body, "grant_id", true));
      ST_TRY(contributor, Field<std::string>(*body, "contributor_id", true));
      ST_TRY(release, Field<std::string>(*body, "release_id", true));
      ST_TRY(epsilon, Field<std::string>(*body, "epsilon", true));
      auto charge = svc->SpendPrivacyBudget(p, *grant, *contributor, *release, *epsilon);
      if (absl::IsResourceExhausted(charge.status())) {
        return Error(429, "budget_exhausted", std::string(charge.status().message()),
                     "dp.budget_exhausted");
      }
      if (!charge.ok()) return FromStatus(charge.status());
      return Json(200, {{"spent", charge->spent.ToString()},
                        {"budget", charge->budget.ToString()}});
    });
  }
  if (path == "/v1/export/segment" && get) {
    return with(kScopeExport, [&](const Principal& p) {
      ST_TRY(seg, svc->OpenSegmentForGrant(p, Param(req, "grant_id"), Param(req, "segment_id"),
                                           Param(req, "dataset")));
      ReadResult r;
      ReadSegment s;
      s.segment_id = seg->header.segment_id.Hex();
      s.contributor_id = seg->header.contributor_id.Hex();
      s.sequence = seg->header.sequence;
      s.wall_anchor_us = seg->header.wall_anchor_us;
      s.frame = (seg->header.flags & kFlagFramePayload) != 0;
      s.events = std::move(seg->events);
      s.raw = std::move(seg->raw);
      r.segments.push_back(std::move(s));
      return Json(200, ReadJson(r));
    });
  }
  return std::nullopt;
}

// Programme state and its two-person changes.
std::optional<ApiResponse> ProgrammeRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/programme" && get) {
    return with("", [&](const Principal&) {
      ST_TRY(title, svc->CurrentTitlePolicy());
      ST_TRY(pending, svc->PendingTitlePolicy());
      json out = {{"programme_state", ProgrammeStateName(svc->CurrentState())},
                  {"title_policy", *title}};
      if (pending->has_value()) {
        out["title_policy_proposal"] = {{"proposal_id", (*pending)->proposal_id},
                                        {"title_policy", (*pending)->policy},
                                        {"expires_us", (*pending)->expires_us}};
      }
      return Json(200, out);
    });
  }
  if (path == "/v1/programme/propose" && post) {
    return with(kScopeState, [&](const Principal& p) {
      ST_TRY(st, Field<std::string>(*body, "state", true));
      auto s = ProgrammeStateFromName(*st);
      if (!s) return Error(400, "bad_request", "state must be ACTIVE, PAUSED or INCIDENT");
      ST_TRY(reason, Field<std::string>(*body, "reason", false));
      ST_TRY(prop, svc->ProposeState(p, *s, *reason));
      return Json(200, {{"proposal_id", prop->id},
                        {"state", ProgrammeStateName(prop->state)},
                        {"expires_us", prop->expires_us}});
    });
  }
  if (path == "/v1/programme/proposals" && get) {
    return with(kScopeState, [&](const Principal& p) {
      ST_TRY(list, svc->ListPendingProposals(p));
      json a = json::array();
      for (const auto& pr : *list) {
        a.push_back({{"proposal_id", pr.id},
                     {"state", ProgrammeStateName(pr.state)},
                     {"reason", pr.reason},
                     {"proposer_id", pr.proposer_id},
                     {"created_us", pr.created_us},
                     {"expires_us", pr.expires_us}});
      }
      return Json(200, {{"proposals", a}});
    });
  }
  if (path == "/v1/programme/confirm" && post) {
    return with(kScopeState, [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "proposal_id", true));
      ST_TRY(s, svc->ConfirmState(p, *id));
      return Json(200, {{"programme_state", ProgrammeStateName(*s)}});
    });
  }
  return std::nullopt;
}

// Operators: devices, retention, title policy, purge, key rotation.
std::optional<ApiResponse> AdminRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/admin/devices" && get) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(list, svc->ListDevices(p));
      json a = json::array();
      for (const auto& d : *list) {
        json row = {{"device_id", d.device_id},
                    {"enrolled_us", d.enrolled_us},
                    {"last_seen_us", d.last_seen_us},
                    {"last_upload_us", d.last_upload_us}};
        if (d.spool_reported) {
          row["spool"] = {{"segments", d.spool_segments},
                          {"bytes", d.spool_bytes},
                          {"reported_us", d.spool_reported_us}};
        }
        a.push_back(std::move(row));
      }
      return Json(200, {{"devices", a}});
    });
  }
  if (path == "/v1/admin/retention" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(days, Field<int>(*body, "days", true));
      ST_TRY(ch, svc->SetRetentionDays(p, *days));
      json out = {{"retention_days", *days}, {"applied", ch->applied}};
      if (!ch->applied) {
        out["proposal_id"] = ch->proposal_id;
        out["expires_us"] = ch->expires_us;
        out["message"] = "a shorter retention deletes recordings: a privacy officer must confirm";
      }
      return Json(200, out);
    });
  }
  if (path == "/v1/programme/retention/confirm" && post) {
    return with(kScopeState, [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "proposal_id", true));
      ST_TRY(days, svc->ConfirmRetention(p, *id));
      return Json(200, {{"retention_days", *days}, {"applied", true}});
    });
  }
  if (path == "/v1/admin/title-policy" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(policy, Field<std::string>(*body, "title_policy", true));
      ST_TRY(ch, svc->SetTitlePolicy(p, *policy));
      json out = {{"title_policy", ch->policy}, {"applied", ch->applied}};
      if (!ch->applied) {
        out["proposal_id"] = ch->proposal_id;
        out["expires_us"] = ch->expires_us;
        out["message"] =
            "a looser title policy records more of everyone's window titles: a privacy officer "
            "must confirm";
      }
      return Json(200, out);
    });
  }
  if (path == "/v1/programme/title-policy/confirm" && post) {
    return with(kScopeState, [&](const Principal& p) {
      ST_TRY(id, Field<std::string>(*body, "proposal_id", true));
      ST_TRY(policy, svc->ConfirmTitlePolicy(p, *id));
      return Json(200, {{"title_policy", *policy}, {"applied", true}});
    });
  }
  if (path == "/v1/admin/purge" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(r, svc->RunPurge(&p));
      return Json(200,
                  {{"segments_deleted", r->segments_deleted}, {"blobs_deleted", r->blobs_deleted}});
    });
  }
  if (path == "/v1/admin/rotate-audit-key" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      if (auto s = svc->RotateAuditKey(p); !s.ok()) return FromStatus(s);
      return Json(200, {{"verifier_keys", svc->VerifierKeys()}});
    });
  }
  if (path == "/v1/admin/retire-master-key" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(version, Field<int64_t>(*body, "version", true));
      if (*version <= 0 || *version > UINT32_MAX) {
        return Error(400, "bad_request", "version must be a positive master key version");
      }
      if (auto s = svc->RetireMasterKey(p, static_cast<uint32_t>(*version)); !s.ok()) {
        return FromStatus(s);
      }
      return Json(200, {{"retired_version", *version}});
    });
  }
  if (path == "/v1/admin/rotate-master-key" && post) {
    return with(kScopeAdmin, [&](const Principal& p) {
      ST_TRY(r, svc->RotateMasterKey(p));
      return Json(200, {{"master_key_version", r->master_key_version},
                        {"previous_version", r->previous_version},
                        {"new_version", r->new_version},
                        {"rewrapped", r->rewrapped},
                        {"bound", r->bound},
                        {"skipped", r->skipped}});
    });
  }
  return std::nullopt;
}

// The audit log: checkpoints, proofs, entries, leaves.
std::optional<ApiResponse> AuditRoutes(const Call& c) {
  ST_ROUTE_LOCALS
  if (path == "/v1/audit/checkpoint" && get) {
    return with("", [&](const Principal& p) {
      ST_TRY(cp, svc->Checkpoint(p, Param(req, "fresh") == "1"));
      return ApiResponse::Text(200, *cp, "text/plain; charset=utf-8");
    });
  }
  if (path == "/v1/audit/proof/inclusion" && get) {
    return with("", [&](const Principal& p) {
      ST_TRY(index, IntParam(req, "index", true));
      ST_TRY(size, IntParam(req, "size", true));
      if (*index < 0 || *size < 0) return Error(400, "bad_request", "negative index or size");
      ST_TRY(proof, svc->InclusionProof(p, *index, *size));
      return Json(200, {{"index", *index}, {"size", *size}, {"proof", ProofJson(*proof)}});
    });
  }
  if (path == "/v1/audit/proof/consistency" && get) {
    return with("", [&](const Principal& p) {
      ST_TRY(old_size, IntParam(req, "old", true));
      ST_TRY(new_size, IntParam(req, "new", true));
      if (*old_size < 0 || *new_size < 0) return Error(400, "bad_request", "negative size");
      ST_TRY(proof, svc->ConsistencyProof(p, *old_size, *new_size));
      return Json(200, {{"old", *old_size}, {"new", *new_size}, {"proof", ProofJson(*proof)}});
    });
  }
  if (path == "/v1/audit/entries" && get) {
    return with("", [&](const Principal& p) {
      // Contributors need the "me" scope, everyone else "audit".
      auto scoped = svc->Authenticate(req.Header("Authorization"),
                                      p.role == Role::kContributor ? kScopeMe : kScopeAudit, path);
      if (!scoped.ok()) return FromStatus(scoped.status());
      ST_TRY(list, svc->AuditEntries(p, Param(req, "contributor")));
      json a = json::array();
      for (const auto& e : *list) a.push_back(EntryJson(e.index, e.entry));
      return Json(200, {{"entries", a}, {"size", svc->AuditSize()}});
    });
  }
  if (path == "/v1/audit/leaves" && get) {
    return with(kScopeAudit, [&](const Principal& p) {
      ST_TRY(begin, IntParam(req, "begin", false, 0));
      ST_TRY(end, IntParam(req, "end", false, static_cast<int64_t>(svc->AuditSize())));
      if (*begin < 0 || *end < 0) return Error(400, "bad_request", "negative range");
      ST_TRY(leaves, svc->AuditLeaves(p, *begin, *end));
      json a = json::array();
      for (const auto& l : *leaves) a.push_back(Base64(l));
      return Json(200, {{"begin", *begin}, {"leaves", a}});
    });
  }
  return std::nullopt;
}

}  // namespace

ApiResponse AccessApi::Handle(const ApiRequest& req) {
  const std::string& path = req.path;
  AccessService* svc = service_;
  if (req.body_too_large) {
    svc->AuditRefusal(nullptr, "request.oversized", path, "request body over the limit");
    return Error(413, "oversized", "request body larger than 64 KiB");
  }
  auto body = ParseBody(req);
  const bool get = req.method == "GET";
  const bool post = req.method == "POST" || req.method == "PUT";

  const Call c{req, path, body, svc, get, post};
  auto with = [&c](const char* scope, const std::function<ApiResponse(const Principal&)>& fn) {
    return c.With(scope, fn);
  };

  // --- public ---
  if (path == "/v1/audit/keys" && get) {
    return Json(200, {{"origin", audit::kDefaultOrigin}, {"verifier_keys", svc->VerifierKeys()}});
  }
  if (path.rfind("/v1/signin/", 0) == 0) return HandleSignIn(req);
  if (path == "/v1/me/token" && post) {
    // Removed: a device token never leads to a reader credential. Device
    // tokens are refused (and audited) by Authenticate; anything else is told
    // where contributor tokens come from now.
    return with("", [&](const Principal& p) {
      svc->AuditRefusal(&p, "token.contributor_signin", path, "contributor tokens need a passkey");
      return Error(410, "gone",
                   "contributor tokens come only from a passkey sign-in (the dashboard, or "
                   "`sealtrace me read` approved from it)",
                   "token.contributor_signin");
    });
  }
  if (path == "/v1/whoami" && get) {
    return with("", [&](const Principal& p) { return Json(200, PrincipalJson(p)); });
  }

  for (auto* routes : {&PrincipalRoutes, &OwnDataRoutes, &GrantRoutes, &ReadRoutes,
                       &ProgrammeRoutes, &AdminRoutes, &AuditRoutes}) {
    if (std::optional<ApiResponse> r = routes(c)) return *std::move(r);
  }
  return Error(404, "not_found", "no such route: " + req.method + " " + path);
}

#undef ST_TRY
#undef ST_ROUTE_LOCALS

void AccessApi::RegisterRoutes(net::HttpServer& server) {
  // Every other /v1 route, whatever the method: Handle answers 404 or 405.
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    net::Route r;
    r.method = method;
    r.pattern = R"(/v1/.+)";
    r.max_body = kMaxApiBodyBytes;
    r.handler = [this](const net::HttpRequest& req) {
      net::HttpResponse out = Handle(req);
      out.SetHeader("Cache-Control", "no-store");
      return out;
    };
    server.AddRoute(std::move(r));
  }
}

}  // namespace sealtrace::access
