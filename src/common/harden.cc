#include "common/harden.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <string>

namespace sealtrace {

absl::Status DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(std::string("setrlimit(RLIMIT_CORE, 0): ") + strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(std::string("prctl(PR_SET_DUMPABLE, 0): ") + strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace sealtrace
