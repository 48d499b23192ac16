// Test helper: a real PKCS#11 token (SoftHSM2) in a temporary directory.
//
// SoftHsm::Get() writes a softhsm2.conf whose token directory is a fresh temp
// dir and points $SOFTHSM2_CONF at it, once per process (the module reads it
// when it is initialised). NewToken() initialises a new token with
// softhsm2-util and returns its label. A token made after the module was
// initialised is seen once every Pkcs11Token of the process has closed (the
// module is initialised again at the next open): make tokens before opening.
// Thread-safety: none (use from the test thread).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace sealtrace::testing {

class SoftHsm {
 public:
  static SoftHsm& Get();
  // Path of libsofthsm2.so (installed by scripts/install-deps.sh).
  const std::string& module() const { return module_; }
  const std::string& token_dir() const { return token_dir_; }
  // A new token with this user PIN (SO PIN "so-" + pin), labelled `label` or,
  // when empty, uniquely. Returns the label.
  absl::StatusOr<std::string> NewToken(const std::string& pin = "1234",
                                       const std::string& label = "");

 private:
  SoftHsm();
  std::string module_;
  std::string token_dir_;
  int next_ = 0;
};

}  // namespace sealtrace::testing
