#include "agent/consent.h"

#include "common/bytes.h"
#include "crypto/crypto.h"

namespace sealtrace {

std::string ScopeText(const RecordingScope& s) {
  std::string t;
  t += "sealtrace will record, on this device, while recording is on and not paused:\n";
  if (s.keys) t += "  - keystrokes (secrets such as card numbers, keys and passwords are redacted on this device)\n";
  if (s.pointer) t += "  - mouse clicks, drags, scrolls and a thinned pointer path\n";
  if (s.window_titles) {
    if (s.title_policy == "app-only") {
      t += "  - the application in focus (no window titles)\n";
    } else if (s.title_policy == "app-and-domain") {
      t += "  - the application in focus and, for web browsers, the site's domain (no window "
           "titles)\n";
    } else {
      t += "  - the application and window title in focus (redacted)\n";
    }
    if (s.title_policy.empty() || s.title_policy == "full") {
      t += "    (the programme may keep less of window titles than this, never more)\n";
    }
  }
  t += s.screen_frames ? "  - screenshots of the active window around clicks and focus changes\n"
                       : "  - NO screenshots\n";
  t += "Never recorded (only a marker with a duration is kept):\n";
  t += s.exclusions_summary.empty() ? "  (no exclusions configured)\n" : s.exclusions_summary;
  if (!t.empty() && t.back() != '\n') t += "\n";
  t += "Everything is sealed on this device under your own key; nobody can read it without an\n"
       "audited, purpose-bound grant, and you can see every read, pause at any time\n"
       "(`sealtrace pause`, or the pause hotkey), and delete your data.\n";
  t += "Retention: " + s.retention + "\n";
  return t;
}

std::string ScopeHash(const RecordingScope& s) { return ToHex(Sha256(ScopeText(s))); }

}  // namespace sealtrace
