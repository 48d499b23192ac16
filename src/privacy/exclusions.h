// Privacy configuration (TOML) and window exclusion rules.
//
// File format (see config/privacy.default.toml for the shipped defaults and
// docs/REDACTION.md for the reference):
//
//   include_defaults = true          # prepend the shipped exclusion list
//   hotkey = "ctrl+alt+shift+p"      # pause/resume toggle, never recorded
//   title_policy = "full"            # full | app-and-domain | app-only (this
//                                    # device; the programme's may be stricter)
//   never_record = ["Project Falcon"]  # whole words, case-insensitive
//   [minimise]
//   pointer_epsilon_px = 2           # pointer path tolerance; 0 keeps all moves
//   timing_quantum_ms = 0            # quantise event times; 0 = off
//   [[exclude]]
//   reason = "password_manager"      # machine-readable, goes into markers
//   app_class = "keepassxc*"         # glob (* ?), case-insensitive, class or instance
//   title = "private browsing"       # Vectorscan regex, case-insensitive, or
//                                    # an array of regexes that must ALL match
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
  // Further title regexes that must match too (`title = ["a", "b"]`: a bank's
  // name AND a sign-in word, in any order, without a costly a.*b|b.*a).
  std::vector<std::string> title_also;
  std::string url;        // regex; empty = any
  std::string file;       // where it was defined (for errors)
  int line = 0;
};

struct Hotkey {
  uint32_t modifiers = 0;  // v1::Modifier bits (SHIFT, CTRL, ALT, SUPER)
  uint32_t keysym = 0;     // X11 keysym; letters stored lower case
};

// How much of a window title leaves the device (docs/REDACTION.md §2.1).
// Ordered from the least to the most strict; the gate applies the stricter of
// the device config's and the programme's.
//   kFull          the title, redacted (secrets, never-record words)
//   kAppAndDomain  the application class, plus for browsers the registrable
//                  domain of a URL or host the title shows ("firefox - github.com")
//   kAppOnly       no title at all (the focus event keeps the application class)
enum class TitlePolicy { kFull = 0, kAppAndDomain = 1, kAppOnly = 2 };
std::string_view TitlePolicyName(TitlePolicy p);  // "full", "app-and-domain", "app-only"
std::optional<TitlePolicy> ParseTitlePolicy(std::string_view name);
inline TitlePolicy StricterTitlePolicy(TitlePolicy a, TitlePolicy b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

struct PrivacyConfig {
  std::vector<ExclusionRule> exclusions;
  std::vector<std::string> never_record;
  Hotkey hotkey;  // default ctrl+alt+shift+p
  uint32_t pointer_epsilon_px = 2;
  uint32_t timing_quantum_ms = 0;
  TitlePolicy title_policy = TitlePolicy::kFull;  // this device's floor
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
  // their first kMaxTitleBytes bytes (linear time, Vectorscan). A rule with
  // several title patterns matches when all of them match.
  std::optional<std::string> Match(std::string_view app_class, std::string_view app_instance,
                                   std::string_view title) const;

  static constexpr size_t kMaxTitleBytes = 2048;

 private:
  ExclusionMatcher() = default;
  // Bit i set when pattern id i matched (`ids` ids in the database).
  std::vector<uint64_t> MatchDb(hs_database* db, std::string_view text, size_t ids) const;

  std::vector<ExclusionRule> rules_;
  // Title pattern ids index title_rule_ (the rule each pattern belongs to);
  // a rule's title patterns are title_first_[rule] .. + 1 + title_also.size().
  std::vector<size_t> title_rule_;
  std::vector<size_t> title_first_;
  size_t title_patterns_ = 0;
  hs_database* title_db_ = nullptr;
  hs_database* url_db_ = nullptr;  // pattern id = rule index
  hs_scratch* scratch_proto_ = nullptr;
};

// Case-insensitive glob with * and ?.
bool GlobMatch(std::string_view pattern, std::string_view text);

// --- site domains for TitlePolicy::kAppAndDomain ------------------------------
// True for a web browser's window (WM_CLASS class or instance: Firefox and its
// forks, Chromium, Chrome, Brave, Edge, Vivaldi, Opera, Epiphany, Falkon,
// qutebrowser, Konqueror, ...).
bool IsBrowserWindow(std::string_view app_class, std::string_view app_instance);
// The host named by one title token, lower case, or "" when the token is not
// clearly a web address: "https://user@Host:8080/p" and "http://host" (only
// http and https), "www.host/..." and "www.host", "host.tld/path" (a path is
// required: a bare "name.ext" is far more often a file name, e.g. README.md).
// IP literals, "localhost" and single-label hosts give "".
std::string HostOfToken(std::string_view token);
// The registrable domain ("eTLD+1") of a host: its last two labels, or three
// under a two-level public suffix (co.uk, com.au, ..., and well-known hosting
// suffixes such as github.io). An embedded approximation of the Public Suffix
// List, not the full list. "" if the host is not valid.
std::string RegistrableDomain(std::string_view host);
// The registrable domain of the first web address in a title (tokens split
// at spaces, tabs and '|', as for URL exclusion rules), or "".
std::string SiteDomainFromTitle(std::string_view title);

}  // namespace sealtrace::privacy
