// Sealed segment format (see docs/FORMAT.md for the exact bytes).
//
// A segment is one file: a fixed 224-byte header, then `chunk_count` records
// of [u32 length][secretstream ciphertext]. Every chunk is authenticated with
// the whole header as associated data; the last chunk carries the FINAL tag.
// The data key (DEK) is random per segment and sealed to the contributor's
// X25519 public key with crypto_box_seal, so a device can seal but never open.
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
inline constexpr uint16_t kSegmentFormatVersion = 1;
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

struct SegmentHeader {
  uint16_t format_version = kSegmentFormatVersion;
  uint32_t schema_version = kSchemaVersion;
  uint32_t flags = 0;
  Id16 contributor_id;
  Id16 device_id;
  Id16 segment_id;
  uint64_t sequence = 0;
  int64_t wall_anchor_us = 0;   // Unix µs at event time 0
  uint64_t start_mono_us = 0;   // device monotonic µs at event time 0
  uint64_t duration_us = 0;     // t_us of the last event
  uint32_t event_count = 0;
  uint32_t chunk_count = 0;
  uint64_t plaintext_bytes = 0; // uncompressed payload bytes
  std::string recipient_key_id; // 8 bytes, KeyIdOf(contributor public key)
  std::string sealed_key;       // 80 bytes
  std::string stream_header;    // 24 bytes

  std::string Encode() const;   // exactly kSegmentHeaderBytes
};

// Parses and checks the fixed header (magic, version, lengths, known flags,
// non-zero ids). Does not decrypt. `file` may be longer than the header.
absl::StatusOr<SegmentHeader> ParseSegmentHeader(std::string_view file);

// Checks the chunk framing after the header: chunk_count records whose
// lengths are within limits and end exactly at the end of `file`. Does not
// decrypt. Returns the header on success.
absl::StatusOr<SegmentHeader> ValidateSegmentFraming(std::string_view file);

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

  // Compresses, encrypts and returns the complete segment file bytes. The
  // plaintext buffer is wiped. Call once.
  absl::StatusOr<std::string> Seal();

 private:
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
  SegmentHeader header;
  std::vector<v1::Event> events;  // for event segments
  std::string raw;                // for frame segments (kFlagFramePayload)
};

// Decrypts and verifies a whole segment with the contributor key pair. Fails
// with DATA_LOSS on any authentication, truncation, reordering or splicing
// problem, and PERMISSION_DENIED when the key does not match.
absl::StatusOr<OpenedSegment> OpenSegment(std::string_view file, std::string_view public_key,
                                          const SecretKey& secret_key);

// Serialises an event as it appears inside a chunk (varint length + bytes).
void AppendDelimited(const v1::Event& e, std::string* out);
// Parses a sequence of delimited events; fails on any malformed record.
absl::Status ParseDelimited(std::string_view data, std::vector<v1::Event>* out);

}  // namespace sealtrace
