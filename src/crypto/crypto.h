// Thin, typed wrappers over libsodium used across sealtrace.
//
// Secrets live in SecretKey (zeroed on destruction). All functions are
// thread-safe once InitCrypto() has run (it is idempotent and cheap).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sealtrace {

// Calls sodium_init(); aborts if libsodium cannot initialise (no CSPRNG: an
// impossible state for a process that must seal data).
void InitCrypto();

constexpr size_t kPublicKeyBytes = 32;   // crypto_box_PUBLICKEYBYTES
constexpr size_t kSecretKeyBytes = 32;   // crypto_box_SECRETKEYBYTES
constexpr size_t kKeyIdBytes = 8;

// A fixed-size secret in its own locked page (sodium_malloc: mlock'd, guard
// pages, canary), zeroed at start and wiped when it goes away. Move-only; a
// moved-from key holds zeros. Allocation failure aborts (an impossible state).
class SecretKey {
 public:
  SecretKey();
  explicit SecretKey(std::string_view bytes);
  ~SecretKey();
  SecretKey(SecretKey&& o) noexcept;
  SecretKey& operator=(SecretKey&& o) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  const uint8_t* data() const { return p_; }
  uint8_t* data() { return p_; }
  size_t size() const { return kBytes; }
  std::string_view view() const { return {reinterpret_cast<const char*>(p_), kBytes}; }

 private:
  static constexpr size_t kBytes = 32;
  uint8_t* p_;
};

struct BoxKeyPair {
  std::string public_key;  // 32 bytes
  SecretKey secret_key;
};

// A fresh X25519 key pair (crypto_box_keypair).
BoxKeyPair GenerateBoxKeyPair();
// Recomputes the public key of an X25519 secret key.
std::string BoxPublicKeyOf(const SecretKey& sk);

// The 8-byte id of a public key: the first 8 bytes of BLAKE2b-256(pk).
std::string KeyIdOf(std::string_view public_key);

std::string Sha256(std::string_view data);
// HMAC-SHA-256 (crypto_auth_hmacsha256) with a 32-byte key.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string RandomBytes(size_t n);
// Constant-time comparison of equal-length strings; false if lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Authenticated symmetric wrap with XChaCha20-Poly1305 (IETF AEAD); output is
// nonce(24) || ciphertext || tag(16). `ad` is bound but not stored.
std::string AeadWrap(const SecretKey& key, std::string_view plaintext, std::string_view ad);
absl::StatusOr<std::string> AeadUnwrap(const SecretKey& key, std::string_view wrapped,
                                       std::string_view ad);

// URL-safe base64 without padding (sodium_base64_VARIANT_URLSAFE_NO_PADDING).
std::string Base64Url(std::string_view bytes);
absl::StatusOr<std::string> FromBase64Url(std::string_view text);
// Standard base64 with padding.
std::string Base64(std::string_view bytes);
absl::StatusOr<std::string> FromBase64(std::string_view text);

}  // namespace sealtrace
