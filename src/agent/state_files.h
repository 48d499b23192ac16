// The files the agent's two processes share in the state directory
// (docs/FORMAT.md §2): one encoder and one parser for each, used by the
// writer (sealtrace-uploader) and the reader (the recorder) alike.
//
//   vault_state.json  the vault's programme state, written by the uploader
//   uploader.json     the uploader's counters and the backlog it saw
//
// The parsers take untrusted bytes (another process, a damaged disk) and
// return nullopt for anything malformed; they never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/config.h"
#include "agent/vault_client.h"

namespace sealtrace {

// What an uploader reported (uploader.json).
struct UploadReport {
  bool present = false;  // set by readers: a current report was found
  uint64_t uploaded = 0, duplicates = 0, rejected = 0, failures = 0;
  uint64_t last_acked_sequence = 0;
  int64_t last_upload_wall_us = 0;
  uint64_t spool_segments = 0, spool_bytes = 0, spool_quarantined = 0;
  std::string last_error;
};

// Adds `add`'s counters to `*into` (latest sequence/time, last error if any);
// the backlog figures are left alone.
void AccumulateUploadReport(UploadReport* into, const UploadReport& add);

std::string EncodeUploadReport(const UploadReport& r, int64_t pid);
// *pid gets the writer's pid.
std::optional<UploadReport> ParseUploadReport(std::string_view text, int64_t* pid);

// The state part of the file; `updated_wall_us` is only informative.
std::string EncodeVaultState(const DeviceState& s, int64_t updated_wall_us);
std::optional<DeviceState> ParseVaultState(std::string_view text);

inline std::string VaultStatePath(const AgentConfig& c) {
  return JoinPath(c.state_dir, "vault_state.json");
}
inline std::string UploaderStatusPath(const AgentConfig& c) {
  return JoinPath(c.state_dir, "uploader.json");
}
// Where the recorder finds the uploader binary: beside the running binary.
inline std::string UploaderBinaryBeside(const std::string& exe_path) {
  return JoinPath(DirName(exe_path), "sealtrace-uploader");
}

}  // namespace sealtrace
