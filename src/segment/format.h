// Sealed segment format (see docs/FORMAT.md for the exact bytes).
//
// A segment is one file: a fixed 224-byte header, then `chunk_count` records
// of [u32 length][secretstream ciphertext]. Every chunk is authenticated with
// the whole header as associated data; the last chunk carries the FINAL tag.
// The data key (DEK) is random per segment and sealed to the contributor's
// X25519 public key with crypto_box_seal, so a device can seal but never open.
//
// Format version 2 (the only one written) keeps in clear only ids, sequence,
// flags, a coarse UTC-hour time range and the chunk framing. The exact times,
// the event count and the plaintext size travel sealed, in chunk 0 (the
// "segment info" record, kSegmentInfoBytes, uncompressed). Version 1 segments
// (exact values in the clear header, no info chunk) stay readable.
//
// ParseHeader/ValidateFraming never decrypt: the ingest path uses only them.
// Opening needs the contributor's secret key and is all-or-nothing: a segment
// that fails authentication anywhere yields an error and no events.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/crypto.h"
#include "sealtrace/v1/events.pb.h"

namespace sealtrace {

inline constexpr char kSegmentMagic[4] = {'S', 'T', 'S', 'G'};
inline constexpr uint16_t kSegmentFormatVersion = 2;   // what SegmentBuilder writes
inline constexpr uint16_t kSegmentFormatVersionV1 = 1;  // read only
inline constexpr int64_t kHourUs = 3'600'000'000;        // the coarse range's unit
inline constexpr size_t kSegmentInfoBytes = 48;          // v2 chunk 0 plaintext
inline constexpr char kSegmentInfoMagic[4] = {'S', 'T', 'S', 'I'};
inline constexpr uint16_t kSegmentInfoVersion = 1;
inline constexpr uint32_t kSchemaVersion = 1;  // proto/sealtrace/v1/events.proto
inline constexpr size_t kSegmentHeaderBytes = 224;
inline constexpr size_t kSealedKeyBytes = 80;        // crypto_box_SEALBYTES + 32
inline constexpr size_t kStreamHeaderBytes = 24;     // secretstream header
inline constexpr size_t kChunkOverheadBytes = 17;    // secretstream ABYTES
inline constexpr size_t kMaxChunkPlainBytes = 1 << 20;       // compressed chunk payload
inline constexpr size_t kMaxChunkDecompressedBytes = 4 << 20;
inline constexpr size_t kMaxSegmentBytes = 64 << 20;
inline constexpr size_t kMaxEventBytes = 1 << 20;
inline constexpr uint32_t kMaxChunks = 4096;

// Header flag bits.
inline constexpr uint32_t kFlagFramePayload = 1;  // payload is one image, not events
inline constexpr uint32_t kKnownFlags = kFlagFramePayload;

// The coarse range of an exact one: [floor to the UTC hour of
// `wall_anchor_us`, the next hour boundary after `wall_anchor_us + duration_us`).
// Both ends are multiples of kHourUs; end - start >= kHourUs. INVALID_ARGUMENT
// when the arithmetic would overflow.
struct HourRange {
  int64_t start_us = 0;
  int64_t end_us = 0;
};
absl::StatusOr<HourRange> CoarseHourRange(int64_t wall_anchor_us, uint64_t duration_us);
// `t_us` floored to its UTC hour (toward negative infinity); a time in the
// partial hour just above INT64_MIN, which has no representable floor, gives
// the lowest whole hour (CoarseHourRange refuses such an anchor).
int64_t FloorToHourUs(int64_t t_us);

struct SegmentHeader {
  uint16_t format_version = kSegmentFormatVersion;
  uint32_t schema_version = kSchemaVersion;
  uint32_t flags = 0;
  Id16 contributor_id;
  Id16 device_id;
  Id16 segment_id;
  uint64_t sequence = 0;
  // Coarse range, in clear in v2; derived from the exact v1 fields by
  // ParseSegmentHeader for v1. Hour-aligned, end exclusive.
  int64_t wall_hour_start_us = 0;
  int64_t wall_hour_end_us = 0;
  // Exact values. v2: sealed (chunk 0); zero after ParseSegmentHeader /
  // ValidateSegmentFraming, filled by OpenSegment. v1: from the clear header.
  int64_t wall_anchor_us = 0;   // Unix µs at event time 0
  uint64_t start_mono_us = 0;   // device monotonic µs at event time 0
  uint64_t duration_us = 0;     // t_us of the last event
  uint32_t event_count = 0;
  uint32_t chunk_count = 0;     // chunk records in the file (v2: including the info chunk)
  uint64_t plaintext_bytes = 0; // uncompressed payload bytes (v2: not counting the info record)
  std::string recipient_key_id; // 8 bytes, KeyIdOf(contributor public key)
  std::string sealed_key;       // 80 bytes
  std::string stream_header;    // 24 bytes

  // Exactly kSegmentHeaderBytes in the layout of `format_version` (v2: the
  // exact fields are not written; v1: the coarse fields are not written).
  std::string Encode() const;
};

// Parses and checks the fixed header (magic, version 1 or 2, lengths, known
// flags, non-zero ids; v2: hour-aligned range, reserved bytes zero, at least
// two chunks). Does not decrypt. `file` may be longer than the header.
absl::StatusOr<SegmentHeader> ParseSegmentHeader(std::string_view file);

// Checks the chunk framing after the header: chunk_count records whose
// lengths are within limits and end exactly at the end of `file`. Does not
// decrypt (v2: chunk 0 must be the info record's size). Returns the header.
absl::StatusOr<SegmentHeader> ValidateSegmentFraming(std::string_view file);

class SegmentBuilder;
namespace segment_testing {
// Tests only: seal with a chosen format version (1 writes the legacy layout,
// no info chunk), clear coarse range or info record plaintext, to build old or
// deliberately inconsistent segments.
struct SealOverrides {
  uint16_t format_version = kSegmentFormatVersion;
  bool override_range = false;
  int64_t wall_hour_start_us = 0;
  int64_t wall_hour_end_us = 0;
  std::string info_record;  // non-empty: chunk 0 plaintext as given
};
absl::StatusOr<std::string> SealWith(SegmentBuilder& b, const SealOverrides& o);
}  // namespace segment_testing

// Builds one segment in memory. Not thread-safe.
class SegmentBuilder {
 public:
  struct Params {
    Id16 contributor_id;
    Id16 device_id;
    Id16 segment_id;
    uint64_t sequence = 0;
    int64_t wall_anchor_us = 0;
    uint64_t start_mono_us = 0;
    std::string recipient_public_key;  // 32 bytes
    uint32_t flags = 0;
    size_t chunk_target_bytes = 64 << 10;  // uncompressed bytes per chunk
    int zstd_level = 3;
    // 0: zstd's own hash and chain table sizes for the level. Otherwise both
    // are capped at 2^n entries, which bounds the compressor's working memory
    // (the recorder uses 12: 90-170 KB for a 1 s segment instead of 150 KB
    // to 660 KB at level 3), at a small cost in ratio.
    int zstd_max_table_log = 0;
  };
  explicit SegmentBuilder(Params p);

  // Appends one event (its t_us must be relative to this segment's start).
  void Add(const v1::Event& e);
  // Appends raw payload bytes (frame segments).
  void AddRaw(std::string_view bytes);
  size_t event_count() const { return event_count_; }
  size_t buffered_bytes() const { return total_plain_; }
  uint64_t last_t_us() const { return last_t_us_; }

  // Compresses, encrypts and returns the complete segment file bytes (format
  // version 2). The plaintext buffer is wiped. Call once.
  absl::StatusOr<std::string> Seal();

 private:
  friend absl::StatusOr<std::string> segment_testing::SealWith(SegmentBuilder&,
                                                               const segment_testing::SealOverrides&);
  absl::StatusOr<std::string> SealImpl(const segment_testing::SealOverrides& o);
  void CutChunkIfFull();
  Params p_;
  std::vector<std::string> chunks_;  // uncompressed chunk payloads
  std::string cur_;
  size_t event_count_ = 0;
  size_t total_plain_ = 0;
  uint64_t last_t_us_ = 0;
  bool sealed_ = false;
};

struct OpenedSegment {
  SegmentHeader header;  // exact fields filled (v2: from the sealed info record)
  std::vector<v1::Event> events;  // for event segments
  std::string raw;                // for frame segments (kFlagFramePayload)
};

// Decrypts and verifies a whole segment with the contributor key pair. Fails
// with DATA_LOSS on any authentication, truncation, reordering or splicing
// problem, on counts that do not match, or (v2) on a malformed info record or
// one whose exact range lies outside the clear coarse range; PERMISSION_DENIED
// when the key does not match.
absl::StatusOr<OpenedSegment> OpenSegment(std::string_view file, std::string_view public_key,
                                          const SecretKey& secret_key);

// Serialises an event as it appears inside a chunk (varint length + bytes).
void AppendDelimited(const v1::Event& e, std::string* out);
// Parses a sequence of delimited events; fails on any malformed record.
absl::Status ParseDelimited(std::string_view data, std::vector<v1::Event>* out);

}  // namespace sealtrace
