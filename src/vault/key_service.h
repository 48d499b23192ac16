// KeyService: contributor key pairs, wrapped by the vault's master keys.
//
// Where the master keys live is a MasterKeys backend (master_keys.h): a key
// file (default <data>/keys/master.key, 0600, refused when group or others may
// read it) or a PKCS#11 token. Each contributor secret key is stored wrapped
// twice (master_keys.h): under the current master key version, and inside that
// under the contributor's own binding key, so that destroying the binding key
// (deletion) makes every copy of the row, in every backup, unusable.
//
// Row format (ContributorKeyRecord.wrapped_secret_key):
//   Wrap(master v, "B1" || Bind(contributor, sk, bind_ad), wrap_ad)
//   wrap_ad = "sealtrace-contributor-key" || contributor id || u32 key version ||
//             u32 master key version
//   bind_ad = "sealtrace-contributor-binding" || contributor id || u32 key version
// Rows written before bindings existed hold Wrap(master v, sk) (32 bytes inside);
// they are still read, and RotateMasterKey gives each one a binding.
//
// Rotation without downtime (RotateMasterKey): a new master version is added
// (durable first) and published; then every live contributor key is rewrapped
// (unwrap with its old version, wrap with the new, compare-and-set the row). A
// crash at any point leaves each row wrapped under a version still held; a
// second call finishes the pending rewrap instead of adding another version.
// RetireMasterKey(v) destroys an old version once no live row uses it.
//
// Destroying a contributor's key (crypto-shredding) destroys their binding key
// and wipes the wrapped key rows.
//
// The only way to a plaintext secret key is KeyReleaser::ReleaseSecretKey,
// meant for the access layer, which must record an audit entry first. No HTTP
// route ever returns a secret key.
//
// Thread-safety: safe for concurrent use. Readers (ReleaseSecretKey) never block
// on a rotation; RotateMasterKey / RetireMasterKey are serialised with each
// other. Rotation in one process only: other processes sharing the store and
// keys reload the versions when they meet one they do not know.
// Failure: absl::Status; NOT_FOUND for an unknown or destroyed contributor key;
// the backend's status (UNAVAILABLE, PERMISSION_DENIED...) when the keys cannot
// be used: nothing is released then.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "vault/master_keys.h"
#include "vault/metadata_store.h"
#include "vault/public_keys.h"

namespace sealtrace::vault {

struct ReleasedKey {
  std::string public_key;  // 32 bytes
  SecretKey secret_key;
  uint32_t key_version = 0;
};

// The narrow door to plaintext key material. Only the access layer holds one.
class KeyReleaser {
 public:
  virtual ~KeyReleaser() = default;
  // Calls `audit_first` and, only if it returns OK, unwraps and returns the
  // contributor's current secret key. If the audit callback fails, its status is
  // returned and no key is unwrapped (fail closed).
  virtual absl::StatusOr<ReleasedKey> ReleaseSecretKey(
      const Id16& contributor_id, const std::function<absl::Status()>& audit_first) = 0;
};

// Outcome of KeyService::RotateMasterKey.
struct MasterKeyRotation {
  uint32_t previous_version = 0;    // current master key version before the call
  uint32_t master_key_version = 0;  // current master key version after the call
  bool new_version = false;  // true: a version was added; false: a pending rewrap was resumed
  int rewrapped = 0;         // rows rewrapped by this call
  int bound = 0;             // of those, rows written before bindings that got one
  int skipped = 0;           // rows destroyed (or rewrapped) concurrently, left as they were
};

class KeyService final : public KeyReleaser, public PublicKeyDirectory {
 public:
  // The file backend: loads (or at first start creates) the master key file.
  // FAILED_PRECONDITION if the file's mode grants any access to group or
  // others, or it is malformed.
  static absl::StatusOr<std::unique_ptr<KeyService>> Open(Env* env, MetadataStore* store,
                                                          const std::string& key_file);
  // Any backend (e.g. OpenMasterKeys for a PKCS#11 token).
  static absl::StatusOr<std::unique_ptr<KeyService>> Open(Env* env, MetadataStore* store,
                                                          std::unique_ptr<MasterKeys> keys);

  // Makes a key pair and a binding key for a contributor id, stores the wrapped
  // secret key, and returns the public key. ALREADY_EXISTS if the contributor
  // has a key row.
  absl::StatusOr<std::string> CreateContributorKey(const Id16& contributor_id);
  // The contributor's current public key. NOT_FOUND if none or destroyed.
  absl::StatusOr<std::string> PublicKey(const Id16& contributor_id) override;
  // Crypto-shredding: destroys the contributor's binding key (durably, first)
  // and wipes every wrapped secret key row. OK if the contributor has no live
  // key (idempotent).
  absl::Status DestroyContributorKey(const Id16& contributor_id);

  absl::StatusOr<ReleasedKey> ReleaseSecretKey(
      const Id16& contributor_id, const std::function<absl::Status()>& audit_first) override;

  // Master-key rotation, online. If some live contributor key is still wrapped
  // under an older version (an earlier rotation was interrupted), finishes that
  // rewrap to the current version and adds no version (idempotent, resumable).
  // Otherwise adds version current+1 (durable first), publishes it (new
  // contributor keys use it at once) and rewraps every live key. Errors: the
  // new version cannot be stored (nothing changed); the store fails midway
  // (rows are under the old or the new version, both held; call again);
  // FAILED_PRECONDITION if a row's master key version is not held; DATA_LOSS if
  // a row does not unwrap (tampered), naming the contributor.
  absl::StatusOr<MasterKeyRotation> RotateMasterKey();
  // Destroys an old master key version. NOT_FOUND if it is not held;
  // FAILED_PRECONDITION if it is the current version or any live contributor
  // key is still wrapped under it (finish the rotation first).
  absl::Status RetireMasterKey(uint32_t version);

  uint32_t current_master_key_version() const;
  // Versions held (as last loaded), ascending.
  std::vector<uint32_t> master_key_versions() const;
  // OK when the master keys can be used now (for health); the backend's error
  // otherwise.
  absl::Status CheckKeys();
  // "key file <path>" or "PKCS#11 token ...".
  std::string DescribeKeys() const;
  // The backend (borrowed; for the other keys kept in its HSM).
  MasterKeys* master_keys() { return keys_.get(); }

 private:
  KeyService(Env* env, MetadataStore* store, std::unique_ptr<MasterKeys> keys)
      : env_(env), store_(store), keys_(std::move(keys)) {}
  // Loads the master key versions if none is held yet (an HSM absent at start).
  absl::Status EnsureVersions();
  // Unwraps a row to its secret key (both layers), checking it against the
  // row's public key.
  absl::StatusOr<SecretKey> OpenRow(const ContributorKeyRecord& row);
  // The row's content rewrapped under `version` (and bound, if it was not).
  absl::StatusOr<std::string> Rewrap(const ContributorKeyRecord& row, uint32_t version,
                                     bool* bound);
  absl::StatusOr<std::string> SealNew(const Id16& contributor, uint32_t key_version,
                                      uint32_t master_version, const SecretKey& sk);

  Env* env_;
  MetadataStore* store_;
  std::unique_ptr<MasterKeys> keys_;
  // Shared by CreateContributorKey (wrap + insert); exclusive while a new
  // master version is published, so no row is wrapped under a version already
  // superseded once the publish returns.
  std::shared_mutex wrap_mu_;
  std::mutex admin_mu_;  // serialises RotateMasterKey, RetireMasterKey and reloads
};

}  // namespace sealtrace::vault
