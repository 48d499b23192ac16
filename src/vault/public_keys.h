// PublicKeyDirectory: read-only access to contributors' public keys.
//
// KeyService implements it. The ingest path gets only this interface, never the
// KeyReleaser, so nothing on ingest can reach a secret key.
// Thread-safety: implementations must be safe for concurrent use.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace sealtrace::vault {

class PublicKeyDirectory {
 public:
  virtual ~PublicKeyDirectory() = default;
  // The contributor's current 32-byte X25519 public key; NOT_FOUND if the
  // contributor has no live key (unknown or crypto-shredded).
  virtual absl::StatusOr<std::string> PublicKey(const Id16& contributor_id) = 0;
};

}  // namespace sealtrace::vault
