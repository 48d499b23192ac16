// SqliteMetadataStore: the embedded MetadataStore on one SQLite file.
//
// Opened in WAL mode with synchronous=FULL (a committed transaction survives
// power loss), foreign keys on and a busy timeout. The schema is versioned by
// `PRAGMA user_version`; Open() applies every missing migration in order, each
// in its own transaction, and refuses a database newer than this binary.
//
// SQLite does its own file I/O (not through Env): its durability comes from
// its own fsyncs, which FaultInjectionEnv does not simulate.
//
// Thread-safety: one connection serialised by a mutex; safe for concurrent use.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "vault/metadata_store.h"

struct sqlite3;

namespace sealtrace::vault {

class SqliteMetadataStore final : public MetadataStore {
 public:
  // Current schema version (PRAGMA user_version after Open).
  static constexpr int kSchemaVersion = 3;

  // Opens or creates the database at `path` (":memory:" for a private in-memory one).
  static absl::StatusOr<std::unique_ptr<SqliteMetadataStore>> Open(const std::string& path,
                                                                   int busy_timeout_ms = 5000);
  ~SqliteMetadataStore() override;

  absl::Status Ping() override;
  absl::Status CreateContributor(const ContributorRecord& c) override;
  absl::StatusOr<std::optional<ContributorRecord>> GetContributor(const Id16& id) override;
  absl::StatusOr<std::optional<ContributorRecord>> FindContributorByName(
      const std::string& name) override;
  absl::Status PutContributorKey(const ContributorKeyRecord& k) override;
  absl::StatusOr<std::optional<ContributorKeyRecord>> GetLatestContributorKey(
      const Id16& contributor_id) override;
  absl::StatusOr<int> DestroyContributorKeys(const Id16& contributor_id, int64_t now_us) override;
  absl::StatusOr<std::vector<ContributorKeyRecord>> ListContributorKeys() override;
  absl::StatusOr<bool> UpdateWrappedKey(const Id16& contributor_id, uint32_t key_version,
                                        uint32_t from_master_version, uint32_t master_key_version,
                                        const std::string& wrapped_secret_key) override;
  absl::Status CreateDevice(const DeviceRecord& d) override;
  absl::StatusOr<std::optional<DeviceRecord>> GetDevice(const Id16& id) override;
  absl::StatusOr<std::optional<DeviceRecord>> FindDeviceByTokenHash(
      const std::string& token_sha256) override;
  absl::Status TouchDevice(const Id16& id, int64_t last_seen_us) override;
  absl::Status RevokeDevice(const Id16& id, int64_t now_us) override;
  absl::Status DeleteEnrolment(const Id16& device_id, const Id16& contributor_id,
                               bool new_contributor) override;
  absl::StatusOr<InsertSegmentResult> InsertSegment(const SegmentRecord& s) override;
  absl::StatusOr<std::optional<SegmentRecord>> GetSegment(const Id16& segment_id) override;
  absl::StatusOr<std::vector<SegmentRecord>> ListSegments(const Id16& contributor_id,
                                                          int limit) override;
  absl::Status DeleteSegment(const Id16& segment_id) override;
  absl::StatusOr<bool> BlobReferenced(const std::string& blob_sha256) override;
  absl::StatusOr<StoreCounts> Counts() override;
  absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key) override;
  absl::Status PutSetting(const std::string& key, const std::string& value) override;

  // Schema version currently in the file (for tests).
  absl::StatusOr<int> UserVersion();

 private:
  explicit SqliteMetadataStore(sqlite3* db) : db_(db) {}
  absl::Status Migrate();

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace sealtrace::vault
