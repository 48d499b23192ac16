// AuditSigner: the audit log's Ed25519 checkpoint signing key, kept in a key
// file (mode 0600), with rotation.
//
// Key file format (text, one item per line, '#' comments):
//   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01||seed)>   the current key
//   retired <name>+<hex key id>+<base64(0x01||pubkey)>     verifier keys of
//                                                          earlier keys, kept
//                                                          to verify old checkpoints
// Rotate() makes a new key under the same name (so it still matches the log
// origin), retires the old one and rewrites the file atomically and durably;
// without downtime: callers keep signing through the same object.
//
// Thread-safe (internal mutex). Failure: Status from file access / parsing.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/checkpoint.h"

namespace sealtrace {
class Env;
}

namespace sealtrace::audit {

class AuditSigner {
 public:
  // Loads `path`, or creates it with a fresh key named `name` if missing.
  // An existing file whose key name differs from `name` is an error.
  static absl::StatusOr<std::unique_ptr<AuditSigner>> OpenOrCreate(Env* env,
                                                                   const std::string& path,
                                                                   const std::string& name);
  // Loads an existing key file.
  static absl::StatusOr<std::unique_ptr<AuditSigner>> Open(Env* env, const std::string& path);

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

  Env* const env_;
  const std::string path_;
  mutable std::mutex mu_;
  NoteSigner current_;
  std::vector<NoteVerifier> retired_;
};

}  // namespace sealtrace::audit
