#include "segment/format.h"

#include <sodium.h>
#include <zstd.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <memory>

#include "google/protobuf/io/coded_stream.h"

namespace sealtrace {
namespace {

// Header field offsets (docs/FORMAT.md §1.1). Shared by both versions.
constexpr size_t kOffVersion = 4;
constexpr size_t kOffHeaderLen = 6;
constexpr size_t kOffSchema = 8;
constexpr size_t kOffFlags = 12;
constexpr size_t kOffContributor = 16;
constexpr size_t kOffDevice = 32;
constexpr size_t kOffSegment = 48;
constexpr size_t kOffSequence = 64;
constexpr size_t kOffChunks = 100;
constexpr size_t kOffKeyId = 112;
constexpr size_t kOffSealedKey = 120;
constexpr size_t kOffStreamHeader = 200;
// v1 only: the exact values in clear.
constexpr size_t kOffWall = 72;
constexpr size_t kOffMono = 80;
constexpr size_t kOffDuration = 88;
constexpr size_t kOffEvents = 96;
constexpr size_t kOffPlain = 104;
// v2 only: the coarse range, and the reserved (zero) ranges.
constexpr size_t kOffHourStart = 72;
constexpr size_t kOffHourEnd = 80;
struct Reserved {
  size_t off, len;
};
constexpr Reserved kReservedV2[] = {{88, 12}, {104, 8}};
// Info record (v2 chunk 0 plaintext) offsets (docs/FORMAT.md §1.3).
constexpr size_t kInfoOffVersion = 4;
constexpr size_t kInfoOffLength = 6;
constexpr size_t kInfoOffWall = 8;
constexpr size_t kInfoOffMono = 16;
constexpr size_t kInfoOffDuration = 24;
constexpr size_t kInfoOffEvents = 32;
constexpr size_t kInfoOffReserved = 36;
constexpr size_t kInfoOffPlain = 40;
static_assert(kInfoOffPlain + 8 == kSegmentInfoBytes);
static_assert(kOffStreamHeader + kStreamHeaderBytes == kSegmentHeaderBytes);
static_assert(kSealedKeyBytes ==
              crypto_box_SEALBYTES + crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(kStreamHeaderBytes == crypto_secretstream_xchacha20poly1305_HEADERBYTES);
static_assert(kChunkOverheadBytes == crypto_secretstream_xchacha20poly1305_ABYTES);

int64_t FloorHour(int64_t t) { return FloorToHourUs(t); }

std::string EncodeInfo(const SegmentHeader& h) {
  std::string r;
  r.reserve(kSegmentInfoBytes);
  r.append(kSegmentInfoMagic, 4);
  PutU16(&r, kSegmentInfoVersion);
  PutU16(&r, static_cast<uint16_t>(kSegmentInfoBytes));
  PutU64(&r, static_cast<uint64_t>(h.wall_anchor_us));
  PutU64(&r, h.start_mono_us);
  PutU64(&r, h.duration_us);
  PutU32(&r, h.event_count);
  PutU32(&r, 0);
  PutU64(&r, h.plaintext_bytes);
  return r;
}

// Parses the info record into `h`'s exact fields and checks it against the
// clear header. Every failure is DATA_LOSS: the record authenticated, so a
// bad one was written so (a faulty or hostile writer).
absl::Status DecodeInfo(std::string_view r, SegmentHeader* h) {
  if (r.size() != kSegmentInfoBytes)
    return absl::DataLossError("segment info record has a bad size");
  const char* p = r.data();
  if (std::memcmp(p, kSegmentInfoMagic, 4) != 0 ||
      GetU16(p + kInfoOffVersion) != kSegmentInfoVersion ||
      GetU16(p + kInfoOffLength) != kSegmentInfoBytes || GetU32(p + kInfoOffReserved) != 0) {
    return absl::DataLossError("segment info record is malformed");
  }
  h->wall_anchor_us = static_cast<int64_t>(GetU64(p + kInfoOffWall));
  h->start_mono_us = GetU64(p + kInfoOffMono);
  h->duration_us = GetU64(p + kInfoOffDuration);
  h->event_count = GetU32(p + kInfoOffEvents);
  h->plaintext_bytes = GetU64(p + kInfoOffPlain);
  if (h->plaintext_bytes > static_cast<uint64_t>(h->chunk_count - 1) * kMaxChunkDecompressedBytes) {
    return absl::DataLossError("segment info: plaintext size out of range");
  }
  int64_t last = 0;
  if (h->duration_us > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      __builtin_add_overflow(h->wall_anchor_us, static_cast<int64_t>(h->duration_us), &last) ||
      h->wall_anchor_us < h->wall_hour_start_us || last >= h->wall_hour_end_us) {
    return absl::DataLossError(
        "segment info: the sealed time range lies outside the header's coarse range");
  }
  return absl::OkStatus();
}

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

namespace {
// The lowest whole hour an int64 holds; times below it have no floor hour.
constexpr int64_t kLowestHourUs = (std::numeric_limits<int64_t>::min() / kHourUs) * kHourUs;
}  // namespace

int64_t FloorToHourUs(int64_t t) {
  if (t < kLowestHourUs) return kLowestHourUs;  // no representable floor: clamp
  int64_t q = t / kHourUs;
  if (t % kHourUs != 0 && t < 0) --q;
  return q * kHourUs;
}

absl::StatusOr<HourRange> CoarseHourRange(int64_t wall_anchor_us, uint64_t duration_us) {
  int64_t last = 0;
  if (wall_anchor_us < kLowestHourUs ||
      duration_us > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      __builtin_add_overflow(wall_anchor_us, static_cast<int64_t>(duration_us), &last)) {
    return absl::InvalidArgumentError("segment time range out of range");
  }
  HourRange r;
  r.start_us = FloorHour(wall_anchor_us);
  if (__builtin_add_overflow(FloorHour(last), kHourUs, &r.end_us)) {
    return absl::InvalidArgumentError("segment time range out of range");
  }
  return r;
}

std::string SegmentHeader::Encode() const {
  std::string h;
  h.reserve(kSegmentHeaderBytes);
  h.append(kSegmentMagic, 4);
  PutU16(&h, format_version);
  PutU16(&h, static_cast<uint16_t>(kSegmentHeaderBytes));
  PutU32(&h, schema_version);
  PutU32(&h, flags);
  h.append(contributor_id.Bytes());
  h.append(device_id.Bytes());
  h.append(segment_id.Bytes());
  PutU64(&h, sequence);
  if (format_version == kSegmentFormatVersionV1) {
    PutU64(&h, static_cast<uint64_t>(wall_anchor_us));
    PutU64(&h, start_mono_us);
    PutU64(&h, duration_us);
    PutU32(&h, event_count);
    PutU32(&h, chunk_count);
    PutU64(&h, plaintext_bytes);
  } else {
    PutU64(&h, static_cast<uint64_t>(wall_hour_start_us));
    PutU64(&h, static_cast<uint64_t>(wall_hour_end_us));
    h.append(12, '\0');  // reserved
    PutU32(&h, chunk_count);
    h.append(8, '\0');  // reserved
  }
  std::string kid = recipient_key_id;
  kid.resize(kKeyIdBytes, '\0');
  h.append(kid);
  std::string sk = sealed_key;
  sk.resize(kSealedKeyBytes, '\0');
  h.append(sk);
  std::string sh = stream_header;
  sh.resize(kStreamHeaderBytes, '\0');
  h.append(sh);
  return h;
}

absl::StatusOr<SegmentHeader> ParseSegmentHeader(std::string_view file) {
  if (file.size() < kSegmentHeaderBytes) {
    return absl::InvalidArgumentError("segment shorter than its " +
                                      std::to_string(kSegmentHeaderBytes) + "-byte header (" +
                                      std::to_string(file.size()) + " bytes)");
  }
  const char* p = file.data();
  if (std::memcmp(p, kSegmentMagic, 4) != 0) {
    return absl::InvalidArgumentError("not a sealtrace segment (bad magic)");
  }
  SegmentHeader h;
  h.format_version = GetU16(p + kOffVersion);
  if (h.format_version != kSegmentFormatVersion && h.format_version != kSegmentFormatVersionV1) {
    return absl::InvalidArgumentError("unsupported segment format version " +
                                      std::to_string(h.format_version));
  }
  if (GetU16(p + kOffHeaderLen) != kSegmentHeaderBytes) {
    return absl::InvalidArgumentError("bad segment header length");
  }
  h.schema_version = GetU32(p + kOffSchema);
  if (h.schema_version == 0 || h.schema_version > kSchemaVersion) {
    return absl::InvalidArgumentError("unsupported event schema version " +
                                      std::to_string(h.schema_version));
  }
  h.flags = GetU32(p + kOffFlags);
  if ((h.flags & ~kKnownFlags) != 0) return absl::InvalidArgumentError("unknown segment flags");
  h.contributor_id = *Id16::FromBytes(file.substr(kOffContributor, 16));
  h.device_id = *Id16::FromBytes(file.substr(kOffDevice, 16));
  h.segment_id = *Id16::FromBytes(file.substr(kOffSegment, 16));
  if (h.contributor_id.IsZero() || h.device_id.IsZero() || h.segment_id.IsZero()) {
    return absl::InvalidArgumentError("segment header has an all-zero id");
  }
  h.sequence = GetU64(p + kOffSequence);
  h.chunk_count = GetU32(p + kOffChunks);
  const uint32_t min_chunks = h.format_version == kSegmentFormatVersionV1 ? 1 : 2;
  if (h.chunk_count < min_chunks || h.chunk_count > kMaxChunks) {
    return absl::InvalidArgumentError("segment chunk count out of range: " +
                                      std::to_string(h.chunk_count));
  }
  if (h.format_version == kSegmentFormatVersionV1) {
    h.wall_anchor_us = static_cast<int64_t>(GetU64(p + kOffWall));
    h.start_mono_us = GetU64(p + kOffMono);
    h.duration_us = GetU64(p + kOffDuration);
    h.event_count = GetU32(p + kOffEvents);
    h.plaintext_bytes = GetU64(p + kOffPlain);
    if (h.plaintext_bytes > static_cast<uint64_t>(h.chunk_count) * kMaxChunkDecompressedBytes) {
      return absl::InvalidArgumentError("segment plaintext size out of range");
    }
    // The coarse range a v2 writer would have put in clear: what the vault keeps.
    auto r = CoarseHourRange(h.wall_anchor_us, h.duration_us);
    if (!r.ok()) return r.status();
    h.wall_hour_start_us = r->start_us;
    h.wall_hour_end_us = r->end_us;
  } else {
    for (const Reserved& r : kReservedV2) {
      for (size_t i = 0; i < r.len; ++i) {
        if (p[r.off + i] != 0)
          return absl::InvalidArgumentError("segment header reserved bytes are not zero");
      }
    }
    h.wall_hour_start_us = static_cast<int64_t>(GetU64(p + kOffHourStart));
    h.wall_hour_end_us = static_cast<int64_t>(GetU64(p + kOffHourEnd));
    if (h.wall_hour_start_us % kHourUs != 0 || h.wall_hour_end_us % kHourUs != 0 ||
        h.wall_hour_end_us <= h.wall_hour_start_us) {
      return absl::InvalidArgumentError("segment time range is not a range of whole UTC hours");
    }
  }
  h.recipient_key_id = std::string(file.substr(kOffKeyId, kKeyIdBytes));
  h.sealed_key = std::string(file.substr(kOffSealedKey, kSealedKeyBytes));
  h.stream_header = std::string(file.substr(kOffStreamHeader, kStreamHeaderBytes));
  return h;
}

absl::StatusOr<SegmentHeader> ValidateSegmentFraming(std::string_view file) {
  if (file.size() > kMaxSegmentBytes) {
    return absl::InvalidArgumentError("segment larger than the limit of " +
                                      std::to_string(kMaxSegmentBytes) + " bytes");
  }
  auto h = ParseSegmentHeader(file);
  if (!h.ok()) return h.status();
  size_t pos = kSegmentHeaderBytes;
  for (uint32_t i = 0; i < h->chunk_count; ++i) {
    if (file.size() - pos < 4) {
      return absl::InvalidArgumentError("segment truncated in chunk " + std::to_string(i) +
                                        " length");
    }
    uint32_t n = GetU32(file.data() + pos);
    pos += 4;
    if (n < kChunkOverheadBytes || n > kMaxChunkPlainBytes + kChunkOverheadBytes) {
      return absl::InvalidArgumentError("chunk " + std::to_string(i) + " length out of range");
    }
    if (i == 0 && h->format_version != kSegmentFormatVersionV1 &&
        n != kSegmentInfoBytes + kChunkOverheadBytes) {
      return absl::InvalidArgumentError("chunk 0 is not a segment info record");
    }
    if (file.size() - pos < n) {
      return absl::InvalidArgumentError("segment truncated in chunk " + std::to_string(i));
    }
    pos += n;
  }
  if (pos != file.size()) {
    return absl::InvalidArgumentError("trailing bytes after the last chunk");
  }
  return h;
}

void AppendDelimited(const v1::Event& e, std::string* out) {
  // Per-event path of the recorder: serialise straight into the chunk buffer.
  const size_t size = e.ByteSizeLong();
  uint32_t n = static_cast<uint32_t>(size);
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  const size_t at = out->size();
  out->resize(at + size);
  e.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out->data() + at));
}

absl::Status ParseDelimited(std::string_view data, std::vector<v1::Event>* out) {
  size_t pos = 0;
  while (pos < data.size()) {
    uint64_t n = 0;
    int shift = 0;
    for (;;) {
      if (pos >= data.size()) return absl::DataLossError("truncated event length");
      uint8_t b = static_cast<uint8_t>(data[pos++]);
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
      if (shift > 28) return absl::DataLossError("event length varint too long");
    }
    if (n > kMaxEventBytes || n > data.size() - pos) {
      return absl::DataLossError("event length out of range");
    }
    v1::Event e;
    if (!e.ParseFromArray(data.data() + pos, static_cast<int>(n))) {
      return absl::DataLossError("malformed event record");
    }
    out->push_back(std::move(e));
    pos += n;
  }
  return absl::OkStatus();
}

SegmentBuilder::SegmentBuilder(Params p) : p_(std::move(p)) {
  if (p_.chunk_target_bytes == 0 || p_.chunk_target_bytes > kMaxChunkPlainBytes / 2) {
    p_.chunk_target_bytes = 64 << 10;
  }
}

void SegmentBuilder::CutChunkIfFull() {
  if (cur_.size() >= p_.chunk_target_bytes) {
    chunks_.push_back(std::move(cur_));
    cur_.clear();
  }
}

void SegmentBuilder::Add(const v1::Event& e) {
  size_t before = cur_.size();
  AppendDelimited(e, &cur_);
  total_plain_ += cur_.size() - before;
  ++event_count_;
  if (e.t_us() > last_t_us_) last_t_us_ = e.t_us();
  CutChunkIfFull();
}

void SegmentBuilder::AddRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t take = std::min(bytes.size(), p_.chunk_target_bytes - cur_.size());
    cur_.append(bytes.substr(0, take));
    total_plain_ += take;
    bytes.remove_prefix(take);
    CutChunkIfFull();
  }
}

namespace {

// The process's one cached zstd compression context: taken for one Seal()
// and put back after; if two threads seal at once, the second gets a fresh
// context, freed when it is done. Keeps one context's memory (about 90-670 KB
// by level and table cap) however many threads seal.
std::atomic<ZSTD_CCtx*> g_cached_cctx{nullptr};

class CachedCCtx {
 public:
  CachedCCtx() : c_(g_cached_cctx.exchange(nullptr)) {
    if (c_ == nullptr) c_ = ZSTD_createCCtx();
  }
  ~CachedCCtx() {
    if (c_ == nullptr) return;
    ZSTD_CCtx* empty = nullptr;
    if (!g_cached_cctx.compare_exchange_strong(empty, c_)) ZSTD_freeCCtx(c_);
  }
  CachedCCtx(const CachedCCtx&) = delete;
  CachedCCtx& operator=(const CachedCCtx&) = delete;
  ZSTD_CCtx* get() const { return c_; }

 private:
  ZSTD_CCtx* c_;
};

}  // namespace

absl::StatusOr<std::string> SegmentBuilder::Seal() {
  return SealImpl(segment_testing::SealOverrides{});
}

namespace segment_testing {
absl::StatusOr<std::string> SealWith(SegmentBuilder& b, const SealOverrides& o) {
  return b.SealImpl(o);
}
}  // namespace segment_testing

absl::StatusOr<std::string> SegmentBuilder::SealImpl(const segment_testing::SealOverrides& o) {
  if (sealed_) return absl::FailedPreconditionError("segment already sealed");
  const bool v1 = o.format_version == kSegmentFormatVersionV1;
  sealed_ = true;
  InitCrypto();
  if (p_.recipient_public_key.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError("recipient public key must be 32 bytes");
  }
  if (!cur_.empty() || chunks_.empty()) chunks_.push_back(std::move(cur_));
  cur_.clear();
  // v2: chunk 0 is the info record, so one payload chunk fewer fits.
  if (chunks_.size() + (v1 ? 0 : 1) > kMaxChunks) {
    return absl::InvalidArgumentError("too many chunks");
  }
  auto range = CoarseHourRange(p_.wall_anchor_us, last_t_us_);
  if (!range.ok()) return range.status();

  // Compress each chunk independently so a reader needs one chunk in memory.
  std::vector<std::string> compressed;
  compressed.reserve(chunks_.size());
  // One compression context for the process, reused across segments
  // (creating one per chunk costs more than compressing a second of input). A
  // sealer that finds it taken by another thread uses a context of its own.
  CachedCCtx cctx;
  if (cctx.get() == nullptr) return absl::ResourceExhaustedError("cannot allocate a zstd context");
  ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
  size_t set = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, p_.zstd_level);
  if (!ZSTD_isError(set) && p_.zstd_max_table_log > 0) {
    set = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_hashLog, p_.zstd_max_table_log);
    if (!ZSTD_isError(set)) {
      set = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_chainLog, p_.zstd_max_table_log);
    }
  }
  if (ZSTD_isError(set)) return absl::InvalidArgumentError(ZSTD_getErrorName(set));
  for (auto& c : chunks_) {
    std::string z(ZSTD_compressBound(c.size()), '\0');
    size_t zn = ZSTD_compress2(cctx.get(), z.data(), z.size(), c.data(), c.size());
    if (ZSTD_isError(zn)) return absl::InternalError(ZSTD_getErrorName(zn));
    if (zn > kMaxChunkPlainBytes) return absl::InvalidArgumentError("chunk too large");
    z.resize(zn);
    sodium_memzero(c.data(), c.size());
    compressed.push_back(std::move(z));
  }

  SecretKey dek;
  crypto_secretstream_xchacha20poly1305_keygen(dek.data());
  SegmentHeader h;
  h.format_version = o.format_version;
  h.flags = p_.flags;
  h.contributor_id = p_.contributor_id;
  h.device_id = p_.device_id;
  h.segment_id = p_.segment_id;
  h.sequence = p_.sequence;
  h.wall_anchor_us = p_.wall_anchor_us;
  h.start_mono_us = p_.start_mono_us;
  h.duration_us = last_t_us_;
  h.event_count = static_cast<uint32_t>(event_count_);
  h.chunk_count = static_cast<uint32_t>(compressed.size() + (v1 ? 0 : 1));
  h.plaintext_bytes = total_plain_;
  h.wall_hour_start_us = o.override_range ? o.wall_hour_start_us : range->start_us;
  h.wall_hour_end_us = o.override_range ? o.wall_hour_end_us : range->end_us;
  h.recipient_key_id = KeyIdOf(p_.recipient_public_key);
  h.sealed_key.assign(kSealedKeyBytes, '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(h.sealed_key.data()), dek.data(), dek.size(),
                  U(p_.recipient_public_key));
  h.stream_header.assign(kStreamHeaderBytes, '\0');
  crypto_secretstream_xchacha20poly1305_state st;
  crypto_secretstream_xchacha20poly1305_init_push(
      &st, reinterpret_cast<unsigned char*>(h.stream_header.data()), dek.data());

  std::string ad = h.Encode();
  std::string out = ad;
  if (!v1) {
    // Chunk 0: the exact values, sealed and not compressed (fixed size).
    std::string info = o.info_record.empty() ? EncodeInfo(h) : o.info_record;
    PutU32(&out, static_cast<uint32_t>(info.size() + kChunkOverheadBytes));
    size_t at = out.size();
    out.resize(at + info.size() + kChunkOverheadBytes);
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&st, reinterpret_cast<unsigned char*>(&out[at]),
                                               &clen, U(info), info.size(), U(ad), ad.size(),
                                               crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    sodium_memzero(info.data(), info.size());
  }
  for (size_t i = 0; i < compressed.size(); ++i) {
    const std::string& z = compressed[i];
    uint8_t tag = (i + 1 == compressed.size()) ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                               : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    PutU32(&out, static_cast<uint32_t>(z.size() + kChunkOverheadBytes));
    size_t at = out.size();
    out.resize(at + z.size() + kChunkOverheadBytes);
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&st, reinterpret_cast<unsigned char*>(&out[at]),
                                               &clen, U(z), z.size(), U(ad), ad.size(), tag);
  }
  sodium_memzero(&st, sizeof(st));
  chunks_.clear();
  return out;
}

namespace {

// Reads a segment's chunks in order, authenticating each against the header
// (associated data). Wipes the stream state when done.
class ChunkReader {
 public:
  ChunkReader(std::string_view file, size_t pos)
      : file_(file), ad_(file.substr(0, kSegmentHeaderBytes)), pos_(pos) {}
  ~ChunkReader() { sodium_memzero(&st_, sizeof(st_)); }
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  bool Init(const SegmentHeader& h, const SecretKey& dek) {
    return crypto_secretstream_xchacha20poly1305_init_pull(&st_, U(h.stream_header), dek.data()) ==
           0;
  }
  // The next chunk's plaintext into *plain and its tag; false when it does
  // not authenticate (tampered, reordered or spliced). Framing was validated.
  bool Pull(std::string* plain, unsigned char* tag) {
    const uint32_t n = GetU32(file_.data() + pos_);
    pos_ += 4;
    plain->resize(n - kChunkOverheadBytes);
    unsigned long long mlen = 0;
    const bool ok = crypto_secretstream_xchacha20poly1305_pull(
                        &st_, reinterpret_cast<unsigned char*>(plain->data()), &mlen, tag,
                        U(file_.substr(pos_, n)), n, U(ad_), ad_.size()) == 0;
    pos_ += n;
    if (ok) plain->resize(mlen);
    return ok;
  }

 private:
  crypto_secretstream_xchacha20poly1305_state st_;
  std::string_view file_, ad_;
  size_t pos_;
};

// Chunk 0 of a v2 segment: the sealed info record, decoded into *header.
absl::Status PullInfo(ChunkReader* r, SegmentHeader* header) {
  std::string info;
  unsigned char tag = 0;
  absl::Status status;
  if (!r->Pull(&info, &tag)) {
    status = absl::DataLossError(
        "chunk 0 (segment info) failed authentication (tampered, reordered or spliced)");
  } else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
    status = absl::DataLossError("FINAL tag before the last chunk");
  } else {
    status = DecodeInfo(info, header);
  }
  sodium_memzero(info.data(), info.size());
  return status;
}

// Decompresses chunk `i`'s plaintext and appends it to *payload.
absl::Status Decompress(ZSTD_DCtx* dctx, const std::string& plain, uint32_t i,
                        std::string* payload) {
  unsigned long long fsz = ZSTD_getFrameContentSize(plain.data(), plain.size());
  if (fsz == ZSTD_CONTENTSIZE_ERROR || fsz == ZSTD_CONTENTSIZE_UNKNOWN ||
      fsz > kMaxChunkDecompressedBytes) {
    return absl::DataLossError("chunk " + std::to_string(i) + " has a bad compressed frame");
  }
  size_t at = payload->size();
  payload->resize(at + fsz);
  size_t dn = ZSTD_decompressDCtx(dctx, payload->data() + at, fsz, plain.data(), plain.size());
  if (ZSTD_isError(dn) || dn != fsz) {
    return absl::DataLossError("chunk " + std::to_string(i) + " failed to decompress");
  }
  return absl::OkStatus();
}

// The payload chunks: authenticated, the FINAL tag on the last one only,
// decompressed; event payloads parsed chunk by chunk (and wiped), frame
// payloads kept in *payload. *total_plain: decompressed bytes.
absl::Status PullPayload(ChunkReader* r, const SegmentHeader& h, uint32_t first, OpenedSegment* out,
                         std::string* payload, uint64_t* total_plain) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::string plain;
  absl::Status status;
  for (uint32_t i = first; i < h.chunk_count && status.ok(); ++i) {
    unsigned char tag = 0;
    if (!r->Pull(&plain, &tag)) {
      status = absl::DataLossError("chunk " + std::to_string(i) +
                                   " failed authentication (tampered, reordered or spliced)");
      break;
    }
    const bool last = (i + 1 == h.chunk_count);
    if (last != (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)) {
      status = absl::DataLossError(last ? "segment truncated: last chunk lacks the FINAL tag"
                                        : "FINAL tag before the last chunk");
      break;
    }
    const size_t at = payload->size();
    status = Decompress(dctx, plain, i, payload);
    if (!status.ok()) break;
    *total_plain += payload->size() - at;
    if (!(h.flags & kFlagFramePayload)) {
      status = ParseDelimited(std::string_view(*payload).substr(at), &out->events);
      sodium_memzero(payload->data(), payload->size());
      payload->clear();
    }
  }
  ZSTD_freeDCtx(dctx);
  if (!plain.empty()) sodium_memzero(plain.data(), plain.size());
  return status;
}

// What the opened segment must agree with: the (sealed, for v2) sizes and
// count, and for v2 every event within the sealed duration, so a reader
// selecting segments by the coarse range misses none.
absl::Status CheckOpened(const OpenedSegment& out, uint64_t total_plain) {
  const SegmentHeader& hx = out.header;  // exact values (v1: from the clear header)
  if (total_plain != hx.plaintext_bytes) {
    return absl::DataLossError("payload size does not match the header");
  }
  if (!(hx.flags & kFlagFramePayload) && out.events.size() != hx.event_count) {
    return absl::DataLossError("event count does not match the header");
  }
  if (hx.format_version != kSegmentFormatVersionV1) {
    for (const auto& e : out.events) {
      if (e.t_us() > hx.duration_us) {
        return absl::DataLossError("an event lies after the segment's sealed duration");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenedSegment> OpenSegment(std::string_view file, std::string_view public_key,
                                          const SecretKey& secret_key) {
  InitCrypto();
  auto h = ValidateSegmentFraming(file);
  if (!h.ok()) return h.status();
  if (public_key.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError("public key must be 32 bytes");
  }
  if (!ConstantTimeEquals(h->recipient_key_id, KeyIdOf(public_key))) {
    return absl::PermissionDeniedError("segment is sealed to a different key");
  }
  SecretKey dek;
  if (crypto_box_seal_open(dek.data(), U(h->sealed_key), h->sealed_key.size(), U(public_key),
                           secret_key.data()) != 0) {
    return absl::PermissionDeniedError("cannot unseal the segment key (wrong key or tampered)");
  }
  ChunkReader reader(file, kSegmentHeaderBytes);
  if (!reader.Init(*h, dek)) return absl::DataLossError("bad stream header");
  OpenedSegment out;
  out.header = *h;
  uint32_t first_payload = 0;
  if (h->format_version != kSegmentFormatVersionV1) {
    if (absl::Status s = PullInfo(&reader, &out.header); !s.ok()) return s;
    first_payload = 1;
  }
  std::string payload;
  uint64_t total_plain = 0;
  absl::Status status = PullPayload(&reader, *h, first_payload, &out, &payload, &total_plain);
  if (status.ok()) status = CheckOpened(out, total_plain);
  if (!status.ok()) {
    if (!payload.empty()) sodium_memzero(payload.data(), payload.size());
    return status;
  }
  out.raw = std::move(payload);
  return out;
}

}  // namespace sealtrace
