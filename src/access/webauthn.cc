#include "access/webauthn.h"

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace sealtrace::access::webauthn {
namespace {

absl::Status Fail(std::string_view rule, std::string_view why) {
  return absl::UnauthenticatedError(std::string("webauthn.") + std::string(rule) + ": " +
                                    std::string(why));
}

struct CborDeleter {
  void operator()(cbor_item_t* i) const { cbor_decref(&i); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDeleter>;

// Walks one CBOR item without allocating: definite lengths only, every
// declared length or item count within the bytes left (an item takes at
// least one byte), nesting at most 16. Returns the item's size, or 0 if it is
// malformed. libcbor would allocate a declared count before reading items.
size_t CheckCbor(const uint8_t* p, size_t n, int depth) {
  if (depth > 16 || n == 0) return 0;
  const int major = p[0] >> 5, ai = p[0] & 31;
  size_t off = 1;
  uint64_t v = static_cast<uint64_t>(ai);
  if (ai >= 24 && ai <= 27) {
    const size_t len = size_t{1} << (ai - 24);
    if (n < 1 + len) return 0;
    v = 0;
    for (size_t i = 0; i < len; ++i) v = (v << 8) | p[1 + i];
    off += len;
  } else if (ai > 27) {
    return 0;  // reserved, or an indefinite length
  }
  const size_t left = n - off;
  switch (major) {
    case 0: case 1: case 7:
      return off;
    case 2: case 3:
      return v > left ? 0 : off + static_cast<size_t>(v);
    case 4: case 5: {
      if (v > left || (major == 5 && v > left / 2)) return 0;
      const uint64_t items = major == 5 ? 2 * v : v;
      for (uint64_t i = 0; i < items; ++i) {
        const size_t used = CheckCbor(p + off, n - off, depth + 1);
        if (used == 0) return 0;
        off += used;
      }
      return off;
    }
    default: {  // 6: a tag and its item
      const size_t used = CheckCbor(p + off, left, depth + 1);
      return used == 0 ? 0 : off + used;
    }
  }
}

// Loads one definite CBOR item from the front of `data`.
absl::StatusOr<CborPtr> LoadCbor(std::string_view data, size_t* consumed) {
  if (data.empty()) return Fail("malformed", "empty CBOR");
  if (CheckCbor(reinterpret_cast<const uint8_t*>(data.data()), data.size(), 0) == 0) {
    return Fail("malformed", "CBOR with indefinite or oversized lengths, or nested too deep");
  }
  cbor_load_result res{};
  cbor_item_t* item =
      cbor_load(reinterpret_cast<const unsigned char*>(data.data()), data.size(), &res);
  if (item == nullptr || res.error.code != CBOR_ERR_NONE) {
    if (item != nullptr) cbor_decref(&item);
    return Fail("malformed", "invalid CBOR");
  }
  if (consumed != nullptr) *consumed = res.read;
  return CborPtr(item);
}

std::optional<std::string> Bytes(const cbor_item_t* i) {
  if (!cbor_isa_bytestring(i) || !cbor_bytestring_is_definite(i)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(cbor_bytestring_handle(i)),
                     cbor_bytestring_length(i));
}

std::optional<std::string> Text(const cbor_item_t* i) {
  if (!cbor_isa_string(i) || !cbor_string_is_definite(i)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(cbor_string_handle(i)), cbor_string_length(i));
}

// CBOR integers in [-2^31, 2^31).
std::optional<int64_t> Int(const cbor_item_t* i) {
  if (cbor_isa_uint(i)) {
    uint64_t v = cbor_get_int(i);
    if (v > 0x7fffffffULL) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (cbor_isa_negint(i)) {
    uint64_t v = cbor_get_int(i);
    if (v > 0x7fffffffULL) return std::nullopt;
    return -1 - static_cast<int64_t>(v);
  }
  return std::nullopt;
}

uint32_t BigEndian32(std::string_view b) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[3]));
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr LoadP256(std::string_view point) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return nullptr;
  OSSL_PARAM* params = nullptr;
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1 &&
      (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
      (ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)) != nullptr &&
      EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return PkeyPtr(pkey);
}

absl::Status CheckCommon(const ClientData& cd, std::string_view type, const AuthenticatorData& ad,
                         const Expectation& e) {
  if (cd.type != type) return Fail("type", "client data type is not " + std::string(type));
  if (e.challenge.empty() || !ConstantTimeEquals(cd.challenge, e.challenge)) {
    return Fail("challenge", "the challenge is not the one this ceremony issued");
  }
  bool origin_ok = false;
  for (const auto& o : e.origins) origin_ok = origin_ok || o == cd.origin;
  if (!origin_ok) return Fail("origin", "origin " + cd.origin + " is not this vault's");
  if (cd.cross_origin) return Fail("origin", "cross-origin ceremonies are refused");
  if (!ConstantTimeEquals(ad.rp_id_hash, Sha256(e.rp_id))) {
    return Fail("rp_id", "the authenticator signed for another relying party");
  }
  if ((ad.flags & kFlagUserPresent) == 0) return Fail("user_present", "user presence not shown");
  if (e.require_user_verification && (ad.flags & kFlagUserVerified) == 0) {
    return Fail("user_verified", "the authenticator did not verify the user");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PublicKey> ParseCoseKey(std::string_view cbor, size_t* consumed) {
  auto item = LoadCbor(cbor, consumed);
  if (!item.ok()) return item.status();
  cbor_item_t* m = item->get();
  if (!cbor_isa_map(m) || !cbor_map_is_definite(m)) return Fail("malformed", "COSE key not a map");
  std::optional<int64_t> kty, alg, crv;
  std::optional<std::string> x, y;
  cbor_pair* pairs = cbor_map_handle(m);
  for (size_t i = 0; i < cbor_map_size(m); ++i) {
    auto label = Int(pairs[i].key);
    if (!label) continue;  // text labels are allowed and ignored
    const cbor_item_t* v = pairs[i].value;
    switch (*label) {
      case 1: kty = Int(v); break;
      case 3: alg = Int(v); break;
      case -1: crv = Int(v); break;
      case -2: x = Bytes(v); break;
      case -3: y = Bytes(v); break;
      default: break;
    }
  }
  if (!kty || !alg) return Fail("malformed", "COSE key lacks kty or alg");
  PublicKey k;
  if (*alg == kAlgES256) {
    if (*kty != 2 || !crv || *crv != 1 || !x || !y || x->size() != 32 || y->size() != 32) {
      return Fail("algorithm", "ES256 key is not an EC2 P-256 point");
    }
    k.alg = kAlgES256;
    k.key = "\x04" + *x + *y;
    if (LoadP256(k.key) == nullptr) return Fail("algorithm", "ES256 point is not on the curve");
    return k;
  }
  if (*alg == kAlgEdDSA) {
    if (*kty != 1 || !crv || *crv != 6 || !x || x->size() != 32) {
      return Fail("algorithm", "EdDSA key is not an Ed25519 OKP key");
    }
    k.alg = kAlgEdDSA;
    k.key = *x;
    return k;
  }
  return Fail("algorithm", "only ES256 (-7) and EdDSA (-8) keys are accepted");
}

std::string EncodeCoseKey(const PublicKey& key) {
  const bool ec = key.alg == kAlgES256;
  cbor_item_t* m = cbor_new_definite_map(ec ? 5 : 4);
  auto add = [&](cbor_item_t* k, cbor_item_t* v) {
    cbor_map_add(m, cbor_pair{cbor_move(k), cbor_move(v)});
  };
  auto bytes = [](std::string_view b) {
    return cbor_build_bytestring(reinterpret_cast<const unsigned char*>(b.data()), b.size());
  };
  add(cbor_build_uint8(1), cbor_build_uint8(ec ? 2 : 1));
  add(cbor_build_uint8(3), cbor_build_negint8(ec ? 6 : 7));
  add(cbor_build_negint8(0), cbor_build_uint8(ec ? 1 : 6));
  if (ec && key.key.size() == 65) {
    add(cbor_build_negint8(1), bytes(std::string_view(key.key).substr(1, 32)));
    add(cbor_build_negint8(2), bytes(std::string_view(key.key).substr(33, 32)));
  } else {
    add(cbor_build_negint8(1), bytes(key.key));
  }
  unsigned char* buf = nullptr;
  size_t cap = 0;
  size_t n = cbor_serialize_alloc(m, &buf, &cap);
  std::string out(reinterpret_cast<const char*>(buf), n);
  free(buf);
  cbor_decref(&m);
  return out;
}

absl::StatusOr<AuthenticatorData> ParseAuthenticatorData(std::string_view raw) {
  if (raw.size() < 37) return Fail("malformed", "authenticator data shorter than 37 bytes");
  AuthenticatorData ad;
  ad.rp_id_hash = std::string(raw.substr(0, 32));
  ad.flags = static_cast<uint8_t>(raw[32]);
  ad.sign_count = BigEndian32(raw.substr(33, 4));
  std::string_view rest = raw.substr(37);
  if (ad.flags & kFlagAttested) {
    if (rest.size() < 18) return Fail("malformed", "attested credential data truncated");
    ad.aaguid = std::string(rest.substr(0, 16));
    const size_t len = (static_cast<size_t>(static_cast<uint8_t>(rest[16])) << 8) |
                       static_cast<uint8_t>(rest[17]);
    rest.remove_prefix(18);
    if (len == 0 || len > kMaxCredentialIdBytes || rest.size() < len) {
      return Fail("malformed", "credential id length out of range");
    }
    ad.credential_id = std::string(rest.substr(0, len));
    rest.remove_prefix(len);
    size_t used = 0;
    auto key = ParseCoseKey(rest, &used);
    if (!key.ok()) return key.status();
    ad.public_key = *key;
    rest.remove_prefix(used);
  }
  if (ad.flags & kFlagExtensions) {
    size_t used = 0;
    auto ext = LoadCbor(rest, &used);
    if (!ext.ok()) return ext.status();
    if (!cbor_isa_map(ext->get())) return Fail("malformed", "extensions are not a map");
    rest.remove_prefix(used);
  }
  if (!rest.empty()) return Fail("malformed", "trailing bytes after authenticator data");
  return ad;
}

absl::StatusOr<ClientData> ParseClientData(std::string_view text) {
  if (text.size() > kMaxClientDataBytes) return Fail("malformed", "client data too large");
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail("malformed", "client data is not JSON");
  ClientData cd;
  auto str = [&](const char* k, std::string* out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  std::string challenge;
  if (!str("type", &cd.type) || !str("challenge", &challenge) || !str("origin", &cd.origin)) {
    return Fail("malformed", "client data lacks type, challenge or origin");
  }
  while (!challenge.empty() && challenge.back() == '=') challenge.pop_back();
  auto raw = FromBase64Url(challenge);
  if (!raw.ok()) return Fail("malformed", "challenge is not base64url");
  cd.challenge = *raw;
  auto co = j.find("crossOrigin");
  cd.cross_origin = co != j.end() && co->is_boolean() && co->get<bool>();
  return cd;
}

absl::StatusOr<NewCredential> VerifyRegistration(const Registration& r, const Expectation& e) {
  if (r.attestation_object.size() > kMaxAttestationBytes) {
    return Fail("malformed", "attestation object too large");
  }
  auto cd = ParseClientData(r.client_data_json);
  if (!cd.ok()) return cd.status();
  size_t used = 0;
  auto att = LoadCbor(r.attestation_object, &used);
  if (!att.ok()) return att.status();
  if (used != r.attestation_object.size() || !cbor_isa_map(att->get())) {
    return Fail("malformed", "attestation object is not one CBOR map");
  }
  std::optional<std::string> auth_data, fmt;
  cbor_pair* pairs = cbor_map_handle(att->get());
  for (size_t i = 0; i < cbor_map_size(att->get()); ++i) {
    auto k = Text(pairs[i].key);
    if (k == "authData") auth_data = Bytes(pairs[i].value);
    if (k == "fmt") fmt = Text(pairs[i].value);
  }
  if (!auth_data || !fmt) return Fail("malformed", "attestation object lacks fmt or authData");
  auto ad = ParseAuthenticatorData(*auth_data);
  if (!ad.ok()) return ad.status();
  if (auto s = CheckCommon(*cd, "webauthn.create", *ad, e); !s.ok()) return s;
  if ((ad->flags & kFlagAttested) == 0) {
    return Fail("credential", "registration carries no credential");
  }
  NewCredential c;
  c.credential_id = ad->credential_id;
  c.public_key = ad->public_key;
  c.sign_count = ad->sign_count;
  c.aaguid = ad->aaguid;
  c.user_verified = (ad->flags & kFlagUserVerified) != 0;
  return c;
}

absl::StatusOr<AssertionResult> VerifyAssertion(const Assertion& a, const PublicKey& key,
                                                const Expectation& e) {
  auto cd = ParseClientData(a.client_data_json);
  if (!cd.ok()) return cd.status();
  auto ad = ParseAuthenticatorData(a.authenticator_data);
  if (!ad.ok()) return ad.status();
  if (auto s = CheckCommon(*cd, "webauthn.get", *ad, e); !s.ok()) return s;
  const std::string signed_bytes = a.authenticator_data + Sha256(a.client_data_json);
  if (!VerifySignature(key, signed_bytes, a.signature)) {
    return Fail("signature", "the assertion's signature does not verify");
  }
  return AssertionResult{ad->sign_count, (ad->flags & kFlagUserVerified) != 0};
}

bool CounterAdvances(uint32_t stored, uint32_t presented) {
  if (stored == 0 && presented == 0) return true;  // authenticators without a counter
  return presented > stored;
}

bool VerifySignature(const PublicKey& key, std::string_view message, std::string_view signature) {
  PkeyPtr pkey;
  const EVP_MD* md = nullptr;
  if (key.alg == kAlgES256 && key.key.size() == 65) {
    pkey = LoadP256(key.key);
    md = EVP_sha256();
  } else if (key.alg == kAlgEdDSA && key.key.size() == 32) {
    pkey.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key.key.data()), 32));
  }
  if (pkey == nullptr || signature.empty() || signature.size() > 512) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey.get()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace sealtrace::access::webauthn
