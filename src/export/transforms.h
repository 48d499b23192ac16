// Privacy transforms applied to every exported episode (on by default).
//
//  * Pseudonymizer: contributor ids -> per-dataset keyed pseudonyms
//    (HMAC-SHA-256 under a random 32-byte key made per export). Without the
//    key, pseudonyms of two datasets cannot be linked to each other or to the
//    contributor id. The same key derives the keyed hashes used by the
//    k-anonymity pass and the names of frame files.
//  * KAnonFilter: pass 1 of the export counts, per keyed hash of an app class
//    or window title, how many distinct contributors used it; pass 2 keeps a
//    value only when at least k distinct contributors share it, else writes
//    "[app]" / "[title]". Plaintext values are never stored by the counter.
//  * Timing: step times are made relative to the episode start and rounded
//    to a quantum (default 100 ms); optional jitter adds a uniform number of
//    quanta in [-J, J] to each inter-step delta (never below zero).
//  * Per-contributor step caps are enforced by the Exporter; device ids,
//    hostnames, segment ids and wall-clock times are never exported.
//
// Thread-safety: Pseudonymizer and a filled KAnonFilter are read-only and
// thread-safe; EpisodeTransformer uses its RandomSource (not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "export/formats.h"
#include "export/random.h"
#include "export/reducer.h"

namespace sealtrace::exporter {

inline constexpr char kGeneralisedApp[] = "[app]";
inline constexpr char kGeneralisedTitle[] = "[title]";

class Pseudonymizer {
 public:
  // `key` must be 32 bytes.
  explicit Pseudonymizer(SecretKey key) : key_(std::move(key)) {}
  const SecretKey& key() const { return key_; }
  // "c_" + 24 hex chars.
  std::string Contributor(const Id16& contributor_id) const;
  // 16-byte keyed hash of a context value of `kind` ("app" | "title").
  std::string ValueKey(std::string_view kind, std::string_view value) const;
  // Frame file stem: "f_" + 32 hex chars of a keyed hash of the frame id.
  std::string FrameName(std::string_view frame_id) const;

 private:
  SecretKey key_;
};

class KAnonFilter {
 public:
  explicit KAnonFilter(uint32_t k) : k_(k < 1 ? 1 : k) {}
  // Records that contributor number `contributor_index` used the value.
  void Observe(const std::string& value_key, uint32_t contributor_index);
  bool Kept(const std::string& value_key) const;
  size_t distinct_values() const { return entries_.size(); }
  size_t kept_values() const;
  uint32_t k() const { return k_; }

 private:
  struct Entry {
    bool kept = false;
    std::vector<uint32_t> contributors;  // distinct, < k entries until kept
  };
  uint32_t k_;
  std::unordered_map<std::string, Entry> entries_;
};

struct TransformOptions {
  uint32_t k_anonymity = 5;
  uint64_t time_quantum_us = 100'000;
  uint32_t jitter_quanta = 0;  // 0 = no jitter
  uint64_t max_steps_per_contributor = 20'000;
  bool include_frames = false;
};

// Rounds `us` to the nearest multiple of `quantum_us` (ties up).
uint64_t Quantise(uint64_t us, uint64_t quantum_us);

class EpisodeTransformer {
 public:
  EpisodeTransformer(const TransformOptions& o, const Pseudonymizer* p, const KAnonFilter* k,
                     RandomSource* rng)
      : opt_(o), pseudo_(p), kanon_(k), rng_(rng) {}
  // Generalised app class / title.
  std::string App(std::string_view app_class) const;
  std::string Title(std::string_view title) const;
  ExportEpisode Transform(const Episode& ep, const std::string& contributor_pseudonym,
                          uint64_t ordinal) const;

 private:
  TransformOptions opt_;
  const Pseudonymizer* pseudo_;
  const KAnonFilter* kanon_;
  RandomSource* rng_;
};

}  // namespace sealtrace::exporter
