// Test helper: run commands and keep child processes (fork/exec, no shell).
// Output goes to a log file. Thread-safety: none (use from the test thread).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace::testing {

// Runs argv to completion; returns its exit status (128+signal if killed).
absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv, const std::string& log_path);
// Starts argv in the background (own process group); returns its pid.
absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                                   const std::string& log_path);
// Sends `sig` to the process and waits for it (no-op for pid <= 0).
void KillProcess(pid_t pid, int sig);
// A free TCP port on 127.0.0.1 (bind to port 0 and release).
int FreeLoopbackPort();
// argv prefix that runs a command as the postgres user when we are root.
std::vector<std::string> AsPostgres(std::vector<std::string> argv);

}  // namespace sealtrace::testing
