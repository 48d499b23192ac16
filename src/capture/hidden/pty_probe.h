// PtyProbe: the Linux TerminalProbe. For a window's process (the terminal
// emulator), finds the pseudo-terminals it drives (the /dev/ptmx descriptors
// it holds, "tty-index" in /proc/<pid>/fdinfo; without those, the controlling
// terminals of its descendants from /proc/<pid>/stat) and reads each one's
// termios: canonical input with echo off is a password prompt.
//
// What it sees: sudo, su, ssh/scp asking for a password or passphrase, passwd,
// getpass() (Python, C), `read -s`, mysql/psql prompts, gpg in a terminal.
// What it cannot see: prompts inside raw-mode programs (an ssh session's
// remote sudo, tmux/screen panes, editors): raw mode is not a prompt. A
// terminal emulator with several tabs counts as hidden when any of its
// terminals is at a no-echo prompt (the focused tab is not known).
//
// Cost: a /proc scan per window process at most once per `rescan_us`; per
// key press one open/tcgetattr/close per terminal of the focused window.
// Threads: Hidden() from one thread (the source's); Status() from any.
// Failure: a terminal that vanished, a process that is gone or not a terminal
// emulator, an unreadable /proc: "not hidden" for that terminal (the gate's
// rules apply), never an error.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/hidden/hidden_input.h"
#include "common/env.h"

namespace sealtrace::hidden {

class PtyProbe : public TerminalProbe {
 public:
  // `proc` and `dev_pts` are the mount points (tests may point elsewhere).
  explicit PtyProbe(Env* env, std::string proc = "/proc", std::string dev_pts = "/dev/pts",
                    int64_t rescan_us = 2'000'000);
  bool Hidden(uint32_t window_pid) override;
  std::string Status() const override;

  // The terminals (/dev/pts/N paths) `pid` drives, freshly scanned. Bounded:
  // at most 4096 descriptors or kMaxProcesses processes are looked at.
  std::vector<std::string> TerminalsOf(uint32_t pid) const;
  // True when the terminal at `path` is in canonical mode with echo off.
  static bool NoEchoPrompt(const std::string& path);

  static constexpr size_t kMaxProcesses = 65536;

 private:
  struct Cached {
    std::vector<std::string> terminals;
    int64_t scanned_us = 0;
  };
  Env* env_;
  std::string proc_, dev_pts_;
  int64_t rescan_us_;
  std::unordered_map<uint32_t, Cached> cache_;
  std::atomic<uint64_t> checks_{0}, hidden_{0};  // read by Status() on any thread
};

}  // namespace sealtrace::hidden
