// Agent: the recorder process. Wires
//   Source -> [privacy gate] -> Recorder -> Spool -> Uploader -> vault
// and runs the housekeeping thread (segment age, status file, pause control,
// programme state from the vault).
//
// Lifecycle: Create() validates the config and opens the spool (clear error
// if anything is wrong); Run() blocks until the source ends (replay), Stop()
// is called (signal), or the source fails; on every exit path the open
// segment is sealed and spooled before Run() returns.
//
// Thread-safety: Stop() may be called from any thread or a signal-safe
// context (it only stores an atomic flag); everything else from one thread.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "agent/config.h"
#include "agent/recorder.h"
#include "agent/uploader.h"
#include "agent/vault_client.h"
#include "capture/source.h"
#include "spool/spool.h"

namespace sealtrace {

// Optional stage between the source and the recorder (the privacy gate).
class EventFilter : public EventSink {
 public:
  // Called a few times a second from the housekeeping thread.
  virtual void SetPaused(bool paused, const std::string& reason) = 0;
  virtual bool paused() const = 0;
  virtual bool excluded() const { return false; }
  // Forwards everything held (end of input / shutdown).
  virtual void Flush() {}
};

struct AgentOptions {
  bool upload = true;              // false: spool only (vault unreachable by design)
  bool exit_when_source_ends = true;
  int64_t drain_timeout_us = 10'000'000;  // at exit, try uploading this long
  int64_t state_poll_us = 2'000'000;      // programme state poll (vault)
};

class Agent {
 public:
  // Builds the filter stage given the downstream sink (nullptr: none).
  using FilterFactory = std::function<absl::StatusOr<std::unique_ptr<EventFilter>>(
      const AgentConfig&, EventSink* downstream)>;

  static absl::StatusOr<std::unique_ptr<Agent>> Create(Env* env, AgentConfig config,
                                                       std::unique_ptr<Source> source,
                                                       AgentOptions options,
                                                       FilterFactory filter_factory = nullptr,
                                                       std::unique_ptr<VaultClient> client = nullptr);
  ~Agent();

  // Runs until the source ends or Stop(); returns the source's error, if any.
  absl::Status Run();
  // Ends now: the source stops, the open segment is sealed and spooled, and
  // unsent segments stay spooled for the next run (signal path).
  void Stop() { stop_.store(true); }
  // Ends the source but still drains uploads for up to drain_timeout_us.
  void EndSource() { end_source_.store(true); }
  // Seals a screen frame in its own segment and puts a FrameRef event into the
  // stream (through the privacy gate). Call from the source's thread.
  absl::Status SubmitFrame(std::string_view png, v1::FrameRef meta, uint64_t t_us);
  Recorder* recorder() { return recorder_.get(); }
  Spool* spool() { return spool_.get(); }
  Uploader* uploader() { return uploader_.get(); }

  // Paths of the files the CLI uses to talk to a running agent.
  static std::string StatusPath(const AgentConfig& c);
  static std::string ControlPath(const AgentConfig& c);

 private:
  Agent(Env* env, AgentConfig config, AgentOptions options)
      : env_(env), cfg_(std::move(config)), opt_(options) {}
  void Housekeeping();
  void WriteStatus(const std::string& state);

  Env* env_;
  AgentConfig cfg_;
  AgentOptions opt_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<EventFilter> filter_;
  std::unique_ptr<VaultClient> client_;
  std::unique_ptr<Uploader> uploader_;
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
  bool vault_pause_ = false;          // programme not ACTIVE, or the contributor paused
  std::string vault_pause_reason_;
  std::string source_error_;
  int64_t started_wall_us_ = 0;
};

}  // namespace sealtrace
