// The files the agent's two processes share in the state directory
// (docs/FORMAT.md §2): one encoder and one parser for each, used by the
// writer (sealtrace-uploader) and the reader (the recorder) alike.
//
//   vault_state.json  the vault's programme state, written by the uploader
//   uploader.json     the uploader's counters and the backlog it saw
//   status.json       the recorder's state and counters, read by
//                     `sealtrace status`, `sealtrace up` and the tests
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

// Events the source delivered, by kind (before the privacy gate).
struct CaptureCounts {
  uint64_t key_down = 0, key_up = 0, button_down = 0, button_up = 0, scroll = 0, move = 0,
           focus = 0, other = 0;
  uint64_t total() const {
    return key_down + key_up + button_down + button_up + scroll + move + focus + other;
  }
};

// What the recorder reports in status.json. Written whole (atomic replace)
// by the recorder; every field has a default a reader shows when an older
// recorder's file lacks it.
struct AgentStatus {
  // recording | paused | excluded | starting | source_lost | stopped |
  // source_failed (the last two: the process wrote its final state).
  std::string state = "unknown";
  std::string programme_state, programme_title_policy, title_policy;
  std::string source, source_warning, hidden_input, source_error;
  bool window_manager = false;
  int64_t pid = 0;
  int64_t updated_wall_us = 0, started_wall_us = 0;
  uint64_t events_total = 0, segments_total = 0, frames_total = 0, seal_errors = 0;
  uint64_t unspooled_in_memory = 0;
  double events_per_min = 0, segments_per_min = 0;
  CaptureCounts captured;
  uint64_t spool_segments = 0, spool_bytes = 0, spool_purged_segments = 0,
           spool_quarantined = 0;
  std::string uploader;  // off | running | not running
  // The upload counters of this run (UploadReport's, without the backlog).
  uint64_t uploaded = 0, upload_duplicates = 0, upload_rejected = 0, upload_failures = 0;
  int64_t last_upload_wall_us = 0;
  uint64_t last_acked_sequence = 0;
  std::string last_error;

  // The process wrote this as its last state: it is not running any more.
  bool final() const { return state == "stopped" || state == "source_failed"; }
};

// Pretty-printed JSON (docs/FORMAT.md §2), one key per field above.
std::string EncodeAgentStatus(const AgentStatus& s);
// nullopt when the text is not a JSON object or a present field has the wrong
// type; absent fields keep their defaults.
std::optional<AgentStatus> ParseAgentStatus(std::string_view text);

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
