// PgMetadataStore: the MetadataStore on PostgreSQL (libpq), for deployments
// beyond one machine (docs/DEPLOY.md). Same semantics as SqliteMetadataStore;
// both run the conformance suite in metadata_store_test.cc.
//
// Schema: versioned migrations recorded in schema_migrations(component =
// "metadata", version); Open() applies every missing one (all in one
// transaction, serialised across processes by an advisory lock) and refuses a
// database newer than this binary (FAILED_PRECONDITION).
// Durability: every mutation commits before returning OK; the server's default
// synchronous_commit=on makes a commit durable (WAL flushed).
// Statements are prepared once per connection; a small pool of connections
// (max_connections) serves concurrent callers.
// Failure: connection loss, a restarting server, serialization failures ->
// UNAVAILABLE (retry later); the pool reconnects on the next call.
// Crypto-shredding: DestroyContributorKeys overwrites the wrapped keys, then
// empties them and runs VACUUM on the table (best effort) so the old row
// versions are reclaimed; PostgreSQL's WAL keeps the wrapped (master-key
// encrypted) bytes until its segments are recycled — see docs/DEPLOY.md.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <memory>
#include <string>

#include "vault/metadata_store.h"

namespace sealtrace::storage {
class PgPool;
}

namespace sealtrace::vault {

class PgMetadataStore final : public MetadataStore {
 public:
  static constexpr int kSchemaVersion = 3;

  struct Options {
    std::string conninfo;     // libpq connection string
    int max_connections = 4;  // pool size
  };
  static absl::StatusOr<std::unique_ptr<PgMetadataStore>> Open(const Options& options);
  ~PgMetadataStore() override;

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

  // Schema version recorded in schema_migrations (for tests).
  absl::StatusOr<int> SchemaVersion();

 private:
  explicit PgMetadataStore(std::unique_ptr<storage::PgPool> pool);
  std::unique_ptr<storage::PgPool> pool_;
};

}  // namespace sealtrace::vault
