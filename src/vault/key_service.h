// KeyService: contributor key pairs, wrapped by the vault's master key.
//
// The master key (KEK, 32 random bytes) lives in its own key file (default
// <data>/keys/master.key), separate from the metadata database, created with
// mode 0600 at first start. The service refuses to start when that file is
// readable or writable by group or others. The file holds one line per master
// key version ("<version> <base64url key>"); the highest is current, older ones
// stay to unwrap keys until they are rewrapped.
//
// Rotation without downtime (RotateMasterKey): a new version is appended to the
// key file (atomic replace, mode 0600) and published; then every live
// contributor key is rewrapped (unwrap with its old master key, wrap with the
// new, compare-and-set the row). A crash at any point leaves each row wrapped
// under a version that is still in the file, so every key stays unwrappable; a
// second call finishes the pending rewrap instead of adding another version.
// RetireMasterKey(v) drops an old version from the file once no live row uses it.
//
// Contributor X25519 key pairs are made at enrolment. The secret key is stored
// only wrapped: AeadWrap(master key, sk, ad = "sealtrace-contributor-key" ||
// contributor id || u32 key version || u32 master key version), so a wrapped
// key cannot be moved to another contributor or version. Destroying a
// contributor's key (crypto-shredding) wipes the wrapped key rows: every copy
// of that contributor's segments becomes unreadable.
//
// The only way to a plaintext secret key is KeyReleaser::ReleaseSecretKey,
// meant for the access layer, which must record an audit entry first. No HTTP
// route ever returns a secret key.
//
// Thread-safety: safe for concurrent use. The set of master keys is
// copy-on-write: readers (ReleaseSecretKey) take a snapshot and never block on a
// rotation; RotateMasterKey / RetireMasterKey are serialised with each other and
// publish a new set only after the key file holds it. Rotation in one process
// only: other processes sharing the store and key file reload the file when they
// meet a master key version they do not know (ReleaseSecretKey).
// Failure: absl::Status; NOT_FOUND for an unknown or destroyed contributor key.
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
  int skipped = 0;           // rows destroyed (or rewrapped) concurrently, left as they were
};

class KeyService final : public KeyReleaser, public PublicKeyDirectory {
 public:
  // Loads (or at first start creates) the master key file. FAILED_PRECONDITION if
  // the file's mode grants any access to group or others, or it is malformed.
  static absl::StatusOr<std::unique_ptr<KeyService>> Open(Env* env, MetadataStore* store,
                                                          const std::string& key_file);

  // Makes a key pair for a contributor id, stores the wrapped secret key, and
  // returns the public key. ALREADY_EXISTS if the contributor has a key row.
  absl::StatusOr<std::string> CreateContributorKey(const Id16& contributor_id);
  // The contributor's current public key. NOT_FOUND if none or destroyed.
  absl::StatusOr<std::string> PublicKey(const Id16& contributor_id) override;
  // Crypto-shredding: wipes every wrapped secret key of the contributor. OK if
  // the contributor has no live key (idempotent).
  absl::Status DestroyContributorKey(const Id16& contributor_id);

  absl::StatusOr<ReleasedKey> ReleaseSecretKey(
      const Id16& contributor_id, const std::function<absl::Status()>& audit_first) override;

  // Master-key rotation, online. If some live contributor key is still wrapped
  // under an older version (an earlier rotation was interrupted), finishes that
  // rewrap to the current version and adds no version (idempotent, resumable).
  // Otherwise appends version current+1 (fresh random key) to the key file
  // (WriteFileAtomic, 0600), publishes it (new contributor keys use it at once)
  // and rewraps every live key. Errors: the key file cannot be written (nothing
  // changed); the store fails midway (rows are under the old or the new version,
  // both in the file; call again); FAILED_PRECONDITION if a row's master key
  // version is missing from the file or the file changed shape; DATA_LOSS if a
  // row does not unwrap (tampered), naming the contributor.
  absl::StatusOr<MasterKeyRotation> RotateMasterKey();
  // Removes an old master key version from the key file. NOT_FOUND if the file
  // does not hold it; FAILED_PRECONDITION if it is the current version or any
  // live contributor key is still wrapped under it (finish the rotation first).
  absl::Status RetireMasterKey(uint32_t version);

  uint32_t current_master_key_version() const;
  // Versions held in the key file (as last loaded), ascending.
  std::vector<uint32_t> master_key_versions() const;

 private:
  using KeyMap = std::map<uint32_t, std::shared_ptr<const SecretKey>>;  // never empty

  KeyService(Env* env, MetadataStore* store, std::string key_file)
      : env_(env), store_(store), key_file_(std::move(key_file)) {}
  std::shared_ptr<const KeyMap> Snapshot() const;
  void Publish(std::shared_ptr<const KeyMap> keys);
  // Reads and parses the key file and publishes it. Caller holds admin_mu_.
  absl::Status ReloadLocked();
  absl::Status WriteKeyFile(const KeyMap& keys);

  Env* env_;
  MetadataStore* store_;
  const std::string key_file_;
  mutable std::mutex keys_mu_;                 // guards the pointer master_keys_
  std::shared_ptr<const KeyMap> master_keys_;  // copy-on-write; version -> key
  // Shared by CreateContributorKey (wrap + insert); exclusive while a new key
  // set is published, so no row is wrapped under a version already superseded
  // once the publish returns.
  std::shared_mutex wrap_mu_;
  std::mutex admin_mu_;  // serialises RotateMasterKey, RetireMasterKey and reloads
};

// Refuses (FAILED_PRECONDITION) a secret file that group or others may access.
// NOT_FOUND if it does not exist.
absl::Status CheckPrivateFileMode(const std::string& path);

}  // namespace sealtrace::vault
