// MasterKeys: where the vault's key-encryption keys live, and the only code
// that uses them. KeyService wraps every contributor secret key twice:
//
//   row = Wrap(master key version v, "B1" || Bind(contributor, sk))
//
// - Master key versions (rotation): the key every row is wrapped under, so a
//   copy of the database alone opens nothing.
// - Binding keys, one per contributor, kept where backups do not reach:
//   destroying a contributor's binding key makes every copy of their wrapped
//   key unusable, in every database backup and every WAL segment, even for
//   someone who also holds the master key. This is what makes deletion hold
//   against backups (docs/THREAT_MODEL.md, "Deletion and backups").
//
// Two backends:
//   file    <keys>/master.key ("<version> <base64url key> [bound]" per line, 0600) and
//           <keys>/bindings/<contributor hex>.key (base64url, 0600); sealing
//           with XChaCha20-Poly1305 (crypto.h AeadWrap). The embedded default.
//   pkcs11  AES-256 keys generated inside a PKCS#11 token (crypto/pkcs11.h),
//           non-extractable: "sealtrace-master-v<N>" and
//           "sealtrace-bind-<contributor hex>"; the token seals (AES-256-GCM).
//           Nothing on disk opens anything.
//
// Thread-safety: implementations are safe for concurrent use. Versions() is a
// snapshot; AddVersion/RemoveVersion/Reload are serialised by the caller
// (KeyService's admin lock) but may run beside Wrap/Unwrap.
// Failure: absl::Status. Unwrap/Unbind: DATA_LOSS when a value does not open
// (tampered, or a different key); NOT_FOUND when the key (version or binding)
// does not exist; UNAVAILABLE / PERMISSION_DENIED when the token cannot be used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/env.h"

namespace sealtrace {
class Pkcs11Token;
}

namespace sealtrace::vault {

class MasterKeys {
 public:
  virtual ~MasterKeys() = default;
  // "file <path>" or "pkcs11 token ...", for messages and health.
  virtual std::string Describe() const = 0;
  // Master key versions held, ascending; never empty once opened.
  virtual std::vector<uint32_t> Versions() const = 0;
  // Reads the versions again (another process rotated or retired one).
  virtual absl::Status Reload() = 0;
  // Adds version current+1 (a fresh key); durable before it returns.
  virtual absl::StatusOr<uint32_t> AddVersion() = 0;
  // Destroys a version's key. NOT_FOUND if not held.
  virtual absl::Status RemoveVersion(uint32_t version) = 0;
  virtual absl::StatusOr<std::string> Wrap(uint32_t version, std::string_view plaintext,
                                           std::string_view ad) = 0;
  virtual absl::StatusOr<std::string> Unwrap(uint32_t version, std::string_view wrapped,
                                             std::string_view ad) = 0;

  // A fresh binding key for the contributor. OK if one exists already (a
  // retried enrolment); it is then reused.
  virtual absl::Status CreateBinding(const Id16& contributor) = 0;
  virtual absl::StatusOr<std::string> Bind(const Id16& contributor, std::string_view plaintext,
                                           std::string_view ad) = 0;
  // NOT_FOUND once the binding key is destroyed.
  virtual absl::StatusOr<std::string> Unbind(const Id16& contributor, std::string_view wrapped,
                                             std::string_view ad) = 0;
  // Destroys the contributor's binding key, durably. OK if there is none.
  virtual absl::Status DestroyBinding(const Id16& contributor) = 0;
  // OK when the keys can be used now (health): the file is readable with a
  // private mode, or the token answers.
  virtual absl::Status Check() = 0;
  // The PKCS#11 token holding the keys, opened now if it was absent, for the
  // other keys kept there (the audit signer). FAILED_PRECONDITION for the
  // file backend; UNAVAILABLE while the token does not answer.
  virtual absl::StatusOr<Pkcs11Token*> Token() {
    return absl::FailedPreconditionError("the master keys are not in an HSM");
  }
  virtual bool InHsm() const { return false; }
  // True if rows wrapped under `version` may hold a contributor key without a
  // binding (written before binding keys existed: key-file versions without
  // the "bound" flag). KeyService refuses an unbound row under any other
  // version, so a deletion cannot be undone by a forged or replayed row.
  virtual bool AcceptsUnbound(uint32_t version) const { return false; }
};

// The file backend. `key_file` is created (0600, its directory 0700) with
// version 1 at first start; bindings live in DirName(key_file)/bindings.
// FAILED_PRECONDITION if the file grants group or others any access or is
// malformed.
absl::StatusOr<std::unique_ptr<MasterKeys>> OpenFileMasterKeys(Env* env,
                                                               const std::string& key_file,
                                                               bool create_if_missing = true);

// The PKCS#11 backend over an open token (shared: the audit signer and access
// keys may use the same token). Creates master key version 1 in the token at
// first use.
absl::StatusOr<std::unique_ptr<MasterKeys>> OpenPkcs11MasterKeys(
    std::shared_ptr<Pkcs11Token> token, bool create_if_missing = true);

// Where the master keys live, as `sealtrace server` and the scale roles
// configure it.
struct MasterKeyConfig {
  std::string key_file;      // file backend (used when hsm_module is empty)
  std::string hsm_module;    // PKCS#11 module path: the pkcs11 backend
  std::string hsm_token;     // token label
  std::string hsm_pin_file;  // PIN file (0600); empty: $SEALTRACE_HSM_PIN
  // false: a key file or token without any master key is an error
  // (FAILED_PRECONDITION) instead of getting a fresh version 1. Set it false
  // when the metadata store already holds wrapped keys: a new master key would
  // open none of them (a lost key file, a wrong or empty token).
  bool create_if_missing = true;
};
// Opens the backend the config names. With an HSM: a wrong PIN, a PIN file
// others may read or a module that does not load is an error (no retry: a
// token locks after a few wrong PINs); a token that is absent now gives a
// backend that fails every call UNAVAILABLE and looks for the token again
// (at most every 5 s), so the vault still starts and ingests.
absl::StatusOr<std::unique_ptr<MasterKeys>> OpenMasterKeys(Env* env, const MasterKeyConfig& c);

// <data>/hsm.conf, written by `sealtrace server init --hsm-module ...`, so a
// vault set up on an HSM never starts on a key file by mistake. Text, one
// "name = value" per line ('#' comments, blank lines ignored), names
// `module`, `token`, `pin_file` (optional: $SEALTRACE_HSM_PIN instead); the
// value is the rest of the line, trimmed. Never holds the PIN.
// INVALID_ARGUMENT, naming the line, for anything else.
absl::StatusOr<MasterKeyConfig> ParseHsmConf(std::string_view text);
std::string EncodeHsmConf(const MasterKeyConfig& c);

// Opens the token a MasterKeyConfig names (hsm_module must be set).
absl::StatusOr<std::shared_ptr<Pkcs11Token>> OpenConfiguredToken(Env* env,
                                                                 const MasterKeyConfig& c);

}  // namespace sealtrace::vault
