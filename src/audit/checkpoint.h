// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and C2SP
// transparency-log checkpoints (c2sp.org/tlog-checkpoint) carried in them.
//
//   sealtrace.local/audit          <- origin
//   42                             <- tree size (decimal, no leading zeros)
//   <base64 32-byte RFC 6962 root> <- root hash
//   [extension lines]              <- optional, non-empty
//                                  <- blank line
//   — <key name> <base64(4-byte big-endian key id || 64-byte Ed25519 signature)>
//   — <witness name> <...>         <- cosignatures (any number, up to kMaxSignatures)
//
// Key id = SHA-256(name || 0x0A || 0x01 || pubkey)[:4]. Verifier keys use Go's
// golang.org/x/mod/sumdb/note text form "<name>+<hex key id>+<base64(0x01||pubkey)>",
// signer keys "PRIVATE+KEY+<name>+<hex key id>+<base64(0x01||seed)>".
//
// Parsers take untrusted input and return InvalidArgument with a clear message
// for anything malformed; nothing throws. Verification follows the spec:
// signatures from unknown keys are ignored, a known key whose signature fails
// rejects the whole note, and at least one known key must verify.
// All functions are thread-safe; NoteSigner/NoteVerifier are immutable values.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace {
class Env;
}

namespace sealtrace::audit {

constexpr size_t kMaxNoteBytes = 1 << 20;
constexpr size_t kMaxSignatures = 100;

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // bytes after the key id (64 for Ed25519)
};

struct SignedNote {
  std::string text;  // ends with '\n'; what the signatures cover
  std::vector<NoteSignature> signatures;
};

// Key ids and names.
uint32_t Ed25519KeyId(std::string_view name, std::string_view public_key);
// Non-empty, valid UTF-8, no Unicode spaces, no '+', no control characters.
bool IsValidKeyName(std::string_view name);

class NoteVerifier {
 public:
  // Parses "<name>+<hex8>+<base64(0x01||pubkey32)>"; checks the key id.
  static absl::StatusOr<NoteVerifier> FromVerifierKey(std::string_view vkey);
  static absl::StatusOr<NoteVerifier> FromPublicKey(std::string_view name,
                                                    std::string_view public_key);
  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  const std::string& public_key() const { return public_key_; }
  std::string VerifierKey() const;
  bool Verify(std::string_view text, std::string_view signature) const;

 private:
  std::string name_;
  uint32_t key_id_ = 0;
  std::string public_key_;
};

// Holds an Ed25519 secret key (wiped on destruction). Move-only.
class NoteSigner {
 public:
  // A fresh key drawn from env->RandomBytes (Env::Default() if null).
  static absl::StatusOr<NoteSigner> Generate(std::string_view name, Env* env = nullptr);
  // Parses "PRIVATE+KEY+<name>+<hex8>+<base64(0x01||seed32)>".
  static absl::StatusOr<NoteSigner> FromSignerKey(std::string_view skey);
  // A key held elsewhere (an HSM): `sign` returns the 64-byte Ed25519
  // signature of its argument under the private half of `public_key`.
  using SignFn = std::function<absl::StatusOr<std::string>(std::string_view)>;
  static absl::StatusOr<NoteSigner> External(std::string_view name, std::string_view public_key,
                                             SignFn sign);
  NoteSigner(NoteSigner&&) noexcept;
  NoteSigner& operator=(NoteSigner&&) noexcept;
  NoteSigner(const NoteSigner&) = delete;
  NoteSigner& operator=(const NoteSigner&) = delete;
  ~NoteSigner();

  const std::string& name() const { return verifier_.name(); }
  uint32_t key_id() const { return verifier_.key_id(); }
  const NoteVerifier& verifier() const { return verifier_; }
  // The secret signer key text. Handle as a secret. "" for an External key.
  std::string SignerKey() const;
  bool external() const { return static_cast<bool>(external_); }
  // Fails only for an External key whose holder fails.
  absl::StatusOr<NoteSignature> Sign(std::string_view text) const;

 private:
  NoteSigner() = default;
  static absl::StatusOr<NoteSigner> FromSeed(std::string_view name, std::string_view seed);
  NoteVerifier verifier_;
  std::array<uint8_t, 64> sk_{};  // libsodium secret key (seed || pubkey)
  SignFn external_;               // set: the key is held elsewhere, sk_ is zero
};

// Parses the note framing (no signature checks).
absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note);
std::string FormatSignedNote(const SignedNote& note);

// Signs `text` (must end in '\n', contain no control characters but '\n')
// with each signer.
absl::StatusOr<std::string> SignNote(std::string_view text,
                                     const std::vector<const NoteSigner*>& signers);
// Adds a cosignature by `signer` to an existing signed note (witness cosigning).
// The existing signatures are kept unverified.
absl::StatusOr<std::string> AddSignature(std::string_view note, const NoteSigner& signer);

struct OpenedNote {
  std::string text;
  std::vector<NoteSignature> verified;    // by known keys
  std::vector<NoteSignature> unverified;  // by unknown keys, ignored
};
// Parses and verifies `note` against `known` keys (see rules above).
absl::StatusOr<OpenedNote> OpenNote(std::string_view note, const std::vector<NoteVerifier>& known);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root_hash;  // 32 raw bytes
  std::vector<std::string> extensions;
  bool operator==(const Checkpoint&) const = default;
};

std::string FormatCheckpointBody(const Checkpoint& cp);
absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view text);

// Signs the checkpoint; the signer's name must equal the origin.
absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& cp, const NoteSigner& signer);

struct VerifiedCheckpoint {
  Checkpoint checkpoint;
  std::vector<std::string> signers;  // names of known keys that verified (log first)
};
// Verifies the note with `known` keys and parses its body. Requires a verified
// signature whose key name equals the checkpoint origin (the log's own key);
// further verified signatures (witnesses) are listed in `signers`. If
// `expected_origin` is non-empty the origin must match it.
absl::StatusOr<VerifiedCheckpoint> VerifyCheckpoint(std::string_view note,
                                                    const std::vector<NoteVerifier>& known,
                                                    std::string_view expected_origin = {});

}  // namespace sealtrace::audit
