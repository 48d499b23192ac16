#include "dashboard/dashboard.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "access/access_service.h"
#include "access/signin.h"
#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/entry.h"
#include "common/bytes.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "dashboard/assets.h"
#include "dashboard/html.h"
#include "dashboard/pause.h"
#include "dashboard/timeline.h"
#include "net/http_server.h"
#include "segment/event_json.h"
#include "vault/vault.h"

namespace sealtrace::dashboard {
namespace {

using access::Principal;
using access::ProgrammeState;
using access::Role;

constexpr size_t kMaxFormBytes = 16 << 10;
constexpr size_t kPreviewEvents = 100;
constexpr size_t kMaxAccessRows = 300;
constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr char kJson[] = "application/json";
constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// ---------------------------------------------------------------------------
// Request / response, independent of the HTTP core (FromHttp/ToHttp adapt).

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> form;
  bool form_ok = true;
  std::string cookie, origin, referer, sec_fetch_site, host;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = kHtml;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response Redirect(const std::string& to) {
  Response r;
  r.status = 303;
  r.headers.emplace_back("Location", to);
  r.body = "<!doctype html><title>See other</title><a href=\"" + Escape(to) + "\">continue</a>";
  return r;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

int HttpStatusOf(const absl::Status& s) { return net::HttpErrorFor(s).status; }

std::string RoleLabel(Role r) {
  switch (r) {
    case Role::kContributor:
      return "contributor";
    case Role::kPrivacyOfficer:
      return "privacy officer";
    case Role::kAuditor:
      return "auditor";
    case Role::kOperator:
      return "operator";
    case Role::kService:
      return "service";
  }
  return "?";
}

std::string Landing(Role r) {
  switch (r) {
    case Role::kContributor:
      return "/dashboard/me";
    case Role::kPrivacyOfficer:
      return "/dashboard/officer/grants";
    case Role::kOperator:
      return "/dashboard/fleet";
    default:
      return "/dashboard/audit";
  }
}

// The token scope a role's dashboard pages need.
const char* ScopeFor(Role r, std::string_view path) {
  switch (r) {
    case Role::kContributor:
      return access::kScopeMe;
    case Role::kPrivacyOfficer:
      return StartsWith(path, "/dashboard/officer/state") ? access::kScopeState
                                                          : access::kScopeGrants;
    case Role::kOperator:
      return access::kScopeAdmin;
    default:
      return access::kScopeAudit;
  }
}

std::string StateName(ProgrammeState s) { return std::string(access::ProgrammeStateName(s)); }

std::string Hidden(const std::string& name, const std::string& value) {
  return "<input type=\"hidden\" name=\"" + Escape(name) + "\" value=\"" + Escape(value) + "\">";
}

// A one-button POST form (with the CSRF token).
std::string ButtonForm(const std::string& action, const std::string& csrf,
                       const std::vector<std::pair<std::string, std::string>>& fields,
                       const std::string& label, const std::string& aria_label,
                       const std::string& cls = "") {
  std::string out = "<form class=\"inline\" method=\"post\" action=\"" + Escape(action) + "\">";
  out += Hidden("csrf", csrf);
  for (const auto& [k, v] : fields) out += Hidden(k, v);
  out += "<button type=\"submit\"";
  if (!cls.empty()) out += " class=\"" + cls + "\"";
  out += " aria-label=\"" + Escape(aria_label) + "\">" + Escape(label) + "</button></form>";
  return out;
}

std::string Table(const std::string& caption, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& numeric = {}) {
  std::string out =
      "<div class=\"table-wrap\"><table><caption>" + Escape(caption) + "</caption><thead><tr>";
  for (size_t i = 0; i < headers.size(); ++i) {
    const bool num = i < numeric.size() && numeric[i];
    out += std::string("<th scope=\"col\"") + (num ? " class=\"num\"" : "") + ">" +
           Escape(headers[i]) + "</th>";
  }
  out += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      const bool num = i < numeric.size() && numeric[i];
      out += std::string("<td") + (num ? " class=\"num\"" : "") + ">" + row[i] + "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
  return out;
}

std::string ShortId(const std::string& id) {
  return "<code title=\"" + Escape(id) + "\">" +
         Escape(id.size() > 14 ? id.substr(0, 14) + "…" : id) + "</code>";
}

// What the index knows of a segment's time: whole UTC hours (plain text).
std::string HourRangeText(const access::SegmentRef& s) {
  const int64_t hours = (s.wall_end_us - s.wall_start_us) / kHourUs;
  std::string t = FormatTimeUtc(s.wall_start_us);  // "YYYY-MM-DD HH:00:00 UTC"
  if (t.size() >= 16 && t.compare(13, 6, ":00:00") == 0) t = t.substr(0, 16) + " UTC";
  return "the hour" + std::string(hours > 1 ? "s" : "") + " from " + t +
         (hours > 1 ? " (" + std::to_string(hours) + " hours)" : "");
}

std::string Json(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else if (c == '<') {
          out += "\\u003c";
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

Response JsonError(int status, const std::string& code, const std::string& message) {
  Response r;
  r.status = status;
  r.content_type = kJson;
  r.body = "{\"error\":" + Json(code) + ",\"message\":" + Json(message) + "}";
  return r;
}

// ---------------------------------------------------------------------------

class Dashboard {
 public:
  explicit Dashboard(const DashboardDeps& deps)
      : d_(deps),
        env_(deps.env != nullptr ? deps.env : Env::Default()),
        sessions_(env_, deps.sessions),
        pauses_(deps.vault->store()),
        cookie_name_(deps.https ? "__Host-st_session" : "st_session"),
        cookie_path_(deps.https ? "/" : "/dashboard") {}

  Response Handle(const Request& req);

 private:
  struct Ctx {
    const Request* req = nullptr;
    std::string sid;
    Session s;
    Principal p;
    ProgrammeState state = ProgrammeState::kActive;
    std::string flash;
  };

  // Handle's parts: pages without a session (login, passkey ceremonies,
  // assets), then the session checks, then the pages of each role.
  std::optional<Response> PublicRoute(const Request& req);
  std::optional<Response> OpenSession(const Request& req, Ctx& c);
  Response SessionRoute(Ctx& c);

  // Pages and actions.
  Response LoginPage(const Request& req, int status, const std::string& notice,
                     const std::string& cls);
  Response Login(const Request& req);
  Response RegisterPage(const Request& req);
  Response PasskeyCeremony(const Request& req);
  Response StartSession(const Request& req, const access::SignedIn& in);
  Response StepUp(const Ctx& c, bool finish);
  Response StepUpNeeded(const Ctx& c, const std::string& then, const std::string& doing);
  bool SteppedUp(const Ctx& c) const;
  Response Devices(const Ctx& c);
  Response AddPasskey(const Ctx& c, bool finish);
  std::string RetentionProposal(const Ctx& c);
  std::string AccountNotice(const Ctx& c);
  Response DeviceCode(const Ctx& c);
  Response TerminalPage(const Ctx& c);
  Response TerminalDecide(const Ctx& c);
  std::vector<std::string> Origins(const Request& req) const;
  std::string PageHead(const std::string& title) const;
  Response Page(const Ctx& c, const std::string& nav, const std::string& title,
                const std::string& body, int status = 200);
  Response ErrorPage(const Ctx& c, const absl::Status& s, const std::string& doing);
  Response Frozen(const Ctx& c, const std::string& title);
  Response Done(const Ctx& c, const std::string& to, const std::string& msg);
  Response ContributorHome(const Ctx& c);
  Response Pause(const Ctx& c);
  Response Timeline(const Ctx& c);
  Response Preview(const Ctx& c);
  Response AccessLog(const Ctx& c);
  Response Proof(const Ctx& c);
  Response DeleteForm(const Ctx& c);
  Response Delete(const Ctx& c);
  Response Export(const Ctx& c);
  Response Grants(const Ctx& c);
  Response GrantRequestAction(const Ctx& c);
  Response GrantDecide(const Ctx& c);
  Response StatePage(const Ctx& c);
  Response StatePropose(const Ctx& c);
  Response StateConfirm(const Ctx& c);
  Response Fleet(const Ctx& c);
  Response FleetRetention(const Ctx& c);
  Response AuditPage(const Ctx& c);

  std::string Cookie(const std::string& value, bool clear) const;
  std::string ExpectedOrigin(const Request& req) const {
    return (d_.https ? "https://" : "http://") + req.host;
  }
  std::string StateBanner(ProgrammeState s, Role role) const;
  absl::StatusOr<std::vector<access::SegmentRef>> OwnSegmentsNewestFirst(const Ctx& c);
  absl::Status AuditPause(const Ctx& c, const std::string& action, int64_t until);

  DashboardDeps d_;
  Env* env_;
  SessionStore sessions_;
  PauseStore pauses_;
  const std::string cookie_name_;
  const std::string cookie_path_;

  std::mutex mu_;
  int64_t last_checkpoint_us_ = 0;
};

std::string Dashboard::Cookie(const std::string& value, bool clear) const {
  std::string c =
      cookie_name_ + "=" + value + "; Path=" + cookie_path_ + "; HttpOnly; Secure; SameSite=Strict";
  if (clear) c += "; Max-Age=0";
  return c;
}

std::string Dashboard::StateBanner(ProgrammeState s, Role role) const {
  switch (s) {
    case ProgrammeState::kActive:
      return "";
    case ProgrammeState::kPaused:
      return "<div class=\"banner warn\" role=\"status\" id=\"programme-banner\"><span "
             "class=\"state\">Programme PAUSED.</span> The privacy officers paused recording "
             "for everyone: no device records until two officers resume it. Your data, this "
             "page and your rights to view and delete are unchanged.</div>";
    case ProgrammeState::kIncident:
      return "<div class=\"banner bad\" role=\"alert\" id=\"programme-banner\"><span "
             "class=\"state\">Programme in INCIDENT.</span> Recording is stopped on every "
             "device and every read of recorded content is frozen" +
             std::string(role == Role::kContributor ? " (your own previews and downloads too)"
                                                    : "") +
             " until two privacy officers end the incident. Deletion and pausing still "
             "work.</div>";
  }
  return "";
}

Response Dashboard::Page(const Ctx& c, const std::string& nav, const std::string& title,
                         const std::string& body, int status) {
  std::vector<std::pair<std::string, std::string>> items;
  switch (c.p.role) {
    case Role::kContributor:
      items = {{"me", "Overview"},
               {"timeline", "Timeline"},
               {"preview", "Recent actions"},
               {"access", "Who read my data"},
               {"devices", "Devices & sign-ins"},
               {"delete", "Delete"}};
      break;
    case Role::kPrivacyOfficer:
      items = {{"grants", "Grants"}, {"state", "Programme & retention"}};
      break;
    case Role::kOperator:
      items = {{"fleet", "Fleet health"}};
      break;
    default:
      items = {{"audit", "Audit log"}};
      break;
  }
  auto href = [&](const std::string& key) -> std::string {
    if (key == "me") return "/dashboard/me";
    if (c.p.role == Role::kContributor) return "/dashboard/me/" + key;
    if (key == "grants" || key == "state") return "/dashboard/officer/" + key;
    return "/dashboard/" + key;
  };
  std::string h =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      Escape(title) +
      " · sealtrace</title><link rel=\"stylesheet\" href=\"/dashboard/static/app.css\">"
      "<script src=\"/dashboard/static/app.js\" defer></script></head><body>"
      "<a class=\"skip\" href=\"#main\">Skip to content</a>"
      "<header class=\"top\"><span class=\"brand\">sealtrace</span>"
      "<nav aria-label=\"Main\"><ul>";
  for (const auto& [key, label] : items) {
    h += "<li><a href=\"" + href(key) + "\"" + (key == nav ? " aria-current=\"page\"" : "") + ">" +
         Escape(label) + "</a></li>";
  }
  if (c.p.role == Role::kContributor) {
    h += "<li><a href=\"/dashboard/me/export.jsonl\" download>Download my data</a></li>";
  }
  h += "</ul></nav><div class=\"who\"><span>Signed in as <strong id=\"who-name\">" +
       Escape(c.s.name) + "</strong> <span class=\"muted\">(" + Escape(RoleLabel(c.p.role)) +
       ")</span></span>" +
       ButtonForm("/dashboard/logout", c.s.csrf_token, {}, "Sign out", "Sign out") +
       "</div></header><main id=\"main\" tabindex=\"-1\">";
  h += StateBanner(c.state, c.p.role);
  if (!c.flash.empty()) {
    h += "<div class=\"banner ok\" role=\"status\" id=\"flash\">" + Escape(c.flash) + "</div>";
  }
  h += "<h1>" + Escape(title) + "</h1>" + body;
  h += "</main><footer>Programme state: <span class=\"state\" id=\"programme-state\">" +
       StateName(c.state) +
       "</span> · Times are UTC · Every read of your data is written to a tamper-evident "
       "audit log before it happens.</footer></body></html>";
  Response r;
  r.status = status;
  r.body = std::move(h);
  return r;
}

Response Dashboard::ErrorPage(const Ctx& c, const absl::Status& s, const std::string& doing) {
  const int code = HttpStatusOf(s);
  const std::string rule = access::RuleOf(s);
  std::string body = "<div class=\"banner bad\" role=\"alert\" id=\"error\"><p>" + Escape(doing) +
                     " was refused or failed.</p><p><strong>Reason:</strong> " +
                     Escape(std::string(s.message())) + "</p>";
  if (!rule.empty()) body += "<p><strong>Rule:</strong> <code>" + Escape(rule) + "</code></p>";
  body += "</div><p><a href=\"" + Landing(c.p.role) + "\">Back</a></p>";
  return Page(c, "", code == 403 ? "Not allowed" : "Something went wrong", body, code);
}

Response Dashboard::Frozen(const Ctx& c, const std::string& title) {
  return Page(
      c, "", title,
      "<div class=\"banner bad\" role=\"alert\" id=\"frozen\"><p>The programme is in "
      "INCIDENT, so every read of recorded content and of the audit log is frozen, including "
      "your own. Nothing was decrypted.</p><p>You can still <a "
      "href=\"/dashboard/me/delete\">delete your "
      "data</a> and pause recording.</p></div>",
      503);
}

Response Dashboard::Done(const Ctx& c, const std::string& to, const std::string& msg) {
  sessions_.SetFlash(c.sid, msg);
  return Redirect(to);
}

// ---------------------------------------------------------------------------
// Sign-in.

Response Dashboard::LoginPage(const Request& req, int status, const std::string& notice,
                              const std::string& cls) {
  std::string h =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>Sign in · sealtrace</title><link rel=\"stylesheet\" "
      "href=\"/dashboard/static/app.css\"></head><body>"
      "<header class=\"top\"><span class=\"brand\">sealtrace</span></header>"
      "<main id=\"main\"><h1>Sign in</h1>";
  if (!notice.empty()) {
    h += "<div class=\"banner " + cls + "\" role=\"" + (cls == "bad" ? "alert" : "status") +
         "\" id=\"login-notice\">" + Escape(notice) + "</div>";
  }
  h += "<section aria-labelledby=\"pk-h\"><h2 id=\"pk-h\">Contributors</h2>"
       "<p><button class=\"primary\" type=\"button\" id=\"passkey-signin\">Sign in with "
       "your passkey</button></p><p class=\"hint\" id=\"passkey-status\" role=\"status\"></p>"
       "<p class=\"hint\">First time here, or a new phone or laptop? <a "
       "href=\"/dashboard/register\">Register a passkey with your sign-in code</a> (the code "
       "<code>sealtrace enroll</code> showed, or one your privacy officer gave you).</p></section>"
       "<section aria-labelledby=\"tok-h\"><h2 id=\"tok-h\">Privacy officers, auditors, "
       "operators</h2><form class=\"stack\" method=\"post\" action=\"/dashboard/login\">"
       "<div><label for=\"token\">Your sealtrace access token</label>"
       "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required "
       "spellcheck=\"false\" aria-describedby=\"token-hint\">"
       "<p class=\"hint\" id=\"token-hint\">Your own API token; it starts with "
       "<code>stp_</code>. Contributors sign in with their passkey, never with a token.</p></div>"
       "<div><button type=\"submit\">Sign in with a token</button></div></form></section>"
       "<p class=\"hint\">Sessions end after 15 minutes without activity and after 8 hours. "
       "Nothing here is sent to any other site.</p></main><script "
       "src=\"/dashboard/static/app.js\"></script></body></html>";
  (void)req;
  Response r;
  r.status = status;
  r.body = std::move(h);
  return r;
}

Response Dashboard::Login(const Request& req) {
  if (!SameOriginRequest(req.origin, req.referer, req.sec_fetch_site, ExpectedOrigin(req),
                         d_.extra_origins)) {
    return LoginPage(req, 403, "Sign-in refused: the form was not submitted from this site.",
                     "bad");
  }
  const std::string token = Get(req.form, "token");
  if (token.empty() || token.size() > 200) {
    return LoginPage(req, 400, "Enter your access token.", "bad");
  }
  auto p = d_.access->Authenticate("Bearer " + token, "", "/dashboard/login");
  if (!p.ok()) {
    const std::string rule = access::RuleOf(p.status());
    return LoginPage(req, HttpStatusOf(p.status()) == 403 ? 403 : 401,
                     "Sign-in failed (" + (rule.empty() ? std::string("error") : rule) +
                         "). Check the token and try again.",
                     "bad");
  }
  if (p->role == Role::kService) {
    d_.access->AuditRefusal(&*p, "dashboard.service", "/dashboard/login",
                            "service principals have no dashboard");
    return LoginPage(req, 403, "Service tokens cannot sign in to the dashboard.", "bad");
  }
  if (p->role == Role::kContributor) {
    d_.access->AuditRefusal(&*p, "dashboard.contributor_passkey", "/dashboard/login",
                            "contributors sign in with their passkey");
    return LoginPage(req, 403, "Contributors sign in with their passkey, not with a token.",
                     "bad");
  }
  Session s;
  s.principal_id = p->id;
  s.role = p->role;
  s.name = p->name.empty() ? p->id : p->name;
  s.contributor_id = p->contributor_id;
  s.api_token = token;
  s.auth_method = "token";
  // A fresh id on every sign-in (no fixation); an old cookie's session ends.
  const std::string old = CookieValue(req.cookie, cookie_name_);
  if (!old.empty()) sessions_.Destroy(old);
  const std::string sid = sessions_.Create(std::move(s));
  Response r = Redirect(Landing(p->role));
  r.headers.emplace_back("Set-Cookie", Cookie(sid, false));
  return r;
}

// ---------------------------------------------------------------------------
// Passkey sign-in, step-up, devices and terminal approval.

// The origins a passkey ceremony may come from: the configured ones, and this
// request's own origin only when its host is the relying party id (so a
// request's Host header cannot choose the origin it is checked against).
std::vector<std::string> Dashboard::Origins(const Request& req) const {
  std::vector<std::string> o = d_.extra_origins;
  std::string host = req.host.substr(0, req.host.rfind(':') == std::string::npos ||
                                                req.host.back() == ']'
                                            ? req.host.size()
                                            : req.host.rfind(':'));
  if (d_.signin != nullptr && host == d_.signin->options().rp_id) o.push_back(ExpectedOrigin(req));
  return o;
}

std::string Dashboard::PageHead(const std::string& title) const {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
         Escape(title) +
         " · sealtrace</title><link rel=\"stylesheet\" href=\"/dashboard/static/app.css\">"
         "<script src=\"/dashboard/static/app.js\" defer></script></head><body>"
         "<header class=\"top\"><span class=\"brand\">sealtrace</span></header><main id=\"main\">";
}

Response Dashboard::RegisterPage(const Request& req) {
  (void)req;
  Response r;
  r.body = PageHead("Register a passkey") +
           "<h1>Register a passkey</h1><p>Enter the single-use sign-in code that <code>sealtrace "
           "enroll</code> showed on your terminal (or that a privacy officer gave you). Your "
           "browser then creates a passkey for this vault; from then on you sign in with it.</p>"
           "<form class=\"stack\" id=\"register-form\"><div><label for=\"signin-code\">Sign-in "
           "code</label><input id=\"signin-code\" name=\"code\" autocomplete=\"one-time-code\" "
           "spellcheck=\"false\" required placeholder=\"XXXXX-XXXXX-XXXXX-XXXXX\"></div>"
           "<div><button class=\"primary\" type=\"submit\" id=\"register-button\">Create my "
           "passkey</button></div></form><p class=\"hint\" id=\"passkey-status\" "
           "role=\"status\"></p><p><a href=\"/dashboard/login\">Back to sign-in</a></p></main>"
           "</body></html>";
  return r;
}

Response Dashboard::StartSession(const Request& req, const access::SignedIn& in) {
  Session s;
  s.principal_id = in.principal.id;
  s.role = in.principal.role;
  s.name = in.principal.name.empty() ? in.principal.id : in.principal.name;
  s.contributor_id = in.principal.contributor_id;
  s.api_token = in.token.token;
  s.auth_method = "passkey";
  s.stepped_up_us = env_->NowWallMicros();
  const std::string old = CookieValue(req.cookie, cookie_name_);
  if (!old.empty()) sessions_.Destroy(old);
  const std::string sid = sessions_.Create(std::move(s));
  Response r;
  r.content_type = kJson;
  r.body = "{\"redirect\":\"/dashboard/me\"}";
  r.headers.emplace_back("Set-Cookie", Cookie(sid, false));
  return r;
}

// POST /dashboard/passkey/{register,signin}/{begin,finish}: form-encoded
// fields in, JSON out. No session yet: the Origin must be this vault's.
Response Dashboard::PasskeyCeremony(const Request& req) {
  if (d_.signin == nullptr) return JsonError(501, "not_available", "passkeys are not enabled");
  if (!SameOriginRequest(req.origin, req.referer, req.sec_fetch_site, ExpectedOrigin(req),
                         d_.extra_origins) ||
      !req.form_ok) {
    d_.access->AuditRefusal(nullptr, "dashboard.csrf_origin", req.path, "cross-origin sign-in");
    return JsonError(403, "refused", "sign-in requests must come from the dashboard's own pages");
  }
  const auto& f = req.form;
  auto fail = [](const absl::Status& st) {
    return JsonError(HttpStatusOf(st), access::RuleOf(st).empty() ? "refused" : access::RuleOf(st),
                     std::string(st.message()));
  };
  auto begun = [](const absl::StatusOr<access::Ceremony>& c) {
    Response r;
    r.content_type = kJson;
    r.body = "{\"ceremony\":" + Json(c->id) + ",\"options\":" + c->options_json + "}";
    return r;
  };
  auto b64 = [&](const char* k) { return FromBase64Url(Get(f, k)).value_or(std::string()); };
  const std::string& path = req.path;
  if (path == "/dashboard/passkey/register/begin") {
    auto c = d_.signin->BeginRegistration(Get(f, "code"));
    return c.ok() ? begun(c) : fail(c.status());
  }
  if (path == "/dashboard/passkey/signin/begin") {
    auto c = d_.signin->BeginSignIn(nullptr);
    return c.ok() ? begun(c) : fail(c.status());
  }
  if (path == "/dashboard/passkey/register/finish") {
    access::webauthn::Registration reg{b64("client_data"), b64("attestation")};
    auto in = d_.signin->FinishRegistration(Get(f, "ceremony"), reg, Origins(req), "dashboard");
    return in.ok() ? StartSession(req, *in) : fail(in.status());
  }
  if (path == "/dashboard/passkey/signin/finish") {
    access::webauthn::Assertion a{b64("client_data"), b64("authenticator_data"), b64("signature")};
    auto in = d_.signin->FinishSignIn(Get(f, "ceremony"), b64("credential_id"), a, Origins(req),
                                      "dashboard");
    return in.ok() ? StartSession(req, *in) : fail(in.status());
  }
  return JsonError(404, "not_found", "no such sign-in step");
}

bool Dashboard::SteppedUp(const Ctx& c) const {
  return c.s.stepped_up_us != 0 &&
         env_->NowWallMicros() - c.s.stepped_up_us < d_.step_up_window_us;
}

Response Dashboard::StepUpNeeded(const Ctx& c, const std::string& then, const std::string& doing) {
  std::string b =
      "<div class=\"banner warn\" role=\"alert\" id=\"stepup-needed\">To " + Escape(doing) +
      ", confirm it is you with your passkey (once every " +
      std::to_string(d_.step_up_window_us / 60000000) +
      " minutes). Nothing was changed.</div><p><button class=\"primary\" type=\"button\" "
      "id=\"stepup-button\" data-csrf=\"" +
      Escape(c.s.csrf_token) + "\" data-then=\"" + Escape(then) +
      "\">Confirm with my passkey</button></p><p class=\"hint\" id=\"passkey-status\" "
      "role=\"status\"></p>";
  return Page(c, "", "Confirm it is you", b, 403);
}

Response Dashboard::StepUp(const Ctx& c, bool finish) {
  if (d_.signin == nullptr) return JsonError(501, "not_available", "passkeys are not enabled");
  const auto& f = c.req->form;
  auto fail = [](const absl::Status& st) {
    return JsonError(HttpStatusOf(st), "refused", std::string(st.message()));
  };
  if (!finish) {
    auto cer = d_.signin->BeginSignIn(&c.p);
    if (!cer.ok()) return fail(cer.status());
    Response r;
    r.content_type = kJson;
    r.body = "{\"ceremony\":" + Json(cer->id) + ",\"options\":" + cer->options_json + "}";
    return r;
  }
  auto b64 = [&](const char* k) { return FromBase64Url(Get(f, k)).value_or(std::string()); };
  access::webauthn::Assertion a{b64("client_data"), b64("authenticator_data"), b64("signature")};
  auto in = d_.signin->FinishSignIn(Get(f, "ceremony"), b64("credential_id"), a, Origins(*c.req),
                                    "dashboard step-up", &c.p);
  if (!in.ok()) return fail(in.status());
  if (in->principal.id != c.p.id) return JsonError(403, "refused", "not your passkey");
  sessions_.MarkSteppedUp(c.sid, env_->NowWallMicros());
  Response r;
  r.content_type = kJson;
  r.body = "{\"ok\":true}";
  return r;
}

Response Dashboard::AddPasskey(const Ctx& c, bool finish) {
  if (d_.signin == nullptr) return JsonError(501, "not_available", "passkeys are not enabled");
  auto fail = [](const absl::Status& st) {
    return JsonError(HttpStatusOf(st), "refused", std::string(st.message()));
  };
  if (!SteppedUp(c)) {
    return JsonError(403, "step_up", "confirm it is you with your passkey first (step-up)");
  }
  if (!finish) {
    auto cer = d_.signin->BeginAddPasskey(c.p);
    if (!cer.ok()) return fail(cer.status());
    Response r;
    r.content_type = kJson;
    r.body = "{\"ceremony\":" + Json(cer->id) + ",\"options\":" + cer->options_json + "}";
    return r;
  }
  const auto& f = c.req->form;
  auto b64 = [&](const char* k) { return FromBase64Url(Get(f, k)).value_or(std::string()); };
  access::webauthn::Registration reg{b64("client_data"), b64("attestation")};
  auto in = d_.signin->FinishRegistration(Get(f, "ceremony"), reg, Origins(*c.req), "dashboard",
                                          &c.p);
  if (!in.ok()) return fail(in.status());
  Response r;
  r.content_type = kJson;
  r.body = "{\"ok\":true}";
  return r;
}

Response Dashboard::Devices(const Ctx& c) {
  auto devices = d_.access->ListOwnDevices(c.p);
  if (!devices.ok()) return ErrorPage(c, devices.status(), "Listing your devices");
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : *devices) {
    auto id = Id16::FromHex(d.device_id);
    auto rec = id ? d_.vault->store()->GetDevice(*id)
                  : absl::StatusOr<std::optional<vault::DeviceRecord>>(std::nullopt);
    const bool revoked = rec.ok() && rec->has_value() && (*rec)->revoked_us != 0;
    rows.push_back({"<span class=\"mono\">" + ShortId(d.device_id) + "</span>",
                    Escape(FormatTimeUtc(d.enrolled_us)),
                    revoked ? std::string("revoked")
                            : ButtonForm("/dashboard/me/devices/revoke", c.s.csrf_token,
                                         {{"device_id", d.device_id}}, "Revoke this device",
                                         "Revoke")});
  }
  std::string b = "<section aria-labelledby=\"dev-h\"><h2 id=\"dev-h\">Devices that upload for "
                  "you</h2><p class=\"hint\">A device uploads sealed recordings and never reads "
                  "them.</p>" +
                  Table("Your devices", {"Device", "Enrolled", ""}, rows) +
                  ButtonForm("/dashboard/me/devices/code", c.s.csrf_token, {},
                             "Create a code to add a device", "Add a device") +
                  "</section>";
  std::vector<std::vector<std::string>> keys;
  if (d_.signin != nullptr) {
    auto pk = d_.signin->ListPasskeys(c.p);
    if (!pk.ok()) return ErrorPage(c, pk.status(), "Listing your passkeys");
    for (const auto& k : *pk) {
      keys.push_back({Escape(k.label.empty() ? std::string("passkey") : k.label),
                      Escape(FormatTimeUtc(k.created_us)), Escape(FormatTimeUtc(k.last_used_us))});
    }
  }
  b += "<section aria-labelledby=\"pk-h\"><h2 id=\"pk-h\">Your passkeys</h2>" +
       Table("Your passkeys", {"Registered from", "Registered", "Last used"}, keys) +
       "<p><button type=\"button\" id=\"add-passkey\" data-csrf=\"" + Escape(c.s.csrf_token) +
       "\">Add another passkey</button> (for example on your phone, so you can still sign in "
       "if you lose this one)</p><p class=\"hint\" id=\"passkey-status\" role=\"status\"></p>"
       "</section>";
  auto entries = d_.access->AuditEntries(c.p, "");
  std::vector<std::vector<std::string>> signins;
  if (entries.ok()) {
    for (auto it = entries->rbegin(); it != entries->rend() && signins.size() < 50; ++it) {
      const audit::AuditEntry& e = it->entry;
      auto m = e.extra.find("method");
      const bool enrol = e.kind == audit::AuditKind::kEnrol;
      const bool refused = e.kind == audit::AuditKind::kRefused &&
                           (e.rule == "enrol.name_taken" || e.rule == "device.not_a_reader" ||
                            e.rule.rfind("webauthn.", 0) == 0 || e.rule.rfind("signin.", 0) == 0);
      if (!enrol && !refused &&
          (e.kind != audit::AuditKind::kTokenIssue || m == e.extra.end())) {
        continue;
      }
      auto to = e.extra.find("issued_to");
      std::string what = enrol     ? "new device " + ShortId(e.object_id)
                         : refused ? "<strong>refused</strong>: " + Escape(e.rule)
                                   : "signed in with " + Escape(m->second);
      signins.push_back({Escape(FormatTimeUtc(e.time_us)), what,
                         to == e.extra.end() ? Escape(e.object_id) : Escape(to->second)});
    }
  }
  b += "<section aria-labelledby=\"si-h\"><h2 id=\"si-h\">Sign-ins and new devices</h2>" +
       Table("Sign-ins and new devices", {"When", "What", "Where"}, signins) + "</section>";
  return Page(c, "devices", "Devices & sign-ins", b);
}

// A notice on the contributor's overview when their account changed or was
// tried in the last 7 days: new devices, sign-ins other than this session's,
// refused attempts (enrolment under their name, their device token used to read).
std::string Dashboard::AccountNotice(const Ctx& c) {
  auto entries = d_.access->AuditEntries(c.p, "");
  if (!entries.ok()) return "";
  const int64_t since = env_->NowWallMicros() - 7LL * 86400 * 1000000;
  int devices = 0, signins = 0, refused = 0;
  for (const auto& l : *entries) {
    const audit::AuditEntry& e = l.entry;
    if (e.time_us < since) continue;
    if (e.kind == audit::AuditKind::kEnrol) ++devices;
    if (e.kind == audit::AuditKind::kTokenIssue && e.extra.count("method") &&
        e.object_id != c.p.token_id) {
      ++signins;
    }
    if (e.kind == audit::AuditKind::kRefused &&
        (e.rule == "enrol.name_taken" || e.rule == "device.not_a_reader" ||
         e.rule.rfind("webauthn.", 0) == 0 || e.rule.rfind("signin.", 0) == 0)) {
      ++refused;
    }
  }
  if (devices + signins + refused == 0) return "";
  std::string cls = refused > 0 ? "warn" : "info";
  return "<div class=\"banner " + cls + "\" role=\"status\" id=\"account-notice\">In the last 7 "
         "days: " + std::to_string(devices) + " device(s) enrolled, " + std::to_string(signins) +
         " other sign-in(s), " + std::to_string(refused) +
         " refused attempt(s) on your account. <a href=\"/dashboard/me/devices\">Review devices "
         "and sign-ins</a>.</div>";
}

std::string Dashboard::RetentionProposal(const Ctx& c) {
  auto p = d_.access->PendingRetention();
  if (!p.ok() || !p->has_value()) return "";
  const auto& r = **p;
  return "<div class=\"banner warn\" role=\"status\" id=\"retention-proposal\">Operator " +
         ShortId(r.proposer_id) + " proposes to purge recordings after " +
         std::to_string(r.days) + " days (until " + Escape(FormatTimeUtc(r.expires_us)) +
         "). " +
         ButtonForm("/dashboard/officer/state/retention", c.s.csrf_token,
                    {{"proposal_id", r.proposal_id}}, "Confirm retention change",
                    "Confirm retention change") +
         "</div>";
}

Response Dashboard::DeviceCode(const Ctx& c) {
  if (d_.signin == nullptr) return ErrorPage(c, absl::UnavailableError("no sign-in"), "Adding");
  if (!SteppedUp(c)) return StepUpNeeded(c, "/dashboard/me/devices", "add a device");
  auto code = d_.signin->IssueDeviceCode(c.p);
  if (!code.ok()) return ErrorPage(c, code.status(), "Creating a device code");
  std::string b = "<div class=\"banner ok\" role=\"status\">On the new device run:<br><code "
                  "id=\"device-code-command\">sealtrace enroll --server URL --device-code " +
                  Escape(code->code) +
                  "</code><br>The code works once and expires at " +
                  Escape(FormatTimeUtc(code->expires_us)) +
                  ". It is shown only now.</div><p><a href=\"/dashboard/me/devices\">Back to "
                  "devices</a></p>";
  return Page(c, "devices", "Add a device", b);
}

Response Dashboard::TerminalPage(const Ctx& c) {
  std::string b =
      "<p>A terminal running <code>sealtrace me read</code> shows a short code. Enter it to let "
      "that terminal read your own data for one hour. Only approve a code you see on your own "
      "screen right now.</p><form class=\"stack\" method=\"post\" action=\"/dashboard/terminal\">" +
      Hidden("csrf", c.s.csrf_token) +
      "<div><label for=\"user-code\">Code shown in the terminal</label><input id=\"user-code\" "
      "name=\"user_code\" required spellcheck=\"false\" placeholder=\"XXXX-XXXX\" value=\"" +
      Escape(Get(c.req->query, "code")) +
      "\"></div><div><button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\" "
      "id=\"terminal-approve\">Approve</button> <button type=\"submit\" name=\"decision\" "
      "value=\"deny\" id=\"terminal-deny\">Deny</button></div></form>";
  return Page(c, "", "Approve a terminal", b);
}

Response Dashboard::TerminalDecide(const Ctx& c) {
  if (d_.signin == nullptr) return ErrorPage(c, absl::UnavailableError("no sign-in"), "Approving");
  const bool approve = Get(c.req->form, "decision") == "approve";
  if (approve && !SteppedUp(c)) {
    return StepUpNeeded(c, "/dashboard/terminal?code=" + Get(c.req->form, "user_code"),
                        "let a terminal read your data");
  }
  Principal who = c.p;
  who.auth_method = c.s.auth_method;
  auto s = d_.signin->DecideTerminalFlow(who, Get(c.req->form, "user_code"), approve);
  if (!s.ok()) return ErrorPage(c, s, "Deciding on the terminal");
  return Done(c, "/dashboard/me/devices",
              approve ? "Approved: the terminal is signed in for one hour."
                      : "Denied: the terminal gets no access.");
}

// ---------------------------------------------------------------------------
// Dispatch.

Response Dashboard::Handle(const Request& req) {
  if (std::optional<Response> r = PublicRoute(req)) return *std::move(r);
  Ctx c;
  if (std::optional<Response> r = OpenSession(req, c)) return *std::move(r);
  return SessionRoute(c);
}

std::optional<Response> Dashboard::PublicRoute(const Request& req) {
  const std::string& path = req.path;
  if (path == "/dashboard/static/app.css" || path == "/dashboard/static/app.js") {
    Response r;
    const bool css = path.back() == 's' && path[path.size() - 2] == 's';
    r.body = std::string(css ? assets::AppCss() : assets::AppJs());
    r.content_type = css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  if (path == "/dashboard/login") {
    if (req.method == "POST") return Login(req);
    std::string notice, cls = "info";
    const std::string why = Get(req.query, "why");
    if (why == "expired") notice = "Your session expired. Please sign in again.";
    if (why == "signed_out") notice = "You are signed out.";
    if (why == "token") {
      notice = "Your access token is no longer valid (expired or revoked). Sign in again.";
      cls = "warn";
    }
    return LoginPage(req, 200, notice, cls);
  }

  if (path == "/dashboard/register" && req.method == "GET") return RegisterPage(req);
  if (StartsWith(path, "/dashboard/passkey/") && req.method == "POST") {
    return PasskeyCeremony(req);
  }
  return std::nullopt;
}

// Everything else needs a session: its cookie, for a POST the same origin and
// the form token, and the principal's token still valid. Fills *c; an answer
// when the request goes no further.
std::optional<Response> Dashboard::OpenSession(const Request& req, Ctx& c) {
  const std::string& path = req.path;
  c.req = &req;
  c.sid = CookieValue(req.cookie, cookie_name_);
  const bool json = path == "/dashboard/me/proof" || StartsWith(path, "/dashboard/me/stepup/") ||
                    StartsWith(path, "/dashboard/me/passkey/");
  SessionLookup found = c.sid.empty() ? SessionLookup::kMissing : sessions_.Get(c.sid, &c.s);
  if (found != SessionLookup::kOk) {
    const bool expired =
        found == SessionLookup::kIdleExpired || found == SessionLookup::kAbsoluteExpired;
    if (json) return JsonError(401, "unauthenticated", expired ? "session expired" : "sign in");
    if (req.method == "POST") {
      Response r = LoginPage(req, 401,
                             expired ? "Your session expired; nothing was changed. Sign in again."
                                     : "You are not signed in; nothing was changed.",
                             "bad");
      if (expired) r.headers.emplace_back("Set-Cookie", Cookie("", true));
      return r;
    }
    Response r = Redirect(expired ? "/dashboard/login?why=expired" : "/dashboard/login");
    if (expired) r.headers.emplace_back("Set-Cookie", Cookie("", true));
    return r;
  }
  // POST: same origin and the synchronizer token, before anything else happens.
  if (req.method == "POST") {
    if (!SameOriginRequest(req.origin, req.referer, req.sec_fetch_site, ExpectedOrigin(req),
                           d_.extra_origins)) {
      d_.access->AuditRefusal(nullptr, "dashboard.csrf_origin", path, "cross-origin form post");
      Response r;
      r.status = 403;
      r.body =
          "<!doctype html><title>Refused</title><h1>Refused</h1><p id=\"error\">This "
          "request did not come from the dashboard's own pages (Origin check). Nothing was "
          "changed.</p>";
      return r;
    }
    if (!req.form_ok || !SessionStore::CheckCsrf(c.s, Get(req.form, "csrf"))) {
      d_.access->AuditRefusal(nullptr, "dashboard.csrf_token", path, "missing or wrong form token");
      Response r;
      r.status = 403;
      r.body =
          "<!doctype html><title>Refused</title><h1>Refused</h1><p id=\"error\">The form "
          "token is missing or wrong (CSRF protection). Reload the page and try again. "
          "Nothing was changed.</p>";
      return r;
    }
  }
  // Re-check the principal's own token on every request (revocation, expiry, scope).
  auto p = d_.access->Authenticate("Bearer " + c.s.api_token, ScopeFor(c.s.role, path), path);
  if (!p.ok()) {
    if (absl::IsUnauthenticated(p.status())) {
      sessions_.Destroy(c.sid);
      if (json) return JsonError(401, "unauthenticated", "token no longer valid");
      Response r = Redirect("/dashboard/login?why=token");
      r.headers.emplace_back("Set-Cookie", Cookie("", true));
      return r;
    }
    c.p.role = c.s.role;
    if (json)
      return JsonError(HttpStatusOf(p.status()), "refused", std::string(p.status().message()));
    return ErrorPage(c, p.status(), "Opening this page");
  }
  c.p = *p;
  c.state = d_.access->CurrentState();
  if (req.method == "GET" && !json) c.flash = sessions_.TakeFlash(c.sid);
  return std::nullopt;
}

Response Dashboard::SessionRoute(Ctx& c) {
  const Request& req = *c.req;
  const std::string& path = req.path;
  if (path == "/dashboard/logout" && req.method == "POST") {
    sessions_.Destroy(c.sid);
    Response r = Redirect("/dashboard/login?why=signed_out");
    r.headers.emplace_back("Set-Cookie", Cookie("", true));
    return r;
  }
  if (path == "/dashboard" || path == "/dashboard/") return Redirect(Landing(c.p.role));

  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  auto wrong_role = [&]() {
    return ErrorPage(c,
                     absl::PermissionDeniedError("dashboard.role: this page is not for a " +
                                                 RoleLabel(c.p.role)),
                     "Opening this page");
  };
  if (StartsWith(path, "/dashboard/me")) {
    if (c.p.role != Role::kContributor) return wrong_role();
    if (path == "/dashboard/me" && get) return ContributorHome(c);
    if (path == "/dashboard/me/pause" && post) return Pause(c);
    if (path == "/dashboard/me/timeline" && get) return Timeline(c);
    if (path == "/dashboard/me/preview" && get) return Preview(c);
    if (path == "/dashboard/me/access" && get) return AccessLog(c);
    if (path == "/dashboard/me/proof" && get) return Proof(c);
    if (path == "/dashboard/me/delete" && get) return DeleteForm(c);
    if (path == "/dashboard/me/delete" && post) return Delete(c);
    if (path == "/dashboard/me/export.jsonl" && get) {
      if (!SteppedUp(c)) return StepUpNeeded(c, "/dashboard/me/export.jsonl", "download your data");
      return Export(c);
    }
    if (path == "/dashboard/me/stepup/begin" && post) return StepUp(c, false);
    if (path == "/dashboard/me/stepup/finish" && post) return StepUp(c, true);
    if (path == "/dashboard/me/passkey/add/begin" && post) return AddPasskey(c, false);
    if (path == "/dashboard/me/passkey/add/finish" && post) return AddPasskey(c, true);
    if (path == "/dashboard/me/devices" && get) return Devices(c);
    if (path == "/dashboard/me/devices/code" && post) return DeviceCode(c);
    if (path == "/dashboard/me/devices/revoke" && post) {
      auto s = d_.access->RevokeOwnDevice(c.p, Get(c.req->form, "device_id"));
      if (!s.ok()) return ErrorPage(c, s, "Revoking the device");
      return Done(c, "/dashboard/me/devices", "Device revoked: it can no longer upload.");
    }
  } else if (path == "/dashboard/terminal") {
    if (c.p.role != Role::kContributor) return wrong_role();
    if (get) return TerminalPage(c);
    if (post) return TerminalDecide(c);
  } else if (StartsWith(path, "/dashboard/officer")) {
    if (c.p.role != Role::kPrivacyOfficer) return wrong_role();
    if ((path == "/dashboard/officer" || path == "/dashboard/officer/") && get) {
      return Redirect("/dashboard/officer/grants");
    }
    if (path == "/dashboard/officer/grants" && get) return Grants(c);
    if (path == "/dashboard/officer/grants/request" && post) return GrantRequestAction(c);
    if (path == "/dashboard/officer/grants/decide" && post) return GrantDecide(c);
    if (path == "/dashboard/officer/state" && get) return StatePage(c);
    if (path == "/dashboard/officer/state/propose" && post) return StatePropose(c);
    if (path == "/dashboard/officer/state/confirm" && post) return StateConfirm(c);
    if (path == "/dashboard/officer/state/retention" && post) {
      auto days = d_.access->ConfirmRetention(c.p, Get(c.req->form, "proposal_id"));
      if (!days.ok()) return ErrorPage(c, days.status(), "Confirming retention");
      return Done(c, "/dashboard/officer/state",
                  "Retention is now " + std::to_string(*days) + " days.");
    }
  } else if (StartsWith(path, "/dashboard/fleet")) {
    if (c.p.role != Role::kOperator) return wrong_role();
    if (path == "/dashboard/fleet" && get) return Fleet(c);
    if (path == "/dashboard/fleet/retention" && post) return FleetRetention(c);
  } else if (path == "/dashboard/audit" && get) {
    if (c.p.role != Role::kAuditor && c.p.role != Role::kPrivacyOfficer) return wrong_role();
    return AuditPage(c);
  }
  return Page(c, "", "Not found",
              "<p id=\"error\">There is no such page. <a href=\"" + Landing(c.p.role) +
                  "\">Back to the start</a>.</p>",
              404);
}

// ---------------------------------------------------------------------------
// Contributor pages.

absl::StatusOr<std::vector<access::SegmentRef>> Dashboard::OwnSegmentsNewestFirst(const Ctx& c) {
  auto segs = d_.access->ListOwnSegments(c.p);
  if (!segs.ok()) return segs.status();
  std::vector<access::SegmentRef> out = *std::move(segs);
  // The index knows whole hours only; within an hour, a device's sequence
  // orders its segments.
  std::sort(out.begin(), out.end(), [](const access::SegmentRef& a, const access::SegmentRef& b) {
    return std::tie(a.wall_start_us, a.wall_end_us, a.device_id, a.sequence, a.segment_id) >
           std::tie(b.wall_start_us, b.wall_end_us, b.device_id, b.sequence, b.segment_id);
  });
  return out;
}

Response Dashboard::ContributorHome(const Ctx& c) {
  const int64_t now = env_->NowWallMicros();
  auto paused = pauses_.PausedUntilUs(c.p.contributor_id, now);
  if (!paused.ok()) return ErrorPage(c, paused.status(), "Reading your recording state");
  std::string state_text, state_cls;
  if (c.state == ProgrammeState::kIncident) {
    state_text = "Stopped: the programme is in INCIDENT.";
    state_cls = "bad";
  } else if (paused->has_value()) {
    state_text = **paused == kPauseUntilResumed
                     ? "Paused by you, until you resume."
                     : "Paused by you, until " + FormatTimeUtc(**paused) + ".";
    state_cls = "warn";
  } else if (c.state == ProgrammeState::kPaused) {
    state_text = "Paused for everyone by the privacy officers.";
    state_cls = "warn";
  } else {
    state_text = "On: your enrolled devices record (except excluded applications).";
    state_cls = "ok";
  }
  std::string b = AccountNotice(c) +
      "<section aria-labelledby=\"rec-h\"><h2 id=\"rec-h\">Recording</h2>"
      "<div class=\"banner " +
      state_cls + "\" id=\"recording-state\" role=\"status\" data-paused=\"" +
      (paused->has_value() ? "true" : "false") + "\">" + Escape(state_text) + "</div>";
  if (paused->has_value()) {
    b += ButtonForm("/dashboard/me/pause", c.s.csrf_token, {{"action", "resume"}},
                    "Resume recording", "Resume recording", "primary");
  } else {
    b += "<form class=\"stack\" method=\"post\" action=\"/dashboard/me/pause\">" +
         Hidden("csrf", c.s.csrf_token) + Hidden("action", "pause") +
         "<div><label for=\"pause-for\">Pause recording on all my devices</label>"
         "<select id=\"pause-for\" name=\"for\"><option value=\"15m\">for 15 minutes</option>"
         "<option value=\"1h\">for 1 hour</option><option value=\"8h\">for 8 hours</option>"
         "<option value=\"resume\" selected>until I resume</option></select>"
         "<p class=\"hint\">Your devices stop within a few seconds. Nothing is recorded while "
         "paused.</p></div><div><button type=\"submit\" class=\"primary\" id=\"pause-button\">"
         "Pause recording</button></div></form>";
  }
  b += "</section>";
  if (c.state == ProgrammeState::kIncident) {
    // Even the index of your data is frozen; pausing and deletion still work.
    b += "<section aria-labelledby=\"data-h\"><h2 id=\"data-h\">Your data in the vault</h2>"
         "<p id=\"data-frozen\">Listing and reading your data is frozen during the incident. "
         "You can still <a href=\"/dashboard/me/delete\">delete your data</a>.</p></section>";
    return Page(c, "me", "Your recording", b);
  }
  auto segs = OwnSegmentsNewestFirst(c);
  if (!segs.ok()) return ErrorPage(c, segs.status(), "Listing your data");
  // The index holds whole UTC hours, sizes and ids only (exact times and event
  // counts are sealed): the overview counts the hours that hold recordings.
  int64_t bytes = 0;
  std::set<int64_t> hours;
  for (const auto& s : *segs) {
    bytes += static_cast<int64_t>(s.size);
    for (int64_t h = s.wall_start_us; h < s.wall_end_us && hours.size() < 1'000'000; h += kHourUs) {
      hours.insert(h);
    }
  }
  b += "<section aria-labelledby=\"data-h\"><h2 id=\"data-h\">Your data in the vault</h2>"
       "<div class=\"cards\"><div class=\"card\"><strong id=\"segment-count\">" +
       std::to_string(segs->size()) +
       "</strong> sealed segments</div><div class=\"card\"><strong id=\"hour-count\">" +
       std::to_string(hours.size()) + "</strong> hours with recordings</div>"
       "<div class=\"card\"><strong>" +
       Escape(FormatBytes(bytes)) + "</strong> sealed</div><div class=\"card\">Latest: <strong>" +
       Escape(segs->empty() ? std::string("nothing yet") : HourRangeText((*segs)[0])) +
       "</strong></div></div><p class=\"hint\">This overview comes from the vault's index and "
       "decrypted nothing: the index knows only in which hours you recorded, never exact times or "
       "how much. The timeline and the preview decrypt your data for you alone; each "
       "such read is written to the audit log first.</p></section>"
       "<section aria-labelledby=\"do-h\"><h2 id=\"do-h\">What you can do</h2><ul>"
       "<li><a href=\"/dashboard/me/timeline\">See your timeline</a> per day and application, "
       "with redactions and exclusions</li>"
       "<li><a href=\"/dashboard/me/preview\">Preview your recent actions</a></li>"
       "<li><a href=\"/dashboard/me/access\">See who read your data</a> and verify each entry</li>"
       "<li><a href=\"/dashboard/me/export.jsonl\" download>Download your data</a> (JSON "
       "lines)</li><li><a href=\"/dashboard/me/delete\">Delete a time range or everything</a></li>"
       "</ul></section>";
  return Page(c, "me", "Your recording", b);
}

absl::Status Dashboard::AuditPause(const Ctx& c, const std::string& action, int64_t until) {
  audit::AuditEntry e;
  e.kind = audit::AuditKind::kPolicyChange;
  e.actor_id = c.p.id;
  e.actor_role = std::string(access::RoleName(c.p.role));
  e.subject_contributor = c.p.contributor_id;
  e.object_id = "recording";
  e.decision = audit::Decision::kAllow;
  e.rule = "contributor.pause";
  e.extra["action"] = action;
  if (action == "pause") {
    e.extra["until_us"] = until == kPauseUntilResumed ? "resume" : std::to_string(until);
  }
  e.extra["via"] = "dashboard";
  return d_.audit_log->Append(e).status();
}

Response Dashboard::Pause(const Ctx& c) {
  const std::string action = Get(c.req->form, "action");
  const int64_t now = env_->NowWallMicros();
  if (action == "resume") {
    // Resuming needs its audit entry first (fail closed).
    if (auto s = AuditPause(c, "resume", 0); !s.ok()) {
      return ErrorPage(c, absl::UnavailableError("audit.unavailable: " + std::string(s.message())),
                       "Resuming recording");
    }
    if (auto s = pauses_.Resume(c.p.contributor_id); !s.ok()) {
      return ErrorPage(c, s, "Resuming recording");
    }
    return Done(c, "/dashboard/me", "Recording resumed.");
  }
  if (action != "pause") return ErrorPage(c, absl::InvalidArgumentError("unknown action"), "Pause");
  const std::string f = Get(c.req->form, "for");
  int64_t until = kPauseUntilResumed;
  if (f == "15m") {
    until = now + 15LL * 60 * 1000000;
  } else if (f == "1h") {
    until = now + 3600LL * 1000000;
  } else if (f == "8h") {
    until = now + 8LL * 3600 * 1000000;
  } else if (f != "resume" && !f.empty()) {
    return ErrorPage(c, absl::InvalidArgumentError("unknown pause duration"), "Pausing recording");
  }
  // Pausing protects the contributor: it is applied even if the audit log cannot
  // record it (and says so).
  absl::Status audited = AuditPause(c, "pause", until);
  if (auto s = pauses_.Pause(c.p.contributor_id, until); !s.ok()) {
    return ErrorPage(c, s, "Pausing recording");
  }
  return Done(c, "/dashboard/me",
              audited.ok() ? "Recording paused. Your devices stop within a few seconds."
                           : "Recording paused (the audit log could not record the pause).");
}

Response Dashboard::Timeline(const Ctx& c) {
  if (c.state == ProgrammeState::kIncident) return Frozen(c, "Timeline");
  auto segs = OwnSegmentsNewestFirst(c);
  if (!segs.ok()) return ErrorPage(c, segs.status(), "Listing your data");
  if (segs->empty()) {
    return Page(c, "timeline", "Timeline",
                "<p id=\"timeline-empty\">Nothing is recorded about you in the vault.</p>");
  }
  const size_t n = std::min(segs->size(), d_.timeline_max_segments);
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back((*segs)[i].segment_id);
  // By id: the index has whole hours only; the exact span comes from the opened segments.
  auto read = d_.access->ReadOwnSegments(c.p, ids);
  if (!read.ok()) return ErrorPage(c, read.status(), "Decrypting your timeline");
  int64_t from = std::numeric_limits<int64_t>::max(), to = std::numeric_limits<int64_t>::min();
  std::vector<SegmentEvents> in;
  int errors = static_cast<int>(read->errors.size());
  for (const auto& s : read->segments) {
    in.push_back({s.wall_anchor_us, &s.events});
    from = std::min(from, s.header.wall_anchor_us);
    to = std::max(to, s.header.wall_anchor_us + static_cast<int64_t>(s.header.duration_us) + 1);
  }
  if (in.empty()) from = to = 0;
  std::vector<TimelineRow> rows = BuildTimeline(in);
  int64_t max_us = 1;
  for (const auto& r : rows) max_us = std::max(max_us, r.recorded_us);
  std::vector<std::vector<std::string>> cells;
  int64_t red = 0, excl = 0;
  for (const auto& r : rows) {
    red += r.redactions;
    excl += r.exclusions;
    cells.push_back({Escape(r.day), Escape(r.app),
                     Escape(FormatDuration(r.recorded_us)) + " <meter min=\"0\" max=\"" +
                         std::to_string(max_us) + "\" value=\"" + std::to_string(r.recorded_us) +
                         "\" aria-hidden=\"true\"></meter>",
                     std::to_string(r.key_presses), std::to_string(r.pointer_actions),
                     std::to_string(r.redactions), std::to_string(r.exclusions)});
  }
  std::string b = "<p>Recorded time per day and application in your " + std::to_string(n) +
                  " most recent segments (" + Escape(FormatTimeUtc(from)) + " to " +
                  Escape(FormatTimeUtc(to)) + "). <strong>" + std::to_string(red) +
                  "</strong> secrets or personal data were redacted on your device and <strong>" +
                  std::to_string(excl) +
                  "</strong> times an excluded application was entered (nothing recorded "
                  "there).</p>";
  b += Table("Recorded time per day and application",
             {"Day", "Application", "Recorded", "Key presses", "Clicks & scrolls", "Redactions",
              "Exclusions"},
             cells, {false, false, false, true, true, true, true});
  if (errors > 0) {
    b += "<p class=\"banner warn\">" + std::to_string(errors) +
         " segments could not be opened (damaged or deleted).</p>";
  }
  b += "<p class=\"hint\" id=\"audit-note\">Building this page decrypted your data for you; "
       "this read is audit log entry <strong>#" +
       std::to_string(read->audit_index) + "</strong>.</p>";
  return Page(c, "timeline", "Timeline", b);
}

Response Dashboard::Preview(const Ctx& c) {
  if (c.state == ProgrammeState::kIncident) return Frozen(c, "Recent actions");
  auto segs = OwnSegmentsNewestFirst(c);
  if (!segs.ok()) return ErrorPage(c, segs.status(), "Listing your data");
  const std::string want = Get(c.req->query, "segment");
  const access::SegmentRef* chosen = nullptr;
  if (!want.empty()) {
    for (const auto& s : *segs) {
      if (s.segment_id == want) chosen = &s;
    }
    if (chosen == nullptr) {
      // Also what another contributor's segment id gets: it is not among yours.
      return Page(c, "preview", "Recent actions",
                  "<p id=\"error\" role=\"alert\">There is no segment with that id among your "
                  "data.</p>",
                  404);
    }
  } else {
    for (const auto& s : *segs) {
      if (!s.frame) {
        chosen = &s;
        break;
      }
    }
  }
  if (chosen == nullptr) {
    return Page(c, "preview", "Recent actions",
                "<p id=\"preview-empty\">Nothing is recorded about you in the vault.</p>");
  }
  auto read = d_.access->ReadOwnSegments(c.p, {chosen->segment_id});
  if (!read.ok()) return ErrorPage(c, read.status(), "Decrypting the preview");
  const access::ReadSegment* seg = nullptr;
  for (const auto& s : read->segments) {
    if (s.segment_id == chosen->segment_id) seg = &s;
  }
  std::string b;
  if (seg == nullptr) {
    b = "<p>Segment " + ShortId(chosen->segment_id) + " recorded " +
        Escape(HourRangeText(*chosen)) + ".</p>"
        "<p class=\"banner warn\">This segment could not be opened.</p>";
  } else {
    // Exact times and counts: from the opened segment (sealed), not the index.
    b = "<p>Segment " + ShortId(chosen->segment_id) + " recorded " +
        Escape(FormatTimeUtc(seg->header.wall_anchor_us)) + " (" +
        Escape(FormatDuration(static_cast<int64_t>(seg->header.duration_us))) + ", " +
        std::to_string(seg->header.event_count) +
        " events). This is exactly what the vault holds: redactions happened on your "
        "device before sealing.</p>";
    std::vector<std::vector<std::string>> cells;
    const size_t first =
        seg->events.size() > kPreviewEvents ? seg->events.size() - kPreviewEvents : 0;
    for (size_t i = first; i < seg->events.size(); ++i) {
      const auto& e = seg->events[i];
      EventView v = DescribeEvent(e);
      cells.push_back({Escape(FormatTimeUtc(seg->wall_anchor_us + static_cast<int64_t>(e.t_us()))),
                       Escape(v.kind), "<span class=\"ev\">" + Escape(v.detail) + "</span>"});
    }
    b += Table(first > 0 ? "The last " + std::to_string(kPreviewEvents) + " events"
                         : "All events of this segment",
               {"Time", "Kind", "What"}, cells);
  }
  b += "<p class=\"hint\" id=\"audit-note\">This preview is audit log entry <strong>#" +
       std::to_string(read->audit_index) + "</strong>.</p><h2>Other recent segments</h2><ul>";
  size_t shown = 0;
  for (const auto& s : *segs) {
    if (s.frame || ++shown > 20) continue;
    b += "<li><a href=\"/dashboard/me/preview?segment=" + UrlEncode(s.segment_id) + "\">" +
         Escape(HourRangeText(s)) + "</a> <span class=\"muted\">(segment " +
         ShortId(s.segment_id) + ")</span></li>";
  }
  b += "</ul>";
  return Page(c, "preview", "Recent actions", b);
}

Response Dashboard::AccessLog(const Ctx& c) {
  if (c.state == ProgrammeState::kIncident) return Frozen(c, "Who read my data");
  auto entries = d_.access->AuditEntries(c.p, "");
  if (!entries.ok()) return ErrorPage(c, entries.status(), "Reading your audit entries");
  std::string cp_text = "No signed checkpoint yet.";
  if (auto note = d_.audit_log->LatestCheckpoint(); note.ok()) {
    auto v = audit::VerifyCheckpoint(*note, d_.audit_log->Verifiers(), d_.audit_log->origin());
    if (v.ok()) {
      cp_text = "Latest signed checkpoint: " + std::to_string(v->checkpoint.size) +
                " entries, root " + ToHex(v->checkpoint.root_hash).substr(0, 16) + "…";
    }
  }
  std::vector<std::vector<std::string>> rows;
  const auto& es = *entries;
  size_t shown = 0;
  for (auto it = es.rbegin(); it != es.rend() && shown < kMaxAccessRows; ++it, ++shown) {
    const audit::AuditEntry& e = it->entry;
    const std::string idx = std::to_string(it->index);
    std::string who;
    if (e.actor_id == c.p.id) {
      who = "you";
    } else {
      who = Escape(e.actor_role.empty() ? std::string("system") : e.actor_role) + " " +
            ShortId(e.actor_id);
    }
    if (auto am = e.extra.find("auth_method"); am != e.extra.end()) {
      auto cred = e.extra.find("credential");
      who += " <span class=\"muted\">via " + Escape(am->second) +
             (cred == e.extra.end() ? std::string() : " " + ShortId(cred->second)) + "</span>";
    }
    std::string what = Escape(std::string(audit::AuditKindName(e.kind)));
    if (e.decision == audit::Decision::kRefuse) what += " <strong>(refused)</strong>";
    auto seg = e.extra.find("segments");
    if (seg != e.extra.end()) what += " · " + Escape(seg->second) + " segments";
    auto act = e.extra.find("action");
    if (act != e.extra.end()) what += " · " + Escape(act->second);
    rows.push_back({"<span class=\"mono\">#" + idx + "</span>", Escape(FormatTimeUtc(e.time_us)),
                    who, what,
                    e.purpose.empty() ? "<span class=\"muted\">—</span>" : Escape(e.purpose),
                    e.grant_id.empty() ? "<span class=\"muted\">—</span>" : ShortId(e.grant_id),
                    "<button type=\"button\" disabled data-verify-index=\"" + idx +
                        "\" aria-describedby=\"verify-" + idx +
                        "\">Verify</button>"
                        "<output class=\"verify\" id=\"verify-" +
                        idx + "\" aria-live=\"polite\"></output>"});
  }
  std::string b =
      "<p>Every access to your data, and every action about it, is an entry in the vault's "
      "tamper-evident audit log (an RFC 6962 Merkle tree whose roots are signed). "
      "<strong>Verify</strong> checks, here in your browser, that the entry is included in the "
      "latest signed checkpoint, so it cannot be removed or changed later without detection "
      "(this needs JavaScript).</p>"
      "<p class=\"hint\" id=\"checkpoint\">" +
      Escape(cp_text) + "</p>";
  if (rows.empty()) {
    b += "<p id=\"access-empty\">No entries about you yet.</p>";
  } else {
    b += Table("Audit entries about you, newest first",
               {"Entry", "Time", "Who", "What", "Purpose", "Grant", "Proof"}, rows);
  }
  return Page(c, "access", "Who read my data", b);
}

Response Dashboard::Proof(const Ctx& c) {
  const std::string q = Get(c.req->query, "index");
  if (q.empty() || q.size() > 19 || q.find_first_not_of("0123456789") != std::string::npos) {
    return JsonError(400, "bad_request", "index must be a decimal number");
  }
  const uint64_t index = std::stoull(q);
  auto entries = d_.access->AuditEntries(c.p, "");
  if (!entries.ok()) {
    return JsonError(HttpStatusOf(entries.status()), "refused",
                     std::string(entries.status().message()));
  }
  const audit::AuditEntry* entry = nullptr;
  for (const auto& l : *entries) {
    if (l.index == index) entry = &l.entry;
  }
  // Another contributor's entry (or a made-up index) is simply not among yours.
  if (entry == nullptr)
    return JsonError(404, "not_found", "no audit entry about you has this index");
  auto leaf = audit::SerializeEntry(*entry);
  if (!leaf.ok()) return JsonError(500, "internal", "entry cannot be serialised");
  // One note text is both verified here and sent to the browser.
  auto verify = [&](const std::string& text) {
    return audit::VerifyCheckpoint(text, d_.audit_log->Verifiers(), d_.audit_log->origin());
  };
  absl::StatusOr<std::string> note = d_.audit_log->LatestCheckpoint();
  absl::StatusOr<audit::VerifiedCheckpoint> cp =
      note.ok() ? verify(*note) : absl::StatusOr<audit::VerifiedCheckpoint>(note.status());
  if (!cp.ok() || cp->checkpoint.size <= index) {
    // Not covered yet: sign a fresh checkpoint, at most once per interval.
    bool sign = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t now = env_->NowMonoMicros();
      if (last_checkpoint_us_ == 0 || now - last_checkpoint_us_ >= d_.checkpoint_min_interval_us) {
        last_checkpoint_us_ = now;
        sign = true;
      }
    }
    if (!sign) {
      return JsonError(503, "not_yet_covered",
                       "this entry is newer than the latest signed checkpoint; try again in a "
                       "few seconds");
    }
    note = d_.audit_log->Checkpoint();
    if (!note.ok()) return JsonError(503, "unavailable", "cannot sign a checkpoint now");
    cp = verify(*note);
    if (!cp.ok() || cp->checkpoint.size <= index) {
      return JsonError(503, "unavailable", "no checkpoint covers this entry");
    }
  }
  auto proof = d_.access->InclusionProof(c.p, index, cp->checkpoint.size);
  if (!proof.ok()) {
    return JsonError(HttpStatusOf(proof.status()), "refused",
                     std::string(proof.status().message()));
  }
  std::string out = "{\"index\":" + std::to_string(index) +
                    ",\"size\":" + std::to_string(cp->checkpoint.size) +
                    ",\"leaf\":" + Json(Base64(*leaf)) + ",\"proof\":[";
  for (size_t i = 0; i < proof->size(); ++i) {
    if (i) out += ",";
    out += Json(Base64((*proof)[i]));
  }
  out += "],\"checkpoint\":" + Json(*note) + ",\"verifier_keys\":[";
  auto keys = d_.access->VerifierKeys();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ",";
    out += Json(keys[i]);
  }
  out += "]}";
  Response r;
  r.content_type = kJson;
  r.body = std::move(out);
  return r;
}

Response Dashboard::DeleteForm(const Ctx& c) {
  const int64_t now = env_->NowWallMicros();
  std::string b =
      "<p>Deleting a range removes every sealed segment that overlaps it from the vault. "
      "Deleting everything also destroys your personal key, so any copy anywhere (backups "
      "included) becomes unreadable. You will see what will be deleted and confirm before "
      "anything happens.</p>"
      "<form class=\"stack\" method=\"post\" action=\"/dashboard/me/delete\" id=\"delete-form\">" +
      Hidden("csrf", c.s.csrf_token) + Hidden("step", "review") +
      "<fieldset><legend>What to delete</legend>"
      "<div><input type=\"radio\" id=\"scope-range\" name=\"scope\" value=\"range\" checked> "
      "<label for=\"scope-range\">A time range</label></div>"
      "<div><input type=\"radio\" id=\"scope-all\" name=\"scope\" value=\"all\"> "
      "<label for=\"scope-all\">Everything (and my key)</label></div></fieldset>"
      "<div><label for=\"from\">From (UTC)</label><input type=\"datetime-local\" id=\"from\" "
      "name=\"from\" value=\"" +
      FormatDateTimeLocal(now - 3600LL * 1000000) +
      "\"></div><div><label for=\"to\">To (UTC)</label><input type=\"datetime-local\" id=\"to\" "
      "name=\"to\" value=\"" +
      FormatDateTimeLocal(now + 60LL * 1000000) +
      "\"></div><div><button type=\"submit\" id=\"delete-review\">Review deletion…</button></div>"
      "</form>";
  return Page(c, "delete", "Delete your data", b);
}

Response Dashboard::Delete(const Ctx& c) {
  const auto& f = c.req->form;
  const bool all = Get(f, "scope") == "all";
  int64_t from = 0, to = 0;
  if (!all) {
    auto a = ParseDateTimeLocal(Get(f, "from"));
    auto z = ParseDateTimeLocal(Get(f, "to"));
    if (!a || !z || *z <= *a) {
      return ErrorPage(c, absl::InvalidArgumentError("give a valid time range (from before to)"),
                       "Deleting");
    }
    from = *a;
    to = *z;
  }
  // The count is shown when listing is allowed (not during an INCIDENT, when
  // deletion still works but listing is frozen).
  std::string count = "the";
  if (c.state != ProgrammeState::kIncident && Get(f, "step") != "execute") {
    if (all) {
      auto segs = OwnSegmentsNewestFirst(c);
      if (!segs.ok()) return ErrorPage(c, segs.status(), "Listing your data");
      count = std::to_string(segs->size());
    } else {
      // The same selection as the deletion (it opens the segments of the
      // range's first and last hour to see their exact span; audited).
      auto n = d_.access->CountOwnInRange(c.p, from, to);
      if (!n.ok()) return ErrorPage(c, n.status(), "Listing your data");
      count = std::to_string(*n);
    }
  }
  const std::string what =
      all ? "all your data (" + count + " segments) and your personal key"
          : count + " segments between " + FormatTimeUtc(from) + " and " + FormatTimeUtc(to);
  if (Get(f, "step") != "execute") {
    std::string b =
        "<div class=\"banner warn\" role=\"alert\" id=\"delete-confirm\"><p>This will "
        "permanently delete <strong>" +
        Escape(what) +
        "</strong>. This cannot be undone.</p></div>"
        "<form method=\"post\" action=\"/dashboard/me/delete\" class=\"stack\">" +
        Hidden("csrf", c.s.csrf_token) + Hidden("step", "execute") +
        Hidden("scope", all ? "all" : "range") + Hidden("from", Get(f, "from")) +
        Hidden("to", Get(f, "to")) +
        "<div><button type=\"submit\" class=\"danger\" id=\"delete-execute\">Yes, "
        "delete " +
        Escape(all ? "everything" : "this range") +
        "</button> <a href=\"/dashboard/me/delete\">Cancel</a></div></form>";
    return Page(c, "delete", "Confirm deletion", b);
  }
  if (!SteppedUp(c)) return StepUpNeeded(c, "/dashboard/me/delete", "delete your data");
  auto rep = d_.access->DeleteOwn(c.p, all, from, to);
  if (!rep.ok()) return ErrorPage(c, rep.status(), "Deleting your data");
  std::string msg = "Deleted " + std::to_string(rep->segments_deleted) + " segments";
  if (rep->key_destroyed) msg += " and destroyed your key; nothing of yours can be read any more";
  return Done(c, "/dashboard/me", msg + ".");
}

Response Dashboard::Export(const Ctx& c) {
  if (c.state == ProgrammeState::kIncident) return Frozen(c, "Download");
  auto segs = OwnSegmentsNewestFirst(c);
  if (!segs.ok()) return ErrorPage(c, segs.status(), "Listing your data");
  std::vector<access::SegmentRef> asc(segs->rbegin(), segs->rend());
  std::string out = "{\"contributor_id\":" + Json(c.p.contributor_id) +
                    ",\"exported_at_us\":" + std::to_string(env_->NowWallMicros()) +
                    ",\"segments\":" + std::to_string(asc.size()) + ",\"audit_entries\":[";
  std::string lines;
  std::vector<uint64_t> audit_ids;
  for (size_t i = 0; i < asc.size(); i += d_.timeline_max_segments) {
    // By id, whole segments: every event exactly once, in batches.
    std::vector<std::string> ids;
    for (size_t j = i; j < asc.size() && j < i + d_.timeline_max_segments; ++j) {
      ids.push_back(asc[j].segment_id);
    }
    auto read = d_.access->ReadOwnSegments(c.p, ids);
    if (!read.ok()) return ErrorPage(c, read.status(), "Preparing your download");
    audit_ids.push_back(read->audit_index);
    for (const auto& s : read->segments) {
      for (const auto& e : s.events) {
        const std::string ev = EventToJson(e);
        lines += "{\"segment_id\":" + Json(s.segment_id) +
                 ",\"sequence\":" + std::to_string(s.sequence) + ",\"wall_us\":" +
                 std::to_string(s.wall_anchor_us + static_cast<int64_t>(e.t_us())) +
                 ",\"event\":" + ev + "}\n";
      }
    }
  }
  for (size_t i = 0; i < audit_ids.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(audit_ids[i]);
  }
  out += "]}\n" + lines;
  Response r;
  r.content_type = "application/x-ndjson; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"sealtrace-my-data.jsonl\"");
  r.body = std::move(out);
  return r;
}

// ---------------------------------------------------------------------------
// Privacy officer pages.

Response Dashboard::Grants(const Ctx& c) {
  auto grants = d_.access->ListGrants(c.p);
  if (!grants.ok()) return ErrorPage(c, grants.status(), "Listing grants");
  const int64_t now = env_->NowWallMicros();
  std::vector<std::vector<std::string>> pending, active, past;
  auto scope_text = [](const access::Grant& g) {
    std::string s = std::to_string(g.scope.contributors.size()) + " contributor(s): ";
    for (size_t i = 0; i < g.scope.contributors.size() && i < 3; ++i) {
      s += (i ? ", " : "") + g.scope.contributors[i].substr(0, 8) + "…";
    }
    s += "; " + access::ChannelsToString(g.scope.channels) + "; " + FormatTimeUtc(g.scope.from_us) +
         " to " + FormatTimeUtc(g.scope.to_us);
    return s;
  };
  for (const auto& g : *grants) {
    const std::string who = ShortId(g.requester_id) + (g.requester_id == c.p.id ? " (you)" : "");
    const std::string grantee = ShortId(g.grantee_id) + (g.grantee_id == c.p.id ? " (you)" : "");
    if (g.status == access::GrantStatus::kPending) {
      std::string actions;
      if (g.requester_id == c.p.id || g.grantee_id == c.p.id) {
        actions = "<span class=\"muted\" data-own-grant=\"" + Escape(g.id) +
                  "\">Needs a second privacy officer</span>";
      } else {
        actions =
            ButtonForm("/dashboard/officer/grants/decide", c.s.csrf_token,
                       {{"grant_id", g.id}, {"decision", "approve"}}, "Approve",
                       "Approve grant " + g.id, "primary") +
            " " +
            ButtonForm("/dashboard/officer/grants/decide", c.s.csrf_token,
                       {{"grant_id", g.id}, {"decision", "deny"}}, "Deny", "Deny grant " + g.id);
      }
      pending.push_back({ShortId(g.id), who, grantee, Escape(g.purpose), Escape(scope_text(g)),
                         Escape(FormatTimeUtc(g.expires_us)), actions});
    } else if (g.status == access::GrantStatus::kApproved && now < g.expires_us) {
      active.push_back({ShortId(g.id), grantee, Escape(g.purpose), Escape(scope_text(g)),
                        ShortId(g.approver_id), Escape(FormatTimeUtc(g.expires_us)),
                        ButtonForm("/dashboard/officer/grants/decide", c.s.csrf_token,
                                   {{"grant_id", g.id}, {"decision", "revoke"}}, "Revoke",
                                   "Revoke grant " + g.id)});
    } else {
      std::string st = std::string(access::GrantStatusName(g.status));
      if (g.status == access::GrantStatus::kApproved) st = "expired";
      past.push_back({ShortId(g.id), grantee, Escape(g.purpose), Escape(st),
                      Escape(FormatTimeUtc(g.decided_us))});
    }
  }
  std::string b =
      "<section aria-labelledby=\"pending-h\"><h2 id=\"pending-h\">Pending requests</h2>";
  b += pending.empty()
           ? "<p id=\"no-pending\">No pending requests.</p>"
           : Table("Grant requests waiting for a second privacy officer",
                   {"Grant", "Requested by", "Grantee", "Purpose", "Scope", "Expires", "Decision"},
                   pending);
  b += "</section><section aria-labelledby=\"active-h\"><h2 id=\"active-h\">Active grants</h2>";
  b += active.empty()
           ? "<p>No active grants.</p>"
           : Table("Approved grants in force",
                   {"Grant", "Grantee", "Purpose", "Scope", "Approved by", "Expires", ""}, active);
  b += "</section>";
  if (!past.empty()) {
    if (past.size() > 20) past.erase(past.begin(), past.end() - 20);
    b += "<section aria-labelledby=\"past-h\"><h2 id=\"past-h\">Decided and ended</h2>" +
         Table("Denied, revoked and expired grants",
               {"Grant", "Grantee", "Purpose", "Status", "Decided"}, past) +
         "</section>";
  }
  const int64_t now_min = now;
  b += "<section aria-labelledby=\"req-h\"><h2 id=\"req-h\">Request a grant</h2>"
       "<p class=\"hint\">A grant names a purpose, the contributors, the time range and the "
       "channels, and expires. Another privacy officer must approve it.</p>"
       "<form class=\"stack\" method=\"post\" action=\"/dashboard/officer/grants/request\">" +
       Hidden("csrf", c.s.csrf_token) +
       "<div><label for=\"g-contributors\">Contributor ids</label><textarea id=\"g-contributors\" "
       "name=\"contributors\" rows=\"2\" required aria-describedby=\"g-c-hint\"></textarea>"
       "<p class=\"hint\" id=\"g-c-hint\">32-hex-digit ids, separated by spaces, commas or "
       "lines.</p></div>"
       "<div><label for=\"g-purpose\">Purpose</label><input type=\"text\" id=\"g-purpose\" "
       "name=\"purpose\" required maxlength=\"500\"></div>"
       "<div><label for=\"g-grantee\">Grantee principal id <span class=\"hint\">(empty: "
       "you)</span></label><input type=\"text\" id=\"g-grantee\" name=\"grantee\"></div>"
       "<fieldset><legend>Channels</legend>"
       "<div><input type=\"checkbox\" id=\"ch-keys\" name=\"ch_keys\" value=\"1\" checked> <label "
       "for=\"ch-keys\">keys</label></div>"
       "<div><input type=\"checkbox\" id=\"ch-pointer\" name=\"ch_pointer\" value=\"1\" checked> "
       "<label for=\"ch-pointer\">pointer</label></div>"
       "<div><input type=\"checkbox\" id=\"ch-focus\" name=\"ch_focus\" value=\"1\" checked> "
       "<label for=\"ch-focus\">focus</label></div>"
       "<div><input type=\"checkbox\" id=\"ch-frames\" name=\"ch_frames\" value=\"1\"> <label "
       "for=\"ch-frames\">frames</label></div></fieldset>"
       "<div><label for=\"g-from\">Data from (UTC)</label><input type=\"datetime-local\" "
       "id=\"g-from\" name=\"from\" required value=\"" +
       FormatDateTimeLocal(now_min - 30LL * 86400 * 1000000) +
       "\"></div><div><label for=\"g-to\">Data to (UTC)</label><input type=\"datetime-local\" "
       "id=\"g-to\" name=\"to\" required value=\"" +
       FormatDateTimeLocal(now_min + 3600LL * 1000000) +
       "\"></div><div><label for=\"g-hours\">Grant valid for (hours)</label><input "
       "type=\"number\" id=\"g-hours\" name=\"hours\" min=\"1\" max=\"2160\" value=\"24\" "
       "required></div><div><button type=\"submit\" class=\"primary\" id=\"grant-request\">Request "
       "grant</button></div></form></section>";
  return Page(c, "grants", "Grants", b);
}

Response Dashboard::GrantRequestAction(const Ctx& c) {
  const auto& f = c.req->form;
  access::GrantRequest r;
  r.grantee_id = Get(f, "grantee");
  r.purpose = Get(f, "purpose");
  const std::string ids = Get(f, "contributors");
  for (absl::string_view id : absl::StrSplit(ids, absl::ByAnyChar(" ,\n\r\t"), absl::SkipEmpty())) {
    r.scope.contributors.emplace_back(std::string(id));
  }
  uint32_t ch = 0;
  if (!Get(f, "ch_keys").empty()) ch |= access::kChannelKeys;
  if (!Get(f, "ch_pointer").empty()) ch |= access::kChannelPointer;
  if (!Get(f, "ch_focus").empty()) ch |= access::kChannelFocus;
  if (!Get(f, "ch_frames").empty()) ch |= access::kChannelFrames;
  r.scope.channels = ch;
  auto from = ParseDateTimeLocal(Get(f, "from"));
  auto to = ParseDateTimeLocal(Get(f, "to"));
  const std::string hours = Get(f, "hours");
  if (!from || !to || hours.empty() || hours.size() > 5 ||
      hours.find_first_not_of("0123456789") != std::string::npos) {
    return ErrorPage(c, absl::InvalidArgumentError("give a valid data range and validity in hours"),
                     "Requesting a grant");
  }
  r.scope.from_us = *from;
  r.scope.to_us = *to;
  r.expires_us = env_->NowWallMicros() + std::stoll(hours) * 3600LL * 1000000;
  auto g = d_.access->RequestGrant(c.p, r);
  if (!g.ok()) return ErrorPage(c, g.status(), "Requesting a grant");
  return Done(c, "/dashboard/officer/grants",
              "Grant " + g->id + " requested; a second privacy officer must approve it.");
}

Response Dashboard::GrantDecide(const Ctx& c) {
  const std::string id = Get(c.req->form, "grant_id");
  const std::string decision = Get(c.req->form, "decision");
  absl::StatusOr<access::Grant> g = absl::InvalidArgumentError("unknown decision");
  if (decision == "approve") {
    g = d_.access->ApproveGrant(c.p, id);
  } else if (decision == "deny") {
    g = d_.access->DenyGrant(c.p, id);
  } else if (decision == "revoke") {
    g = d_.access->RevokeGrant(c.p, id);
  }
  if (!g.ok()) return ErrorPage(c, g.status(), "The grant decision");
  return Done(
      c, "/dashboard/officer/grants",
      "Grant " + g->id + " is now " + std::string(access::GrantStatusName(g->status)) + ".");
}

Response Dashboard::StatePage(const Ctx& c) {
  std::vector<std::vector<std::string>> rows;
  auto pending = d_.access->ListPendingProposals(c.p);
  if (!pending.ok()) return ErrorPage(c, pending.status(), "Listing state proposals");
  for (const auto& p : *pending) {
    const bool own = p.proposer_id == c.p.id;
    rows.push_back({ShortId(p.id), "<span class=\"state\">" + StateName(p.state) + "</span>",
                    Escape(p.reason), ShortId(p.proposer_id) + (own ? " (you)" : ""),
                    Escape(FormatTimeUtc(p.expires_us)),
                    own ? "<span class=\"muted\">Needs a second privacy officer</span>"
                        : ButtonForm("/dashboard/officer/state/confirm", c.s.csrf_token,
                                     {{"proposal_id", p.id}}, "Confirm " + StateName(p.state),
                                     "Confirm proposal " + p.id, "primary")});
  }
  auto days = d_.access->RetentionDays();
  const std::string descr =
      c.state == ProgrammeState::kActive
          ? "Devices record (subject to each contributor's consent, pause and exclusions)."
      : c.state == ProgrammeState::kPaused
          ? "No device records. Reads under approved grants continue."
          : "No device records and every read and export is frozen; auditors may read the log.";
  std::string b =
      "<p>The programme is <span class=\"state\" id=\"current-state\">" + StateName(c.state) +
      "</span>. " + Escape(descr) +
      "</p><section aria-labelledby=\"prop-h\"><h2 id=\"prop-h\">Propose a "
      "change</h2><p class=\"hint\">A change takes effect only when a second "
      "privacy officer confirms it within the hour.</p>"
      "<form class=\"stack\" method=\"post\" action=\"/dashboard/officer/state/propose\">" +
      Hidden("csrf", c.s.csrf_token) +
      "<div><label for=\"new-state\">New state</label><select id=\"new-state\" "
      "name=\"state\"><option>ACTIVE</option><option>PAUSED</option>"
      "<option>INCIDENT</option></select></div><div><label for=\"reason\">Reason</label>"
      "<input type=\"text\" id=\"reason\" name=\"reason\" required maxlength=\"500\">"
      "</div><div><button type=\"submit\" id=\"propose\">Propose</button></div></form>"
      "</section><section aria-labelledby=\"pend-h\"><h2 id=\"pend-h\">Proposals "
      "waiting for confirmation</h2>";
  b += rows.empty() ? "<p id=\"no-proposals\">None.</p>"
                    : Table("Pending state changes",
                            {"Proposal", "State", "Reason", "Proposed by", "Expires", ""}, rows);
  b += "<form class=\"stack\" method=\"post\" action=\"/dashboard/officer/state/confirm\">" +
       Hidden("csrf", c.s.csrf_token) +
       "<div><label for=\"proposal-id\">Confirm a proposal by id</label><input type=\"text\" "
       "id=\"proposal-id\" name=\"proposal_id\" required placeholder=\"sp_…\"></div><div><button "
       "type=\"submit\">Confirm</button></div></form></section>"
       "<section aria-labelledby=\"ret-h\"><h2 id=\"ret-h\">Retention policy</h2><p "
       "id=\"retention\">" +
       (days.ok() ? (*days == 0 ? std::string("Recordings are kept until their contributor "
                                              "deletes them (no automatic purge).")
                                : "Recordings are purged " + std::to_string(*days) +
                                      " days after they were recorded.")
                  : std::string("Unknown (store unavailable).")) +
       "</p>" + RetentionProposal(c) +
       "<p class=\"hint\">Operators set the retention period; a shorter one deletes recordings "
       "and needs a privacy officer's confirmation. Every change is in the audit log.</p>"
       "</section>";
  return Page(c, "state", "Programme state and retention", b);
}

Response Dashboard::StatePropose(const Ctx& c) {
  auto st = access::ProgrammeStateFromName(Get(c.req->form, "state"));
  if (!st) {
    return ErrorPage(c, absl::InvalidArgumentError("state must be ACTIVE, PAUSED or INCIDENT"),
                     "Proposing a state change");
  }
  auto p = d_.access->ProposeState(c.p, *st, Get(c.req->form, "reason"));
  if (!p.ok()) return ErrorPage(c, p.status(), "Proposing a state change");
  return Done(c, "/dashboard/officer/state",
              "Proposal " + p->id + " to switch to " + StateName(p->state) +
                  " recorded; a second privacy officer must confirm it.");
}

Response Dashboard::StateConfirm(const Ctx& c) {
  const std::string id = Get(c.req->form, "proposal_id");
  auto s = d_.access->ConfirmState(c.p, id);
  if (!s.ok()) return ErrorPage(c, s.status(), "Confirming the state change");
  return Done(c, "/dashboard/officer/state", "The programme is now " + StateName(*s) + ".");
}

// ---------------------------------------------------------------------------
// Operator and auditor pages.

Response Dashboard::Fleet(const Ctx& c) {
  auto devs = d_.access->ListDevices(c.p);
  if (!devs.ok()) return ErrorPage(c, devs.status(), "Listing devices");
  const int64_t now = env_->NowWallMicros();
  std::vector<std::vector<std::string>> rows;
  size_t stale = 0;
  for (const auto& d : *devs) {
    // Times are floored to the hour by the access layer: health, not presence.
    const bool fresh = d.last_seen_us != 0 && now - d.last_seen_us < 25LL * 3600 * 1000000;
    if (!fresh) ++stale;
    rows.push_back({ShortId(d.device_id), Escape(FormatTimeUtc(d.enrolled_us)),
                    Escape(FormatTimeUtc(d.last_seen_us)), Escape(FormatTimeUtc(d.last_upload_us)),
                    fresh ? "seen today" : "<strong>not seen for a day</strong>",
                    d.spool_reported
                        ? Escape(std::to_string(d.spool_segments) + " segments, " +
                                 FormatBytes(static_cast<int64_t>(d.spool_bytes)))
                        : "<span class=\"muted\">not reported</span>"});
  }
  auto days = d_.access->RetentionDays();
  std::string b =
      "<p>Operators see the health of the fleet by device, never recorded content, names or "
      "who is working right now (times are to the hour).</p>"
      "<div class=\"cards\"><div class=\"card\"><strong id=\"device-count\">" +
      std::to_string(devs->size()) + "</strong> devices</div><div class=\"card\"><strong>" +
      std::to_string(stale) + "</strong> not seen for a day</div></div>";
  b += rows.empty() ? "<p>No devices enrolled.</p>"
                    : Table("Devices",
                            {"Device", "Enrolled", "Last seen (hour)", "Last upload (hour)",
                             "Status", "Spool backlog"},
                            rows);
  b += "<p class=\"hint\">Spool backlog: sealed segments a device holds that the vault has "
       "not acknowledged yet, as the device reported with its last state poll (sizes only, "
       "never content). A growing backlog on an online device means uploads are failing.</p>"
       "<section aria-labelledby=\"ret-h\"><h2 id=\"ret-h\">Retention</h2>"
       "<form class=\"stack\" method=\"post\" action=\"/dashboard/fleet/retention\">" +
       Hidden("csrf", c.s.csrf_token) +
       "<div><label for=\"days\">Purge recordings after (days, 0 = keep until deleted)</label>"
       "<input type=\"number\" id=\"days\" name=\"days\" min=\"0\" max=\"3650\" required value=\"" +
       (days.ok() ? std::to_string(*days) : std::string("0")) +
       "\"></div><div><button type=\"submit\">Save retention</button></div></form></section>";
  return Page(c, "fleet", "Fleet health", b);
}

Response Dashboard::FleetRetention(const Ctx& c) {
  const std::string v = Get(c.req->form, "days");
  if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos) {
    return ErrorPage(c, absl::InvalidArgumentError("days must be 0..3650"), "Setting retention");
  }
  auto ch = d_.access->SetRetentionDays(c.p, std::stoi(v));
  if (!ch.ok()) return ErrorPage(c, ch.status(), "Setting retention");
  if (!ch->applied) {
    return Done(c, "/dashboard/fleet",
                "Proposed retention of " + v + " days (" + ch->proposal_id +
                    "). It deletes recordings, so a privacy officer must confirm it.");
  }
  return Done(c, "/dashboard/fleet", "Retention set to " + v + " days.");
}

Response Dashboard::AuditPage(const Ctx& c) {
  auto note = d_.access->Checkpoint(c.p, false);
  std::string b = "<h2>Latest signed checkpoint</h2>";
  b += note.ok() ? "<pre class=\"mono\" id=\"checkpoint-note\">" + Escape(*note) + "</pre>"
                 : "<p>" + Escape(std::string(note.status().message())) + "</p>";
  b += "<h2>Log verifier keys</h2><ul>";
  for (const auto& k : d_.access->VerifierKeys()) b += "<li><code>" + Escape(k) + "</code></li>";
  b += "</ul><p class=\"hint\">Check the log offline with <code>sealtrace audit verify</code>.</p>";
  return Page(c, "audit", "Audit log", b);
}

}  // namespace

namespace {

// The dashboard's view of an HTTP request: query and form decoded, the
// headers its CSRF and session checks read.
Request FromHttp(const net::HttpRequest& hreq) {
  Request req;
  req.method = hreq.method;
  req.path = hreq.path;
  // Query parameters only, decoded by the dashboard's own form parser.
  const size_t q = hreq.target.find('?');
  if (q != std::string::npos) {
    auto parsed = ParseForm(std::string_view(hreq.target).substr(q + 1));
    if (parsed) req.query = std::move(*parsed);
  }
  if (hreq.method == "POST") {
    const std::string ct = hreq.Header("Content-Type");
    if (hreq.body_too_large || ct.rfind("application/x-www-form-urlencoded", 0) != 0) {
      req.form_ok = false;
    } else if (auto f = ParseForm(hreq.body)) {
      req.form = std::move(*f);
    } else {
      req.form_ok = false;
    }
  }
  req.cookie = hreq.Header("Cookie");
  req.origin = hreq.Header("Origin");
  req.referer = hreq.Header("Referer");
  req.sec_fetch_site = hreq.Header("Sec-Fetch-Site");
  req.host = hreq.Header("Host");
  return req;
}

net::HttpResponse ToHttp(const Response& out) {
  net::HttpResponse res = net::HttpResponse::Text(out.status, out.body, out.content_type);
  res.SetHeader("Content-Security-Policy", kCsp);
  res.SetHeader("X-Content-Type-Options", "nosniff");
  res.SetHeader("X-Frame-Options", "DENY");
  res.SetHeader("Referrer-Policy", "same-origin");
  res.SetHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.SetHeader("Cross-Origin-Resource-Policy", "same-origin");
  bool cache_set = false;
  for (const auto& [k, v] : out.headers) {
    if (k == "Cache-Control") cache_set = true;
    res.SetHeader(k, v);
  }
  if (!cache_set) res.SetHeader("Cache-Control", "no-store");
  return res;
}

}  // namespace

void RegisterDashboardRoutes(net::HttpServer& server, const DashboardDeps& deps) {
  auto dash = std::make_shared<Dashboard>(deps);
  auto handle = [dash](const net::HttpRequest& hreq) {
    Request req = FromHttp(hreq);
    Response out;
    try {
      out = dash->Handle(req);
    } catch (const std::exception& e) {
      spdlog::error("dashboard: internal error on {}", req.path);
      out = Response{};
      out.status = 500;
      out.body = "<!doctype html><title>Error</title><p>Internal error.</p>";
    }
    return ToHttp(out);
  };
  server.AddRoute(net::Route::Get(R"(/dashboard(/.*)?)", handle));
  server.AddRoute(net::Route::Post(R"(/dashboard(/.*)?)", kMaxFormBytes, handle));
  // A person typing the vault's address lands on the dashboard.
  server.AddRoute(net::Route::Get("/", [](const net::HttpRequest&) {
    auto res = net::HttpResponse::Text(303, "See /dashboard\n", "text/plain; charset=utf-8");
    res.SetHeader("Location", "/dashboard");
    res.SetHeader("Cache-Control", "no-store");
    return res;
  }));
}

}  // namespace sealtrace::dashboard
