// Privacy configuration (TOML) and window exclusion rules.
//
// File format (see config/privacy.default.toml for the shipped defaults and
// docs/REDACTION.md for the reference):
//
//   include_defaults = true          # prepend the shipped exclusion list
//   hotkey = "ctrl+alt+shift+p"      # pause/resume toggle, never recorded
//   never_record = ["Project Falcon"]  # whole words, case-insensitive
//   [minimise]
//   pointer_epsilon_px = 2           # pointer path tolerance; 0 keeps all moves
//   timing_quantum_ms = 0            # quantise event times; 0 = off
//   [[exclude]]
//   reason = "password_manager"      # machine-readable, goes into markers
//   app_class = "keepassxc*"         # glob (* ?), case-insensitive, class or instance
//   title = "private browsing"       # Vectorscan regex, case-insensitive
//   url = "^https?://mail\\.google\\.com/"  # regex on URLs/hosts found in the title
//
// A rule matches when every field it sets matches. Unknown keys, wrong types
// and bad patterns are errors that name the file, the line and the reason.
//
// Thread-safety: PrivacyConfig is a value; ExclusionMatcher is immutable after
// Create() and safe to use from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/env.h"

struct hs_database;
struct hs_scratch;

namespace sealtrace::privacy {

struct ExclusionRule {
  std::string reason;     // machine-readable, never content
  std::string app_class;  // glob; empty = any
  std::string title;      // regex; empty = any
  std::string url;        // regex; empty = any
  std::string file;       // where it was defined (for errors)
  int line = 0;
};

struct Hotkey {
  uint32_t modifiers = 0;  // v1::Modifier bits (SHIFT, CTRL, ALT, SUPER)
  uint32_t keysym = 0;     // X11 keysym; letters stored lower case
};

struct PrivacyConfig {
  std::vector<ExclusionRule> exclusions;
  std::vector<std::string> never_record;
  Hotkey hotkey;  // default ctrl+alt+shift+p
  uint32_t pointer_epsilon_px = 2;
  uint32_t timing_quantum_ms = 0;
};

// Parses "ctrl+alt+shift+p" style hotkeys.
absl::StatusOr<Hotkey> ParseHotkey(std::string_view spec);

// The shipped default configuration (config/privacy.default.toml, embedded at
// build time).
std::string_view DefaultPrivacyConfigToml();

// Parses a config document; `filename` is used in error messages
// ("file:line: reason"). With include_defaults (default true) the shipped
// exclusion list is prepended. Also validates all patterns.
absl::StatusOr<PrivacyConfig> ParsePrivacyConfig(std::string_view toml, std::string_view filename);
// Reads and parses `path` through `env`.
absl::StatusOr<PrivacyConfig> LoadPrivacyConfig(const std::string& path, Env* env = Env::Default());
// The shipped defaults, parsed. Aborts if the embedded file is invalid (a
// build bug, caught by tests).
PrivacyConfig DefaultPrivacyConfig();

class ExclusionMatcher {
 public:
  // Compiles the title and URL patterns. Errors name file:line of the rule.
  static absl::StatusOr<std::unique_ptr<const ExclusionMatcher>> Create(
      const std::vector<ExclusionRule>& rules);
  ~ExclusionMatcher();

  // The reason of the first matching rule, or nullopt. Titles are matched on
  // their first kMaxTitleBytes bytes (linear time, Vectorscan).
  std::optional<std::string> Match(std::string_view app_class, std::string_view app_instance,
                                   std::string_view title) const;

  static constexpr size_t kMaxTitleBytes = 2048;

 private:
  ExclusionMatcher() = default;
  std::vector<uint64_t> MatchDb(hs_database* db, std::string_view text) const;

  std::vector<ExclusionRule> rules_;
  hs_database* title_db_ = nullptr;  // pattern id = rule index
  hs_database* url_db_ = nullptr;
  hs_scratch* scratch_proto_ = nullptr;
};

// Case-insensitive glob with * and ?.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace sealtrace::privacy
