// Fuzzes the privacy config loader (toml++ + schema + pattern compilation):
// any input gives a config or a clear error, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "privacy/exclusions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = sealtrace::privacy::ParsePrivacyConfig(text, "fuzz.toml");
  if (cfg.ok()) {
    auto m = sealtrace::privacy::ExclusionMatcher::Create(cfg->exclusions);
    if (!m.ok()) std::abort();  // Parse validated every pattern already
    (void)(*m)->Match("xterm", "xterm", "Private Browsing https://mail.google.com/x");
  } else if (cfg.status().message().find("fuzz.toml:") != 0) {
    std::abort();  // every error names the file
  }
  return 0;
}
