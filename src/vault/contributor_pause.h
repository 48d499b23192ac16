// Per-contributor recording pause, set from the dashboard, read by the vault's
// GET /v1/device/state so that every device of the contributor stops recording
// within one poll (the agent polls every 2 s).
//
// The programme state (ACTIVE / PAUSED / INCIDENT) belongs to the privacy
// officers; this flag belongs to one contributor. It lives in the vault's
// MetadataStore settings under "contributor_pause.<contributor hex>" with the
// value = decimal Unix µs until which recording is paused (INT64_MAX = until
// the contributor resumes); "0" or absent = not paused. Durable (the store's
// mutations are), so a vault restart keeps the pause.
//
// Lives in the vault (the server consults it) and is header-only; the dashboard
// writes it through PauseStore.
//
// Thread-safety: as the MetadataStore (safe for concurrent use).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "vault/metadata_store.h"

namespace sealtrace::vault {

inline constexpr char kContributorPausePrefix[] = "contributor_pause.";
inline constexpr int64_t kPauseUntilResumed = std::numeric_limits<int64_t>::max();

inline std::string ContributorPauseKey(std::string_view contributor_hex) {
  return std::string(kContributorPausePrefix) + std::string(contributor_hex);
}

// Parses a stored value: the pause end in µs, or nullopt when not paused at `now_us`.
inline std::optional<int64_t> PausedUntil(const std::optional<std::string>& value, int64_t now_us) {
  if (!value || value->empty() || value->size() > 19) return std::nullopt;
  int64_t until = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return std::nullopt;
    if (until > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) return std::nullopt;
    until = until * 10 + (c - '0');
  }
  if (until <= now_us) return std::nullopt;
  return until;
}

// For GET /v1/device/state: true when the contributor paused recording from the
// dashboard. A store error is returned as is (callers fail closed: report
// recording_allowed=false or 503).
inline absl::StatusOr<bool> ContributorRecordingPaused(MetadataStore* store,
                                                       std::string_view contributor_hex,
                                                       int64_t now_us) {
  auto v = store->GetSetting(ContributorPauseKey(contributor_hex));
  if (!v.ok()) return v.status();
  return PausedUntil(*v, now_us).has_value();
}

// Read/write access for the dashboard. Borrows the store.
class PauseStore {
 public:
  explicit PauseStore(MetadataStore* store) : store_(store) {}
  // Pauses until `until_us` (kPauseUntilResumed = until Resume).
  absl::Status Pause(std::string_view contributor_hex, int64_t until_us) {
    return store_->PutSetting(ContributorPauseKey(contributor_hex), std::to_string(until_us));
  }
  absl::Status Resume(std::string_view contributor_hex) {
    return store_->PutSetting(ContributorPauseKey(contributor_hex), "0");
  }
  // The pause end, nullopt when recording is not paused by the contributor.
  absl::StatusOr<std::optional<int64_t>> PausedUntilUs(std::string_view contributor_hex,
                                                       int64_t now_us) {
    auto v = store_->GetSetting(ContributorPauseKey(contributor_hex));
    if (!v.ok()) return v.status();
    return PausedUntil(*v, now_us);
  }

 private:
  MetadataStore* store_;
};

}  // namespace sealtrace::vault
