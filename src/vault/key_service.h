// KeyService: contributor key pairs, wrapped by the vault's master key.
//
// The master key (KEK, 32 random bytes) lives in its own key file (default
// <data>/keys/master.key), separate from the metadata database, created with
// mode 0600 at first start. The service refuses to start when that file is
// readable or writable by group or others. The file holds one line per master
// key version ("<version> <base64url key>"); the highest is current, older ones
// stay to unwrap keys until they are rewrapped (rotation: later).
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
// Thread-safety: safe for concurrent use (the master keys are immutable after Open).
// Failure: absl::Status; NOT_FOUND for an unknown or destroyed contributor key.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

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

  uint32_t current_master_key_version() const { return master_keys_.rbegin()->first; }

 private:
  KeyService(Env* env, MetadataStore* store) : env_(env), store_(store) {}

  Env* env_;
  MetadataStore* store_;
  std::map<uint32_t, SecretKey> master_keys_;  // version -> key; never empty after Open
};

// Refuses (FAILED_PRECONDITION) a secret file that group or others may access.
// NOT_FOUND if it does not exist.
absl::Status CheckPrivateFileMode(const std::string& path);

}  // namespace sealtrace::vault
