// Fuzzes the agent config loader (TOML) through a temporary file.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::string path = [] {
    char tmpl[] = "/tmp/st_cfg_fuzz_XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    return std::string(tmpl);
  }();
  sealtrace::Env* env = sealtrace::Env::Default();
  if (!sealtrace::WriteFileAtomic(env, path, std::string_view(reinterpret_cast<const char*>(data), size)).ok()) {
    return 0;
  }
  auto c = sealtrace::LoadAgentConfig(env, path);
  if (c.ok() && c->contributor_public_key.size() != 32) __builtin_trap();
  return 0;
}
