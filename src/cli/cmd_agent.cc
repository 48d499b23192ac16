// sealtrace agent | consent | status | inspect | pause | resume (also in
// sealtrace-recorder; `enroll` talks to the vault and lives in cmd_enroll.cc)
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/consent.h"
#include "agent/vault_client.h"
#include "capture/replay/replay_source.h"
#include "cli/agent_wiring.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "segment/format.h"

namespace sealtrace::cli {
namespace {

std::atomic<Agent*> g_agent{nullptr};

void OnSignal(int) {
  if (Agent* a = g_agent.load()) a->Stop();
}

std::string FormatAge(int64_t us) {
  if (us < 0) return "never";
  int64_t s = us / 1'000'000;
  if (s < 60) return std::to_string(s) + " s ago";
  if (s < 3600) return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

// ---- agent ----
void RegisterRunCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "agent", "Record from a source through the privacy gate into sealed, spooled segments, "
               "and upload them to the vault");
  auto config = std::make_shared<std::string>(DefaultAgentConfigPath());
  auto source = std::make_shared<std::string>();
  auto speed = std::make_shared<double>(0.0);
  auto no_upload = std::make_shared<bool>(false);
  auto follow = std::make_shared<bool>(false);
  auto summary_json = std::make_shared<bool>(false);
  auto exit_on_loss = std::make_shared<bool>(false);
  auto drain = std::make_shared<std::string>("10s");
  cmd->add_option("--config", *config, "Agent config written by `sealtrace enroll`")
      ->capture_default_str();
  cmd->add_option("--source", *source,
                  "replay:FILE (a recorded event stream, docs/FORMAT.md) or x11[:DISPLAY]")
      ->required();
  cmd->add_option("--speed", *speed,
                  "Replay pacing: 1 = as recorded, 0 = as fast as possible (default)");
  cmd->add_flag("--no-upload", *no_upload, "Only seal and spool; do not contact the vault");
  cmd->add_option("--drain-timeout", *drain,
                  "At exit, keep uploading this long (e.g. 10s); the rest stays spooled")
      ->capture_default_str();
  cmd->add_flag("--exit-on-source-loss", *exit_on_loss,
                "x11: exit when the X server goes away (default: seal what was captured, "
                "report source_lost, and reconnect when the display is back)");
  cmd->add_flag("--summary-json", *summary_json,
                "At exit, also print one JSON line: events captured by kind, sealed, segments");
  cmd->add_flag("--follow", *follow,
                "Keep running after a replay ends (uploading) until interrupted");
  cmd->callback([=] {
    auto cfg = LoadAgentConfig(Env::Default(), *config);
    if (!cfg.ok()) Fail(std::string(cfg.status().message()));
    auto consent = CheckConsent(*cfg);
    if (!consent.ok()) Fail(std::string(consent.message()));
    auto src = MakeSource(*source, *speed, *cfg);
    if (!src.ok()) Fail(std::string(src.status().message()), kExitUsage);
    AgentOptions opt;
    opt.upload = !*no_upload;
    opt.exit_when_source_ends = !*follow;
    auto drain_us = ParseDurationUs(*drain);
    if (!drain_us.ok()) Fail(std::string(drain_us.status().message()), kExitUsage);
    opt.drain_timeout_us = *drain_us;
    if (source->rfind("x11", 0) == 0 && !*exit_on_loss) {
      const std::string spec = *source;
      const AgentConfig c = *cfg;
      opt.reconnect = [spec, c] { return MakeSource(spec, 0, c); };
    }
    auto agent = Agent::Create(Env::Default(), *cfg, std::move(*src), opt, MakeGateFactory());
    if (!agent.ok()) Fail(std::string(agent.status().message()));
    g_agent.store(agent->get());
    BindFrameTarget(agent->get());
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    absl::Status st = (*agent)->Run();
    g_agent.store(nullptr);
    auto rs = (*agent)->recorder()->Stats();
    UploadReport us = (*agent)->ReadUploadReport();
    auto list = (*agent)->spool()->List();
    std::cout << "events " << rs.events << ", segments sealed " << rs.segments
              << ", uploaded " << us.uploaded + us.duplicates << ", still spooled "
              << (list.ok() ? list->size() : 0) << ", rejected " << us.rejected << "\n";
    if (*summary_json) {
      const CaptureCounts c = (*agent)->captured();
      nlohmann::json j{{"events", c.total()},      {"key_down", c.key_down},
                       {"key_up", c.key_up},       {"button_down", c.button_down},
                       {"button_up", c.button_up}, {"scroll", c.scroll},
                       {"move", c.move},           {"focus", c.focus},
                       {"sealed_events", rs.events}, {"segments", rs.segments}};
      std::cout << j.dump() << "\n";
    }
    if (!st.ok()) Fail(std::string(st.message()));
  });
}

// ---- consent ----
void RegisterConsentCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "consent", "Show the current recording scope and record your consent to it (needed at "
                 "enrolment and again whenever the scope changes)");
  auto config = std::make_shared<std::string>(DefaultAgentConfigPath());
  auto accept = std::make_shared<bool>(false);
  auto revoke = std::make_shared<bool>(false);
  cmd->add_option("--config", *config, "Agent config")->capture_default_str();
  cmd->add_flag("--accept-scope", *accept, "Accept the shown scope without asking");
  cmd->add_flag("--revoke", *revoke, "Withdraw consent: the agent records nothing until you "
                                     "consent again");
  cmd->callback([=] {
    auto cfg = LoadAgentConfig(Env::Default(), *config);
    if (!cfg.ok()) Fail(std::string(cfg.status().message()));
    if (*revoke) {
      cfg->consent = false;
      cfg->consent_scope_hash.clear();
    } else {
      RecordingScope scope = ScopeFor(cfg->privacy_config, cfg->frames);
      if (!AskConsent(ScopeText(scope), *accept)) Fail("no consent given; nothing changed");
      cfg->consent = true;
      cfg->consent_scope_hash = ScopeHash(scope);
    }
    if (auto s = SaveAgentConfig(Env::Default(), *cfg, *config); !s.ok()) {
      Fail(std::string(s.message()));
    }
    std::cout << (*revoke ? "consent withdrawn: recording is off\n"
                          : "consent recorded for this scope\n");
  });
}

// ---- status ----
// The status file as it is; fails the command when it cannot be read or parsed.
AgentStatus ReadStatusFile(Env* env, const AgentConfig& cfg, std::string* raw) {
  auto text = env->ReadFile(Agent::StatusPath(cfg));
  if (!text.ok()) {
    Fail("cannot read " + Agent::StatusPath(cfg) + ": " + std::string(text.status().message()));
  }
  auto parsed = ParseAgentStatus(*text);
  if (!parsed) Fail("status file is damaged: " + Agent::StatusPath(cfg));
  *raw = *std::move(text);
  return *parsed;
}

// Asks a running agent for a fresh status (it watches its state directory)
// and waits up to 2 s for it; without an answer the file is shown as it is.
// An agent that wrote its final state, or whose process is gone, is not
// asked. *answered: the agent answered; *may_run: its process may be alive.
AgentStatus RefreshStatus(Env* env, const AgentConfig& cfg, std::string* raw, bool* answered,
                          bool* may_run) {
  AgentStatus st = ReadStatusFile(env, cfg, raw);
  *may_run = !st.final() && st.pid > 0 &&
             !(kill(static_cast<pid_t>(st.pid), 0) != 0 && errno == ESRCH);
  *answered = false;
  const int64_t asked = env->NowWallMicros();
  if (!*may_run ||
      !ReplaceFile(env, Agent::StatusRequestPath(cfg), std::to_string(asked) + "\n").ok()) {
    return st;
  }
  for (int waited_ms = 0;; waited_ms += 20) {
    st = ReadStatusFile(env, cfg, raw);
    *answered = st.updated_wall_us >= asked;
    if (*answered || waited_ms >= 2000) return st;
    env->SleepMicros(20'000);
  }
}

void PrintStatus(const AgentStatus& st, bool live, int64_t now) {
  std::cout << "recording:        "
            << (live ? st.state : "off (agent not running; last: " + st.state + ")") << "\n"
            << "programme state:  " << st.programme_state << "\n"
            << "source:           " << st.source << "\n";
  if (!st.source_warning.empty()) std::cout << "warning:          " << st.source_warning << "\n";
  if (!st.hidden_input.empty()) std::cout << "hidden input:     " << st.hidden_input << "\n";
  std::cout << "events/min:       " << st.events_per_min << "\n"
            << "segments/min:     " << st.segments_per_min << "\n"
            << "events total:     " << st.events_total << "\n"
            << "segments total:   " << st.segments_total << "\n"
            << "spool:            " << st.spool_segments << " segments, " << st.spool_bytes
            << " bytes\n"
            << "last upload:      "
            << (st.last_upload_wall_us ? FormatAge(now - st.last_upload_wall_us) : "never")
            << "\n";
  if (st.spool_purged_segments > 0) {
    std::cout << "PURGED (quota):   " << st.spool_purged_segments
              << " segments were deleted before upload\n";
  }
  if (!st.last_error.empty()) std::cout << "last error:       " << st.last_error << "\n";
}

void RegisterStatusCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "Show whether recording is on, paused or excluded, "
                                           "rates, spool size and the last upload");
  auto config = std::make_shared<std::string>(DefaultAgentConfigPath());
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--config", *config, "Agent config")->capture_default_str();
  cmd->add_flag("--json", *json, "Print the raw status JSON");
  cmd->callback([=] {
    auto cfg = LoadAgentConfig(Env::Default(), *config);
    if (!cfg.ok()) Fail(std::string(cfg.status().message()));
    Env* env = Env::Default();
    if (!env->FileExists(Agent::StatusPath(*cfg))) {
      std::cout << "recording: off (no agent has run with " << *config << ")\n";
      return;
    }
    std::string raw;
    bool answered = false, may_run = false;
    const AgentStatus st = RefreshStatus(env, *cfg, &raw, &answered, &may_run);
    if (*json) {
      std::cout << raw;
      return;
    }
    const int64_t now = env->NowWallMicros();
    // Unanswered (read-only state directory, a stalled agent): a file its
    // live process wrote within a heartbeat still counts.
    const bool fresh =
        answered || (may_run && now - st.updated_wall_us < Agent::kStatusHeartbeatUs + 5'000'000);
    PrintStatus(st, fresh && !st.final(), now);
  });
}

// ---- pause / resume ----
void RegisterPauseCommands(CLI::App& app) {
  auto* cmd = app.add_subcommand("pause", "Pause recording now (takes effect within 1 s)");
  auto config = std::make_shared<std::string>(DefaultAgentConfigPath());
  auto duration = std::make_shared<std::string>();
  cmd->add_option("--config", *config, "Agent config")->capture_default_str();
  cmd->add_option("--for", *duration, "Pause for a duration such as 90s, 15m, 2h (default: "
                                      "until `sealtrace resume`)");
  cmd->callback([=] {
    auto cfg = LoadAgentConfig(Env::Default(), *config);
    if (!cfg.ok()) Fail(std::string(cfg.status().message()));
    int64_t until = 0;
    if (!duration->empty()) {
      auto d = ParseDurationUs(*duration);
      if (!d.ok()) Fail(std::string(d.status().message()), kExitUsage);
      until = Env::Default()->NowWallMicros() + *d;
    }
    Env::Default()->CreateDirs(cfg->state_dir).IgnoreError();
    auto s = WriteFileAtomic(Env::Default(), Agent::ControlPath(*cfg),
                             "pause " + std::to_string(until) + "\n");
    if (!s.ok()) Fail(std::string(s.message()));
    std::cout << (until ? "paused for " + *duration : std::string("paused until resumed"))
              << "\n";
  });
  auto* res = app.add_subcommand("resume", "Resume recording after a pause");
  auto rconfig = std::make_shared<std::string>(DefaultAgentConfigPath());
  res->add_option("--config", *rconfig, "Agent config")->capture_default_str();
  res->callback([=] {
    auto cfg = LoadAgentConfig(Env::Default(), *rconfig);
    if (!cfg.ok()) Fail(std::string(cfg.status().message()));
    Env::Default()->CreateDirs(cfg->state_dir).IgnoreError();
    auto s = WriteFileAtomic(Env::Default(), Agent::ControlPath(*cfg), "resume\n");
    if (!s.ok()) Fail(std::string(s.message()));
    std::cout << "resumed\n";
  });
}

// ---- inspect ----
void RegisterInspectCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Print a segment's header without decrypting it");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("SEGMENT", *path, "Segment file")->required();
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([=] {
    auto data = Env::Default()->ReadFile(*path);
    if (!data.ok()) Fail(std::string(data.status().message()));
    auto h = ValidateSegmentFraming(*data);
    if (!h.ok()) Fail(*path + ": " + std::string(h.status().message()));
    nlohmann::json j{
        {"format_version", h->format_version},
        {"schema_version", h->schema_version},
        {"kind", (h->flags & kFlagFramePayload) ? "frame" : "events"},
        {"contributor_id", h->contributor_id.Hex()},
        {"device_id", h->device_id.Hex()},
        {"segment_id", h->segment_id.Hex()},
        {"sequence", h->sequence},
        {"wall_hour_start_us", h->wall_hour_start_us},
        {"wall_hour_end_us", h->wall_hour_end_us},
        {"chunk_count", h->chunk_count},
        {"sealed_bytes", data->size()},
        {"recipient_key_id", ToHex(h->recipient_key_id)},
    };
    if (h->format_version == kSegmentFormatVersionV1) {
      // v1 kept these in clear; v2 seals them (FORMAT.md §1.3).
      j["wall_anchor_us"] = h->wall_anchor_us;
      j["start_mono_us"] = h->start_mono_us;
      j["duration_us"] = h->duration_us;
      j["event_count"] = h->event_count;
      j["plaintext_bytes"] = h->plaintext_bytes;
    }
    if (*json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    for (auto& [k, v] : j.items()) {
      std::printf("%-18s %s\n", (k + ":").c_str(),
                  v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
    }
    std::printf("%-18s %s\n", "framing:", "valid (contents not decrypted)");
  });
}

}  // namespace

void RegisterAgentCommands(CLI::App& app) {
  RegisterRunCommand(app);
  RegisterConsentCommand(app);
  RegisterStatusCommand(app);
  RegisterPauseCommands(app);
  RegisterInspectCommand(app);
}

}  // namespace sealtrace::cli
