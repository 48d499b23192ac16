#include "export/reducer.h"

#include <cstdlib>
#include <utility>

namespace sealtrace::exporter {
namespace {

using v1::ControlEvent;
using v1::PointerEvent;

constexpr uint32_t kModShift = v1::MOD_SHIFT;
constexpr uint32_t kModCtrl = v1::MOD_CTRL;
constexpr uint32_t kModAlt = v1::MOD_ALT;
constexpr uint32_t kModSuper = v1::MOD_SUPER;

bool Far(int x0, int y0, int x1, int y1, int threshold) {
  const long dx = static_cast<long>(x1) - x0;
  const long dy = static_cast<long>(y1) - y0;
  return dx * dx + dy * dy > static_cast<long>(threshold) * threshold;
}

// Modifier names in pyautogui order for hotkeys: ctrl, alt, shift, win.
std::vector<std::string> ModifierNames(uint32_t mods) {
  std::vector<std::string> out;
  if (mods & kModCtrl) out.push_back("ctrl");
  if (mods & kModAlt) out.push_back("alt");
  if (mods & kModShift) out.push_back("shift");
  if (mods & kModSuper) out.push_back("win");
  return out;
}

// Keys that are never text, even if the layout reports text for them.
std::string SpecialKeyName(uint32_t ks) {
  switch (ks) {
    case 0xff0d:
    case 0xff8d:
      return "enter";  // Return, KP_Enter
    case 0xff08:
      return "backspace";
    case 0xff09:
    case 0xfe20:
      return "tab";  // Tab, ISO_Left_Tab
    case 0xff1b:
      return "esc";
    case 0xffff:
    case 0xff9f:
      return "delete";  // Delete, KP_Delete
    case 0xff50:
    case 0xff95:
      return "home";
    case 0xff51:
    case 0xff96:
      return "left";
    case 0xff52:
    case 0xff97:
      return "up";
    case 0xff53:
    case 0xff98:
      return "right";
    case 0xff54:
    case 0xff99:
      return "down";
    case 0xff55:
    case 0xff9a:
      return "pageup";
    case 0xff56:
    case 0xff9b:
      return "pagedown";
    case 0xff57:
    case 0xff9c:
      return "end";
    case 0xff63:
    case 0xff9e:
      return "insert";
    case 0xff61:
      return "printscreen";
    case 0xff13:
      return "pause";
    case 0xff14:
      return "scrolllock";
    case 0xff7f:
      return "numlock";
    case 0xff67:
      return "apps";  // Menu
    case 0x1008ff11:
      return "volumedown";
    case 0x1008ff12:
      return "volumemute";
    case 0x1008ff13:
      return "volumeup";
    case 0x1008ff14:
      return "playpause";
    case 0x1008ff16:
      return "prevtrack";
    case 0x1008ff17:
      return "nexttrack";
    default:
      break;
  }
  if (ks >= 0xffbe && ks <= 0xffd5) return "f" + std::to_string(ks - 0xffbe + 1);  // F1..F24
  return "";
}

// Modifier keysyms and their pyautogui names.
std::string ModifierKeyName(uint32_t ks) {
  switch (ks) {
    case 0xffe1:
    case 0xffe2:
      return "shift";
    case 0xffe3:
    case 0xffe4:
      return "ctrl";
    case 0xffe9:
    case 0xffea:
    case 0xffe7:
    case 0xffe8:
      return "alt";  // Alt, Meta
    case 0xffeb:
    case 0xffec:
    case 0xffed:
    case 0xffee:
      return "win";  // Super, Hyper
    case 0xffe5:
      return "capslock";
    case 0xfe03:
      return "altright";  // ISO_Level3_Shift (AltGr)
    default:
      return "";
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x110000) {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool IsPrintableText(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Machine-readable redaction kinds only: [a-z0-9_], at most 40 chars.
std::string SanitizeKind(std::string_view kind) {
  std::string out;
  for (char c : kind) {
    if (out.size() >= 40) break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
      out.push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back('_');
    }
  }
  return out.empty() ? "secret" : out;
}

}  // namespace

std::string PyAutoGuiKeyName(uint32_t ks) {
  if (std::string s = SpecialKeyName(ks); !s.empty()) return s;
  if (std::string s = ModifierKeyName(ks); !s.empty()) return s;
  if (ks == 0x20) return "space";
  if (ks > 0x20 && ks < 0x7f) {
    char c = static_cast<char>(ks);
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return std::string(1, c);
  }
  if (ks >= 0xa0 && ks <= 0xff) {  // Latin-1 keysyms equal their code points
    std::string out;
    AppendUtf8(ks, &out);
    return out;
  }
  if (ks >= 0x01000100 && ks <= 0x0110ffff) {  // Unicode keysyms
    std::string out;
    AppendUtf8(ks - 0x01000000, &out);
    return out;
  }
  return "";
}

std::string ActionKindName(const Action& a) {
  switch (a.type) {
    case ActionType::kClick:
      if (a.button == 3) return "right_click";
      if (a.button == 2) return "middle_click";
      if (a.clicks == 2) return "double_click";
      if (a.clicks >= 3) return "triple_click";
      return "click";
    case ActionType::kDrag:
      return "drag";
    case ActionType::kMoveTo:
      return "move";
    case ActionType::kScroll:
      return a.scroll_dx != 0 ? "hscroll" : "scroll";
    case ActionType::kType:
      return "type";
    case ActionType::kPress:
      return "press";
    case ActionType::kHotkey:
      return "hotkey";
    case ActionType::kWait:
      return "wait";
  }
  return "unknown";
}

const std::vector<std::string>& AllActionKindNames() {
  static const std::vector<std::string> kNames = {
      "click",  "double_click", "triple_click", "right_click", "middle_click", "drag", "move",
      "scroll", "hscroll",      "type",         "press",       "hotkey",       "wait"};
  return kNames;
}

ActionReducer::ActionReducer(ReducerOptions options, EpisodeSink sink)
    : opt_(options), sink_(std::move(sink)) {}

WindowContext ActionReducer::CurrentContext() const {
  WindowContext c = ctx_;
  if (c.screen_width == 0 || c.screen_height == 0) {
    c.screen_width = opt_.default_screen_width;
    c.screen_height = opt_.default_screen_height;
  }
  return c;
}

std::string ActionReducer::TakeFrame() { return std::exchange(pending_frame_, std::string()); }

void ActionReducer::OnEvent(const v1::Event& e, uint64_t t) {
  ++stats_.events;
  if (have_time_ && t < last_time_us_) {
    // Time went backwards across segments or devices: never bridge it.
    CloseEpisode("clock_jump", /*keep_press=*/false);
    have_input_ = false;
  }
  have_time_ = true;
  last_time_us_ = t;
  switch (e.body_case()) {
    case v1::Event::kFocus:
      OnFocus(e.focus(), t);
      break;
    case v1::Event::kControl:
      OnControl(e.control(), t);
      break;
    case v1::Event::kFrame:
      pending_frame_ = e.frame().frame_id();
      break;
    case v1::Event::kKey:
    case v1::Event::kPointer:
    case v1::Event::kRedaction:
      OnInput(e, t);
      break;
    case v1::Event::BODY_NOT_SET:
      break;
  }
}

void ActionReducer::OnInput(const v1::Event& e, uint64_t t) {
  // 1. A click group whose interval has passed is complete.
  if (click_group_ && t > click_group_->last_up_us + opt_.multi_click_interval_us) {
    FinalizeClickGroup();
  }
  // 2. A pointer that rested after moving: a moveTo, unless this event acts
  //    at that spot (then the move is folded into the click/scroll).
  if (moved_since_action_ && !press_ && t >= last_move_us_ + opt_.hover_idle_us) {
    const bool acts_here = e.has_pointer() && (e.pointer().kind() == PointerEvent::BUTTON_DOWN ||
                                               e.pointer().kind() == PointerEvent::SCROLL);
    const bool far = !have_action_pos_ || Far(action_x_, action_y_, px_, py_, opt_.move_min_px);
    moved_since_action_ = false;
    if (!acts_here && far) {
      FinalizeAll();
      Action a;
      a.type = ActionType::kMoveTo;
      a.t_us = last_move_us_;
      a.x = px_;
      a.y = py_;
      a.ctx = CurrentContext();
      a.frame_id = TakeFrame();
      Emit(std::move(a));
    }
  }
  // 3. Idle gaps.
  if (have_input_ && t >= last_input_us_) {
    const uint64_t gap = t - last_input_us_;
    if (gap >= opt_.episode_idle_split_us) {
      CloseEpisode("idle", /*keep_press=*/true);
    } else if (gap >= opt_.wait_threshold_us) {
      FinalizeAll();
      if (episode_ && !episode_->steps.empty()) {
        pending_wait_us_ = gap;
        pending_wait_t_ = last_input_us_;
      }
    }
  }
  have_input_ = true;
  last_input_us_ = t;

  if (e.has_pointer()) {
    OnPointer(e.pointer(), t);
  } else if (e.has_key()) {
    OnKey(e.key(), t);
  } else if (e.has_redaction()) {
    tap_modifier_keysym_ = 0;
    FinalizeScroll();
    FinalizeClickGroup();
    AppendText("[REDACTED:" + SanitizeKind(e.redaction().kind()) + "]", 1, t);
  }
}

// The drag a press became, ending at (end_x, end_y).
Action ActionReducer::DragAction(Press&& pr, int end_x, int end_y) {
  Action a;
  a.type = ActionType::kDrag;
  a.t_us = pr.t_us;
  a.x = pr.x;
  a.y = pr.y;
  a.end_x = end_x;
  a.end_y = end_y;
  a.path = std::move(pr.path);
  a.button = pr.button;
  a.modifiers = std::move(pr.modifiers);
  a.ctx = std::move(pr.ctx);
  a.frame_id = std::move(pr.frame_id);
  return a;
}

void ActionReducer::OnPointer(const v1::PointerEvent& p, uint64_t t) {
  switch (p.kind()) {
    case PointerEvent::MOVE:
      OnMove(p, t);
      break;
    case PointerEvent::BUTTON_DOWN:
      OnButtonDown(p, t);
      break;
    case PointerEvent::BUTTON_UP:
      OnButtonUp(p, t);
      break;
    case PointerEvent::SCROLL:
      OnScroll(p, t);
      break;
    default:
      break;
  }
}

void ActionReducer::OnMove(const v1::PointerEvent& p, uint64_t t) {
  px_ = p.x();
  py_ = p.y();
  if (press_) {
    if (!press_->dragging && Far(press_->x, press_->y, px_, py_, opt_.drag_threshold_px)) {
      press_->dragging = true;
    }
    press_->path.emplace_back(px_, py_);
    ThinPath(&press_->path);
  } else {
    moved_since_action_ = true;
    last_move_us_ = t;
  }
}

void ActionReducer::OnButtonDown(const v1::PointerEvent& p, uint64_t t) {
  tap_modifier_keysym_ = 0;
  const int b = static_cast<int>(p.button());
  if (b < 1 || b > 3) {
    ++stats_.ignored_buttons;
    return;
  }
  if (press_) {  // a second button while one is held: ignored
    ++stats_.ignored_buttons;
    return;
  }
  px_ = p.x();
  py_ = p.y();
  FinalizeType();
  FinalizeScroll();
  if (click_group_) {
    const Action& g = click_group_->action;
    if (g.button != b || g.clicks >= 3 ||
        t > click_group_->last_up_us + opt_.multi_click_interval_us ||
        Far(g.x, g.y, px_, py_, opt_.multi_click_distance_px)) {
      FinalizeClickGroup();
    }
  }
  moved_since_action_ = false;
  Press pr;
  pr.button = b;
  pr.x = px_;
  pr.y = py_;
  pr.t_us = t;
  pr.path.emplace_back(px_, py_);
  pr.modifiers = ModifierNames(p.modifiers() & (kModCtrl | kModAlt | kModShift | kModSuper));
  pr.ctx = CurrentContext();
  pr.frame_id = TakeFrame();
  press_ = std::move(pr);
}

void ActionReducer::OnButtonUp(const v1::PointerEvent& p, uint64_t t) {
  const int b = static_cast<int>(p.button());
  if (!press_ || press_->button != b) {
    ++stats_.unmatched_button_ups;
    return;
  }
  px_ = p.x();
  py_ = p.y();
  Press pr = std::move(*press_);
  press_.reset();
  if (!pr.dragging && Far(pr.x, pr.y, px_, py_, opt_.drag_threshold_px)) pr.dragging = true;
  if (pr.dragging) {
    FinalizeClickGroup();
    if (pr.path.back() != std::make_pair(px_, py_)) pr.path.emplace_back(px_, py_);
    ThinPath(&pr.path);
    Emit(DragAction(std::move(pr), px_, py_));
    have_action_pos_ = true;
    action_x_ = px_;
    action_y_ = py_;
  } else {
    if (click_group_) {
      ++click_group_->action.clicks;
      click_group_->last_up_us = t;
    } else {
      ClickGroup g;
      g.action.type = ActionType::kClick;
      g.action.t_us = pr.t_us;
      g.action.x = pr.x;
      g.action.y = pr.y;
      g.action.button = pr.button;
      g.action.clicks = 1;
      g.action.modifiers = std::move(pr.modifiers);
      g.action.ctx = std::move(pr.ctx);
      g.action.frame_id = std::move(pr.frame_id);
      g.last_up_us = t;
      click_group_ = std::move(g);
    }
    have_action_pos_ = true;
    action_x_ = pr.x;
    action_y_ = pr.y;
  }
}

void ActionReducer::OnScroll(const v1::PointerEvent& p, uint64_t t) {
  tap_modifier_keysym_ = 0;
  px_ = p.x();
  py_ = p.y();
  FinalizeType();
  FinalizeClickGroup();
  moved_since_action_ = false;
  if (p.scroll_dy() != 0) AddScroll(1, p.scroll_dy(), px_, py_, p.modifiers(), t);
  if (p.scroll_dx() != 0) AddScroll(0, p.scroll_dx(), px_, py_, p.modifiers(), t);
}

void ActionReducer::AddScroll(int axis, int amount, int x, int y, uint32_t mods, uint64_t t) {
  if (scroll_) {
    const int cur = axis == 1 ? scroll_->scroll_dy : scroll_->scroll_dx;
    const bool same_axis = cur != 0;
    const bool same_dir = (cur > 0) == (amount > 0);
    if (!same_axis || !same_dir || t > last_scroll_us_ + opt_.scroll_window_us ||
        Far(scroll_->x, scroll_->y, x, y, opt_.scroll_distance_px)) {
      FinalizeScroll();
    }
  }
  if (!scroll_) {
    Action a;
    a.type = ActionType::kScroll;
    a.t_us = t;
    a.x = x;
    a.y = y;
    a.modifiers = ModifierNames(mods & (kModCtrl | kModAlt | kModShift | kModSuper));
    a.ctx = CurrentContext();
    a.frame_id = TakeFrame();
    scroll_ = std::move(a);
  }
  if (axis == 1) {
    scroll_->scroll_dy += amount;
  } else {
    scroll_->scroll_dx += amount;
  }
  last_scroll_us_ = t;
  have_action_pos_ = true;
  action_x_ = x;
  action_y_ = y;
}

void ActionReducer::OnKey(const v1::KeyEvent& k, uint64_t t) {
  const uint32_t ks = k.keysym();
  const std::string mod_name = ModifierKeyName(ks);
  if (!k.down()) {
    if (tap_modifier_keysym_ != 0 && ks == tap_modifier_keysym_) {
      // A modifier pressed and released alone (e.g. the super key opening a launcher).
      const std::string name = ModifierKeyName(ks);
      tap_modifier_keysym_ = 0;
      EmitKey(ActionType::kPress, name, {}, tap_modifier_t_);
    } else if (mod_name.empty() && !k.repeat()) {
      // Key-ups carry no action; unmatched ones are tolerated.
    }
    return;
  }
  if (!mod_name.empty()) {
    if (!k.repeat() && (mod_name == "win" || mod_name == "alt")) {
      tap_modifier_keysym_ = ks;
      tap_modifier_t_ = t;
    }
    return;
  }
  tap_modifier_keysym_ = 0;
  const uint32_t mods = k.modifiers();
  const bool command = (mods & (kModCtrl | kModAlt | kModSuper)) != 0;
  const std::string special = SpecialKeyName(ks);
  if (command) {
    std::string key = special.empty() ? PyAutoGuiKeyName(ks) : special;
    if (key.empty()) {
      ++stats_.unmapped_keys;
      return;
    }
    EmitKey(ActionType::kHotkey, std::move(key),
            ModifierNames(mods & (kModCtrl | kModAlt | kModShift | kModSuper)), t);
    return;
  }
  if (!special.empty()) {
    if (mods & kModShift) {
      EmitKey(ActionType::kHotkey, special, {"shift"}, t);
    } else {
      EmitKey(ActionType::kPress, special, {}, t);
    }
    return;
  }
  if (IsPrintableText(k.text())) {
    FinalizeScroll();
    FinalizeClickGroup();
    AppendText(k.text(), 0, t);
    return;
  }
  std::string key = PyAutoGuiKeyName(ks);
  if (key.empty()) {
    ++stats_.unmapped_keys;
    return;
  }
  EmitKey(ActionType::kPress, std::move(key), {}, t);
}

void ActionReducer::EmitKey(ActionType type, std::string key, std::vector<std::string> mods,
                            uint64_t t) {
  FinalizeAll();
  Action a;
  a.type = type;
  a.t_us = t;
  a.key = std::move(key);
  a.modifiers = std::move(mods);
  a.ctx = CurrentContext();
  a.frame_id = TakeFrame();
  Emit(std::move(a));
}

void ActionReducer::AppendText(std::string_view text, uint32_t redactions, uint64_t t) {
  if (type_ && type_->text.size() + text.size() > opt_.max_type_run_bytes) FinalizeType();
  if (!type_) {
    Action a;
    a.type = ActionType::kType;
    a.t_us = t;
    a.ctx = CurrentContext();
    a.frame_id = TakeFrame();
    type_ = std::move(a);
  }
  type_->text.append(text);
  type_->redactions += redactions;
}

void ActionReducer::OnFocus(const v1::FocusEvent& f, uint64_t t) {
  const bool new_window =
      !have_window_ || f.window_id() != window_id_ || f.app_class() != ctx_.app_class;
  WindowContext next;
  next.app_class = f.app_class();
  next.title = f.title();
  next.screen_width = f.screen_width();
  next.screen_height = f.screen_height();
  if (next.screen_width == 0 || next.screen_height == 0) {
    next.screen_width = ctx_.screen_width;
    next.screen_height = ctx_.screen_height;
  }
  if (!new_window && next == ctx_) return;
  // Pending actions happened in the old window.
  FinalizeAll();
  if (new_window && opt_.split_on_focus_change) {
    // A held button usually caused this focus change: it belongs to the new window.
    CloseEpisode("focus_change", /*keep_press=*/true);
  }
  have_window_ = true;
  window_id_ = f.window_id();
  ctx_ = std::move(next);
  if (press_) press_->ctx = CurrentContext();
}

void ActionReducer::OnControl(const v1::ControlEvent& c, uint64_t t) {
  std::string_view reason;
  switch (c.kind()) {
    case ControlEvent::PAUSE:
      reason = "pause";
      break;
    case ControlEvent::EXCLUDED_ENTER:
      reason = "excluded";
      break;
    case ControlEvent::GAP:
      reason = "gap";
      break;
    case ControlEvent::SOURCE_LOST:
      reason = "source_lost";
      break;
    case ControlEvent::RECORDING_STOPPED:
      reason = "recording_stopped";
      break;
    case ControlEvent::CLOCK_JUMP:
      reason = "clock_jump";
      break;
    case ControlEvent::RESUME:
    case ControlEvent::EXCLUDED_LEAVE:
    case ControlEvent::RECORDING_STARTED:
    case ControlEvent::SOURCE_RESTORED:
      // Time spent paused/excluded is not idle time of this episode.
      have_input_ = false;
      moved_since_action_ = false;
      return;
    default:
      return;
  }
  CloseEpisode(reason, /*keep_press=*/false);
  have_input_ = false;
  if (c.kind() == ControlEvent::EXCLUDED_ENTER) {
    have_window_ = false;
    ctx_.app_class.clear();
    ctx_.title.clear();
  }
}

void ActionReducer::Break(std::string_view reason) {
  CloseEpisode(reason, /*keep_press=*/false);
  have_input_ = false;
}

void ActionReducer::FinalizeType() {
  if (!type_) return;
  Action a = std::move(*type_);
  type_.reset();
  Emit(std::move(a));
}

void ActionReducer::FinalizeScroll() {
  if (!scroll_) return;
  Action a = std::move(*scroll_);
  scroll_.reset();
  if (a.scroll_dx != 0 || a.scroll_dy != 0) Emit(std::move(a));
}

void ActionReducer::FinalizeClickGroup() {
  if (!click_group_) return;
  Action a = std::move(click_group_->action);
  click_group_.reset();
  Emit(std::move(a));
}

void ActionReducer::FinalizeAll() {
  // Each pending kind is mutually exclusive in time except the click group,
  // which is always older than a pending type run or scroll.
  FinalizeClickGroup();
  FinalizeScroll();
  FinalizeType();
}

void ActionReducer::CloseEpisode(std::string_view reason, bool keep_press) {
  FinalizeAll();
  if (press_ && !keep_press) {
    if (press_->dragging) {
      const auto [end_x, end_y] = press_->path.back();
      Emit(DragAction(std::move(*press_), end_x, end_y));
    }
    press_.reset();
  }
  if (episode_) {
    Episode ep = std::move(*episode_);
    episode_.reset();
    ep.end_reason = std::string(reason);
    ++stats_.episodes;
    sink_(std::move(ep));
  }
  episode_full_ = false;
  pending_wait_us_ = 0;
  moved_since_action_ = false;
  tap_modifier_keysym_ = 0;
}

void ActionReducer::Emit(Action a) {
  if (episode_ && episode_full_) {
    Episode ep = std::move(*episode_);
    episode_.reset();
    ep.end_reason = "max_steps";
    ++stats_.episodes;
    sink_(std::move(ep));
    episode_full_ = false;
    pending_wait_us_ = 0;
  }
  if (!episode_) {
    episode_.emplace();
    pending_wait_us_ = 0;
  }
  if (pending_wait_us_ > 0 && !episode_->steps.empty()) {
    Action w;
    w.type = ActionType::kWait;
    w.t_us = pending_wait_t_;
    w.duration_us = pending_wait_us_;
    w.ctx = episode_->steps.back().ctx;
    episode_->steps.push_back(std::move(w));
    ++stats_.actions;
  }
  pending_wait_us_ = 0;
  episode_->steps.push_back(std::move(a));
  ++stats_.actions;
  if (opt_.max_episode_steps > 0 && episode_->steps.size() + 1 >= opt_.max_episode_steps) {
    episode_full_ = true;  // +1 leaves room for the terminating step the formats add
  }
}

void ActionReducer::ThinPath(std::vector<std::pair<int, int>>* path) const {
  const size_t max = opt_.max_drag_path_points < 2 ? 2 : opt_.max_drag_path_points;
  if (path->size() <= max) return;
  // Keep the first and last points and every other point between them.
  std::vector<std::pair<int, int>> out;
  out.reserve(path->size() / 2 + 2);
  for (size_t i = 0; i + 1 < path->size(); i += 2) out.push_back((*path)[i]);
  out.push_back(path->back());
  *path = std::move(out);
}

}  // namespace sealtrace::exporter
