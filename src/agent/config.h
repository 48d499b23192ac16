// AgentConfig: what `sealtrace enroll` writes and `sealtrace agent` reads.
// A TOML file (mode 0600: it holds the device token). See docs/CONFIG.md.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/env.h"

namespace sealtrace {

// X11Source::Options::key_batch_ms for agents whose config does not set it.
inline constexpr int kDefaultKeyBatchMs = 25;

struct AgentConfig {
  std::string path;  // where it was loaded from
  // [server]
  std::string server_url;
  std::string ca_file;  // optional: PEM CA for https
  // [enrolment]
  std::string name;
  Id16 contributor_id;
  Id16 device_id;
  std::string device_token;          // secret
  std::string contributor_public_key;  // raw 32 bytes
  // [spool]
  std::string spool_dir;   // default: <config dir>/spool
  std::string state_dir;   // default: <config dir>/state
  uint64_t spool_quota_bytes = 1ull << 30;
  int64_t max_segment_age_ms = 1000;
  uint64_t max_segment_bytes = 1 << 20;
  // [privacy]
  std::string privacy_config;  // optional TOML with exclusions and words
  bool frames = false;         // screen frames around clicks (off by default)
  bool consent = false;        // the contributor accepted the shown scope
  std::string consent_scope_hash;  // hex SHA-256 of the scope text accepted
  // [capture]
  int key_batch_ms = kDefaultKeyBatchMs;  // X11: read typing bursts in one wakeup (0 = off)
};

// Loads and validates; errors name the file and the problem.
absl::StatusOr<AgentConfig> LoadAgentConfig(Env* env, const std::string& path);
// Writes atomically with mode 0600.
absl::Status SaveAgentConfig(Env* env, const AgentConfig& c, const std::string& path);

}  // namespace sealtrace
