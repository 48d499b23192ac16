// UploadService: the body of the `sealtrace-uploader` process.
//
// The agent is two processes. The recorder (`sealtrace-recorder agent`) sees
// plaintext input; it captures, gates, seals and spools, and has no network
// code at all (no TLS, no HTTP client is linked into it). The uploader sees
// only sealed segments: it moves them from the spool to the vault, and polls
// the vault for the programme state. The two share the spool directory (the
// recorder only writes it, the uploader only reads, removes and quarantines)
// and talk through two small files in the state directory:
//
//   vault_state.json  written by the uploader when the vault's answer changes;
//                     the recorder pauses itself when recording_allowed is
//                     false. The last answer persists while the vault is
//                     unreachable (a programme paused stays paused).
//   uploader.json     the uploader's counters and the spool backlog it saw,
//                     merged into the agent's status.json.
// (Both encoded and parsed by agent/state_files.h.)
//
// Run() wakes when a segment is renamed into the spool (inotify via Waiter),
// when a back-off or state-poll deadline passes, or on Wake(); it never polls
// an idle spool.
//
// Thread-safety: Run() on one thread; RequestStop() from any thread or a
// signal handler.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "agent/config.h"
#include "agent/state_files.h"
#include "agent/uploader.h"
#include "agent/vault_client.h"
#include "common/env.h"
#include "common/waiter.h"
#include "spool/spool.h"

namespace sealtrace {

struct UploadServiceOptions {
  int64_t state_poll_us = 2'000'000;   // programme state from the vault
  int64_t idle_rescan_us = 10'000'000;  // re-list an idle spool this often anyway
  // > 0: stop once this process (the recorder) is no longer our parent,
  // checked at least once a second.
  int64_t parent_pid = 0;
  UploaderOptions uploader;            // back-off; state_file is set by the service
};

class UploadService {
 public:
  // Opens the spool as a second (non-owning) process and the waiter, and
  // takes an exclusive lock on <state>/uploader.lock: a second uploader for
  // the same agent (e.g. one orphaned by a killed recorder, still finishing)
  // gets FAILED_PRECONDITION instead of racing the first.
  static absl::StatusOr<std::unique_ptr<UploadService>> Create(Env* env, AgentConfig config,
                                                               std::unique_ptr<VaultClient> client,
                                                               UploadServiceOptions options);
  // Runs until RequestStop(); returns OK then.
  absl::Status Run();
  ~UploadService();
  void RequestStop() {
    stop_.store(true);
    waiter_->Wake();
  }
  UploaderStats Stats() { return uploader_->Stats(); }


 private:
  UploadService(Env* env, AgentConfig c, UploadServiceOptions o)
      : env_(env), cfg_(std::move(c)), opt_(std::move(o)) {}
  void PollState();
  void WriteStatus();

  Env* env_;
  AgentConfig cfg_;
  UploadServiceOptions opt_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<VaultClient> client_;
  std::unique_ptr<Uploader> uploader_;
  std::unique_ptr<Waiter> waiter_;
  std::atomic<bool> stop_{false};
  int lock_fd_ = -1;
  std::optional<DeviceState> last_state_;
  std::string last_status_json_;
};

}  // namespace sealtrace
