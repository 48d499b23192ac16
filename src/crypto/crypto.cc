#include "crypto/crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

namespace sealtrace {

void InitCrypto() {
  if (sodium_init() < 0) std::abort();
}

namespace {
uint8_t* LockedZeroed(size_t n) {
  if (sodium_init() < 0) std::abort();
  auto* p = static_cast<uint8_t*>(sodium_malloc(n));
  if (p == nullptr) std::abort();
  sodium_memzero(p, n);
  return p;
}
}  // namespace

SecretKey::SecretKey() : p_(LockedZeroed(kBytes)) {}
SecretKey::SecretKey(std::string_view bytes) : p_(LockedZeroed(kBytes)) {
  std::memcpy(p_, bytes.data(), std::min(bytes.size(), kBytes));
}
SecretKey::~SecretKey() { sodium_free(p_); }  // sodium_free wipes before unmapping
SecretKey::SecretKey(SecretKey&& o) noexcept : p_(LockedZeroed(kBytes)) {
  std::memcpy(p_, o.p_, kBytes);
  sodium_memzero(o.p_, kBytes);
}
SecretKey& SecretKey::operator=(SecretKey&& o) noexcept {
  if (this != &o) {
    std::memcpy(p_, o.p_, kBytes);
    sodium_memzero(o.p_, kBytes);
  }
  return *this;
}

BoxKeyPair GenerateBoxKeyPair() {
  InitCrypto();
  BoxKeyPair kp;
  kp.public_key.resize(crypto_box_PUBLICKEYBYTES);
  crypto_box_keypair(reinterpret_cast<unsigned char*>(kp.public_key.data()), kp.secret_key.data());
  return kp;
}

std::string BoxPublicKeyOf(const SecretKey& sk) {
  std::string pk(crypto_box_PUBLICKEYBYTES, '\0');
  crypto_scalarmult_base(reinterpret_cast<unsigned char*>(pk.data()), sk.data());
  return pk;
}

std::string KeyIdOf(std::string_view public_key) {
  unsigned char h[32];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const unsigned char*>(public_key.data()),
                     public_key.size(), nullptr, 0);
  return std::string(reinterpret_cast<char*>(h), kKeyIdBytes);
}

std::string Sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string RandomBytes(size_t n) {
  InitCrypto();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string AeadWrap(const SecretKey& key, std::string_view plaintext, std::string_view ad) {
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plaintext.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
      reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce, key.data());
  return out;
}

absl::StatusOr<std::string> AeadUnwrap(const SecretKey& key, std::string_view wrapped,
                                       std::string_view ad) {
  constexpr size_t kN = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kA = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (wrapped.size() < kN + kA) return absl::DataLossError("wrapped value too short");
  std::string out(wrapped.size() - kN - kA, '\0');
  unsigned long long mlen = 0;
  const auto* w = reinterpret_cast<const unsigned char*>(wrapped.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr, w + kN, wrapped.size() - kN,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), w, key.data()) != 0) {
    sodium_memzero(out.data(), out.size());
    return absl::DataLossError("authentication failed (wrong key or tampered value)");
  }
  return out;
}

namespace {
std::string B64(std::string_view bytes, int variant) {
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}
absl::StatusOr<std::string> UnB64(std::string_view text, int variant) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, variant) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError("invalid base64");
  }
  out.resize(len);
  return out;
}
}  // namespace

std::string Base64Url(std::string_view b) { return B64(b, sodium_base64_VARIANT_URLSAFE_NO_PADDING); }
absl::StatusOr<std::string> FromBase64Url(std::string_view t) {
  return UnB64(t, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
std::string Base64(std::string_view b) { return B64(b, sodium_base64_VARIANT_ORIGINAL); }
absl::StatusOr<std::string> FromBase64(std::string_view t) {
  return UnB64(t, sodium_base64_VARIANT_ORIGINAL);
}

}  // namespace sealtrace
