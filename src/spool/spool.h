// Spool: the device's durable queue of sealed segments awaiting upload.
//
// Layout of the spool directory:
//   <20-digit sequence>-<32 hex segment id>.seg   sealed, complete segments
//   *.tmp                                          in-flight writes (removed at Open)
//   rejected/                                       segments the vault refused for good
//
// Put() writes temp, fsyncs, renames and fsyncs the directory, so after it
// returns OK the segment survives a crash. A segment leaves the spool only by
// Remove() (after the vault's durable acknowledgement), Quarantine() (moved to
// rejected/, kept for inspection), or the quota purge, which deletes the
// oldest segments first and reports every purge in PutResult and counters.
//
// Thread-safety: all methods are safe to call concurrently. Two processes may
// share a spool directory when one only writes (Put) and the other only reads,
// removes and quarantines (see SpoolOptions::remove_unfinished); each keeps
// its own counters, which List() refreshes from the directory.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/env.h"

namespace sealtrace {

struct SpoolOptions {
  std::string dir;
  uint64_t quota_bytes = 1ull << 30;  // 1 GiB
  // The writer owns the spool and removes *.tmp files left by a crash at
  // Open(). A second process that only uploads and removes (the uploader)
  // sets this false: a *.tmp may be a write in flight in the recorder.
  bool remove_unfinished = true;
};

struct SpoolEntry {
  std::string name;  // file name inside the spool directory
  uint64_t sequence = 0;
  Id16 segment_id;
  uint64_t size = 0;
};

struct PurgeReport {
  uint64_t segments = 0;
  uint64_t bytes = 0;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
};

struct SpoolStats {
  uint64_t segments = 0;
  uint64_t bytes = 0;
  uint64_t max_sequence = 0;
  uint64_t removed_tmp_at_open = 0;
  uint64_t purged_segments_total = 0;
  uint64_t purged_bytes_total = 0;
  uint64_t quarantined_total = 0;
};

class Spool {
 public:
  // Opens (creating if needed) the spool; removes leftover *.tmp files from a
  // crash (they were never acknowledged to anyone) and counts them.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(Env* env, SpoolOptions options);

  // Durably stores a sealed segment. If the quota is exceeded afterwards, the
  // oldest other segments are deleted and reported in the result.
  absl::StatusOr<PurgeReport> Put(uint64_t sequence, const Id16& segment_id,
                                  std::string_view bytes);
  // All complete segments, oldest (lowest sequence) first.
  absl::StatusOr<std::vector<SpoolEntry>> List();
  absl::StatusOr<std::string> Read(const SpoolEntry& e);
  // Deletes an acknowledged segment.
  absl::Status Remove(const SpoolEntry& e);
  // Moves a permanently refused segment to rejected/ with a .reason file.
  absl::Status Quarantine(const SpoolEntry& e, std::string_view reason);
  SpoolStats Stats();
  const std::string& dir() const { return opt_.dir; }

  static std::string FileName(uint64_t sequence, const Id16& segment_id);
  static bool ParseFileName(std::string_view name, uint64_t* sequence, Id16* segment_id);

 private:
  Spool(Env* env, SpoolOptions opt) : env_(env), opt_(std::move(opt)) {}
  absl::StatusOr<std::vector<SpoolEntry>> ListLocked();
  Env* env_;
  SpoolOptions opt_;
  std::mutex mu_;
  SpoolStats stats_;
};

}  // namespace sealtrace
