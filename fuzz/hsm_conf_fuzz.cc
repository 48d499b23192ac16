// Fuzzes <data>/hsm.conf (vault/master_keys.h ParseHsmConf): whatever it
// accepts, EncodeHsmConf writes back to the same configuration.
#include <cstdint>
#include <string>

#include "vault/master_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = sealtrace::vault::ParseHsmConf(text);
  if (!c.ok()) return 0;
  auto again = sealtrace::vault::ParseHsmConf(sealtrace::vault::EncodeHsmConf(*c));
  if (!again.ok() || again->hsm_module != c->hsm_module || again->hsm_token != c->hsm_token ||
      again->hsm_pin_file != c->hsm_pin_file || !again->key_file.empty()) {
    __builtin_trap();
  }
  return 0;
}
