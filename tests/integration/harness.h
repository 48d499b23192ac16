// Test harness for whole-process tests: spawn `sealtrace` subcommands, kill
// them (SIGKILL at arbitrary moments), pick free loopback ports, scan trees
// for planted canaries. POSIX only; used by tests, never by the product.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sealtrace::testing {

// Path of the sealtrace binary under test (env SEALTRACE_BINARY).
std::string SealtraceBinary();
// CLOCK_MONOTONIC in µs: the clock the agent stamps events with.
int64_t MonoNowUs();
std::string MakeTempDir(const std::string& prefix);
int FreeLoopbackPort();

class Process {
 public:
  // Starts argv[0] with args; stdout+stderr go to `log_path` (appended).
  Process(std::vector<std::string> argv, const std::string& log_path,
          std::vector<std::string> extra_env = {});
  ~Process();
  pid_t pid() const { return pid_; }
  void Kill9();
  void Terminate();  // SIGTERM
  // Waits up to timeout_ms; returns the exit code, -signal if killed, or
  // -1000 on timeout (the process keeps running).
  int Wait(int timeout_ms);
  bool Running();

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// Runs a command to completion and returns its exit code; output to log.
int RunToExit(std::vector<std::string> argv, const std::string& log_path, int timeout_ms = 120000,
              std::vector<std::string> extra_env = {});

// Polls http://127.0.0.1:port/healthz until it answers 200 or timeout.
bool WaitHealthy(int port, int timeout_ms);
// The same over HTTPS, verifying the server against `ca_file`.
bool WaitHealthyTls(int port, const std::string& ca_file, int timeout_ms);

// Every regular file under `root` (recursively) whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& root, const std::string& needle);
std::string ReadAll(const std::string& path);
void WriteAll(const std::string& path, const std::string& data);

}  // namespace sealtrace::testing
