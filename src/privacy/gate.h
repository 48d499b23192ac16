// PrivacyGate: the on-device filter between a capture source and the encoder.
//
// Everything a source produces passes through here before it can be sealed:
//   consent     nothing is forwarded until SetConsent(true);
//   pause       Pause()/Resume() or the global hotkey (default ctrl+alt+shift+p,
//               whose own key events are never forwarded): PAUSE and RESUME
//               control events plus a GAP with the paused duration, nothing else;
//   exclusions  in a window matched by an exclusion rule only EXCLUDED_ENTER /
//               EXCLUDED_LEAVE (with duration) are forwarded: no keys, pointer,
//               titles or frames;
//   redaction   the effective typed text of the focused window is rebuilt from
//               key events and scanned with the Redactor; the key events that
//               produced a finding (from its first to its last character,
//               including edits and modifiers in between) are replaced by ONE
//               RedactionMarker at the time of the first; their key-ups are
//               dropped; window titles go through the same Redactor;
//   titles      the title policy (the stricter of the config's title_policy
//               and the programme's, SetProgrammeTitlePolicy) decides what of a
//               window title leaves: all of it redacted (full), the application
//               plus a browser's site domain (app-and-domain), or nothing
//               (app-only; the application class stays);
//   minimisation pointer MOVEs are thinned to what reconstructs the path
//               (online Ramer-Douglas-Peucker, tolerance pointer_epsilon_px; the
//               last move before any other event is always kept), event times
//               are optionally quantised to timing_quantum_ms.
//
// Typed-text model: printable key text (no Ctrl/Alt/Super held) appends;
// BackSpace and Delete remove the last character; Return, Tab, Escape, cursor
// keys, Home/End/PageUp/PageDown, shortcuts, mouse button presses and focus
// changes end the current run (runs never join: no look-back across them).
// One exception: a private key. After a run containing "-----BEGIN <label>-----"
// (<label> ending in PRIVATE KEY) without its "-----END <label>-----", the key is
// "open": every following run of the same window is replaced as private_key up
// to and including the matching END marker. The open state closes at that
// marker, on focus to another window, when consent is revoked, or after
// kMaxOpenKeyRuns runs / kMaxOpenKeyBytes bytes (then what follows is scanned
// as usual again).
//
// Hold bound: key events (and everything after them, to keep order) are held
// until the text they produced is Redactor::kHoldBytes (544 bytes) behind the
// end of the run, or the run ends, whichever comes first; at most
// kMaxHeldEvents events are held (more forces a run end). A finding is
// therefore decided with its whole text and context; a secret split over any
// number of key events is replaced as one.
//
// Determinism: output depends only on the input events and the calls made;
// the gate never reads a clock (times come from events; Pause/Resume use the
// time of the latest event seen).
//
// Thread-safety: OnEvent is called from the source thread; SetConsent, Pause,
// Resume, IsPaused and ReloadConfig may be called from any thread. All state is
// guarded by one mutex, and the downstream sink is called with that mutex held,
// so downstream calls are serialised (but may come from the thread calling
// Pause/Resume). The downstream sink must not call back into the gate.
//
// Failure: if the redactor fails at run time, held key events are dropped and
// replaced by a marker of kind "engine_error" (fail closed). Titles that
// cannot be redacted are dropped.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "capture/source.h"
#include "common/env.h"
#include "privacy/exclusions.h"
#include "privacy/redactor.h"

namespace sealtrace::privacy {

// X11 keysyms used by the gate (values from X11/keysymdef.h).
namespace keysym {
constexpr uint32_t kBackSpace = 0xff08;
constexpr uint32_t kTab = 0xff09;
constexpr uint32_t kReturn = 0xff0d;
constexpr uint32_t kEscape = 0xff1b;
constexpr uint32_t kHome = 0xff50;
constexpr uint32_t kLeft = 0xff51;
constexpr uint32_t kUp = 0xff52;
constexpr uint32_t kRight = 0xff53;
constexpr uint32_t kDown = 0xff54;
constexpr uint32_t kPageUp = 0xff55;
constexpr uint32_t kPageDown = 0xff56;
constexpr uint32_t kEnd = 0xff57;
constexpr uint32_t kBegin = 0xff58;
constexpr uint32_t kInsert = 0xff63;
constexpr uint32_t kKpEnter = 0xff8d;
constexpr uint32_t kKpHome = 0xff95;
constexpr uint32_t kKpBegin = 0xff9d;
constexpr uint32_t kIsoLeftTab = 0xfe20;
constexpr uint32_t kIsoLevel3Shift = 0xfe03;
constexpr uint32_t kShiftL = 0xffe1;
constexpr uint32_t kHyperR = 0xffee;
constexpr uint32_t kDelete = 0xffff;
constexpr bool IsModifier(uint32_t ks) {
  return (ks >= kShiftL && ks <= kHyperR) || ks == kIsoLevel3Shift || ks == 0xfe11;
}
}  // namespace keysym

// Counts per key id for the few keys held at once: a flat vector with the
// map operations the gate uses (no allocation per key press once warm).
// erase() moves the last entry into the hole: iterators after it are invalid.
class KeyCounts {
 public:
  using Entry = std::pair<uint32_t, int>;
  using iterator = std::vector<Entry>::iterator;
  iterator begin() { return v_.begin(); }
  iterator end() { return v_.end(); }
  iterator find(uint32_t id) {
    return std::find_if(v_.begin(), v_.end(), [id](const Entry& e) { return e.first == id; });
  }
  int& operator[](uint32_t id) {
    auto it = find(id);
    if (it != v_.end()) return it->second;
    return v_.emplace_back(id, 0).second;
  }
  void erase(iterator it) {
    *it = v_.back();
    v_.pop_back();
  }
  void erase(uint32_t id) {
    auto it = find(id);
    if (it != v_.end()) erase(it);
  }
  void clear() { v_.clear(); }

 private:
  std::vector<Entry> v_;
};

class PrivacyGate : public EventSink {
 public:
  static constexpr size_t kMaxHeldEvents = 4096;
  // Bounds of an open private key (see the typed-text model above): a 4096-bit
  // RSA key is ~50 lines and ~3.2 KiB.
  static constexpr size_t kMaxOpenKeyRuns = 200;
  static constexpr size_t kMaxOpenKeyBytes = 64 * 1024;

  // `downstream` must outlive the gate. Fails if the redactor or the exclusion
  // patterns cannot be compiled: the recorder must then not record.
  static absl::StatusOr<std::unique_ptr<PrivacyGate>> Create(EventSink* downstream,
                                                             const PrivacyConfig& config);
  ~PrivacyGate() override;

  void OnEvent(v1::Event event) override;

  // Consent: default false (nothing is forwarded). Revoking drops held events.
  void SetConsent(bool granted);
  bool HasConsent() const;

  // Pauses until `until_mono_us` (event clock) or indefinitely. Held typed text
  // is decided and forwarded first, then PAUSE. Calling Pause while paused
  // updates the end time.
  void Pause(std::optional<uint64_t> until_mono_us = std::nullopt);
  // Ends a pause: RESUME, then GAP(duration); then the current window context.
  void Resume();
  bool IsPaused() const;
  // True while the focused window matches an exclusion rule.
  bool IsExcluded() const;
  // True for a window whose content (frames) must never be taken.
  bool WindowExcluded(const v1::FocusEvent& focus) const;

  // Loads a config file; on error returns it (file:line: reason) and keeps the
  // active config.
  absl::Status ReloadConfig(const std::string& path, Env* env = Env::Default());
  absl::Status ApplyConfig(const PrivacyConfig& config);

  // The programme's title policy (from the vault's programme state, polled by
  // the agent). The gate applies the stricter of it and the config's
  // title_policy: a device may be stricter than its programme, never looser.
  // Default kFull (no programme policy known). A change applies from the next
  // event on; if it changes what the focused window's title shows, the window
  // context is forwarded again under the new policy.
  void SetProgrammeTitlePolicy(TitlePolicy policy);
  TitlePolicy ProgrammeTitlePolicy() const;
  TitlePolicy EffectiveTitlePolicy() const;

  // Decides and forwards everything held (call at the end of input).
  void Flush();

 private:
  struct Engine {
    std::shared_ptr<const Redactor> redactor;
    std::unique_ptr<const ExclusionMatcher> exclusions;
    PrivacyConfig config;
  };
  static absl::StatusOr<std::unique_ptr<Engine>> BuildEngine(const PrivacyConfig& config);

  PrivacyGate(EventSink* downstream, std::unique_ptr<Engine> engine);

  struct Held {
    v1::Event event;
    uint64_t seq;
    bool pending_modifier;  // a modifier key event that may belong to the hotkey
  };
  struct Char {
    std::string bytes;
    uint64_t seq;  // key event that produced it
  };

  // All private methods require mu_.
  void HandleLocked(v1::Event& ev);
  void HandleKey(v1::Event& ev);
  void HandlePointer(v1::Event& ev);
  void HandleFocus(v1::Event& ev);
  void Enqueue(v1::Event ev, bool pending_modifier = false);
  // Decide: which held characters are released, and which key events are
  // replaced by redaction markers. Its phases, in order:
  struct Range {  // key events seq s0..s1 become one marker of `kind`
    uint64_t s0, s1;
    std::string kind;
    size_t len;  // bytes of the secret (bucketed in the marker)
  };
  // The text in view: ctx_ then every held character; off[i] = held_[i]'s offset.
  struct Window {
    std::string text;
    std::vector<size_t> off;
    size_t base = 0;    // where the held text starts (ctx_.size())
    size_t target = 0;  // decide what ends before here
    bool final = false;
  };
  void Decide(bool final);
  // An open private key or a finding cut at the window's end continues into
  // the held text; returns how many held characters it covers.
  size_t ContinueOpenFinding(const Window& w, std::vector<Range>* ranges, size_t* release);
  // Findings of the redactor in the window (from held character `cont` on).
  void ScanHeld(const Window& w, size_t cont, std::vector<Range>* ranges, size_t* release);
  // Secrets typed then erased within the run, found in what was typed.
  void ScanTypedHistory(std::vector<Range>* ranges);
  // Replaces the key events of `r` in queue_ by one marker.
  void ReplaceRange(const Range& r);
  // Moves the first `release` held characters into the context.
  void ReleaseHeld(size_t release);
  void EndRun();
  void ReleaseFront(uint64_t below_seq);
  void Emit(v1::Event ev);
  void EmitControl(uint64_t t, v1::ControlEvent::Kind kind, uint64_t duration,
                   const std::string& reason);
  void EmitFocusContext(uint64_t t);
  // Applies the effective title policy and the redactor to a focus event's
  // title (and clears the WM_CLASS instance unless the policy is full).
  void MinimiseFocus(v1::FocusEvent* f) const;
  TitlePolicy EffectivePolicyLocked() const {
    return StricterTitlePolicy(engine_->config.title_policy, programme_title_policy_);
  }
  // Forwards the focused window's context again if the effective title policy
  // changed what it shows (after SetProgrammeTitlePolicy / ApplyConfig).
  void RefreshFocusContext(TitlePolicy before);
  void FlushPointer();
  void PointerMove(v1::Event& ev);
  void PauseLocked(uint64_t t, std::optional<uint64_t> until, const char* reason);
  void ResumeLocked(uint64_t t);
  void CloseExcluded(uint64_t t);
  void DropHeld();
  bool Recording() const { return consent_ && !paused_; }
  static uint32_t KeyId(const v1::KeyEvent& k);

  mutable std::mutex mu_;
  EventSink* downstream_;
  std::unique_ptr<Engine> engine_;

  bool consent_ = false;
  bool paused_ = false;
  uint64_t pause_start_ = 0;
  std::optional<uint64_t> pause_until_;
  uint64_t last_t_ = 0;

  // Title policy and the last focus title forwarded (title changes that show
  // nothing new under a restricted policy are not forwarded).
  TitlePolicy programme_title_policy_ = TitlePolicy::kFull;
  std::optional<std::string> last_title_out_;

  // Focus and exclusion.
  bool have_focus_ = false;
  v1::FocusEvent focus_;                        // raw, as received
  std::optional<std::string> excluded_reason_;  // current window is excluded
  bool excluded_open_ = false;                  // EXCLUDED_ENTER emitted, LEAVE pending
  uint64_t excluded_since_ = 0;

  // Typed-text run.
  std::deque<Held> queue_;
  std::deque<Char> held_;
  size_t held_bytes_ = 0;
  // Every character typed in the current run, including ones deleted again
  // with BackSpace/Delete: a secret typed and then erased is still in the key
  // events, so this history is scanned too once the run saw a deletion.
  std::deque<Char> typed_;
  std::vector<uint64_t> typed_breaks_;  // seqs of chars typed right after a deletion
  bool deleted_in_run_ = false;
  std::string ctx_;  // decided text of the current run (tail, <= kHoldBytes)
  uint64_t next_seq_ = 1;
  std::optional<std::string> continue_kind_;  // a long finding runs on (not PEM)
  // An open private key: its END marker, and the runs and bytes replaced since.
  struct OpenKey {
    std::string end_marker;  // "-----END <label>-----"
    size_t runs = 0;
    size_t bytes = 0;
    bool run_touched = false;  // the current run had text replaced as the key
  };
  std::optional<OpenKey> open_key_;
  KeyCounts down_keys_;      // keys whose down was enqueued
  KeyCounts redacted_keys_;  // keys whose down was redacted; drop their up
  KeyCounts hotkey_keys_;    // hotkey keys: drop their up

  // Pointer thinning.
  bool have_anchor_ = false;
  int32_t anchor_x_ = 0, anchor_y_ = 0;
  std::optional<v1::Event> candidate_;
  std::vector<std::pair<int32_t, int32_t>> skipped_;
};

}  // namespace sealtrace::privacy
