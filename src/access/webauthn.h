// WebAuthn relying-party verification (W3C Web Authentication Level 2, §7.1
// registration and §7.2 assertion), for the contributor's passkey sign-in.
//
// Pure functions over untrusted bytes: the CBOR attestation object and
// authenticator data (libcbor), the client data JSON, COSE public keys
// (ES256 = P-256 ECDSA with SHA-256, EdDSA = Ed25519) and signatures
// (OpenSSL). Nothing here stores anything or keeps challenges: the caller
// (SignInService) issues single-use challenges and keeps credentials.
//
// Attestation: the relying party asks for attestation "none", so the
// attestation statement is not verified (§7.1 step 21 allows treating any
// format as none when the RP does not require attestation); the credential
// key comes from the authenticator data, which the registration's signed
// client data binds to the challenge.
//
// Errors: UNAUTHENTICATED "webauthn.<rule>: <reason>" for anything that fails
// a check (rules: webauthn.malformed, webauthn.type, webauthn.challenge,
// webauthn.origin, webauthn.rp_id, webauthn.user_present,
// webauthn.user_verified, webauthn.algorithm, webauthn.signature,
// webauthn.credential); never throws, never crashes on any input.
// Thread-safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace::access::webauthn {

// COSE algorithm identifiers (RFC 9053).
inline constexpr int kAlgES256 = -7;
inline constexpr int kAlgEdDSA = -8;

// Authenticator data flags.
inline constexpr uint8_t kFlagUserPresent = 0x01;
inline constexpr uint8_t kFlagUserVerified = 0x04;
inline constexpr uint8_t kFlagAttested = 0x40;
inline constexpr uint8_t kFlagExtensions = 0x80;

inline constexpr size_t kMaxCredentialIdBytes = 1023;  // §5.8.3 (credential IDs up to 1023 bytes)
inline constexpr size_t kMaxClientDataBytes = 8192;
inline constexpr size_t kMaxAttestationBytes = 16384;

struct PublicKey {
  int alg = 0;      // kAlgES256 or kAlgEdDSA
  std::string key;  // ES256: 65-byte uncompressed point 0x04||x||y; EdDSA: 32 bytes
};

// A COSE_Key map (RFC 9052 §7) holding an ES256 or EdDSA public key. Sets
// *consumed to the number of CBOR bytes read (the key may be followed by
// extension data). Other key types and curves are refused (webauthn.algorithm).
absl::StatusOr<PublicKey> ParseCoseKey(std::string_view cbor, size_t* consumed);
// Encodes a key as a COSE_Key map (the inverse of ParseCoseKey; used by tests
// and to store keys in one canonical form).
std::string EncodeCoseKey(const PublicKey& key);

struct AuthenticatorData {
  std::string rp_id_hash;  // 32 bytes
  uint8_t flags = 0;
  uint32_t sign_count = 0;
  // Present when flags has kFlagAttested (registration):
  std::string aaguid;  // 16 bytes
  std::string credential_id;
  PublicKey public_key;
};
absl::StatusOr<AuthenticatorData> ParseAuthenticatorData(std::string_view raw);

struct ClientData {
  std::string type;       // "webauthn.create" or "webauthn.get"
  std::string challenge;  // decoded bytes
  std::string origin;
  bool cross_origin = false;
};
absl::StatusOr<ClientData> ParseClientData(std::string_view json);

// What the relying party expects of one ceremony.
struct Expectation {
  std::string rp_id;                 // e.g. "localhost" or "vault.example.com"
  std::vector<std::string> origins;  // accepted origins, e.g. "https://vault.example.com"
  std::string challenge;             // the raw challenge bytes this ceremony issued
  bool require_user_verification = true;
};

struct Registration {
  std::string client_data_json;
  std::string attestation_object;  // CBOR {"fmt", "attStmt", "authData"}
};

struct NewCredential {
  std::string credential_id;
  PublicKey public_key;
  uint32_t sign_count = 0;
  std::string aaguid;
  bool user_verified = false;
};

// §7.1: checks type "webauthn.create", challenge, origin, RP id hash, user
// presence (and verification), that the authenticator data carries a
// credential with an ES256 or EdDSA key, and returns it.
absl::StatusOr<NewCredential> VerifyRegistration(const Registration& r, const Expectation& e);

struct Assertion {
  std::string client_data_json;
  std::string authenticator_data;
  std::string signature;
};

struct AssertionResult {
  uint32_t sign_count = 0;
  bool user_verified = false;
};

// §7.2 steps 11-21 for a known credential: type "webauthn.get", challenge,
// origin, RP id hash, flags, and the signature over
// authenticator_data || SHA-256(client_data_json). The signature counter is
// returned; whether it advanced is the caller's check (CounterAdvances), as
// only the caller knows the stored value.
absl::StatusOr<AssertionResult> VerifyAssertion(const Assertion& a, const PublicKey& key,
                                                const Expectation& e);

// §7.2 step 21: a counter that is non-zero on either side must grow.
bool CounterAdvances(uint32_t stored, uint32_t presented);

// Verifies a signature with an ES256 (DER-encoded ECDSA) or EdDSA key.
bool VerifySignature(const PublicKey& key, std::string_view message, std::string_view signature);

}  // namespace sealtrace::access::webauthn
