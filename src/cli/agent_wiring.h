// Glue between the CLI and the agent's parts: source selection, the privacy
// gate, the consent check. Kept apart from cmd_agent.cc so `up` and `demo`
// assemble the recorder the same way.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/agent.h"
#include "agent/config.h"
#include "agent/consent.h"
#include "capture/source.h"

namespace sealtrace::cli {

// "90s", "15m", "2h", "1h30m", "500ms" -> microseconds.
absl::StatusOr<int64_t> ParseDurationUs(const std::string& text);

// replay:FILE or x11[:DISPLAY].
absl::StatusOr<std::unique_ptr<Source>> MakeSource(const std::string& spec, double speed,
                                                   const AgentConfig& cfg);

// The scope shown at enrolment for a privacy config and frame setting.
RecordingScope ScopeFor(const std::string& privacy_config, bool frames);

// OK when the contributor accepted the current scope; otherwise an error
// that shows the (new) scope and how to accept it.
absl::Status CheckConsent(const AgentConfig& cfg);

// Builds the privacy gate between source and recorder.
Agent::FilterFactory MakeGateFactory();

// X11 (agent_wiring_x11.cc). Frames are sealed through the agent bound here.
absl::StatusOr<std::unique_ptr<Source>> MakeX11Source(const std::string& display,
                                                      const AgentConfig& cfg);
void BindFrameTarget(Agent* agent);
// True for a window whose frames must never be taken (exclusion rules).
std::function<bool(const v1::FocusEvent&)> FrameExclusionPredicate(const AgentConfig& cfg);

}  // namespace sealtrace::cli
