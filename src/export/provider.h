// SegmentProvider: how the exporter reaches plaintext.
//
// The exporter never reads storage itself. The access layer implements this
// interface with a grant (purpose, scope, expiry) and audits every Open()
// before it releases plaintext; for tests and local use, export/local_provider.h
// implements it over segment files and a key map.
//
// List() returns metadata that ingest stores without decrypting (from the
// segment header); Open() decrypts one segment, all-or-nothing (a segment
// failing authentication yields an error and no events). The exporter checks
// that the opened header matches the listed metadata.
//
// Thread-safety: the exporter calls a provider from one thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "segment/format.h"

namespace sealtrace::exporter {

struct SegmentInfo {
  Id16 segment_id;
  Id16 contributor_id;
  Id16 device_id;
  uint64_t sequence = 0;
  uint64_t start_mono_us = 0;  // v1 files only (local provider); 0 when sealed (v2) or remote
  bool frame = false;  // a frame segment (kFlagFramePayload): opened only via OpenFrame
};

class SegmentProvider {
 public:
  virtual ~SegmentProvider() = default;
  // Every segment in the export's scope (event and frame segments).
  virtual absl::StatusOr<std::vector<SegmentInfo>> List() = 0;
  // Decrypts one event segment.
  virtual absl::StatusOr<OpenedSegment> Open(const SegmentInfo& segment) = 0;
  // Decrypts the frame segment whose id is `frame_id` (FrameRef.frame_id, 16 bytes).
  virtual absl::StatusOr<OpenedSegment> OpenFrame(const Id16& frame_id) = 0;
};

}  // namespace sealtrace::exporter
