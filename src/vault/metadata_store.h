// MetadataStore: the vault's relational metadata (contributors, their wrapped
// keys, devices, segments, programme settings).
//
// It holds no content: segment bytes live in a BlobStore, private keys only
// wrapped by the master key (see KeyService). Implementations: SQLite
// (embedded default, sqlite_metadata_store.h); PostgreSQL later. The same
// conformance tests (metadata_store_test.cc) run against every implementation.
//
// Ownership: the vault owns one store and hands out raw pointers.
// Thread-safety: implementations must be safe for concurrent use.
// Failure: every call returns absl::Status; "not found" on a lookup is an OK
// result holding std::nullopt; UNAVAILABLE means the store cannot answer now
// (busy, I/O error) and the caller may retry; every mutation is durable when
// it returns OK and is all-or-nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace sealtrace::vault {

struct ContributorRecord {
  Id16 id;
  std::string name;        // validated display name (see ValidateContributorName)
  std::string public_key;  // 32 bytes, current X25519 public key
  int64_t created_us = 0;  // wall clock
};

struct ContributorKeyRecord {
  Id16 contributor_id;
  uint32_t key_version = 1;         // contributor key version (rotation later)
  uint32_t master_key_version = 1;  // master key that wrapped `wrapped_secret_key`
  std::string public_key;           // 32 bytes
  std::string wrapped_secret_key;   // AeadWrap output; empty once destroyed
  int64_t created_us = 0;
  bool destroyed = false;
};

struct DeviceRecord {
  Id16 id;
  Id16 contributor_id;
  std::string token_sha256;  // 32 bytes: SHA-256 of the bearer token; the token is never stored
  int64_t created_us = 0;
  int64_t last_seen_us = 0;    // 0 = never
  int64_t last_upload_us = 0;  // 0 = never
  int64_t revoked_us = 0;      // 0 = live; a revoked device's token is refused
};

struct SegmentRecord {
  Id16 segment_id;
  Id16 contributor_id;
  Id16 device_id;
  uint64_t sequence = 0;
  // Coarse time range (segment header, docs/FORMAT.md §1.1): whole UTC hours,
  // end exclusive; the segment's events lie inside it. Exact times, event
  // counts and payload sizes are sealed inside the segment and never stored
  // here (schema v3 coarsened the rows that had them).
  int64_t wall_start_us = 0;
  int64_t wall_end_us = 0;
  uint64_t size = 0;        // bytes of the sealed segment file
  std::string blob_sha256;  // 64 lowercase hex chars, BlobStore key
  uint32_t flags = 0;
  int64_t received_us = 0;  // wall clock at ingest, floored to the UTC hour
  bool operator==(const SegmentRecord&) const = default;
};

struct StoreCounts {
  int64_t contributors = 0;
  int64_t devices = 0;
  int64_t segments = 0;
  int64_t segment_bytes = 0;
};

enum class InsertSegmentResult {
  kInserted,
  kExists,  // a row with this segment_id already exists (nothing changed)
};

inline constexpr char kSettingProgrammeState[] = "programme_state";
// The programme's window-title policy for devices (docs/REDACTION.md §2.1):
// "full" (absent = full), "app-and-domain" or "app-only". Set through the
// access layer (AccessService::SetTitlePolicy), served with the device state.
inline constexpr char kSettingTitlePolicy[] = "title_policy";

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Cheap liveness check (health endpoint).
  virtual absl::Status Ping() = 0;

  // --- contributors ---
  // ALREADY_EXISTS if the id or the name is taken.
  virtual absl::Status CreateContributor(const ContributorRecord& c) = 0;
  virtual absl::StatusOr<std::optional<ContributorRecord>> GetContributor(const Id16& id) = 0;
  virtual absl::StatusOr<std::optional<ContributorRecord>> FindContributorByName(
      const std::string& name) = 0;

  // --- contributor keys (reached only through KeyService) ---
  // ALREADY_EXISTS if (contributor_id, key_version) exists.
  virtual absl::Status PutContributorKey(const ContributorKeyRecord& k) = 0;
  // The highest key version of the contributor, destroyed or not; nullopt if none.
  virtual absl::StatusOr<std::optional<ContributorKeyRecord>> GetLatestContributorKey(
      const Id16& contributor_id) = 0;
  // Crypto-shredding: overwrites every wrapped secret key of the contributor with
  // zeros, then empties it and sets destroyed; the rows stay as a tombstone.
  // Returns the number of key rows that were live.
  virtual absl::StatusOr<int> DestroyContributorKeys(const Id16& contributor_id,
                                                     int64_t now_us) = 0;
  // Every live (not destroyed) key row of every contributor, all key versions,
  // ordered by (contributor id, key version). For master-key rotation and
  // retirement; rows hold wrapped keys only.
  virtual absl::StatusOr<std::vector<ContributorKeyRecord>> ListContributorKeys() = 0;
  // Rewrap (compare-and-set): replaces master_key_version and wrapped_secret_key
  // of the live row (contributor_id, key_version) only if it is still wrapped
  // under `from_master_version`. Returns true if the row changed; false (and no
  // change) if the row is absent, destroyed, or no longer under
  // `from_master_version` (a concurrent destroy or rewrap came first), so a
  // rewrap can never bring a shredded key back.
  virtual absl::StatusOr<bool> UpdateWrappedKey(const Id16& contributor_id, uint32_t key_version,
                                                uint32_t from_master_version,
                                                uint32_t master_key_version,
                                                const std::string& wrapped_secret_key) = 0;

  // --- devices ---
  // ALREADY_EXISTS if the id or token hash is taken; NOT_FOUND if the contributor is unknown.
  virtual absl::Status CreateDevice(const DeviceRecord& d) = 0;
  virtual absl::StatusOr<std::optional<DeviceRecord>> GetDevice(const Id16& id) = 0;
  virtual absl::StatusOr<std::optional<DeviceRecord>> FindDeviceByTokenHash(
      const std::string& token_sha256) = 0;
  virtual absl::Status TouchDevice(const Id16& id, int64_t last_seen_us) = 0;
  // Marks the device revoked at `now_us` (keeps the first time); NOT_FOUND if unknown.
  virtual absl::Status RevokeDevice(const Id16& id, int64_t now_us) = 0;
  // Undoes an enrolment whose recording in the access layer failed, in one
  // transaction: deletes the device row and, when `new_contributor` is set,
  // that contributor's key rows and row, only if no segment refers to them
  // (FAILED_PRECONDITION otherwise; nothing is deleted then).
  virtual absl::Status DeleteEnrolment(const Id16& device_id, const Id16& contributor_id,
                                       bool new_contributor) = 0;

  // --- segments ---
  // Inserts the row and updates the device's last_seen/last_upload in one durable
  // transaction. kExists (and no change) if the segment id is already present.
  virtual absl::StatusOr<InsertSegmentResult> InsertSegment(const SegmentRecord& s) = 0;
  virtual absl::StatusOr<std::optional<SegmentRecord>> GetSegment(const Id16& segment_id) = 0;
  // Segments of one contributor ordered by (device, sequence); at most `limit`.
  virtual absl::StatusOr<std::vector<SegmentRecord>> ListSegments(const Id16& contributor_id,
                                                                  int limit) = 0;
  // Purge path: removes the row; OK if absent.
  virtual absl::Status DeleteSegment(const Id16& segment_id) = 0;
  // Whether any segment row references this blob.
  virtual absl::StatusOr<bool> BlobReferenced(const std::string& blob_sha256) = 0;

  virtual absl::StatusOr<StoreCounts> Counts() = 0;

  // --- settings (programme state etc.) ---
  virtual absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  virtual absl::Status PutSetting(const std::string& key, const std::string& value) = 0;
};

}  // namespace sealtrace::vault
