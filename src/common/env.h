// Env: every file, clock, randomness and sleep access of sealtrace's core.
//
// The core (spool, agent, vault storage) never calls the OS directly; it goes
// through an Env so tests can substitute a fault-injecting or simulated one
// (see FaultInjectionEnv in env_fault.h), as leveldb does.
//
// Thread-safety: implementations must be safe for concurrent use.
// Failure: every fallible call returns absl::Status; nothing throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace {

// A file opened for appending. Data is durable only after Sync() returns OK.
// Not thread-safe: one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual absl::Status Append(std::string_view data) = 0;
  // Flushes to stable storage (fdatasync).
  virtual absl::Status Sync() = 0;
  virtual absl::Status Close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates or truncates `path`.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                        int mode = 0600) = 0;
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Atomic on POSIX; durable only after SyncDir() of the parent.
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Names (not paths) of the entries of `dir`, excluding "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and missing parents; OK if it exists.
  virtual absl::Status CreateDirs(const std::string& dir, int mode = 0700) = 0;
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;

  // Monotonic clock, microseconds; never goes backwards.
  virtual int64_t NowMonoMicros() = 0;
  // Wall clock, microseconds since the Unix epoch; may jump.
  virtual int64_t NowWallMicros() = 0;
  virtual void SleepMicros(int64_t micros) = 0;
  // Cryptographically secure random bytes.
  virtual void RandomBytes(void* out, size_t n) = 0;

  // The process-wide POSIX Env. Never deleted.
  static Env* Default();
};

// Writes `data` to `path` atomically and durably: write temp, fsync, rename,
// fsync directory. On failure the temp file is removed and `path` is untouched.
absl::Status WriteFileAtomic(Env* env, const std::string& path, std::string_view data,
                             int mode = 0600);
// Like WriteFileAtomic (readers see the old or the new content, never a mix)
// but without the fsyncs: for advisory files rewritten often (status), where
// losing the last version in a crash is harmless.
absl::Status ReplaceFile(Env* env, const std::string& path, std::string_view data,
                         int mode = 0600);

// Refuses (FAILED_PRECONDITION, naming the chmod that fixes it) a secret file
// that group or others may access. NOT_FOUND if it does not exist.
absl::Status CheckPrivateFileMode(const std::string& path);

// The running binary's path (/proc/self/exe), "" if unknown.
std::string ExecutablePath();

// Joins two path components with exactly one '/'.
std::string JoinPath(std::string_view a, std::string_view b);
// Parent directory of `path` ("." if none).
std::string DirName(std::string_view path);

}  // namespace sealtrace
