// sealtrace up   — the main job on one machine: embedded vault + recorder of $DISPLAY.
// sealtrace demo — the same path on a private Xvfb desktop driven by a script.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "dashboard/dashboard.h"
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "agent/agent.h"
#include "agent/consent.h"
#include "agent/vault_client.h"
#include "capture/x11/xvfb_session.h"
#include "cli/agent_wiring.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/demo_report.h"
#include "access/access_service.h"
#include "access/http_api.h"
#include "access/tls.h"
#include "vault/server.h"
#include "vault/vault.h"
#include "spdlog/spdlog.h"

namespace sealtrace::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<Agent*> g_up_agent{nullptr};

void OnUpSignal(int) {
  g_stop.store(true);
  if (Agent* a = g_up_agent.load()) a->Stop();
}

std::string XdgDir(const char* var, const char* fallback) {
  const char* v = std::getenv(var);
  if (v && *v) return std::string(v) + "/sealtrace";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/" + fallback + "/sealtrace";
}

// The embedded vault with its access layer, served from a background thread
// of this process. `tls`: HTTPS with a local CA made on first start (the
// agent verifies it); otherwise plain HTTP on loopback (demo only).
struct EmbeddedVault {
  std::unique_ptr<vault::Vault> vault;
  std::unique_ptr<access::AccessStack> stack;
  std::unique_ptr<access::AccessApi> api;
  std::unique_ptr<vault::VaultServer> server;
  std::thread thread;
  int port = 0;
  std::string url;
  std::string ca_file;
  std::string bootstrap_dir;

  absl::Status Start(const std::string& data_dir, int want_port, bool tls) {
    bootstrap_dir = data_dir + "/bootstrap";
    if (!Env::Default()->FileExists(bootstrap_dir + "/operator.token")) {
      // First start: TLS material and the first operator and privacy officers.
      auto init = access::InitDataDir(data_dir);
      if (!init.ok()) return init.status();
    }
    vault::VaultOptions o;
    o.data_dir = data_dir;
    auto v = vault::Vault::Open(o);
    if (!v.ok()) return v.status();
    vault = std::move(*v);
    auto st = access::OpenAccessStack(vault.get());
    if (!st.ok()) return st.status();
    stack = std::move(*st);
    api = std::make_unique<access::AccessApi>(stack->service.get(), stack->signin.get());
    vault::ServerOptions so;
    so.api = api.get();
    dashboard::DashboardDeps dd;
    dd.access = stack->service.get();
    dd.signin = stack->signin.get();
    dd.audit_log = stack->log.get();
    dd.vault = vault.get();
    dd.https = tls;
    so.register_routes = [dd](net::HttpServer& s) { dashboard::RegisterDashboardRoutes(s, dd); };
    if (tls) {
      auto paths = access::TlsPathsIn(data_dir + "/tls");
      so.tls_cert_file = paths.server_cert;
      so.tls_key_file = paths.server_key;
      ca_file = paths.ca_cert;
    }
    server = std::make_unique<vault::VaultServer>(vault.get(), so);
    if (!server->valid()) return absl::FailedPreconditionError("cannot load the TLS certificate");
    auto p = server->Bind("127.0.0.1", want_port);
    if (!p.ok() && want_port != 0) p = server->Bind("127.0.0.1", 0);  // port taken: any free one
    if (!p.ok()) return p.status();
    port = *p;
    url = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
    stack->service->StartBackground(60'000'000, 3'600'000'000LL);
    thread = std::thread([this] {
      // The recorder keeps spooling if the vault stops; the contributor must
      // know uploads have nowhere to go.
      if (auto s = server->Serve(); !s.ok()) {
        std::cerr << "sealtrace up: the embedded vault stopped serving: " << s.message()
                  << " (recording continues into the spool)\n";
      }
    });
    return absl::OkStatus();
  }
  void Stop() {
    if (server) server->Stop();
    if (thread.joinable()) thread.join();
    if (stack) stack->service->StopBackground();
  }
  ~EmbeddedVault() { Stop(); }
};

std::string ReadTrimmed(const std::string& path) {
  auto s = Env::Default()->ReadFile(path);
  if (!s.ok()) return "";
  std::string v = *s;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

// Enrols `name` against the embedded vault if `config_path` does not exist.
absl::StatusOr<AgentConfig> EnsureEnrolled(const EmbeddedVault& ev, const std::string& config_path,
                                           const std::string& name, bool accept_scope,
                                           bool frames, bool show_signin_code = true) {
  if (Env::Default()->FileExists(config_path)) {
    auto c = LoadAgentConfig(Env::Default(), config_path);
    if (!c.ok()) return c.status();
    c->server_url = ev.url;  // the embedded vault may have moved port
    c->ca_file = ev.ca_file;
    return c;
  }
  RecordingScope scope = ScopeFor("", frames);
  std::cout << "\nFirst run: enrolling '" << name << "' on this machine.\n\n"
            << ScopeText(scope) << "\n";
  if (!accept_scope) {
    if (!isatty(STDIN_FILENO)) {
      return absl::FailedPreconditionError(
          "consent is needed and there is no terminal to ask; re-run with --accept-scope after "
          "reading the scope above");
    }
    std::cout << "Do you consent to recording with this scope? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      return absl::FailedPreconditionError("no consent given; nothing is recorded");
    }
  }
  auto r = EnrolOverHttp(ev.url, ReadTrimmed(ev.vault->enroll_secret_path()), name, ev.ca_file);
  if (!r.ok()) return r.status();
  if (!r->signin_code.empty() && show_signin_code) {
    // Shown once, never written to disk: the dashboard turns it into a passkey.
    std::cout << "Your single-use sign-in code: " << r->signin_code << "\n  open " << ev.url
              << r->signin_path << " within 15 minutes to register your passkey\n";
  }
  AgentConfig c;
  c.server_url = ev.url;
  c.ca_file = ev.ca_file;
  c.name = name;
  c.contributor_id = r->contributor_id;
  c.device_id = r->device_id;
  c.device_token = r->device_token;
  c.contributor_public_key = r->contributor_public_key;
  c.spool_dir = JoinPath(DirName(config_path), "spool");
  c.state_dir = JoinPath(DirName(config_path), "state");
  c.consent = true;
  c.frames = frames;
  c.consent_scope_hash = ScopeHash(scope);
  if (auto s = SaveAgentConfig(Env::Default(), c, config_path); !s.ok()) return s;
  c.path = config_path;
  return c;
}

absl::Status RecordX11(AgentConfig cfg, const std::string& display, bool follow_signals,
                       const std::function<void()>& while_recording = nullptr) {
  auto src = MakeX11Source(display, cfg);
  if (!src.ok()) return src.status();
  AgentOptions opt;
  opt.drain_timeout_us = 10'000'000;
  // A live desktop: reconnect when the X server comes back (logout/login).
  // The demo drives its own Xvfb and ends with it.
  if (!while_recording) opt.reconnect = [display, cfg] { return MakeX11Source(display, cfg); };
  auto agent = Agent::Create(Env::Default(), cfg, std::move(*src), opt, MakeGateFactory());
  if (!agent.ok()) return agent.status();
  g_up_agent.store(agent->get());
  BindFrameTarget(agent->get());
  std::thread driver;
  if (while_recording) {
    driver = std::thread([&] {
      while_recording();
      (*agent)->EndSource();
    });
  }
  absl::Status st = (*agent)->Run();
  if (driver.joinable()) driver.join();
  BindFrameTarget(nullptr);
  g_up_agent.store(nullptr);
  auto rs = (*agent)->recorder()->Stats();
  UploadReport us = (*agent)->ReadUploadReport();
  std::cout << "recorder: " << rs.events << " events in " << rs.segments << " sealed segments ("
            << rs.frames << " frames), " << us.uploaded + us.duplicates << " uploaded\n";
  (void)follow_signals;
  return st;
}

}  // namespace

void RegisterUpCommands(CLI::App& app) {
  // ---- up ----
  {
    auto* cmd = app.add_subcommand(
        "up", "Run sealtrace on this machine: the embedded vault (data under the XDG data dir) "
              "and the recorder of $DISPLAY, enrolling you on first run after asking consent");
    auto data = std::make_shared<std::string>(XdgDir("XDG_DATA_HOME", ".local/share"));
    auto config = std::make_shared<std::string>(XdgDir("XDG_CONFIG_HOME", ".config") + "/agent.toml");
    auto port = std::make_shared<int>(8420);
    auto accept = std::make_shared<bool>(false);
    auto frames = std::make_shared<bool>(false);
    auto name = std::make_shared<std::string>(std::getenv("USER") ? std::getenv("USER") : "me");
    cmd->add_option("--data", *data, "Vault data directory")->capture_default_str();
    cmd->add_option("--config", *config, "Agent config")->capture_default_str();
    cmd->add_option("--port", *port, "Vault port on 127.0.0.1")->capture_default_str();
    cmd->add_option("--name", *name, "Your contributor name at first enrolment")->capture_default_str();
    cmd->add_flag("--accept-scope", *accept, "Accept the shown recording scope without asking");
    cmd->add_flag("--frames", *frames, "Also record screenshots around clicks (off by default)");
    cmd->callback([=] {
      const char* display = std::getenv("DISPLAY");
      if (display == nullptr || *display == '\0') {
        Fail("no $DISPLAY: `sealtrace up` records your X11 desktop. On a machine without a "
             "desktop, try `sealtrace demo`.");
      }
      std::signal(SIGINT, OnUpSignal);
      std::signal(SIGTERM, OnUpSignal);
      EmbeddedVault ev;
      if (auto s = ev.Start(*data + "/vault", *port, /*tls=*/true); !s.ok()) {
        Fail(std::string(s.message()));
      }
      auto cfg = EnsureEnrolled(ev, *config, *name, *accept, *frames);
      if (!cfg.ok()) Fail(std::string(cfg.status().message()));
      if (auto s = CheckConsent(*cfg); !s.ok()) Fail(std::string(s.message()));
      std::cout << "\nsealtrace is up.\n"
                << "  vault:      " << ev.url << "  (data in " << *data << "/vault)\n"
                << "  dashboard:  " << ev.url << "/dashboard  (sign in with your passkey; "
                   "the first one with the code shown at enrolment)\n"
                << "  officers:   tokens in " << ev.bootstrap_dir << "\n"
                << "  agent:      " << *config << "  (spool in " << cfg->spool_dir << ")\n"
                << "  recording:  " << display << " — pause with `sealtrace pause`, stop with Ctrl-C\n"
                << std::flush;
      auto st = RecordX11(*cfg, display, true);
      ev.Stop();
      if (!st.ok()) Fail(std::string(st.message()));
    });
  }

  // ---- demo ----
  {
    auto* cmd = app.add_subcommand(
        "demo", "For a machine without a desktop: start Xvfb with openbox and xterm, drive a "
                "scripted session with xdotool, record it through the full path, and show what "
                "was captured");
    auto dir = std::make_shared<std::string>();
    cmd->add_option("--dir", *dir, "Where to keep the demo's vault and agent (default: a new "
                                   "temporary directory)");
    cmd->callback([=] {
      std::string root = *dir;
      if (root.empty()) {
        char tmpl[] = "/tmp/sealtrace-demo-XXXXXX";
        root = mkdtemp(tmpl);
      }
      spdlog::set_level(spdlog::level::warn);
      XvfbSession x;
      if (auto s = x.Start(/*with_window_manager=*/true); !s.ok()) {
        Fail("cannot start Xvfb + openbox: " + std::string(s.message()) +
             " (install them with scripts/install-deps.sh)");
      }
      std::cout << "demo desktop on " << x.display() << " (Xvfb + openbox)\n";
      pid_t p1 = 0, p2 = 0;
      auto w1 = x.StartXterm("notes - sealtrace demo", &p1);
      auto w2 = x.StartXterm("terminal - sealtrace demo", &p2);
      if (!w1.ok() || !w2.ok()) Fail("cannot start xterm");
      EmbeddedVault ev;
      if (auto s = ev.Start(root + "/vault", 0, /*tls=*/true); !s.ok()) {
        Fail(std::string(s.message()));
      }
      auto cfg = EnsureEnrolled(ev, root + "/agent/agent.toml", "demo-user", true, false,
                                /*show_signin_code=*/false);
      if (!cfg.ok()) Fail(std::string(cfg.status().message()));
      DemoScript script = MakeDemoScript(*w1, *w2);
      std::cout << "recording a scripted session (" << script.steps.size() << " xdotool steps)...\n";
      auto st = RecordX11(*cfg, x.display(), false, [&] {
        Env::Default()->SleepMicros(800'000);  // let the recorder attach
        for (const auto& step : script.steps) {
          auto r = x.Run(step);
          if (!r.ok()) std::cerr << "demo step failed: " << r.status().message() << "\n";
          Env::Default()->SleepMicros(60'000);
        }
        Env::Default()->SleepMicros(1'500'000);  // let the last segment seal
      });
      if (!st.ok()) std::cerr << "recorder: " << st.message() << "\n";
      std::cout << "\nWhat the vault holds (read back under a grant that two privacy officers "
                   "made, through the audited access path; the contributor's own sign-in is a "
                   "passkey, which this demo does not hold):\n";
      PrintDemoReport(*ev.stack->service,
                      ReadTrimmed(JoinPath(ev.bootstrap_dir, "privacy_officer_1.token")),
                      ReadTrimmed(JoinPath(ev.bootstrap_dir, "privacy_officer_2.token")),
                      cfg->contributor_id.Hex(), std::cout);
      ev.Stop();
      x.Stop();
      std::cout << "\ndemo data kept in " << root << "\n";
    });
  }
}

}  // namespace sealtrace::cli
