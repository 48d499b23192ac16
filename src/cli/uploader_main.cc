// `sealtrace-uploader`: the agent's second process (agent/upload_service.h).
// It reads only sealed segments from the spool and sends them to the vault,
// and relays the vault's programme state to the recorder. Started and
// supervised by `sealtrace agent`; it exits when that process goes away.
#include "common/harden.h"
#include <cstdio>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include "agent/config.h"
#include "agent/upload_service.h"
#include "agent/vault_client.h"
#include "crypto/crypto.h"

namespace {
std::atomic<sealtrace::UploadService*> g_service{nullptr};
void OnSignal(int) {
  if (auto* s = g_service.load()) s->RequestStop();
}
}  // namespace

int main(int argc, char** argv) {
  if (auto s = sealtrace::DisableCoreDumps(); !s.ok()) {
    std::fprintf(stderr, "sealtrace-uploader: %s\n", std::string(s.message()).c_str());
  }
  sealtrace::InitCrypto();
  CLI::App app{"sealtrace-uploader: moves sealed segments from the agent's spool to the vault"};
  std::string config;
  int64_t parent = 0;
  int64_t state_poll_ms = 2000;
  app.add_option("--config", config, "Agent config written by `sealtrace enroll`")->required();
  app.add_option("--parent-pid", parent, "Exit when this process (the recorder) is gone");
  app.add_option("--state-poll-ms", state_poll_ms, "Programme state poll interval")
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // The uploader ends with the recorder that started it: UploadService checks
  // getppid() at least once a second (PR_SET_PDEATHSIG would fire when the
  // recorder *thread* that restarted us ends, not the process).
  if (parent > 0 && getppid() != parent) return 0;  // already gone
  sealtrace::Env* env = sealtrace::Env::Default();
  auto cfg = sealtrace::LoadAgentConfig(env, config);
  if (!cfg.ok()) {
    std::cerr << "sealtrace-uploader: " << cfg.status().message() << "\n";
    return 1;
  }
  sealtrace::UploadServiceOptions opt;
  opt.state_poll_us = state_poll_ms * 1000;
  opt.parent_pid = parent;
  auto client = sealtrace::NewHttpVaultClient(cfg->server_url, cfg->device_token, cfg->ca_file);
  auto service = sealtrace::UploadService::Create(env, *cfg, std::move(client), opt);
  if (!service.ok()) {
    std::cerr << "sealtrace-uploader: " << service.status().message() << "\n";
    return 1;
  }
  g_service.store(service->get());
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  absl::Status st = (*service)->Run();
  g_service.store(nullptr);
  if (!st.ok()) {
    std::cerr << "sealtrace-uploader: " << st.message() << "\n";
    return 1;
  }
  return 0;
}
