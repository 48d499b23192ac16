// Exporter: segments in a grant's scope -> a training dataset directory.
//
// Output (in ExportOptions::output_dir):
//   shard-NNNNN.agentnet.jsonl     AgentNet/OpenCUA-style episodes (one per line)
//   shard-NNNNN.computer13.jsonl   OSWorld computer_13 episodes (same episodes)
//   frames/f_<hash>.png            screen frames referenced by steps (opt-in)
//   stats_dp.json                  DP counts per (app class, action kind)
//   manifest.json                  shards with sha256, counts
//   card.json, card.md             the dataset card
//   .export-checkpoint.json        only while an export is unfinished (resume)
//
// Two passes over the segments (one open segment in memory at a time):
//   pass 1 counts distinct contributors per app class / title (keyed hashes)
//          for k-anonymity;
//   pass 2 reduces events to episodes per contributor device stream (ordered
//          by contributor, device, sequence), applies the transforms, writes
//          shards (temp + fsync + rename) and checkpoints after each shard.
// Resume: the checkpoint names the contributors fully written and how many
// episodes of the current contributor are in finished shards; a rerun
// replays that contributor and skips those episodes, so no episode is written
// twice. The scope and options must be unchanged (else FAILED_PRECONDITION).
//
// Failure behaviour: a segment failing authentication (or whose header does
// not match the listed metadata) is skipped, counted and reported; its events
// never reach the output (OpenSegment is all-or-nothing) and the episode
// around it ends ("gap"). The `authorised` callback is consulted before each
// segment; when it fails (grant expired, programme paused/INCIDENT) the export
// stops cleanly: finished shards and the checkpoint stay, nothing partial is
// left, and Run returns a result with completed == false. I/O errors and
// ledger errors fail the run (resumable).
//
// Secrets: the per-dataset pseudonym key is random, kept in the checkpoint
// (mode 0600) while the export is unfinished, and destroyed at the end unless
// keep_pseudonym_key_purpose is set, in which case it is handed to the
// PseudonymKeyKeeper (the vault will store it, audited) and never written to
// the dataset.
//
// Thread-safety: one Run() at a time per Exporter.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "export/dp.h"
#include "export/provider.h"
#include "export/reducer.h"
#include "export/transforms.h"

namespace sealtrace::exporter {

struct ExportOptions {
  std::string output_dir;
  // Recorded in the card; supplied by the access layer.
  std::string grant_id;
  std::string purpose;
  std::string audit_checkpoint;  // the audit log's signed checkpoint text at export time

  ReducerOptions reducer;
  TransformOptions transforms;
  bool write_agentnet = true;
  bool write_computer13 = true;
  uint64_t shard_max_bytes = 64ull << 20;  // of the AgentNet file (computer_13 is cut alongside)
  uint64_t shard_max_episodes = 10'000;

  bool dp_enabled = true;  // needs a BudgetLedger
  DpOptions dp;
  // Public list of app classes for the DP histogram; empty = the app classes
  // kept by k-anonymity (see docs/DATASET.md for why a public list is better).
  std::vector<std::string> dp_app_domain;

  std::string keep_pseudonym_key_purpose;  // "" = destroy the key after export
};

struct Progress {
  std::string phase;            // "scan" (pass 1) | "export" (pass 2)
  uint64_t segments_done = 0;   // over both passes
  uint64_t segments_total = 0;  // 2 x event segments
  uint64_t events = 0;          // events processed so far (both passes)
  uint64_t episodes = 0;
  int64_t elapsed_us = 0;
};

struct SkippedSegment {
  std::string segment_id;  // hex; for the operator, not written to the dataset
  std::string reason;
};

struct ExportResult {
  bool completed = false;
  std::string stop_reason;  // when !completed
  std::string dataset_id;
  bool resumed = false;
  uint64_t contributors = 0;  // with >= 1 exported episode
  uint64_t episodes = 0;
  uint64_t steps = 0;
  uint64_t events = 0;         // events read in pass 2 (this run)
  uint64_t segments_read = 0;  // opened successfully (both passes, this run)
  uint64_t shards = 0;
  uint64_t frames = 0;
  std::vector<SkippedSegment> skipped;
  std::string epsilon_spent;  // per included contributor, "a/b"; "" without DP
};

// Receives the pseudonym key when the operator asked to keep it.
class PseudonymKeyKeeper {
 public:
  virtual ~PseudonymKeyKeeper() = default;
  virtual absl::Status Keep(std::string_view dataset_id, std::string_view purpose,
                            const SecretKey& key) = 0;
};

class Exporter {
 public:
  // `ledger` may be null (then DP statistics are disabled and the card says so).
  // `rng` defaults to libsodium.
  Exporter(Env* env, SegmentProvider* provider, ExportOptions options,
           BudgetLedger* ledger = nullptr, RandomSource* rng = nullptr);

  void set_progress(std::function<void(const Progress&)> f) { progress_ = std::move(f); }
  // Consulted before every segment (and before starting); non-OK stops the export.
  void set_authorised(std::function<absl::Status()> f) { authorised_ = std::move(f); }
  void set_key_keeper(PseudonymKeyKeeper* k) { keeper_ = k; }

  absl::StatusOr<ExportResult> Run();

  static constexpr char kCheckpointName[] = ".export-checkpoint.json";

 private:
  Env* env_;
  SegmentProvider* provider_;
  ExportOptions opt_;
  BudgetLedger* ledger_;
  RandomSource* rng_;
  std::function<void(const Progress&)> progress_;
  std::function<absl::Status()> authorised_;
  PseudonymKeyKeeper* keeper_ = nullptr;
};

}  // namespace sealtrace::exporter
