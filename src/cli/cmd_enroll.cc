// sealtrace enroll: creates the contributor (if new) and this device at a
// vault, shows the recording scope, asks for consent, writes the agent config.
// Only in `sealtrace`: the network-free recorder binary cannot enrol.
#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/config.h"
#include "agent/consent.h"
#include "agent/vault_client.h"
#include "cli/agent_wiring.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/env.h"

namespace sealtrace::cli {
namespace {

std::string ReadSecret(const std::string& secret, const std::string& secret_file) {
  if (!secret.empty()) return secret;
  if (!secret_file.empty()) {
    auto s = Env::Default()->ReadFile(secret_file);
    if (!s.ok()) Fail("cannot read the enrolment secret: " + std::string(s.status().message()));
    std::string v = *s;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
    return v;
  }
  if (const char* e = std::getenv("SEALTRACE_ENROLL_SECRET")) return e;
  Fail("enrolment needs the vault's enrolment secret: --secret-file PATH (the vault prints it), "
       "--secret, or SEALTRACE_ENROLL_SECRET",
       kExitUsage);
}

}  // namespace

void RegisterEnrollCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "enroll", "Enrol this device with a vault: creates the contributor (if new) and the "
                "device, shows the recording scope, asks for consent, writes the agent config");
  auto server = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>(DefaultAgentConfigPath());
  auto secret = std::make_shared<std::string>();
  auto secret_file = std::make_shared<std::string>();
  auto ca = std::make_shared<std::string>();
  auto privacy = std::make_shared<std::string>();
  auto accept = std::make_shared<bool>(false);
  auto frames = std::make_shared<bool>(false);
  cmd->add_option("--server", *server, "Vault URL, e.g. http://127.0.0.1:8443")->required();
  auto device_code = std::make_shared<std::string>();
  auto invitation = std::make_shared<std::string>();
  cmd->add_option("--invitation", *invitation,
                  "Enrol with a single-use invitation an operator gave you (no secret, no name)");
  cmd->add_option("--name", *name, "Contributor name for a new contributor (1-64 printable characters)");
  cmd->add_option("--device-code", *device_code,
                  "Add this device to your existing enrolment: the single-use code from the "
                  "dashboard (Devices & sign-ins > Add a device); no enrolment secret needed");
  cmd->add_option("--config", *config, "Where to write the agent config")->capture_default_str();
  cmd->add_option("--secret-file", *secret_file, "File holding the vault's enrolment secret");
  cmd->add_option("--secret", *secret, "The enrolment secret itself (prefer --secret-file)");
  cmd->add_option("--ca-file", *ca, "PEM CA certificate to verify an https vault");
  cmd->add_option("--privacy-config", *privacy, "Privacy TOML (exclusions, never-record words)");
  cmd->add_flag("--accept-scope", *accept, "Accept the shown recording scope without asking");
  cmd->add_flag("--frames", *frames, "Also record screenshots around clicks (off by default)");
  cmd->callback([=] {
    RecordingScope scope = ScopeFor(*privacy, *frames);
    std::string text = ScopeText(scope);
    if (!name->empty() + !device_code->empty() + !invitation->empty() != 1) {
      Fail("give one of --name (a new contributor, with the enrolment secret), --invitation "
           "(a new contributor an operator invited) or --device-code (add this device)");
    }
    if (!AskConsent(text, *accept)) Fail("no consent given; nothing was enrolled");
    const std::string enrol_secret = name->empty() ? std::string() : ReadSecret(*secret, *secret_file);
    auto r = EnrolOverHttp(*server, enrol_secret, *name, *ca, *device_code, *invitation);
    if (!r.ok()) Fail(std::string(r.status().message()));
    AgentConfig c;
    c.server_url = *server;
    c.ca_file = *ca;
    c.name = *name;
    c.contributor_id = r->contributor_id;
    c.device_id = r->device_id;
    c.device_token = r->device_token;
    c.contributor_public_key = r->contributor_public_key;
    c.spool_dir = JoinPath(DirName(*config), "spool");
    c.state_dir = JoinPath(DirName(*config), "state");
    c.privacy_config = *privacy;
    c.consent = true;
    c.consent_scope_hash = ScopeHash(scope);
    c.frames = *frames;
    if (auto s = SaveAgentConfig(Env::Default(), c, *config); !s.ok()) {
      Fail("enrolled, but could not write " + *config + ": " + std::string(s.message()));
    }
    if (!r->signin_code.empty()) {
      // Shown once, on the terminal only: never written to disk.
      std::cout << "Your single-use sign-in code: " << r->signin_code << "\n"
                << "Open " << *server << r->signin_path
                << " in your browser within 15 minutes and register a passkey with it; from "
                   "then on you sign in with the passkey. This device can only upload.\n";
    }
    std::cout << "Enrolled '" << *name << "': contributor " << c.contributor_id.Hex()
              << ", device " << c.device_id.Hex() << "\nAgent config written to " << *config
              << " (mode 0600)\n";
  });
}

}  // namespace sealtrace::cli
