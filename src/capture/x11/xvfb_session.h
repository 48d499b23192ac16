// XvfbSession: a private X server (for integration tests and `sealtrace demo`), with an optional
// window manager (openbox) and helper processes (xterm, xdotool).
//
// Start() picks a free display in :90..:120 (skipping ones whose lock file
// exists, or that another XvfbSession has reserved; Xvfb's own lock decides
// races with anything else), waits until Xvfb is ready
// (-displayfd), then optionally starts openbox and waits for its
// _NET_SUPPORTING_WM_CHECK. Every process it starts is killed by pid in
// Stop() / the destructor; nothing else is touched.
//
// Not thread-safe: use from the test thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace {

class XvfbSession {
 public:
  XvfbSession() = default;
  ~XvfbSession() { Stop(); }
  XvfbSession(const XvfbSession&) = delete;
  XvfbSession& operator=(const XvfbSession&) = delete;

  absl::Status Start(bool with_window_manager, int width = 1280, int height = 1024);
  void Stop();

  const std::string& display() const { return display_; }
  pid_t xvfb_pid() const { return xvfb_pid_; }

  // Starts a background process with DISPLAY set; killed by Stop().
  absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv);
  // Runs a command with DISPLAY set to completion; returns its stdout, or an
  // error naming the command if it fails or takes longer than `timeout_s`.
  absl::StatusOr<std::string> Run(const std::vector<std::string>& argv, int timeout_s = 30);
  // Starts `xterm -T title` running a harmless reader and returns its window
  // id once mapped; *pid gets the xterm pid.
  absl::StatusOr<uint64_t> StartXterm(const std::string& title, pid_t* pid);
  // SIGKILLs the X server (and nothing else).
  void KillXvfb();
  // Starts a new X server on the same display after KillXvfb() (no window
  // manager): what a logout/login or a crashed server looks like to clients.
  absl::Status RestartXvfb();

 private:
  std::vector<std::string> Environment() const;
  // Starts Xvfb on :n; true once it reported ready.
  absl::Status StartServer(int n);
  std::string display_;
  std::string screen_;
  int display_number_ = -1;
  pid_t xvfb_pid_ = -1;
  std::vector<pid_t> children_;  // excluding Xvfb
  // flock()ed /tmp/.sealtrace-X<n>.reserve, held from Start() to Stop(): the
  // display stays this session's while its X server is killed and
  // restarted (Xvfb's own lock file is gone in between).
  int reserve_fd_ = -1;
};

}  // namespace sealtrace
