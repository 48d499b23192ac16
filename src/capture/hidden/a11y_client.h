// A11yClient: the FocusProbe backed by the sealtrace-a11y-helper process
// (a11y_protocol.h). It starts the helper, sends queries, parses its lines
// and restarts it with exponential back-off when it exits, crashes or
// misbehaves (too many malformed lines).
//
// Ownership: owns the helper process (SIGTERM, then SIGKILL, on destruction).
// Threads: one supervisor thread reads the helper and calls the callback;
// Query/Available/Status may be called from any thread. The callback is never
// called from inside Query(), and SetCallback() waits for a call in progress.
// Failure: a helper that cannot start, exits or hangs makes Available() false
// (the filter then decides by the terminal probe and the gate's rules) and
// Status() says why; nothing here ever stops recording.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "capture/hidden/hidden_input.h"
#include "common/env.h"

namespace sealtrace::hidden {

class A11yClient : public FocusProbe {
 public:
  struct Options {
    std::string helper_path;               // the sealtrace-a11y-helper binary
    int64_t backoff_min_us = 500'000;      // first restart delay
    int64_t backoff_max_us = 30'000'000;   // longest restart delay
    int max_bad_lines = 64;                // malformed lines before a restart
  };
  A11yClient(Env* env, Options options);
  ~A11yClient() override;

  void SetCallback(std::function<void(const FocusAnswer&)> cb) override;
  void Query(uint64_t id, uint32_t window_pid) override;
  bool Available() const override { return ready_.load(); }
  std::string Status() const override;

  // How many times the helper was started (tests).
  int starts() const { return starts_.load(); }
  // The running helper's pid, 0 when none (tests, status).
  int helper_pid() const { return pid_.load(); }

  // Default helper path: sealtrace-a11y-helper beside this binary, or
  // $SEALTRACE_A11Y_HELPER when set.
  static std::string DefaultHelperPath(Env* env);

 private:
  void Supervise();
  bool RunOnce();  // one helper lifetime; false if it could not start
  void HandleLine(const std::string& line, int* bad);
  void SetStatus(std::string s);
  bool SleepInterruptible(int64_t us);

  Env* env_;
  Options opt_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<int> starts_{0};
  std::atomic<int> pid_{0};

  std::mutex write_mu_;
  int fd_ = -1;  // guarded by write_mu_

  std::mutex cb_mu_;
  std::function<void(const FocusAnswer&)> cb_;

  mutable std::mutex status_mu_;
  std::string status_ = "starting";
  bool enabled_ = false;
  std::string diagnostic_;  // the helper's last "e" line
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
};

}  // namespace sealtrace::hidden
