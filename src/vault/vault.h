// Vault: the embedded vault's parts, opened from one data directory.
//
// Layout of <data> (created 0700 at first start):
//   meta.db (+ -wal, -shm)  SqliteMetadataStore
//   blobs/ab/cd/<sha256>    FsBlobStore (sealed segment files; blobs/tmp/ for writes)
//   keys/master.key         master key file (0600; --key-file may put it elsewhere)
//   keys/bindings/          per-contributor binding keys (file backend; never back up)
//   hsm.conf                present when the keys live in a PKCS#11 token
//                           (master_keys.h); then keys/ holds nothing
//   enroll.secret           enrolment secret (0600), base64url of 32 random bytes
// With VaultOptions::open_metadata (e.g. PostgreSQL, `sealtrace server
// --backend postgres`) meta.db is not used; blobs and keys stay in <data>.
//
// Ownership: Vault owns the stores and services; accessors return borrowed
// pointers valid for the Vault's lifetime.
// Thread-safety: all parts are safe for concurrent use.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "vault/blob_store.h"
#include "vault/enroll.h"
#include "vault/ingest.h"
#include "vault/key_service.h"
#include "vault/master_keys.h"
#include "vault/metadata_store.h"
#include "vault/metrics.h"

namespace sealtrace::vault {

struct VaultOptions {
  std::string data_dir;
  // Where the master keys live. Empty = <data_dir>/hsm.conf if present, else
  // the key file <data_dir>/keys/master.key (key_file overrides the path).
  MasterKeyConfig master_keys;
  // false: refuse (FAILED_PRECONDITION) a master key file inside data_dir, as
  // `server --backend postgres` does unless --allow-local-master-key.
  bool allow_local_master_key = true;
  Env* env = nullptr;            // nullptr = Env::Default()
  size_t max_segment_bytes = 0;  // 0 = kMaxSegmentBytes
  // Opens the metadata store (schema migrated). Empty = SQLite in <data>/meta.db.
  std::function<absl::StatusOr<std::unique_ptr<MetadataStore>>()> open_metadata;
};

// A device's spool backlog as it reported it with its last state poll
// (header "X-Sealtrace-Spool: segments=N;bytes=B"). Fleet health only.
struct SpoolReport {
  uint64_t segments = 0;
  uint64_t bytes = 0;
  int64_t reported_us = 0;  // vault wall time of the report
};
// Parses "segments=N;bytes=B" (both required, decimal, no other fields).
// nullopt if malformed: a bad report is ignored, never an error for the poll.
std::optional<SpoolReport> ParseSpoolHeader(std::string_view header);

struct DeviceState {
  std::string programme_state;  // ACTIVE | PAUSED | INCIDENT
  bool recording_allowed = false;
  bool contributor_paused = false;  // paused by the contributor (dashboard)
  std::string title_policy = "full";  // full | app-and-domain | app-only
};

// What a device is told (GET /v1/device/state) for its contributor, read from
// the store: programme state, the contributor's own pause (fail closed), the
// title policy. The one implementation for the vault and the scale gateway.
absl::StatusOr<DeviceState> ReadDeviceState(MetadataStore* store, const Id16& contributor,
                                            int64_t now_wall_us);

// Title policy names, least to most strict ("full" 0, "app-and-domain" 1,
// "app-only" 2); -1 for anything else.
int TitlePolicyRank(std::string_view name);
// The stored setting as devices get it: absent = "full"; a value this vault
// does not know = "app-only" (fail closed).
std::string TitlePolicyFromSetting(const std::optional<std::string>& stored);

class Vault {
 public:
  static absl::StatusOr<std::unique_ptr<Vault>> Open(const VaultOptions& options);
  ~Vault();

  MetadataStore* store() { return store_.get(); }
  BlobStore* blobs() { return blobs_.get(); }
  KeyService* keys() { return keys_.get(); }
  IngestService* ingest() { return ingest_.get(); }
  EnrollService* enroll() { return enroll_.get(); }
  VaultMetrics* metrics() { return &metrics_; }
  size_t max_segment_bytes() const { return max_segment_bytes_; }
  const std::string& enroll_secret_path() const { return enroll_secret_path_; }
  const std::string& data_dir() const { return data_dir_; }

  // Programme state and title policy for an authenticated device (updates its
  // last_seen).
  // UNAUTHENTICATED for a bad token; other codes when the store cannot answer.
  // `spool`, when given, is stored as the device's backlog (written only when
  // it changed or a minute passed, so polls stay cheap).
  absl::StatusOr<DeviceState> GetDeviceState(std::string_view authorization,
                                             const std::optional<SpoolReport>& spool = {});
  // The last backlog `device` reported; nullopt if it never did.
  absl::StatusOr<std::optional<SpoolReport>> GetSpoolReport(const Id16& device);
  // Health: the metadata store answers.
  absl::Status Health();
  // The master keys can be used now (an HSM answers). Reads need them; ingest
  // does not.
  absl::Status KeysHealth();

 private:
  Vault() = default;
  std::string data_dir_;
  std::string enroll_secret_path_;
  size_t max_segment_bytes_ = 0;
  Env* env_ = nullptr;
  VaultMetrics metrics_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<KeyService> keys_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<EnrollService> enroll_;
  std::mutex spool_mu_;
  std::unordered_map<std::string, SpoolReport> spool_written_;  // device hex -> last stored
};

}  // namespace sealtrace::vault
