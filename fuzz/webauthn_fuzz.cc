// Feeds untrusted bytes to the WebAuthn parsers and verifiers (access/webauthn.h):
// authenticator data, COSE keys, client data JSON, attestation objects and
// assertions. Nothing may crash, hang or be accepted without a signature.
#include <cstddef>
#include <cstdint>
#include <string>

#include "access/webauthn.h"

using namespace sealtrace::access::webauthn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Expectation e;
  e.rp_id = "localhost";
  e.origins = {"http://localhost:8420"};
  e.challenge = std::string(32, 'c');
  switch (data[0] % 5) {
    case 0:
      (void)ParseAuthenticatorData(in);
      break;
    case 1: {
      size_t used = 0;
      auto k = ParseCoseKey(in, &used);
      if (k.ok() && used > in.size()) __builtin_trap();
      if (k.ok()) (void)VerifySignature(*k, "message", in);
      break;
    }
    case 2:
      (void)ParseClientData(in);
      break;
    case 3: {
      const size_t cut = in.size() / 2;
      (void)VerifyRegistration({in.substr(0, cut), in.substr(cut)}, e);
      break;
    }
    case 4: {
      const size_t a = in.size() / 3, b = 2 * in.size() / 3;
      PublicKey k{kAlgEdDSA, std::string(32, 'k')};
      auto r = VerifyAssertion({in.substr(0, a), in.substr(a, b - a), in.substr(b)}, k, e);
      (void)r;
      break;
    }
  }
  return 0;
}
