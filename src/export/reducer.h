// Action reduction: raw capture events -> training actions, grouped into episodes.
//
// ActionReducer is a streaming state machine. Feed it the events of ONE
// contributor device stream in absolute device-monotonic time order (segment
// start_mono_us + Event.t_us); it emits finished Episodes through a callback.
// Memory is bounded: it holds only the current partial action (click group,
// drag, scroll, type run) and the current episode (at most
// ReducerOptions::max_episode_steps steps).
//
// Actions produced (see ActionKindName): click / double_click / triple_click /
// right_click / middle_click (click groups by interval and distance), drag
// (button down, moved beyond a threshold, up; start, end and a thinned path),
// move (only when the pointer rests after a move and the next thing is not a
// pointer action at that spot: a move before a click is folded into the
// click), scroll / hscroll (coalesced within a window, one axis and direction
// per action), type (coalesced text runs from key events with text and no
// ctrl/alt/super; RedactionMarker events become "[REDACTED:<kind>]"
// placeholders inside the run), press (one non-text key, pyautogui names),
// hotkey (modifier set + key), wait (idle gaps >= wait threshold, emitted only
// between two actions of one episode).
//
// Episodes end at idle gaps >= episode_idle_split_us, at focus changes to
// another window (configurable), at control events (pause, excluded app, gap,
// source lost, recording stopped, clock jump), when max_episode_steps is
// reached, and at Break()/Finish().
//
// Unmatched key-ups and button-ups, key repeats, unknown buttons and unknown
// keysyms are tolerated (counted in ReducerStats, never an error).
//
// Thread-safety: not thread-safe; one reducer per stream.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sealtrace/v1/events.pb.h"

namespace sealtrace::exporter {

struct ReducerOptions {
  uint64_t multi_click_interval_us = 500'000;  // button-up to next down
  int multi_click_distance_px = 5;
  int drag_threshold_px = 8;                    // move beyond this while held -> drag
  uint64_t scroll_window_us = 600'000;          // wheel events closer than this coalesce
  int scroll_distance_px = 50;                  // ... and closer than this in space
  uint64_t hover_idle_us = 1'000'000;           // pointer rest that makes a moveTo
  int move_min_px = 10;                         // minimum distance for a moveTo
  uint64_t wait_threshold_us = 3'000'000;       // idle gap -> wait step
  uint64_t episode_idle_split_us = 60'000'000;  // idle gap -> new episode
  bool split_on_focus_change = true;
  size_t max_episode_steps = 500;
  size_t max_drag_path_points = 32;
  size_t max_type_run_bytes = 2000;
  uint32_t default_screen_width = 1920;  // when no FocusEvent told us
  uint32_t default_screen_height = 1080;
};

struct WindowContext {
  std::string app_class;
  std::string title;  // already redacted on the device
  uint32_t screen_width = 0;
  uint32_t screen_height = 0;
  bool operator==(const WindowContext&) const = default;
};

enum class ActionType { kClick, kDrag, kMoveTo, kScroll, kType, kPress, kHotkey, kWait };

struct Action {
  ActionType type = ActionType::kClick;
  uint64_t t_us = 0;                      // absolute device-monotonic start of the action
  int x = 0, y = 0;                       // click / move / scroll position, drag start (pixels)
  int end_x = 0, end_y = 0;               // drag end
  std::vector<std::pair<int, int>> path;  // drag path incl. start and end
  int button = 1;                         // 1 left, 2 middle, 3 right
  int clicks = 1;                         // 1..3 for clicks
  int scroll_dx = 0, scroll_dy = 0;       // wheel clicks, + right / + down
  std::vector<std::string> modifiers;     // held: "ctrl","alt","shift","win"
  std::string text;                       // type: UTF-8 with placeholders
  uint32_t redactions = 0;                // placeholders inside `text`
  std::string key;                        // press / hotkey main key
  uint64_t duration_us = 0;               // wait
  WindowContext ctx;                      // window at the start of the action
  std::string frame_id;                   // raw 16 bytes of the preceding frame, or ""
};

// Stable short name of an action's kind: click, double_click, triple_click,
// right_click, middle_click, drag, move, scroll, hscroll, type, press, hotkey, wait.
std::string ActionKindName(const Action& a);
// All kind names, in a fixed order (the DP histogram's action domain).
const std::vector<std::string>& AllActionKindNames();

struct Episode {
  std::vector<Action> steps;
  std::string end_reason;  // idle, focus_change, pause, excluded, gap, source_lost,
                           // recording_stopped, clock_jump, max_steps, end_of_stream, ...
};

struct ReducerStats {
  uint64_t events = 0;
  uint64_t actions = 0;
  uint64_t episodes = 0;
  uint64_t unmatched_key_ups = 0;
  uint64_t unmatched_button_ups = 0;
  uint64_t ignored_buttons = 0;
  uint64_t unmapped_keys = 0;
};

// pyautogui key name of an X11 keysym for press/hotkey ("enter", "backspace",
// "tab", "esc", "left", "f5", "a", ...); "" when unmapped.
std::string PyAutoGuiKeyName(uint32_t keysym);

class ActionReducer {
 public:
  using EpisodeSink = std::function<void(Episode&&)>;
  ActionReducer(ReducerOptions options, EpisodeSink sink);

  // `abs_us` is the absolute device-monotonic time of `e`; must not decrease
  // (a decrease is treated like a clock jump: the episode ends).
  void OnEvent(const v1::Event& e, uint64_t abs_us);
  // Ends the current episode (e.g. a missing segment between two segments).
  void Break(std::string_view reason);
  // End of the stream.
  void Finish() { Break("end_of_stream"); }

  const ReducerStats& stats() const { return stats_; }

 private:
  struct Press {
    int button = 1;
    int x = 0, y = 0;
    uint64_t t_us = 0;
    bool dragging = false;
    std::vector<std::pair<int, int>> path;
    std::vector<std::string> modifiers;
    WindowContext ctx;
    std::string frame_id;
  };
  struct ClickGroup {
    Action action;  // type kClick, clicks counts up
    uint64_t last_up_us = 0;
  };

  void OnInput(const v1::Event& e, uint64_t t);
  void OnPointer(const v1::PointerEvent& p, uint64_t t);
  void OnMove(const v1::PointerEvent& p, uint64_t t);
  void OnButtonDown(const v1::PointerEvent& p, uint64_t t);
  void OnButtonUp(const v1::PointerEvent& p, uint64_t t);
  void OnScroll(const v1::PointerEvent& p, uint64_t t);
  static Action DragAction(Press&& pr, int end_x, int end_y);
  void OnKey(const v1::KeyEvent& k, uint64_t t);
  void OnFocus(const v1::FocusEvent& f, uint64_t t);
  void OnControl(const v1::ControlEvent& c, uint64_t t);

  void AppendText(std::string_view text, uint32_t redactions, uint64_t t);
  void AddScroll(int axis, int amount, int x, int y, uint32_t mods, uint64_t t);
  void EmitKey(ActionType type, std::string key, std::vector<std::string> mods, uint64_t t);

  void FinalizeType();
  void FinalizeScroll();
  void FinalizeClickGroup();
  void FinalizeAll();
  void CloseEpisode(std::string_view reason, bool keep_press);
  void Emit(Action a);
  std::string TakeFrame();
  WindowContext CurrentContext() const;
  void ThinPath(std::vector<std::pair<int, int>>* path) const;

  ReducerOptions opt_;
  EpisodeSink sink_;
  ReducerStats stats_;

  // Window context.
  bool have_window_ = false;
  uint64_t window_id_ = 0;
  WindowContext ctx_;

  // Current episode.
  std::optional<Episode> episode_;
  bool episode_full_ = false;
  uint64_t pending_wait_us_ = 0;
  uint64_t pending_wait_t_ = 0;

  // Timing.
  bool have_input_ = false;
  uint64_t last_input_us_ = 0;
  bool have_time_ = false;
  uint64_t last_time_us_ = 0;

  // Pointer.
  int px_ = 0, py_ = 0;
  bool moved_since_action_ = false;
  uint64_t last_move_us_ = 0;
  bool have_action_pos_ = false;
  int action_x_ = 0, action_y_ = 0;
  std::optional<Press> press_;
  std::optional<ClickGroup> click_group_;
  std::optional<Action> scroll_;
  uint64_t last_scroll_us_ = 0;

  // Keyboard.
  std::optional<Action> type_;
  uint32_t tap_modifier_keysym_ = 0;
  uint64_t tap_modifier_t_ = 0;

  std::string pending_frame_;
};

}  // namespace sealtrace::exporter
