// Agent: the recorder process. Wires
//   Source -> [privacy gate] -> Recorder -> Spool
// and runs one housekeeping thread (segment age, status file, pause control,
// programme state, the uploader process). Uploading is done by a separate
// process, `sealtrace-uploader` (agent/upload_service.h), which the agent
// starts beside its own binary and supervises: the process that sees
// plaintext input has no network code.
//
// Lifecycle: Create() validates the config and opens the spool (clear error
// if anything is wrong); Run() blocks until the source ends (replay), Stop()
// is called (signal), or the source fails; on every exit path the open
// segment is sealed and spooled before Run() returns.
//
// The housekeeping thread sleeps until its next deadline (segment age, the
// once-a-second status file, a timed pause ending) or until it is woken: by
// Stop()/EndSource(), by the source ending, or by a change of the control
// files in the state directory (`control`, written by `sealtrace pause`, and
// `vault_state.json`, written by the uploader), watched with inotify.
//
// Thread-safety: Stop() and EndSource() may be called from any thread or a
// signal handler (an atomic store and an eventfd write); everything else from
// one thread.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "agent/config.h"
#include "agent/recorder.h"
#include "agent/state_files.h"
#include "capture/source.h"
#include "common/waiter.h"
#include "spool/spool.h"

namespace sealtrace {

// Optional stage between the source and the recorder (the privacy gate).
class EventFilter : public EventSink {
 public:
  // Called a few times a second from the housekeeping thread.
  virtual void SetPaused(bool paused, const std::string& reason) = 0;
  virtual bool paused() const = 0;
  virtual bool excluded() const { return false; }
  // The programme's window-title policy, as the vault sent it ("full",
  // "app-and-domain", "app-only"; anything else must be read as the strictest).
  // Called from the housekeeping thread whenever the programme state is read,
  // and once from Agent::Create before the source starts.
  virtual void SetTitlePolicy(const std::string& policy) {}
  // The title policy in force ("" when the filter has none).
  virtual std::string title_policy() const { return ""; }
  // Forwards everything held (end of input / shutdown).
  virtual void Flush() {}
};

struct AgentOptions {
  bool upload = true;              // false: spool only (vault unreachable by design)
  bool exit_when_source_ends = true;
  int64_t drain_timeout_us = 10'000'000;  // at exit, wait this long for the spool to empty
  int64_t state_poll_us = 2'000'000;      // programme state poll (by the uploader)
  // The uploader binary; empty: `sealtrace-uploader` beside /proc/self/exe.
  std::string uploader_path;
  // Live sources: when the source stops with UNAVAILABLE (the X server went
  // away), the agent seals what it has, reports "source_lost", and calls this
  // every reconnect_interval_us for a new, not yet started source until one
  // starts (recording goes on after a SOURCE_RESTORED marker) or the agent is
  // stopped. Empty: the agent ends with the source's error.
  std::function<absl::StatusOr<std::unique_ptr<Source>>()> reconnect;
  int64_t reconnect_interval_us = 1'000'000;
};

class Agent {
 public:
  // Builds the filter stage given the downstream sink (nullptr: none).
  using FilterFactory = std::function<absl::StatusOr<std::unique_ptr<EventFilter>>(
      const AgentConfig&, EventSink* downstream)>;

  static absl::StatusOr<std::unique_ptr<Agent>> Create(Env* env, AgentConfig config,
                                                       std::unique_ptr<Source> source,
                                                       AgentOptions options,
                                                       FilterFactory filter_factory = nullptr);
  ~Agent();

  // Runs until the source ends or Stop(); returns the source's error, if any.
  absl::Status Run();
  // Ends now: the source stops, the open segment is sealed and spooled, and
  // unsent segments stay spooled for the next run (signal path).
  void Stop() {
    stop_.store(true);
    waiter_->Wake();
  }
  // Ends the source but still drains uploads for up to drain_timeout_us.
  void EndSource() {
    end_source_.store(true);
    waiter_->Wake();
  }
  // Seals a screen frame in its own segment and puts a FrameRef event into the
  // stream (through the privacy gate). Call from the source's thread.
  absl::Status SubmitFrame(std::string_view png, v1::FrameRef meta, uint64_t t_us);
  Recorder* recorder() { return recorder_.get(); }
  Spool* spool() { return spool_.get(); }
  CaptureCounts captured() const;
  // What the uploader processes of this run did: the totals of those that
  // exited plus the current one's uploader.json (only if its pid is the one
  // this agent started). Not thread-safe: the housekeeping thread while Run()
  // runs, any thread after.
  UploadReport ReadUploadReport();

  // Paths of the files the CLI uses to talk to a running agent. status.json
  // is rewritten when the recording state changes, when a status request file
  // appears (`sealtrace status` writes one and waits for the answer), and at
  // least every kStatusHeartbeatUs otherwise.
  static constexpr int64_t kStatusHeartbeatUs = 10'000'000;
  static std::string StatusPath(const AgentConfig& c);
  static std::string StatusRequestPath(const AgentConfig& c);
  static std::string ControlPath(const AgentConfig& c);

 private:
  Agent(Env* env, AgentConfig config, AgentOptions options);
  class CountingSink;
  void Housekeeping();
  void WriteStatus(const std::string& state);
  // True if `w` saw the status request file change to a request not seen
  // before.
  bool StatusRequested(const Waiter::Result& w);
  void ReadControl();
  void ReadVaultState();
  void StartUploader();
  // Reaps an exited uploader and restarts it after a pause.
  void SuperviseUploader();
  void StopUploader();
  UploadReport ReadCurrentUploaderFile();
  void FoldUploaderReport();
  void StopSource();
  // After the source failed: replaces it with a new one (true), or gives up
  // because the agent is stopping (false).
  bool ReconnectSource(const absl::Status& lost);

  Env* env_;
  AgentConfig cfg_;
  AgentOptions opt_;
  std::mutex source_mu_;              // guards source_ (replaced on reconnect), source_error_
  std::unique_ptr<Source> source_;
  bool source_stop_requested_ = false;  // under source_mu_
  std::atomic<bool> source_lost_{false};
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<EventFilter> filter_;
  std::unique_ptr<CountingSink> counter_;
  std::unique_ptr<Waiter> waiter_;
  int uploader_pid_ = -1;           // housekeeping thread / Run only
  int64_t uploader_restart_at_ = 0;
  UploadReport upload_totals_;      // of uploaders that exited during this run
  std::atomic<bool> stop_{false};
  std::atomic<bool> source_done_{false};
  std::atomic<bool> end_source_{false};
  struct RateSample {
    int64_t mono_us;
    uint64_t events;
    uint64_t segments;
  };
  std::deque<RateSample> rate_samples_;  // housekeeping thread only
  std::string programme_state_ = "ACTIVE";
  std::string programme_title_policy_ = "full";
  std::string last_status_request_;   // housekeeping thread / Run only
  bool vault_pause_ = false;          // programme not ACTIVE, or the contributor paused
  std::string vault_pause_reason_;
  bool local_pause_ = false;          // `sealtrace pause` (control file)
  int64_t local_pause_until_wall_ = 0;  // 0: until resumed
  std::string source_error_;
  int64_t started_wall_us_ = 0;
};

}  // namespace sealtrace
