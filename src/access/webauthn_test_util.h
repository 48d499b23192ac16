// SoftAuthenticator: a software WebAuthn authenticator for tests. It makes
// real ES256 (P-256) or Ed25519 keys with OpenSSL and produces the bytes a
// browser would hand the relying party: client data JSON, CBOR attestation
// objects (fmt "none") and signed assertions. Each knob (origin, RP id,
// flags, counter, challenge) can be set wrong on purpose. Test-only.
#pragma once

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <string>

#include "access/webauthn.h"
#include "crypto/crypto.h"

namespace sealtrace::access::testing {

class SoftAuthenticator {
 public:
  explicit SoftAuthenticator(int alg = webauthn::kAlgES256) : alg_(alg) {
    key_ = alg == webauthn::kAlgES256 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    credential_id_ = RandomBytes(16);
    public_key_.alg = alg;
    if (alg == webauthn::kAlgES256) {
      unsigned char pt[65];
      size_t n = 0;
      EVP_PKEY_get_octet_string_param(key_, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n);
      public_key_.key.assign(reinterpret_cast<char*>(pt), n);
    } else {
      unsigned char raw[32];
      size_t n = sizeof(raw);
      EVP_PKEY_get_raw_public_key(key_, raw, &n);
      public_key_.key.assign(reinterpret_cast<char*>(raw), n);
    }
  }
  ~SoftAuthenticator() { EVP_PKEY_free(key_); }
  SoftAuthenticator(const SoftAuthenticator&) = delete;
  SoftAuthenticator& operator=(const SoftAuthenticator&) = delete;

  // Knobs.
  std::string origin = "http://localhost:8420";
  std::string rp_id = "localhost";
  uint8_t flags = webauthn::kFlagUserPresent | webauthn::kFlagUserVerified;
  uint32_t counter = 0;
  bool cross_origin = false;

  const std::string& credential_id() const { return credential_id_; }
  const webauthn::PublicKey& public_key() const { return public_key_; }

  static std::string ClientData(const std::string& type, const std::string& challenge,
                                const std::string& origin, bool cross_origin = false) {
    return "{\"type\":\"" + type + "\",\"challenge\":\"" + Base64Url(challenge) +
           "\",\"origin\":\"" + origin + "\",\"crossOrigin\":" +
           (cross_origin ? "true" : "false") + "}";
  }

  std::string AuthData(bool attested) const {
    std::string a = Sha256(rp_id);
    a.push_back(static_cast<char>(flags | (attested ? webauthn::kFlagAttested : 0)));
    for (int i = 3; i >= 0; --i) a.push_back(static_cast<char>((counter >> (8 * i)) & 0xff));
    if (attested) {
      a += std::string(16, '\x00');  // aaguid
      a.push_back(static_cast<char>(credential_id_.size() >> 8));
      a.push_back(static_cast<char>(credential_id_.size() & 0xff));
      a += credential_id_;
      a += webauthn::EncodeCoseKey(public_key_);
    }
    return a;
  }

  // What navigator.credentials.create() returns, for `challenge`.
  webauthn::Registration Register(const std::string& challenge) const {
    webauthn::Registration r;
    r.client_data_json = ClientData("webauthn.create", challenge, origin, cross_origin);
    const std::string auth = AuthData(true);
    cbor_item_t* m = cbor_new_definite_map(3);
    cbor_map_add(m, cbor_pair{cbor_move(cbor_build_string("fmt")),
                              cbor_move(cbor_build_string("none"))});
    cbor_map_add(m, cbor_pair{cbor_move(cbor_build_string("attStmt")),
                              cbor_move(cbor_new_definite_map(0))});
    cbor_map_add(m, cbor_pair{cbor_move(cbor_build_string("authData")),
                              cbor_move(cbor_build_bytestring(
                                  reinterpret_cast<const unsigned char*>(auth.data()),
                                  auth.size()))});
    unsigned char* buf = nullptr;
    size_t cap = 0;
    const size_t n = cbor_serialize_alloc(m, &buf, &cap);
    r.attestation_object.assign(reinterpret_cast<char*>(buf), n);
    free(buf);
    cbor_decref(&m);
    return r;
  }

  // What navigator.credentials.get() returns, for `challenge`.
  webauthn::Assertion Assert(const std::string& challenge) const {
    webauthn::Assertion a;
    a.client_data_json = ClientData("webauthn.get", challenge, origin, cross_origin);
    a.authenticator_data = AuthData(false);
    a.signature = Sign(a.authenticator_data + Sha256(a.client_data_json));
    return a;
  }

  std::string Sign(const std::string& msg) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const EVP_MD* md = alg_ == webauthn::kAlgES256 ? EVP_sha256() : nullptr;
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, key_);
    size_t n = 0;
    EVP_DigestSign(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(msg.data()),
                   msg.size());
    std::string sig(n, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n,
                   reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
    sig.resize(n);
    EVP_MD_CTX_free(ctx);
    return sig;
  }

 private:
  int alg_;
  EVP_PKEY* key_ = nullptr;
  std::string credential_id_;
  webauthn::PublicKey public_key_;
};

}  // namespace sealtrace::access::testing
