// The recording scope a contributor consents to, and its fingerprint.
//
// The scope text lists the channels recorded, the exclusions in force and
// the retention. Its SHA-256 is stored with the enrolment (agent config
// `privacy.consent_scope_hash`); when the scope changes, the agent refuses
// to record until the contributor has seen and accepted the new text.
#pragma once

#include <string>

namespace sealtrace {

struct RecordingScope {
  bool keys = true;
  bool pointer = true;
  bool window_titles = true;
  // How much of a window title this device keeps (its privacy config's
  // title_policy): "full" (or ""), "app-and-domain", "app-only".
  std::string title_policy;
  bool screen_frames = false;
  std::string exclusions_summary;  // human-readable list of excluded apps/windows
  std::string retention = "as set by the programme's retention policy (default 90 days)";
};

// The text shown to the contributor (stable for the same scope).
std::string ScopeText(const RecordingScope& scope);
// Hex SHA-256 of ScopeText(scope).
std::string ScopeHash(const RecordingScope& scope);

}  // namespace sealtrace
