// AuditSigner: the audit log's Ed25519 checkpoint signing key, kept in a key
// file (mode 0600), with rotation.
//
// Key file format (text, one item per line, '#' comments):
//   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01||seed)>   the current key, or
//   hsm <token label> <name>+<hex key id>+<base64(0x01||pubkey)>
//                                                          the current key held
//                                                          in a PKCS#11 token
//                                                          (only its verifier
//                                                          key is in the file)
//   retired <name>+<hex key id>+<base64(0x01||pubkey)>     verifier keys of
//                                                          earlier keys, kept
//                                                          to verify old checkpoints
// Rotate() makes a new key under the same name (so it still matches the log
// origin), retires the old one and rewrites the file atomically and durably;
// without downtime: callers keep signing through the same object.
//
// With a token (OpenOrCreate's `token`), new keys, at creation and at each
// rotation, are Ed25519 key pairs generated inside the token, non-extractable;
// the file then holds nothing secret, and a rotation destroys the old private
// key in the token. Signing fails (UNAVAILABLE...) while the token does not
// answer; checkpoints wait, nothing else does.
//
// Thread-safe (internal mutex). Failure: Status from file access / parsing.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/checkpoint.h"

namespace sealtrace {
class Env;
class Pkcs11Token;
}

namespace sealtrace::audit {

class AuditSigner {
 public:
  // The token that holds HSM keys, opened on demand (may fail while absent).
  using TokenFn = std::function<absl::StatusOr<Pkcs11Token*>()>;
  // Loads `path`, or creates it with a fresh key named `name` if missing (in
  // the token when `token` is set). An existing file whose key name differs
  // from `name` is an error.
  static absl::StatusOr<std::unique_ptr<AuditSigner>> OpenOrCreate(Env* env,
                                                                   const std::string& path,
                                                                   const std::string& name,
                                                                   TokenFn token = nullptr);
  // Loads an existing key file. A key held in a token needs `token`.
  static absl::StatusOr<std::unique_ptr<AuditSigner>> Open(Env* env, const std::string& path,
                                                           TokenFn token = nullptr);

  std::string name() const;
  // Verifier key text of the current key.
  std::string VerifierKey() const;
  // Current and retired verifiers (current first).
  std::vector<NoteVerifier> Verifiers() const;
  absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& cp) const;
  // Adds this signer's signature to an existing note (e.g. as a witness).
  absl::StatusOr<std::string> Cosign(std::string_view note) const;
  // New key; the old verifier key is retained. Durable before it returns.
  absl::Status Rotate();

 private:
  AuditSigner(Env* env, std::string path, NoteSigner current, std::vector<NoteVerifier> retired);
  absl::Status SaveLocked() const;
  // A fresh key named `name`: in the token (label returned in *label) or local.
  absl::StatusOr<NoteSigner> NewKey(const std::string& name, std::string* label) const;

  Env* const env_;
  const std::string path_;
  TokenFn token_;  // set: keys live in a PKCS#11 token
  mutable std::mutex mu_;
  NoteSigner current_;
  std::string hsm_label_;  // the current key's token label ("" = a local key)
  std::vector<NoteVerifier> retired_;
};

}  // namespace sealtrace::audit
