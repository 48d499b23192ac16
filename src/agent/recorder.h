// Recorder: the sealing end of the device pipeline.
//
//   source -> privacy gate -> Recorder (EventSink) -> sealed segment -> Spool
//
// The recorder holds at most one open segment in memory and seals it when it
// reaches `max_segment_bytes` of encoded events or when its first event is
// `max_segment_age_us` old (checked on every event and by Tick(), which the
// agent calls a few times a second). So a crash loses at most that tail.
// If the spool refuses a segment (disk full, I/O error) the sealed segment
// stays in memory (up to kMaxUnspooled) and is retried on every Tick; beyond
// that bound the oldest is dropped and recorded as a GAP. Errors show in Stats.
// Spool purges are recorded in the next segment as a GAP control event.
//
// Thread-safety: OnEvent, Tick, Flush and Stats may be called concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "capture/source.h"
#include "common/bytes.h"
#include "common/env.h"
#include "segment/format.h"
#include "spool/spool.h"

namespace sealtrace {

struct RecorderOptions {
  Id16 contributor_id;
  Id16 device_id;
  std::string recipient_public_key;  // contributor X25519 public key, 32 bytes
  uint64_t max_segment_bytes = 1 << 20;
  int64_t max_segment_age_us = 1'000'000;  // ≤ 1 s unsealed in memory
  uint64_t first_sequence = 1;
  // 4096-entry match tables: the device seals a segment a second, and this
  // keeps the compressor's memory at 90-170 KB (format.h) instead of up to
  // 660 KB, for output 0.1 % larger on synthetic sessions (docs/BENCHMARKS.md).
  int zstd_level = 3;
  int zstd_max_table_log = 12;
};

struct RecorderStats {
  uint64_t events = 0;
  uint64_t segments = 0;
  uint64_t sealed_bytes = 0;
  uint64_t plaintext_bytes = 0;
  uint64_t frames = 0;
  uint64_t seal_errors = 0;
  uint64_t unspooled = 0;        // sealed, waiting in memory for the spool
  uint64_t dropped_segments = 0; // dropped after the in-memory bound (recorded as GAP)
  uint64_t next_sequence = 0;
  std::string last_error;
};

class Recorder final : public EventSink {
 public:
  Recorder(Env* env, Spool* spool, RecorderOptions options);
  ~Recorder() override;

  // Takes an event with an absolute device-monotonic t_us.
  void OnEvent(v1::Event event) override;
  // Seals the open segment if it is old enough.
  void Tick();
  // Seals whatever is open now (shutdown, pause, X server gone).
  absl::Status Flush();
  // Seals one frame image as its own segment and returns its FrameRef-ready id.
  absl::StatusOr<Id16> SealFrame(std::string_view png, uint64_t t_us);
  RecorderStats Stats();

 private:
  absl::Status SealLocked();
  absl::Status DrainUnspooledLocked();
  struct Unspooled {
    uint64_t sequence;
    Id16 segment_id;
    std::string bytes;
  };
  static constexpr size_t kMaxUnspooled = 64;
  std::deque<Unspooled> unspooled_;
  void StartSegmentLocked(uint64_t t_us);
  Id16 NewId();

  Env* env_;
  Spool* spool_;
  RecorderOptions opt_;
  std::mutex mu_;
  std::unique_ptr<SegmentBuilder> builder_;
  uint64_t seg_start_mono_ = 0;
  uint64_t seg_hour_end_t_ = 0;  // source µs at which the open segment's hour ends
  int64_t seg_open_at_ = 0;   // env mono time when the segment was opened
  uint64_t last_t_ = 0;       // last absolute event time (monotonic guard)
  uint64_t next_seq_;
  std::optional<PurgeReport> pending_purge_;
  RecorderStats stats_;
};

}  // namespace sealtrace
