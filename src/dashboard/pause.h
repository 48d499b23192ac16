// The per-contributor recording pause lives with the vault, which serves it to
// devices (GET /v1/device/state); see vault/contributor_pause.h.
#pragma once

#include "vault/contributor_pause.h"

namespace sealtrace::dashboard {
using vault::ContributorPauseKey;
using vault::ContributorRecordingPaused;
using vault::kContributorPausePrefix;
using vault::kPauseUntilResumed;
using vault::PausedUntil;
using vault::PauseStore;
}  // namespace sealtrace::dashboard
