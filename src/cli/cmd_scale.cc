// `sealtrace loadgen` and `sealtrace scale run|migrate|parked`: the load
// generator and the multi-machine roles (docs/DEPLOY.md).
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <thread>
#include <vector>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "audit/pg_audit_store.h"
#include "cli/commands.h"
#include "common/env.h"
#include "scale/config.h"
#include "scale/jetstream.h"
#include "scale/loadgen.h"
#include "scale/pipeline.h"
#include "scale/roles.h"

namespace sealtrace::cli {
namespace {

// "30", "30s", "500ms", "2m", "1h" -> seconds.
bool ParseDuration(const std::string& s, double* out) {
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return false;
  double v = 0;
  try {
    v = std::stod(s.substr(0, i));
  } catch (...) {
    return false;
  }
  std::string unit = s.substr(i);
  if (unit.empty() || unit == "s") {
  } else if (unit == "ms") {
    v /= 1000;
  } else if (unit == "m") {
    v *= 60;
  } else if (unit == "h") {
    v *= 3600;
  } else {
    return false;
  }
  *out = v;
  return v > 0;
}

struct LoadgenFlags {
  std::vector<std::string> servers;
  int devices = 10;
  double rate = 10;
  std::string duration = "10s";
  std::string enrol_secret_file;
  std::string devices_file;
  std::string save_devices;
  std::string acked_out;
  int frame_every = 0;
  int threads = 8;
  double segment_seconds = 10;
  uint64_t seed = 1;
};

int RunLoadgenCmd(const LoadgenFlags& f) {
  scale::LoadgenOptions o;
  for (const auto& s : f.servers) {
    // Accept comma-separated lists too.
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string one =
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!one.empty()) o.servers.push_back(one);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  o.devices = f.devices;
  o.rate = f.rate;
  if (!ParseDuration(f.duration, &o.duration_s)) {
    std::cerr << "sealtrace loadgen: bad --duration \"" << f.duration << "\" (e.g. 30s, 2m)\n";
    return 2;
  }
  if (!f.enrol_secret_file.empty()) {
    auto secret = Env::Default()->ReadFile(f.enrol_secret_file);
    if (!secret.ok()) {
      std::cerr << "sealtrace loadgen: " << secret.status().message() << "\n";
      return 1;
    }
    o.enrol_secret = *secret;
    while (!o.enrol_secret.empty() &&
           (o.enrol_secret.back() == '\n' || o.enrol_secret.back() == ' ')) {
      o.enrol_secret.pop_back();
    }
  }
  o.devices_file = f.devices_file;
  o.save_devices = f.save_devices;
  o.frame_every = f.frame_every;
  o.threads = f.threads;
  o.segment_seconds = f.segment_seconds;
  o.seed = f.seed;
  auto rep = scale::RunLoadgen(o);
  if (!rep.ok()) {
    std::cerr << "sealtrace loadgen: " << rep.status().message() << "\n";
    return 1;
  }
  std::cout << rep->ToText() << std::flush;
  if (!f.acked_out.empty()) {
    std::ofstream out(f.acked_out, std::ios::trunc);
    for (const auto& id : rep->acked_ids) out << id << "\n";
  }
  return rep->failed == 0 ? 0 : 1;
}

int RunMigrate(const std::string& config_path) {
  auto cfg = scale::LoadScaleConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "sealtrace scale migrate: " << cfg.status().message() << "\n";
    return 2;
  }
  auto store = scale::OpenMetadataStore(*cfg);  // applies the metadata migrations
  if (!store.ok()) {
    std::cerr << "sealtrace scale migrate: " << store.status().message() << "\n";
    return 1;
  }
  if (cfg->metadata.backend == "postgres") {
    auto audit = audit::PgAuditStore::Open(cfg->metadata.postgres);
    if (!audit.ok()) {
      std::cerr << "sealtrace scale migrate: audit: " << audit.status().message() << "\n";
      return 1;
    }
  }
  std::cout << "schema up to date\n";
  return 0;
}

int RunParked(const std::string& config_path, int limit) {
  auto cfg = scale::LoadScaleConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "sealtrace scale parked: " << cfg.status().message() << "\n";
    return 2;
  }
  auto js = scale::JetStream::Connect(cfg->nats.urls, "sealtrace-parked");
  if (!js.ok()) {
    std::cerr << "sealtrace scale parked: " << js.status().message() << "\n";
    return 1;
  }
  auto n = (*js)->StreamMessages(cfg->nats.park_stream);
  if (!n.ok()) {
    std::cerr << "sealtrace scale parked: " << n.status().message() << "\n";
    return 1;
  }
  std::cout << *n << " parked message(s) in " << cfg->nats.park_stream << "\n";
  int shown = 0;
  for (uint64_t seq = 1; shown < limit; ++seq) {
    auto m = (*js)->GetMessage(cfg->nats.park_stream, seq);
    if (!m.ok()) break;
    std::string seg, reason;
    for (const auto& [k, v] : m->second) {
      if (k == scale::kHdrSegment) seg = v;
      if (k == scale::kHdrParkReason) reason = v;
    }
    std::cout << "  #" << seq << " segment " << (seg.empty() ? "?" : seg) << ": " << reason << "\n";
    ++shown;
  }
  return 0;
}

}  // namespace

int RunScaleRoles(const std::string& config_path, const std::string& role) {
  auto cfg = scale::LoadScaleConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "sealtrace: " << cfg.status().message() << "\n";
    return 2;
  }
  std::vector<std::string> roles = role.empty() ? cfg->roles : std::vector<std::string>{role};
  if (roles.empty()) {
    std::cerr
        << "sealtrace: no role given (--role ingest|writer, or roles = [...] in the config)\n";
    return 2;
  }
  for (const auto& r : roles) {
    if (r != "ingest" && r != "writer") {
      std::cerr << "sealtrace: unknown role \"" << r << "\" (ingest | writer)\n";
      return 2;
    }
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> running{static_cast<int>(roles.size())};
  std::atomic<int> rc{0};
  scale::RoleOptions o;
  o.stop = &stop;
  o.on_listening = [](int port) {
    std::cout << "sealtrace ingest gateway listening on port " << port << std::endl;
  };
  std::vector<std::thread> threads;
  for (const auto& r : roles) {
    threads.emplace_back([&, r] {
      absl::Status s = r == "ingest" ? scale::RunIngestGateway(*cfg, o) : scale::RunWriter(*cfg, o);
      if (!s.ok()) {
        std::cerr << "sealtrace " << r << ": " << s.message() << "\n";
        rc = 1;
        stop = true;
      }
      running--;
    });
  }
  timespec tick{0, 200 * 1000 * 1000};
  while (running.load() > 0) {
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received signal {}, stopping", sig);
      stop = true;
    }
  }
  for (auto& t : threads) t.join();
  return rc.load();
}

void RegisterScaleCommands(CLI::App& app) {
  auto lf = std::make_shared<LoadgenFlags>();
  CLI::App* lg = app.add_subcommand(
      "loadgen",
      "Simulate N devices uploading realistic sealed segments at a fixed rate; report\n"
      "throughput and acknowledgement latency (p50/p90/p99/max). Works against the embedded\n"
      "vault and against ingest gateways alike.");
  lg->add_option("--server", lf->servers, "Vault or gateway URL (repeat or comma-separate)")
      ->required();
  lg->add_option("--devices", lf->devices, "Simulated devices")->capture_default_str();
  lg->add_option("--rate", lf->rate, "Segments per second, all devices together")
      ->capture_default_str();
  lg->add_option("--duration", lf->duration, "How long to send (e.g. 30s, 2m)")
      ->capture_default_str();
  lg->add_option("--enrol-secret-file", lf->enrol_secret_file,
                 "Enrolment secret file (enrols the devices)");
  lg->add_option("--devices-file", lf->devices_file,
                 "Pre-enrolled devices (JSON lines from --save-devices)");
  lg->add_option("--save-devices", lf->save_devices, "Write the devices used here (0600)");
  lg->add_option("--acked-out", lf->acked_out, "Write acknowledged segment ids here");
  lg->add_option("--frames-every", lf->frame_every, "Every Nth segment is a ~300 KiB frame");
  lg->add_option("--threads", lf->threads, "Concurrent uploads")->capture_default_str();
  lg->add_option("--segment-seconds", lf->segment_seconds,
                 "Simulated seconds per segment (13 events/s)")
      ->capture_default_str();
  lg->add_option("--seed", lf->seed, "Seed (device names, payloads)")->capture_default_str();
  lg->callback([lf] {
    int rc = RunLoadgenCmd(*lf);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  CLI::App* sc = app.add_subcommand(
      "scale", "Multi-machine roles: ingest gateways and writers over NATS JetStream");
  sc->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>();
  CLI::App* run = sc->add_subcommand(
      "run", "Run the roles of a scale config (same as `sealtrace server --role ROLE --config`)");
  run->add_option("--config", *config, "Scale config (TOML)")->required();
  run->add_option("--role", *role, "ingest | writer (default: roles from the config)");
  run->callback([config, role] {
    int rc = RunScaleRoles(*config, *role);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
  CLI::App* mig = sc->add_subcommand("migrate", "Apply the PostgreSQL schema migrations");
  mig->add_option("--config", *config, "Scale config (TOML)")->required();
  mig->callback([config] {
    int rc = RunMigrate(*config);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
  auto limit = std::make_shared<int>(50);
  CLI::App* parked = sc->add_subcommand("parked", "List parked (poison) messages");
  parked->add_option("--config", *config, "Scale config (TOML)")->required();
  parked->add_option("--limit", *limit, "At most this many")->capture_default_str();
  parked->callback([config, limit] {
    int rc = RunParked(*config, *limit);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sealtrace::cli
