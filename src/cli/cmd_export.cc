// sealtrace export: build a training dataset from sealed segments.
//
// Default mode: the export runs as a service principal under a grant, through
// the vault's access layer (export/access_provider.h): `--server URL
// --token-file FILE --grant ID [--ca-file PEM] [--dataset ID]`. The vault
// checks the grant (purpose, scope, expiry) and the programme state and audits
// every segment it opens; the audit checkpoint at export time goes into the
// dataset card. A refusal during the export (grant expired or revoked,
// INCIDENT, vault unavailable) stops it cleanly and resumably.
//
// `--local-segments DIR --key-file F` reads segment files with contributor
// keys directly. It bypasses the access layer (no grant, no audit) and exists
// for tests and offline tooling only; it prints a warning.
//
// Exit codes: 0 done, 1 error (including a refusal before the export began),
// 2 usage, 3 stopped cleanly (grant expired / refused mid-export) and resumable.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "export/access_provider.h"
#include "export/dp.h"
#include "export/exporter.h"
#include "export/ledger_sqlite.h"
#include "export/local_provider.h"

namespace sealtrace::cli {
namespace {

using exporter::ExportOptions;
using exporter::Progress;

constexpr int kExitStopped = 3;

std::string Duration(double s) {
  if (s < 0 || s > 360000) return "--:--";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

std::string Count(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.1fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  }
  return buf;
}

// Progress: a bar with rate and ETA on a terminal, plain lines otherwise.
class ProgressRenderer {
 public:
  ProgressRenderer(std::string mode) {
    if (mode == "auto") mode = isatty(STDERR_FILENO) ? "bar" : "plain";
    mode_ = mode;
  }
  void operator()(const Progress& p) {
    if (mode_ == "none" || p.segments_total == 0) return;
    const double frac = static_cast<double>(p.segments_done) / p.segments_total;
    const double secs = p.elapsed_us / 1e6;
    const double rate = secs > 0 ? p.events / secs : 0;
    const double eta = frac > 0 ? secs * (1 - frac) / frac : -1;
    if (mode_ == "bar") {
      constexpr int kWidth = 30;
      const int fill = static_cast<int>(frac * kWidth);
      std::string bar(fill, '#');
      bar.append(kWidth - fill, '.');
      std::fprintf(stderr, "\r%-6s [%s] %3d%% %llu/%llu segments  %s events/s  ETA %s   ",
                   p.phase.c_str(), bar.c_str(), static_cast<int>(frac * 100),
                   static_cast<unsigned long long>(p.segments_done),
                   static_cast<unsigned long long>(p.segments_total), Count(rate).c_str(),
                   Duration(eta).c_str());
      std::fflush(stderr);
      dirty_ = true;
      return;
    }
    // Plain: one line per 10% step or every 10 s.
    const int step = static_cast<int>(frac * 10);
    if (step == last_step_ && p.elapsed_us - last_line_us_ < 10'000'000) return;
    last_step_ = step;
    last_line_us_ = p.elapsed_us;
    std::fprintf(stderr, "export: %s %d%% (%llu/%llu segments, %llu events, %s events/s, ETA %s)\n",
                 p.phase.c_str(), static_cast<int>(frac * 100),
                 static_cast<unsigned long long>(p.segments_done),
                 static_cast<unsigned long long>(p.segments_total),
                 static_cast<unsigned long long>(p.events), Count(rate).c_str(),
                 Duration(eta).c_str());
  }
  void Done() {
    if (dirty_) std::fprintf(stderr, "\n");
  }

 private:
  std::string mode_;
  bool dirty_ = false;
  int last_step_ = -1;
  int64_t last_line_us_ = 0;
};

// Writes a kept pseudonym key to a file outside the dataset (0600).
class FileKeyKeeper final : public exporter::PseudonymKeyKeeper {
 public:
  explicit FileKeyKeeper(std::string path) : path_(std::move(path)) {}
  absl::Status Keep(std::string_view dataset_id, std::string_view purpose,
                    const SecretKey& key) override {
    const std::string text = "{\"dataset_id\": \"" + std::string(dataset_id) +
                             "\", \"purpose\": \"" + EscapeJson(purpose) + "\", \"key\": \"" +
                             Base64(key.view()) + "\"}\n";
    return WriteFileAtomic(Env::Default(), path_, text, 0600);
  }

 private:
  static std::string EscapeJson(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out.push_back(' ');
      } else {
        out.push_back(c);
      }
    }
    return out;
  }
  std::string path_;
};

struct Flags {
  // Access-layer mode (default).
  std::string server, token_file, ca_file, dataset;
  // Local mode (tests / offline; bypasses the access layer).
  std::string segments, key_file;
  std::string out;
  std::string grant_id, purpose, audit_checkpoint_file;
  int64_t expires_at = 0;  // Unix seconds; 0 = none
  std::string format = "both";
  uint64_t shard_episodes = 10000, shard_mb = 64;
  uint32_t k = 5;
  uint64_t quantum_ms = 100;
  uint32_t jitter_quanta = 0;
  uint64_t max_steps = 20000;
  bool frames = false;
  bool no_focus_split = false;
  uint64_t wait_ms = 3000, episode_idle_s = 60, max_episode_steps = 500;
  bool no_dp = false;
  std::string dp_ledger, dp_epsilon = "1", dp_budget = "4", dp_domain_file;
  uint32_t dp_cell_cap = 20, dp_max_cells = 10;
  std::string keep_key_purpose, key_out;
  std::string progress = "auto";
};

std::string ReadToken(const std::string& file) {
  if (!file.empty()) {
    absl::StatusOr<std::string> t = Env::Default()->ReadFile(file);
    if (!t.ok()) Fail("cannot read --token-file: " + std::string(t.status().message()));
    std::string s = *t;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (s.empty()) Fail("--token-file " + file + " is empty");
    return s;
  }
  const char* e = std::getenv("SEALTRACE_TOKEN");
  if (e != nullptr && *e != '\0') return e;
  Fail("no service token: pass --token-file FILE or set SEALTRACE_TOKEN", kExitUsage);
}

// Refuses contradictory flags; true for a --local-segments export.
bool CheckSourceFlags(const Flags& f) {
  const bool local = !f.segments.empty();
  if (local == !f.server.empty()) {
    Fail(
        "choose one source: --server URL --token-file F --grant ID (the access layer), or "
        "--local-segments DIR --key-file F (tests/offline, bypasses the access layer)",
        kExitUsage);
  }
  if (local) {
    if (f.key_file.empty()) Fail("--local-segments needs --key-file", kExitUsage);
    if (f.purpose.empty()) Fail("--local-segments needs --purpose", kExitUsage);
  } else {
    if (f.grant_id.empty()) Fail("--server needs --grant GRANT_ID", kExitUsage);
    if (!f.key_file.empty() || f.expires_at != 0 || !f.audit_checkpoint_file.empty()) {
      Fail(
          "--key-file, --expires-at and --audit-checkpoint-file belong to --local-segments; "
          "with --server the vault holds the keys, enforces the grant's expiry and supplies the "
          "audit checkpoint",
          kExitUsage);
    }
  }
  return local;
}

// The exporter's options from the flags (the DP settings are DpOptions').
ExportOptions OptionsFromFlags(const Flags& f, bool local, Env* env) {
  ExportOptions o;
  o.output_dir = f.out;
  o.grant_id = local ? (f.grant_id.empty() ? "local" : f.grant_id) : f.grant_id;
  o.purpose = f.purpose;
  if (local) {
    if (!f.audit_checkpoint_file.empty()) {
      absl::StatusOr<std::string> cp = env->ReadFile(f.audit_checkpoint_file);
      if (!cp.ok()) Fail("cannot read audit checkpoint: " + std::string(cp.status().message()));
      o.audit_checkpoint = *cp;
    } else {
      o.audit_checkpoint = "(none: local export without an audit log)";
    }
  }
  o.write_agentnet = f.format == "both" || f.format == "agentnet";
  o.write_computer13 = f.format == "both" || f.format == "computer13";
  o.shard_max_episodes = f.shard_episodes;
  o.shard_max_bytes = f.shard_mb << 20;
  o.transforms.k_anonymity = f.k;
  o.transforms.time_quantum_us = f.quantum_ms * 1000;
  o.transforms.jitter_quanta = f.jitter_quanta;
  o.transforms.max_steps_per_contributor = f.max_steps;
  o.transforms.include_frames = f.frames;
  o.reducer.split_on_focus_change = !f.no_focus_split;
  o.reducer.wait_threshold_us = f.wait_ms * 1000;
  o.reducer.episode_idle_split_us = f.episode_idle_s * 1'000'000;
  o.reducer.max_episode_steps = f.max_episode_steps;
  o.keep_pseudonym_key_purpose = f.keep_key_purpose;

  o.dp_enabled = !f.no_dp;
  return o;
}

// DP parameters and, for a local export, the local ledger file (a vault export
// is charged on the vault's ledger, see RemoteSource).
std::unique_ptr<exporter::BudgetLedger> DpOptions(const Flags& f, bool local, Env* env,
                                                  ExportOptions* o) {
  std::unique_ptr<exporter::BudgetLedger> ledger;
  if (o->dp_enabled) {
    auto eps = exporter::Rational::Parse(f.dp_epsilon);
    if (!eps.ok()) Fail("--dp-epsilon: " + std::string(eps.status().message()), kExitUsage);
    auto budget = exporter::Rational::Parse(f.dp_budget);
    if (!budget.ok()) Fail("--dp-budget: " + std::string(budget.status().message()), kExitUsage);
    o->dp.epsilon = *eps;
    o->dp.per_cell_cap = f.dp_cell_cap;
    o->dp.max_cells = f.dp_max_cells;
    if (local) {
      // Offline tooling only: a local ledger file stands in for the vault's.
      if (f.dp_ledger.empty()) {
        Fail("DP statistics from --local-segments need --dp-ledger FILE (or --no-dp)", kExitUsage);
      }
      auto l = exporter::SqliteBudgetLedger::Open(f.dp_ledger, *budget);
      if (!l.ok()) Fail(std::string(l.status().message()));
      ledger = std::move(*l);
    } else if (!f.dp_ledger.empty()) {
      Fail("--dp-ledger is for --local-segments only: with a vault, the vault's ledger is "
           "charged (budgets are set with `sealtrace server --dp-budget`)",
           kExitUsage);
    }
    if (!f.dp_domain_file.empty()) {
      absl::StatusOr<std::string> text = env->ReadFile(f.dp_domain_file);
      if (!text.ok()) Fail("cannot read --dp-app-domain: " + std::string(text.status().message()));
      std::istringstream in(*text);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') o->dp_app_domain.push_back(line);
      }
    }
  }

  return ledger;
}

// Where the export reads segments from, and whether it may still read.
struct Source {
  std::unique_ptr<exporter::SegmentProvider> provider;
  std::function<absl::Status()> authorised;
  exporter::HttpAccessProvider* remote = nullptr;  // within provider, when remote
};

Source LocalSource(const Flags& f, Env* env) {
  Source src;
  std::cerr << "sealtrace export: WARNING: --local-segments reads segment files with "
               "contributor keys directly, bypassing the access layer (no grant, no audit, no "
               "programme-state check). Use it only for tests and offline tooling, never "
               "against a vault's storage.\n";
  absl::StatusOr<std::string> key_text = env->ReadFile(f.key_file);
  if (!key_text.ok()) Fail("cannot read key file: " + std::string(key_text.status().message()));
  absl::StatusOr<exporter::KeyMap> keys = exporter::KeyMap::FromJson(*key_text);
  if (!keys.ok()) Fail(std::string(keys.status().message()));
  auto dir = exporter::DirectorySegmentProvider::Create(env, f.segments, std::move(*keys));
  if (!dir.ok()) Fail("cannot list segments: " + std::string(dir.status().message()));
  for (const auto& [name, why] : (*dir)->unlisted()) {
    std::cerr << "sealtrace export: not a segment, ignored: " << name << " (" << why << ")\n";
  }
  src.provider = std::move(*dir);
  const int64_t expires = f.expires_at;
  src.authorised = [env, expires]() -> absl::Status {
    if (expires > 0 && env->NowWallMicros() >= expires * 1'000'000) {
      return absl::DeadlineExceededError("grant expired");
    }
    return absl::OkStatus();
  };
  return src;
}

// Through the vault's access API: the grant must be approved, its purpose is
// the card's, and the vault's own ledger is charged.
Source RemoteSource(const Flags& f, ExportOptions* o,
                    std::unique_ptr<exporter::BudgetLedger>* ledger) {
  exporter::HttpAccessOptions ho;
  ho.server_url = f.server;
  ho.token = ReadToken(f.token_file);
  ho.ca_file = f.ca_file;
  ho.grant_id = f.grant_id;
  ho.dataset_id = f.dataset;
  auto http = exporter::HttpAccessProvider::Create(std::move(ho));
  if (!http.ok()) Fail(std::string(http.status().message()), kExitUsage);
  exporter::HttpAccessProvider* remote = http->get();
  absl::StatusOr<std::string> cp = remote->AuditCheckpoint();
  if (!cp.ok()) Fail("export not started: " + std::string(cp.status().message()));
  o->audit_checkpoint = *cp;
  // Purpose-bound: the dataset card states the grant's own purpose, and a
  // --purpose that says something else is refused rather than written.
  absl::StatusOr<exporter::HttpAccessProvider::GrantInfo> grant = remote->OwnGrant();
  if (!grant.ok()) Fail("export not started: " + std::string(grant.status().message()));
  if (grant->status != "approved") {
    Fail("export not started: grant.not_approved: grant " + f.grant_id + " is " +
         grant->status + " (only an approved grant, within its validity, allows an export)");
  }
  if (!o->purpose.empty() && o->purpose != grant->purpose) {
    Fail("--purpose \"" + o->purpose + "\" differs from the grant's purpose \"" +
             grant->purpose + "\": an export may serve only the purpose it was granted for",
         kExitUsage);
  }
  o->purpose = grant->purpose;
  if (o->dp_enabled) *ledger = remote->VaultLedger();
  Source src;
  src.remote = remote;
  src.authorised = [remote]() { return remote->CheckAuthorised(); };
  src.provider = std::move(*http);
  return src;
}

void Run(const Flags& f) {
  InitCrypto();
  Env* env = Env::Default();
  const bool local = CheckSourceFlags(f);
  ExportOptions o = OptionsFromFlags(f, local, env);
  std::unique_ptr<exporter::BudgetLedger> ledger;
  if (o.dp_enabled) ledger = DpOptions(f, local, env, &o);
  std::unique_ptr<FileKeyKeeper> keeper;
  if (!f.keep_key_purpose.empty()) {
    if (f.key_out.empty()) Fail("--keep-pseudonym-key needs --pseudonym-key-out FILE", kExitUsage);
    const std::string out_prefix = f.out.back() == '/' ? f.out : f.out + "/";
    if (f.key_out.rfind(out_prefix, 0) == 0 || DirName(f.key_out) == f.out) {
      Fail("--pseudonym-key-out must be outside the dataset directory", kExitUsage);
    }
    keeper = std::make_unique<FileKeyKeeper>(f.key_out);
  }

  Source source = local ? LocalSource(f, env) : RemoteSource(f, &o, &ledger);
  exporter::HttpAccessProvider* remote = source.remote;
  exporter::Exporter ex(env, source.provider.get(), o, ledger.get());
  ProgressRenderer progress(f.progress);
  ex.set_progress([&](const Progress& p) { progress(p); });
  ex.set_authorised(source.authorised);
  if (keeper) ex.set_key_keeper(keeper.get());

  absl::StatusOr<exporter::ExportResult> r = ex.Run();
  progress.Done();
  if (!r.ok()) {
    if (remote != nullptr && !remote->CheckAuthorised().ok()) {
      Fail("the vault refused the export: " + std::string(remote->CheckAuthorised().message()));
    }
    Fail(std::string(r.status().message()));
  }
  for (const auto& s : r->skipped) {
    std::cerr << "sealtrace export: skipped segment " << s.segment_id << ": " << s.reason << "\n";
  }
  std::cout << (r->completed ? "export complete" : "export stopped") << ": dataset "
            << r->dataset_id << (r->resumed ? " (resumed)" : "") << "\n"
            << "  contributors " << r->contributors << ", episodes " << r->episodes << ", steps "
            << r->steps << ", shards " << r->shards << ", frames " << r->frames
            << ", skipped segments " << r->skipped.size() << "\n";
  if (!r->epsilon_spent.empty()) {
    std::cout << "  DP: epsilon " << r->epsilon_spent << " charged per included contributor\n";
  }
  std::cout << "  output: " << f.out << "\n";
  if (remote != nullptr) {
    std::cout << "  segments opened through the access layer (each audited): " << remote->opens()
              << "\n";
  }
  if (!r->completed) {
    std::cerr << "sealtrace export: stopped: " << r->stop_reason
              << "; finished shards and the checkpoint are kept; rerun the same command under a "
                 "valid grant to resume\n";
    throw CLI::RuntimeError(kExitStopped);
  }
  if (remote != nullptr && !remote->CheckAuthorised().ok()) {
    // The refusal hit the last segment(s): the exporter recorded them as skipped.
    std::cerr << "sealtrace export: WARNING: the vault refused the export at its last segment ("
              << remote->CheckAuthorised().message()
              << "); those segments are listed as skipped in the card\n";
    throw CLI::RuntimeError(kExitStopped);
  }
}

}  // namespace

void RegisterExportCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Build a training dataset (AgentNet/OpenCUA pyautogui and OSWorld computer_13 JSONL) "
      "with pseudonyms, k-anonymous context, quantised timing and DP statistics");
  cmd->add_option("--server", f->server,
                  "Vault URL (https://host:port); the export runs through its access layer");
  cmd->add_option("--token-file", f->token_file,
                  "File holding the service principal's API token (or $SEALTRACE_TOKEN)");
  cmd->add_option("--grant", f->grant_id, "Approved grant id (g_...) the export runs under");
  cmd->add_option("--ca-file", f->ca_file, "PEM CA certificate of the vault (DIR/tls/ca.crt)");
  cmd->add_option("--dataset", f->dataset, "Dataset id, when the grant is scoped by dataset");
  cmd->add_option("--local-segments,--segments", f->segments,
                  "TEST/OFFLINE ONLY: read sealed segment files from this directory with "
                  "--key-file, bypassing the access layer (no grant, no audit)");
  cmd->add_option("--key-file", f->key_file,
                  "With --local-segments: JSON {\"<contributor id hex>\": \"<base64 X25519 "
                  "secret key>\"}");
  cmd->add_option("--out", f->out, "Output dataset directory (resumes if interrupted)")->required();
  cmd->add_option("--purpose", f->purpose,
                  "Purpose recorded in the dataset card (required with --local-segments; with "
                  "--server, default: a reference to the grant's purpose)");
  cmd->add_option("--audit-checkpoint-file", f->audit_checkpoint_file,
                  "With --local-segments: audit log checkpoint text recorded in the card");
  cmd->add_option("--expires-at", f->expires_at,
                  "With --local-segments: expiry (Unix seconds); the export stops cleanly when "
                  "reached (with --server the vault enforces the grant's expiry)");
  cmd->add_option("--format", f->format, "agentnet | computer13 | both")
      ->check(CLI::IsMember({"agentnet", "computer13", "both"}));
  cmd->add_option("--shard-episodes", f->shard_episodes, "Max episodes per shard")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--shard-mb", f->shard_mb, "Max MiB per shard")->check(CLI::PositiveNumber);
  cmd->add_option("--k", f->k, "k-anonymity threshold for app classes and titles")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--time-quantum-ms", f->quantum_ms, "Timing quantum")->check(CLI::PositiveNumber);
  cmd->add_option("--jitter-quanta", f->jitter_quanta, "Uniform jitter in quanta (0 = off)");
  cmd->add_option("--max-steps-per-contributor", f->max_steps, "Per-contributor step cap")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--frames", f->frames, "Include screen frames (not redacted!)");
  cmd->add_flag("--no-split-on-focus", f->no_focus_split, "Do not split episodes at focus changes");
  cmd->add_option("--wait-ms", f->wait_ms, "Idle gap that becomes a wait step");
  cmd->add_option("--episode-idle-s", f->episode_idle_s, "Idle gap that ends an episode");
  cmd->add_option("--max-episode-steps", f->max_episode_steps, "Max steps per episode")
      ->check(CLI::Range(2, 100000));
  cmd->add_flag("--no-dp", f->no_dp, "Do not release DP statistics");
  cmd->add_option("--dp-ledger", f->dp_ledger,
                  "SQLite privacy-budget ledger (--local-segments only; with a vault the vault's ledger)");
  cmd->add_option("--dp-epsilon", f->dp_epsilon, "Epsilon per contributor (rational, e.g. 1/2)");
  cmd->add_option("--dp-budget", f->dp_budget,
                  "Default total budget of a new contributor in --dp-ledger (local only)");
  cmd->add_option("--dp-cell-cap", f->dp_cell_cap, "Max count per contributor per cell")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dp-max-cells", f->dp_max_cells, "Max cells per contributor")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dp-app-domain", f->dp_domain_file,
                  "File listing public app classes for DP cells (one per line)");
  cmd->add_option("--keep-pseudonym-key", f->keep_key_purpose,
                  "Keep the pseudonym key for this stated PURPOSE (default: destroyed)");
  cmd->add_option("--pseudonym-key-out", f->key_out,
                  "Where a kept key goes (outside the dataset directory)");
  cmd->add_option("--progress", f->progress, "auto | bar | plain | none")
      ->check(CLI::IsMember({"auto", "bar", "plain", "none"}));
  cmd->callback([f] { Run(*f); });
}

}  // namespace sealtrace::cli
