// Pkcs11Token: one logged-in PKCS#11 token (a hardware security module, or
// SoftHSM2 in tests) that holds sealtrace's secret keys as objects found by
// label. The token does the wrapping, unwrapping and signing; no call here ever
// returns secret key material.
//
// Keys are generated inside the token: CKA_TOKEN (persistent), CKA_PRIVATE
// (only a logged-in user sees them), CKA_SENSITIVE, CKA_EXTRACTABLE false.
// Symmetric encryption is AES-256-GCM with a random 96-bit nonce drawn by the
// host and a 128-bit tag: output nonce(12) || ciphertext || tag(16); `ad` is
// bound, not stored. Signatures are Ed25519 (CKM_EDDSA, RFC 8032 pure form,
// byte-identical to libsodium's crypto_sign_detached).
//
// Loading: the module (a shared object implementing PKCS#11 2.40, e.g.
// p11-kit-proxy.so or libsofthsm2.so) is loaded with dlopen and initialised
// once per process (OS locking), however many Pkcs11Token objects use it; the
// token is the one whose label equals `token_label`. The PIN is never logged
// and never appears in an error message.
//
// Failure: absl::Status, mapped from the token's CKR_ code (named in the
// message): PERMISSION_DENIED wrong or locked PIN; UNAVAILABLE token or slot
// absent, removed, or a session lost (the next call looks for the token's slot
// again; whether a token that comes back is seen without initialising the
// module anew depends on the module: SoftHSM2 needs a new process);
// RESOURCE_EXHAUSTED token memory
// full; NOT_FOUND no key object with that label (also when it was deleted under
// a running process: a cached handle that went invalid is looked up once more);
// DATA_LOSS a ciphertext that does not open under the key (tampered, or wrong
// ad); INTERNAL anything else.
//
// Login is per application in PKCS#11: a second Pkcs11Token on a token this
// process is already logged in to shares that login (its PIN is not checked
// again). A PIN the token refused is never sent again by this object.
//
// Thread-safety: safe for concurrent use; each call borrows a session from a
// small pool (sessions share the login, as PKCS#11 specifies).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace {

class Env;

struct Pkcs11Config {
  std::string module;       // path of the PKCS#11 module (.so)
  std::string token_label;  // label of the token to use (at most 32 bytes)
  std::string pin;          // the user PIN (see ReadPkcs11Pin)
};

// The user PIN: the first line of `pin_file` (which must not be accessible by
// group or others) or, when `pin_file` is empty, the environment variable
// `pin_env`. INVALID_ARGUMENT when neither gives a non-empty PIN.
absl::StatusOr<std::string> ReadPkcs11Pin(Env* env, const std::string& pin_file,
                                          const std::string& pin_env);

class Pkcs11Token {
 public:
  // Loads and initialises the module, finds the token and logs in.
  static absl::StatusOr<std::unique_ptr<Pkcs11Token>> Open(const Pkcs11Config& config);
  ~Pkcs11Token();
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  // "token <label> (<module>)", for messages and health.
  std::string Describe() const;

  // Labels of the token's key objects (secret keys and private keys) that
  // start with `prefix`, sorted.
  absl::StatusOr<std::vector<std::string>> ListKeys(std::string_view prefix);
  // True if a key object with this label exists.
  absl::StatusOr<bool> HasKey(const std::string& label);
  // A new non-extractable AES-256 key (encrypt/decrypt only).
  // ALREADY_EXISTS if a key with this label exists.
  absl::Status GenerateAesKey(const std::string& label);
  // A new non-extractable Ed25519 key pair (private key: sign only).
  // ALREADY_EXISTS if a key with this label exists.
  absl::Status GenerateEd25519Key(const std::string& label);
  // Destroys every key object with this label (both halves of a key pair).
  // NOT_FOUND if there is none.
  absl::Status DestroyKey(const std::string& label);

  absl::StatusOr<std::string> Encrypt(const std::string& label, std::string_view plaintext,
                                      std::string_view ad);
  absl::StatusOr<std::string> Decrypt(const std::string& label, std::string_view wrapped,
                                      std::string_view ad);
  // The 32-byte Ed25519 public key, and a 64-byte signature over `message`.
  absl::StatusOr<std::string> Ed25519PublicKey(const std::string& label);
  absl::StatusOr<std::string> SignEd25519(const std::string& label, std::string_view message);

  struct Impl;

 private:
  explicit Pkcs11Token(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealtrace
