// Fuzzes the agent's own files: the config loader (TOML, through a temporary
// file) and the state files the recorder and uploader share (agent/state_files.h),
// whose parsers must round-trip whatever they accept.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/config.h"
#include "agent/state_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::string path = [] {
    char tmpl[] = "/tmp/st_cfg_fuzz_XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    return std::string(tmpl);
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto v = sealtrace::ParseVaultState(text)) {
    auto again = sealtrace::ParseVaultState(sealtrace::EncodeVaultState(*v, 0));
    if (!again || again->programme_state != v->programme_state ||
        again->recording_allowed != v->recording_allowed ||
        again->contributor_paused != v->contributor_paused) {
      __builtin_trap();
    }
  }
  int64_t pid = 0;
  if (auto r = sealtrace::ParseUploadReport(text, &pid)) {
    int64_t pid2 = 0;
    auto again = sealtrace::ParseUploadReport(sealtrace::EncodeUploadReport(*r, pid), &pid2);
    if (!again || pid2 != pid || again->uploaded != r->uploaded ||
        again->last_error != r->last_error || again->spool_bytes != r->spool_bytes) {
      __builtin_trap();
    }
  }
  if (auto st = sealtrace::ParseAgentStatus(text)) {
    // Whatever the parser accepts, the encoder writes back to the same status.
    auto again = sealtrace::ParseAgentStatus(sealtrace::EncodeAgentStatus(*st));
    if (!again || sealtrace::EncodeAgentStatus(*again) != sealtrace::EncodeAgentStatus(*st) ||
        again->state != st->state || again->captured.total() != st->captured.total()) {
      __builtin_trap();
    }
  }
  sealtrace::Env* env = sealtrace::Env::Default();
  if (!sealtrace::WriteFileAtomic(env, path, std::string_view(reinterpret_cast<const char*>(data), size)).ok()) {
    return 0;
  }
  auto c = sealtrace::LoadAgentConfig(env, path);
  if (c.ok() && c->contributor_public_key.size() != 32) __builtin_trap();
  return 0;
}
