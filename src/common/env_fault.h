// FaultInjectionEnv: an Env for tests that simulates crashes and faults.
//
// It forwards to a base Env but remembers, per file, how much was synced and
// whether its directory entry was made durable (SyncDir after create/rename).
// DropUnsyncedData() then makes the disk look as after a power loss:
// unsynced tails are cut off and entries not yet made durable disappear.
// SetFilesystemActive(false) makes every mutating call fail (like ENOSPC/EIO).
// Clocks are simulated and set by the test; they start at the given values.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>

#include "common/env.h"

namespace sealtrace {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base, int64_t mono_start = 1'000'000,
                             int64_t wall_start = 1'790'000'000'000'000);

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                int mode = 0600) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::Status CreateDirs(const std::string& dir, int mode = 0700) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  int64_t NowMonoMicros() override;
  int64_t NowWallMicros() override;
  // Advances the simulated clocks instead of sleeping.
  void SleepMicros(int64_t micros) override;
  void RandomBytes(void* out, size_t n) override;

  // --- test controls ---
  // Simulates power loss: truncates every tracked file to its synced length and
  // removes files whose directory entry was never synced.
  absl::Status DropUnsyncedData();
  // When false, every mutating call fails with UNAVAILABLE.
  void SetFilesystemActive(bool active);
  // Fails the `n`-th mutating call from now (1 = the next one) with an I/O error.
  void FailNthWrite(int n);
  void AdvanceMicros(int64_t micros);
  // Sets the wall clock (it may go backwards, as real wall clocks do).
  void SetWallMicros(int64_t wall);
  int mutating_calls() const;

  // Internal: called by files this env hands out.
  absl::Status CheckWritable(const std::string& what);
  void OnAppend(const std::string& path, size_t n);
  void OnSync(const std::string& path);

 private:
  struct FileState {
    uint64_t pos = 0;
    uint64_t synced = 0;
    bool entry_durable = false;
  };
  Env* base_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;
  bool active_ = true;
  int fail_countdown_ = 0;
  int mutating_calls_ = 0;
  int64_t mono_;
  int64_t wall_;
};

}  // namespace sealtrace
