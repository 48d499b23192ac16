#include "hsm/softhsm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "pg/subprocess.h"

namespace sealtrace::testing {

SoftHsm& SoftHsm::Get() {
  static SoftHsm* s = new SoftHsm();
  return *s;
}

SoftHsm::SoftHsm() {
  for (const char* p : {"/usr/lib/softhsm/libsofthsm2.so",
                        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"}) {
    if (::access(p, R_OK) == 0) {
      module_ = p;
      break;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/sealtrace-softhsm-XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  std::string root = dir ? dir : "/tmp";
  token_dir_ = root + "/tokens";
  ::mkdir(token_dir_.c_str(), 0700);
  const std::string conf = root + "/softhsm2.conf";
  std::ofstream(conf) << "directories.tokendir = " << token_dir_
                      << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
}

absl::StatusOr<std::string> SoftHsm::NewToken(const std::string& pin, const std::string& want) {
  if (module_.empty()) {
    return absl::FailedPreconditionError("libsofthsm2.so not found: run scripts/install-deps.sh");
  }
  std::string label = !want.empty() ? want : "st-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_++);
  auto rc = RunCommand({"softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                        "--so-pin", "so-" + pin},
                       token_dir_ + "/../softhsm2-util.log");
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return absl::InternalError("softhsm2-util --init-token failed");
  return label;
}

}  // namespace sealtrace::testing
