// Privacy gate wiring. TEMPORARY until the privacy module lands: no gate.
#include "cli/agent_wiring.h"

namespace sealtrace::cli {

RecordingScope ScopeFor(const std::string& privacy_config, bool frames) {
  RecordingScope s;
  s.screen_frames = frames;
  return s;
}

Agent::FilterFactory MakeGateFactory() { return nullptr; }

std::function<bool(const v1::FocusEvent&)> FrameExclusionPredicate(const AgentConfig&) {
  return [](const v1::FocusEvent&) { return false; };
}

}  // namespace sealtrace::cli
