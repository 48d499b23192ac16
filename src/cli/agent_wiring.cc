#include "cli/agent_wiring.h"

#include <cctype>

#include "capture/replay/replay_source.h"

namespace sealtrace::cli {

absl::StatusOr<int64_t> ParseDurationUs(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("empty duration");
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return absl::InvalidArgumentError("bad duration '" + text + "': expected e.g. 90s, 15m, 2h");
    }
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return absl::InvalidArgumentError("duration too large: " + text);
      ++i;
    }
    std::string unit;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) unit += text[i++];
    int64_t mul;
    if (unit == "ms") mul = 1000;
    else if (unit == "s" || unit.empty()) mul = 1'000'000;
    else if (unit == "m" || unit == "min") mul = 60'000'000;
    else if (unit == "h") mul = 3'600'000'000LL;
    else if (unit == "d") mul = 86'400'000'000LL;
    else return absl::InvalidArgumentError("bad duration unit '" + unit + "' in " + text);
    total += n * mul;
    any = true;
  }
  if (!any || total <= 0) return absl::InvalidArgumentError("duration must be positive: " + text);
  return total;
}

absl::StatusOr<std::unique_ptr<Source>> MakeSource(const std::string& spec, double speed,
                                                   const AgentConfig& cfg) {
  if (spec.rfind("replay:", 0) == 0) {
    std::string file = spec.substr(7);
    if (file.empty()) return absl::InvalidArgumentError("--source replay:FILE needs a file");
    return std::unique_ptr<Source>(new ReplaySource(Env::Default(), file, speed));
  }
  if (spec == "x11" || spec.rfind("x11:", 0) == 0) {
#ifndef SEALTRACE_NO_X11
    return MakeX11Source(spec.size() > 4 ? spec.substr(4) : std::string(), cfg);
#else
    return absl::UnimplementedError("this build has no X11 capture backend");
#endif
  }
  return absl::InvalidArgumentError("unknown source '" + spec +
                                    "': use replay:FILE or x11[:DISPLAY]");
}

#ifdef SEALTRACE_NO_X11
// Without the X11 backend no source takes frames: nothing to bind.
void BindFrameTarget(Agent*) {}
#endif

absl::Status CheckConsent(const AgentConfig& cfg) {
  RecordingScope scope = ScopeFor(cfg.privacy_config, cfg.frames);
  if (cfg.consent && cfg.consent_scope_hash == ScopeHash(scope)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      std::string(cfg.consent ? "the recording scope changed since you consented"
                              : "no consent recorded for this device") +
      "; nothing will be recorded. The scope is:\n\n" + ScopeText(scope) +
      "\nAccept it with: sealtrace consent --config " + cfg.path);
}

}  // namespace sealtrace::cli
