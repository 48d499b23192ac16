// `sealtrace principal|token|grant|programme|access ...`: thin HTTP clients of
// the vault's access routes (docs/API.md). Tokens come from --token-file or
// $SEALTRACE_TOKEN, never from the command line (it would land in shell history
// and in `ps`). Output is the server's JSON.
#include <unistd.h>
#include <algorithm>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/entry.h"
#include "audit/merkle.h"
#include "audit/sqlite_store.h"
#include "cli/cli_util.h"
#include "net/http_client.h"
#include "cli/commands.h"
#include "common/env.h"
#include "crypto/crypto.h"

namespace sealtrace::cli {
namespace {

using json = nlohmann::json;

struct Conn {
  std::string server = "https://127.0.0.1:8420";
  std::string token_file;
  std::string ca_file;
  std::string token;  // held in memory only (a terminal sign-in)
};

void AddConn(CLI::App* cmd, Conn* c) {
  cmd->add_option("--server", c->server, "Vault URL")->capture_default_str();
  cmd->add_option("--token-file", c->token_file,
                  "File holding your API token (or $SEALTRACE_TOKEN)");
  cmd->add_option("--ca-file", c->ca_file, "PEM CA certificate of the vault (DIR/tls/ca.crt)");
}

std::string Token(const Conn& c) {
  if (!c.token.empty()) return c.token;
  if (!c.token_file.empty()) {
    auto t = Env::Default()->ReadFile(c.token_file);
    if (!t.ok()) Fail("cannot read --token-file: " + std::string(t.status().message()));
    std::string s = *t;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
  }
  const char* e = std::getenv("SEALTRACE_TOKEN");
  if (e && *e) return e;
  Fail("no API token: pass --token-file FILE or set SEALTRACE_TOKEN");
}

net::HttpClientOptions ClientFor(const Conn& c, int read_timeout_s) {
  net::HttpClientOptions o;
  o.base_url = c.server;
  o.ca_file = c.ca_file;
  o.connect_timeout_s = 10;
  o.read_timeout_s = read_timeout_s;
  return o;
}

json Call(const Conn& c, const std::string& method, const std::string& path,
          const json& body = json::object(), bool text = false) {
  net::HttpClient http(ClientFor(c, 120));
  auto r = http.Send(method == "GET" ? "GET" : "POST", path,
                     {{"Authorization", "Bearer " + Token(c)}},
                     method == "GET" ? std::string() : body.dump());
  if (!r.ok()) Fail(std::string(r.status().message()));
  if (text && r->status == 200) return json(r->body);
  if (r->status != 200) Fail(net::DescribeErrorAnswer(*r));
  return json::parse(r->body, nullptr, false);
}

void Print(const json& j) { std::cout << j.dump(2) << "\n"; }

// An unauthenticated POST; returns the HTTP status and the JSON body.
int PostNoAuth(const Conn& c, const std::string& path, const json& body, json* out) {
  net::HttpClient http(ClientFor(c, 30));
  auto r = http.Send("POST", path, {}, body.dump());
  if (!r.ok()) Fail(std::string(r.status().message()));
  *out = json::parse(r->body, nullptr, false);
  return r->status;
}

// Signs this terminal in with the device-authorisation flow: the contributor
// approves the shown code in a passkey session; the token stays in memory.
void TerminalSignIn(Conn* c) {
  char host[256] = "terminal";
  gethostname(host, sizeof(host) - 1);
  json start;
  if (PostNoAuth(*c, "/v1/signin/terminal/start", {{"client", host}}, &start) != 200 ||
      !start.is_object()) {
    Fail("the vault refused a terminal sign-in: " + start.dump());
  }
  const std::string user_code = start.value("user_code", "");
  std::cerr << "To let this terminal read your own data for one hour, open\n  " << c->server
            << start.value("verification_path", "/dashboard/terminal") << "?code=" << user_code
            << "\nsign in with your passkey and approve the code " << user_code << "\n";
  const int interval = std::max(1, start.value("interval", 2));
  const int64_t expires = start.value("expires_us", int64_t{0});
  while (Env::Default()->NowWallMicros() < expires) {
    Env::Default()->SleepMicros(interval * 1000000LL);
    json out;
    const int st = PostNoAuth(*c, "/v1/signin/terminal/poll",
                              {{"device_code", start.value("device_code", "")}}, &out);
    if (st == 200 && out.is_object()) {
      c->token = out.value("token", "");
      return;
    }
    if (out.is_object() && out.value("rule", "") == "signin.pending") continue;
    Fail("terminal sign-in refused: " + (out.is_object() ? out.value("message", "") : ""));
  }
  Fail("terminal sign-in expired before it was approved");
}

// ---- me ----
void RegisterMeCommands(CLI::App& app) {
  auto* me = app.add_subcommand(
      "me", "Your own data from a terminal, after you approve it with your passkey");
  me->require_subcommand(1);
  {
    auto c = std::make_shared<Conn>();
    auto from = std::make_shared<int64_t>(0);
    auto to = std::make_shared<int64_t>(INT64_MAX);
    auto* cmd = me->add_subcommand(
        "read", "Sign this terminal in (a code you approve in the dashboard) and print your own "
                "events as JSON; nothing is stored on disk");
    cmd->add_option("--server", c->server, "Vault URL")->capture_default_str();
    cmd->add_option("--ca-file", c->ca_file, "PEM CA certificate of the vault");
    cmd->add_option("--from", *from, "From (wall-clock microseconds)");
    cmd->add_option("--to", *to, "To (wall-clock microseconds)");
    cmd->callback([=] {
      TerminalSignIn(c.get());
      Print(Call(*c, "GET",
                 "/v1/me/read?from=" + std::to_string(*from) + "&to=" + std::to_string(*to)));
    });
  }
}

// ---- principal ----
void RegisterPrincipalCommands(CLI::App& app) {
  auto* principal = app.add_subcommand("principal", "Manage principals (operator token)");
  principal->require_subcommand(1);
  {
    auto c = std::make_shared<Conn>();
    auto role = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    auto scopes = std::make_shared<std::vector<std::string>>();
    auto ttl = std::make_shared<int>(0);
    auto* cmd = principal->add_subcommand(
        "create",
        "Create a principal and print its first token (shown once). Officers, auditors and\n"
        "services stay disabled until a privacy officer runs `principal activate`.");
    AddConn(cmd, c.get());
    cmd->add_option("--role", *role, "operator | privacy_officer | auditor | service")->required();
    cmd->add_option("--name", *name, "Display name")->required();
    cmd->add_option("--scope", *scopes, "Token scope (repeatable; default: the role's scopes)");
    cmd->add_option("--ttl-days", *ttl, "Token lifetime in days (default 90)");
    cmd->callback([=] {
      Print(Call(*c, "POST", "/v1/principals",
                 {{"role", *role}, {"name", *name}, {"scopes", *scopes}, {"ttl_days", *ttl}}));
    });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = principal->add_subcommand("list", "List principals (operator)");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "GET", "/v1/principals")); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto id = std::make_shared<std::string>();
    auto* cmd = principal->add_subcommand("activate", "Activate a pending principal (officer)");
    AddConn(cmd, c.get());
    cmd->add_option("--id", *id, "Principal id")->required();
    cmd->callback([=] {
      Print(Call(*c, "POST", "/v1/principals/activate", {{"principal_id", *id}}));
    });
  }
}

// ---- token ----
void RegisterTokenCommands(CLI::App& app) {
  auto* token = app.add_subcommand("token", "Issue or revoke API tokens");
  token->require_subcommand(1);
  {
    auto c = std::make_shared<Conn>();
    auto id = std::make_shared<std::string>();
    auto scopes = std::make_shared<std::vector<std::string>>();
    auto ttl = std::make_shared<int>(0);
    auto* cmd = token->add_subcommand("issue",
                                      "A new token for yourself (or, for operators, "
                                      "another operator principal)");
    AddConn(cmd, c.get());
    cmd->add_option("--principal", *id, "Principal id (default: yourself)");
    cmd->add_option("--scope", *scopes, "Scope (repeatable)");
    cmd->add_option("--ttl-days", *ttl, "Lifetime in days");
    cmd->callback([=] {
      json b = {{"scopes", *scopes}, {"ttl_days", *ttl}};
      if (!id->empty()) b["principal_id"] = *id;
      Print(Call(*c, "POST", "/v1/tokens", b));
    });
  }
  {
    auto c = std::make_shared<Conn>();
    auto id = std::make_shared<std::string>();
    auto* cmd = token->add_subcommand("revoke", "Revoke a token by its id (t_...)");
    AddConn(cmd, c.get());
    cmd->add_option("--id", *id, "Token id")->required();
    cmd->callback([=] { Print(Call(*c, "POST", "/v1/tokens/revoke", {{"token_id", *id}})); });
  }
}

// ---- grant ----
void RegisterGrantCommands(CLI::App& app) {
  auto* grant = app.add_subcommand("grant", "Request, approve, deny, revoke and list grants");
  grant->require_subcommand(1);
  {
    auto c = std::make_shared<Conn>();
    struct G {
      std::string grantee, purpose, channels = "keys,pointer,focus";
      std::vector<std::string> contributors, datasets;
      int64_t from = 0, to = 0, not_before = 0, expires = 0;
    };
    auto g = std::make_shared<G>();
    auto* cmd = grant->add_subcommand("request", "Request a grant (needs a second officer)");
    AddConn(cmd, c.get());
    cmd->add_option("--grantee", g->grantee, "Principal id of the reader (default: you)");
    cmd->add_option("--purpose", g->purpose, "Why the data is needed")->required();
    cmd->add_option("--contributor", g->contributors, "Contributor id (repeatable)")->required();
    cmd->add_option("--dataset", g->datasets, "Dataset id (repeatable)");
    cmd->add_option("--from-us", g->from, "Start of the time range (µs since epoch)")->required();
    cmd->add_option("--to-us", g->to, "End of the time range (µs since epoch)")->required();
    cmd->add_option("--channels", g->channels, "keys,pointer,focus,frames")->capture_default_str();
    cmd->add_option("--not-before-us", g->not_before, "Valid from (default now)");
    cmd->add_option("--expires-us", g->expires, "Expiry (µs since epoch)")->required();
    cmd->callback([=] {
      json b = {{"purpose", g->purpose},
                {"contributors", g->contributors},
                {"datasets", g->datasets},
                {"from_us", g->from},
                {"to_us", g->to},
                {"channels", g->channels},
                {"not_before_us", g->not_before},
                {"expires_us", g->expires}};
      if (!g->grantee.empty()) b["grantee_id"] = g->grantee;
      Print(Call(*c, "POST", "/v1/grants", b));
    });
  }
  for (const char* verb : {"approve", "deny", "revoke"}) {
    auto c = std::make_shared<Conn>();
    auto id = std::make_shared<std::string>();
    auto* cmd = grant->add_subcommand(verb, std::string(verb) + " a grant");
    AddConn(cmd, c.get());
    cmd->add_option("--id", *id, "Grant id (g_...)")->required();
    std::string path = std::string("/v1/grants/") + verb;
    cmd->callback([=] { Print(Call(*c, "POST", path, {{"grant_id", *id}})); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = grant->add_subcommand("list", "List grants");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "GET", "/v1/grants")); });
  }
}

// ---- programme ----
void RegisterProgrammeCommands(CLI::App& app) {
  auto* prog = app.add_subcommand("programme", "Programme state (two privacy officers)");
  prog->require_subcommand(1);
  {
    auto c = std::make_shared<Conn>();
    auto state = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    auto* cmd = prog->add_subcommand("propose", "Propose ACTIVE, PAUSED or INCIDENT");
    AddConn(cmd, c.get());
    cmd->add_option("--state", *state, "ACTIVE | PAUSED | INCIDENT")->required();
    cmd->add_option("--reason", *reason, "Reason (recorded in the audit log)");
    cmd->callback([=] {
      Print(Call(*c, "POST", "/v1/programme/propose", {{"state", *state}, {"reason", *reason}}));
    });
  }
  {
    auto c = std::make_shared<Conn>();
    auto id = std::make_shared<std::string>();
    auto* cmd = prog->add_subcommand("confirm", "Confirm another officer's proposal");
    AddConn(cmd, c.get());
    cmd->add_option("--proposal", *id, "Proposal id (sp_...)")->required();
    cmd->callback([=] {
      Print(Call(*c, "POST", "/v1/programme/confirm", {{"proposal_id", *id}}));
    });
  }
  {
    auto c = std::make_shared<Conn>();
    auto id = std::make_shared<std::string>();
    auto* cmd = prog->add_subcommand(
        "confirm-retention", "Confirm an operator's shorter retention (it deletes recordings)");
    AddConn(cmd, c.get());
    cmd->add_option("--proposal", *id, "Proposal id (rp_...)")->required();
    cmd->callback([=] {
      Print(Call(*c, "POST", "/v1/programme/retention/confirm", {{"proposal_id", *id}}));
    });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = prog->add_subcommand("show", "Show the programme state");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "GET", "/v1/programme")); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = prog->add_subcommand("proposals", "List proposals waiting for a second officer");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "GET", "/v1/programme/proposals")); });
  }
}

// ---- access (administration, audit) ----
void RegisterAdminCommands(CLI::App& app) {
  auto* acc =
      app.add_subcommand("access", "Administration and audit-log tools of the access layer");
  acc->require_subcommand(1);
  {
    auto c = std::make_shared<Conn>();
    auto name = std::make_shared<std::string>();
    auto* inv = acc->add_subcommand(
        "invite", "A single-use invitation (7 days) for one new contributor: they enrol with "
                  "`sealtrace enroll --invitation CODE`, no fleet secret on their device");
    AddConn(inv, c.get());
    inv->add_option("--name", *name, "The new contributor's name")->required();
    inv->callback([=] { Print(Call(*c, "POST", "/v1/signin/invitation", {{"name", *name}})); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto days = std::make_shared<int>(0);
    auto* cmd = acc->add_subcommand("retention", "Set the retention period in days (0 = keep)");
    AddConn(cmd, c.get());
    cmd->add_option("--days", *days, "Days")->required();
    cmd->callback([=] { Print(Call(*c, "POST", "/v1/admin/retention", {{"days", *days}})); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = acc->add_subcommand("purge", "Run the retention purge now");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "POST", "/v1/admin/purge")); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = acc->add_subcommand("devices", "Fleet health: devices and their last upload");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "GET", "/v1/admin/devices")); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd = acc->add_subcommand("rotate-audit-key",
                                    "Rotate the audit signing key in the running vault");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "POST", "/v1/admin/rotate-audit-key")); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto* cmd =
        acc->add_subcommand("rotate-master-key",
                            "Rotate the vault's master key online: add a new version and rewrap\n"
                            "every contributor key under it (run again to finish an interrupted\n"
                            "rotation; operator token)");
    AddConn(cmd, c.get());
    cmd->callback([=] { Print(Call(*c, "POST", "/v1/admin/rotate-master-key")); });
  }
  {
    auto c = std::make_shared<Conn>();
    auto version = std::make_shared<int64_t>(0);
    auto* cmd = acc->add_subcommand(
        "retire-master-key",
        "Remove an old master key version from the key file once no contributor key is\n"
        "wrapped under it any more (after rotate-master-key; operator token)");
    AddConn(cmd, c.get());
    cmd->add_option("--version", *version, "Master key version to retire")->required();
    cmd->callback([=] {
      Print(Call(*c, "POST", "/v1/admin/retire-master-key", {{"version", *version}}));
    });
  }
  {
    auto c = std::make_shared<Conn>();
    auto out = std::make_shared<std::string>();
    auto cp_out = std::make_shared<std::string>();
    auto keys_out = std::make_shared<std::string>();
    auto* cmd = acc->add_subcommand(
        "fetch-log",
        "Fetch the audit log and a fresh signed checkpoint from a running vault into a SQLite\n"
        "file, for `sealtrace audit verify --log OUT --checkpoint CP --key ...` (auditor token).");
    AddConn(cmd, c.get());
    cmd->add_option("--out", *out, "SQLite file to create")->required();
    cmd->add_option("--checkpoint-out", *cp_out, "Where to save the checkpoint note")->required();
    cmd->add_option("--keys-out", *keys_out, "Where to save the verifier keys (one per line)");
    cmd->callback([=] {
      std::string note =
          Call(*c, "GET", "/v1/audit/checkpoint?fresh=1", {}, true).get<std::string>();
      auto size_line = note.find('\n');
      uint64_t size = std::strtoull(note.c_str() + size_line + 1, nullptr, 10);
      json leaves = Call(*c, "GET", "/v1/audit/leaves?begin=0&end=" + std::to_string(size));
      if (Env::Default()->FileExists(*out)) Fail(*out + " already exists");
      auto store = audit::SqliteAuditStore::Open(*out);
      if (!store.ok()) Fail(std::string(store.status().message()));
      uint64_t i = 0;
      for (auto& l : leaves["leaves"]) {
        auto leaf = FromBase64(l.get<std::string>());
        if (!leaf.ok()) Fail("malformed leaf from server");
        auto e = audit::ParseEntry(*leaf);
        if (!e.ok()) Fail("malformed leaf from server");
        auto s = (*store)->AppendLeaf(i++, *leaf, audit::HashLeaf(*leaf), e->subject_contributor);
        if (!s.ok()) Fail(std::string(s.message()));
      }
      if (auto s = (*store)->StoreCheckpoint(size, note); !s.ok()) Fail(std::string(s.message()));
      if (auto s = WriteFileAtomic(Env::Default(), *cp_out, note, 0644); !s.ok()) {
        Fail(std::string(s.message()));
      }
      json keys = Call(*c, "GET", "/v1/audit/keys");
      std::string ktext;
      for (auto& k : keys["verifier_keys"]) ktext += k.get<std::string>() + "\n";
      if (!keys_out->empty()) {
        if (auto s = WriteFileAtomic(Env::Default(), *keys_out, ktext, 0644); !s.ok()) {
          Fail("cannot write the verifier keys to " + *keys_out + ": " + std::string(s.message()));
        }
      }
      std::cout << "fetched " << i << " leaves (checkpoint size " << size << ") into " << *out
                << "\nverifier keys:\n"
                << ktext;
    });
  }
}

}  // namespace

void RegisterAccessCommands(CLI::App& app) {
  RegisterMeCommands(app);
  RegisterPrincipalCommands(app);
  RegisterTokenCommands(app);
  RegisterGrantCommands(app);
  RegisterProgrammeCommands(app);
  RegisterAdminCommands(app);
}

}  // namespace sealtrace::cli
