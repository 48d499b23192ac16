// Waiter: blocks a housekeeping thread until there is something to do: an
// explicit Wake() (from any thread or a signal handler), a file replaced in a
// watched directory (inotify: the control files other processes write), or a
// timeout. Replaces sleep-and-poll loops, so an idle agent does not wake up.
//
// Change reports are hints: a caller re-reads the files it cares about when
// told they changed. If inotify is unavailable (e.g. the per-user watch limit
// is reached) every Wait() reports `all_changed` and waits at most
// kFallbackPollUs, so behaviour stays correct, only less frugal.
//
// Thread-safety: Wake() is async-signal-safe and may be called from any
// thread; Wait() from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace {

class Waiter {
 public:
  static constexpr int64_t kFallbackPollUs = 250'000;

  // Watches each of `dirs` (which must exist) for files closed after writing
  // or renamed into it.
  static absl::StatusOr<std::unique_ptr<Waiter>> Create(const std::vector<std::string>& dirs);
  ~Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  void Wake();

  struct Result {
    bool woken = false;                // Wake() was called since the last Wait()
    bool all_changed = false;          // re-read everything (no inotify)
    std::vector<std::string> changed;  // names (not paths) that changed
  };
  // Waits up to `timeout_us` (< 0: without limit).
  Result Wait(int64_t timeout_us);

 private:
  Waiter() = default;
  int event_fd_ = -1;
  int inotify_fd_ = -1;
};

}  // namespace sealtrace
