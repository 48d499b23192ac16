// X11Source: records a live X11 desktop (keys, pointer, window context and,
// optionally, screen frames) through the Source interface.
//
// Input comes from XInput 2.2 raw events selected on the root window for all
// master devices (RawKeyPress/Release, RawButtonPress/Release, RawMotion), so
// every key and button is seen regardless of which client has focus or holds
// a grab. Keycodes are translated with xkbcommon-x11 (keymap of the core
// keyboard, modifier state tracked locally with xkb_state_update_key, keymap
// reloaded on XkbNewKeyboardNotify / XkbMapNotify / MappingNotify before the
// next key is translated). Raw motion carries deltas only, so absolute root
// positions come from QueryPointer, coalesced to Options::pointer_hz (at most
// one MOVE per period, stamped with the time of the latest raw motion it
// folds in; while the pointer moves, a due MOVE goes out at the next raw
// motion, and a pointer that came to rest gets its last MOVE within 1.5
// periods); every button and scroll event is exact and preceded by a MOVE to
// its exact position when the pointer moved since the last MOVE.
//
// KeyEvent.text is the printable UTF-8 a key press produces ("\n" for Return,
// "\t" for Tab); it is empty for releases, for non-printing keys (BackSpace,
// arrows, modifiers: use keysym) and while Ctrl, Alt or Super is held (a
// hotkey types nothing).
//
// Key releases: a release of a key that is already up (xdotool sends two
// releases of Ctrl for `key ctrl+c`) is counted in stats() and dropped; a
// release of a key pressed before Start() is reported. A release carries the
// keysym of its press.
//
// Window context: the active window (_NET_ACTIVE_WINDOW, watched via
// PropertyNotify on the root) with its title (_NET_WM_NAME, else WM_NAME,
// watched for changes: FocusEvent.title_change), WM_CLASS, _NET_WM_PID and
// geometry in root coordinates. A window manager's momentary "no active
// window" while it switches focus is debounced (150 ms). Without a window manager Info() says so
// and the source polls the input focus on key and button events instead.
//
// Own windows: windows whose _NET_WM_PID is SetOwnPid()'s pid, or whose id
// was passed to AddOwnWindow(), are never reported: their focus events and
// all input while one of them is active are dropped; the stream carries an
// EXCLUDED_ENTER / EXCLUDED_LEAVE control event pair (reason "own_window")
// instead.
//
// Frames (Options::frames): on each button press and focus change, the
// active window's rectangle (or the whole screen when no window is active) is
// read from the root window (MIT-SHM, else GetImage), encoded as PNG and
// handed to frame_sink, at most frame_budget_per_hour per sliding hour, never
// while an own window is active or when is_excluded(active window) is true.
// Limitation: the rectangle shows whatever is on screen there, so another
// window overlapping the active one appears in its frame.
//
// Times: Event.t_us is absolute monotonic microseconds from Options::clock
// (default Env::Default()->NowMonoMicros). Input events are placed at their
// X server timestamp mapped onto that clock (so batches keep their real
// spacing); the result is clamped so t_us never decreases, whatever the
// server timestamps (32-bit ms, wrapping) or the clock do.
//
// Faults: Start() returns UNAVAILABLE if the display cannot be opened and
// FAILED_PRECONDITION if XInput 2.2 or XKB is missing. If the X server goes
// away, Run() delivers everything already read, then a ControlEvent
// SOURCE_LOST (reason "x_server_gone"), and returns UNAVAILABLE (the agent
// then reconnects with a new X11Source: AgentOptions::reconnect).
//
// Ownership and threads: the source owns its X connection. Start() and Run()
// must be called from one thread (Run() calls the sink and the frame sink on
// that thread); Stop(), Info(), SetOwnPid(), AddOwnWindow() and stats() are
// thread-safe. Never logs typed content.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "capture/source.h"

namespace sealtrace {

// One screen frame handed to Options::frame_sink (plaintext: the caller must
// seal it and must not write it anywhere unsealed).
struct FrameCapture {
  std::string png;  // PNG bytes (RGB, 8 bits per channel)
  int32_t x = 0;    // root-window position of the frame
  int32_t y = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  uint64_t window_id = 0;  // 0 when the whole screen was taken
  std::string trigger;     // "click" | "focus"
  uint64_t t_us = 0;       // same clock as Event.t_us
};
using FrameSink = std::function<void(FrameCapture)>;

class X11Source final : public Source {
 public:
  struct Options {
    std::string display;             // "" = $DISPLAY
    int pointer_hz = 60;             // MOVE coalescing rate (<= 0: every raw motion)
    std::function<int64_t()> clock;  // monotonic µs; default Env::Default()
    // CPU saving for fast typing: after a loop turn that saw only key events,
    // wait this long before reading again, so a burst is read in one wakeup
    // (times stay exact: they come from the server; nothing is dropped, the
    // server queues). A second connection that receives only keymap-change
    // notifications ends the wait at once, so a client that binds a scratch
    // keycode and restores it (xdotool typing a character missing from the
    // keymap) is seen as promptly as without batching; batching is also
    // suspended for 5 s after any keymap change. 0 = read every event at once.
    int key_batch_ms = 25;
    // Screen frames: off by default.
    bool frames = false;
    int frame_budget_per_hour = 120;
    FrameSink frame_sink;
    // Consulted before every frame; true = never capture this window.
    std::function<bool(const v1::FocusEvent&)> is_excluded;
  };

  struct Stats {
    uint64_t key_events = 0;
    uint64_t pointer_events = 0;
    uint64_t focus_events = 0;
    uint64_t raw_motion_events = 0;  // before coalescing
    uint64_t keymap_reloads = 0;
    uint64_t frames_taken = 0;
    uint64_t frames_over_budget = 0;
    uint64_t frames_excluded = 0;
    uint64_t dropped_own_window = 0;  // input dropped in own windows
    uint64_t duplicate_releases = 0;  // releases of keys already up, dropped
    uint64_t batch_waits = 0;         // key batching waits (Options::key_batch_ms)
    uint64_t batch_waits_cut = 0;     // ... ended early by a keymap change
  };

  explicit X11Source(Options options);
  ~X11Source() override;
  X11Source(const X11Source&) = delete;
  X11Source& operator=(const X11Source&) = delete;

  absl::Status Start() override;
  absl::Status Run(EventSink* sink) override;
  void Stop() override;
  SourceInfo Info() const override;

  void SetOwnPid(uint32_t pid);
  void AddOwnWindow(uint64_t window_id);
  Stats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Maps 32-bit X server millisecond timestamps onto a monotonic µs clock.
// Keeps the smallest observed offset (least delivery latency), re-anchors when
// the server clock jumps or wraps (more than `max_lag_us` behind or ahead of
// the local clock), and never returns a value below the previous one.
// Not thread-safe.
class ServerTimeMapper {
 public:
  explicit ServerTimeMapper(int64_t max_lag_us = 1'000'000) : max_lag_us_(max_lag_us) {}
  // `now_us`: local monotonic clock when the event was read.
  int64_t Map(uint32_t server_ms, int64_t now_us);
  // For events without a server timestamp.
  int64_t Local(int64_t now_us);
  // How often the mapping had to be re-anchored after the first event.
  int reanchors() const { return reanchors_; }

 private:
  int64_t max_lag_us_;
  bool have_anchor_ = false;
  uint32_t last_server_ms_ = 0;
  int64_t server_ext_ms_ = 0;  // 64-bit extension of the server clock
  int64_t offset_us_ = 0;      // local = server_ext_ms_*1000 + offset_us_
  int64_t last_out_ = 0;
  int reanchors_ = 0;
};

// Encodes 8-bit RGB pixels (rows of width*3 bytes) as PNG. Fast compression.
absl::StatusOr<std::string> EncodePngRgb(const uint8_t* rgb, uint32_t width, uint32_t height);

}  // namespace sealtrace
