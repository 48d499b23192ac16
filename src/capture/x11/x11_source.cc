#include "capture/x11/x11_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>
#include <xcb/res.h>
#include <xcb/shm.h>
#include <xcb/xcb.h>
#include <xcb/xinput.h>
#include <xkbcommon/xkbcommon-x11.h>
#include <xkbcommon/xkbcommon.h>

// xcb/xkb.h names a struct field `explicit`.
#define explicit explicit_
#include <xcb/xkb.h>
#undef explicit

#include <algorithm>
#include <array>
#include <atomic>
#include <bitset>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/env.h"

namespace sealtrace {

// ---------------------------------------------------------------------------
// ServerTimeMapper

int64_t ServerTimeMapper::Map(uint32_t server_ms, int64_t now_us) {
  if (!have_anchor_) {
    have_anchor_ = true;
    last_server_ms_ = server_ms;
    server_ext_ms_ = server_ms;
    offset_us_ = now_us - server_ext_ms_ * 1000;
  } else {
    // Signed 32-bit difference: handles the 49.7-day wrap.
    int32_t delta = static_cast<int32_t>(server_ms - last_server_ms_);
    last_server_ms_ = server_ms;
    server_ext_ms_ += delta;
  }
  int64_t cand = server_ext_ms_ * 1000 + offset_us_;
  if (cand > now_us) {
    // Delivered faster than ever before (or the server clock jumped ahead):
    // tighten the offset so no event lands in the future.
    if (cand - now_us > max_lag_us_) ++reanchors_;
    offset_us_ = now_us - server_ext_ms_ * 1000;
    cand = now_us;
  } else if (now_us - cand > max_lag_us_) {
    // The server clock jumped back (or we were stalled): re-anchor.
    ++reanchors_;
    offset_us_ = now_us - server_ext_ms_ * 1000;
    cand = now_us;
  }
  return Local(cand);
}

int64_t ServerTimeMapper::Local(int64_t now_us) {
  if (now_us < last_out_) now_us = last_out_;
  last_out_ = now_us;
  return now_us;
}

namespace {

constexpr uint32_t kModShift = v1::MOD_SHIFT;
constexpr uint32_t kModCtrl = v1::MOD_CTRL;
constexpr uint32_t kModAlt = v1::MOD_ALT;
constexpr uint32_t kModSuper = v1::MOD_SUPER;
constexpr uint32_t kModCaps = v1::MOD_CAPS_LOCK;
constexpr uint32_t kModAltGr = v1::MOD_ALTGR;

// Replaces invalid UTF-8 with U+FFFD so protobuf string fields stay valid.
std::string SanitizeUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    int len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= in.size();
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) ok = false;
    }
    if (ok && cp != 0) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      if (cp != 0 || !ok) out.append("\xEF\xBF\xBD");
      i += 1;
    }
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view in) {
  std::string out;
  for (unsigned char c : in) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

template <typename T>
struct FreeDeleter {
  void operator()(T* p) const { std::free(p); }
};
template <typename T>
using XPtr = std::unique_ptr<T, FreeDeleter<T>>;

double Fp3232ToDouble(const xcb_input_fp3232_t& v) {
  return static_cast<double>(v.integral) + static_cast<double>(v.frac) / 4294967296.0;
}

}  // namespace

// ---------------------------------------------------------------------------
// X11Source::Impl

// X11Source::Stats counted from the source thread, read from any thread.
struct AtomicStats {
  std::atomic<uint64_t> key_events{0}, pointer_events{0}, focus_events{0}, raw_motion_events{0},
      keymap_reloads{0}, frames_taken{0}, frames_over_budget{0}, frames_excluded{0},
      dropped_own_window{0}, duplicate_releases{0}, batch_waits{0}, batch_waits_cut{0};
  X11Source::Stats Snapshot() const {
    X11Source::Stats s;
    s.key_events = key_events.load(std::memory_order_relaxed);
    s.pointer_events = pointer_events.load(std::memory_order_relaxed);
    s.focus_events = focus_events.load(std::memory_order_relaxed);
    s.raw_motion_events = raw_motion_events.load(std::memory_order_relaxed);
    s.keymap_reloads = keymap_reloads.load(std::memory_order_relaxed);
    s.frames_taken = frames_taken.load(std::memory_order_relaxed);
    s.frames_over_budget = frames_over_budget.load(std::memory_order_relaxed);
    s.frames_excluded = frames_excluded.load(std::memory_order_relaxed);
    s.dropped_own_window = dropped_own_window.load(std::memory_order_relaxed);
    s.duplicate_releases = duplicate_releases.load(std::memory_order_relaxed);
    s.batch_waits = batch_waits.load(std::memory_order_relaxed);
    s.batch_waits_cut = batch_waits_cut.load(std::memory_order_relaxed);
    return s;
  }
};

struct X11Source::Impl {
  explicit Impl(Options o) : opt(std::move(o)) {
    period_us = opt.pointer_hz > 0 ? 1'000'000 / opt.pointer_hz : 0;
    stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // checked in Start()
  }
  ~Impl();

  Options opt;
  int64_t period_us = 0;

  // Connection.
  xcb_connection_t* conn = nullptr;
  xcb_screen_t* screen = nullptr;
  xcb_window_t root = 0;
  std::string display_name;
  uint8_t xi_opcode = 0;
  uint8_t xkb_base_event = 0;
  int32_t kbd_device = -1;
  int stop_fd = -1;
  bool started = false;
  // A second connection that only receives keymap-change notifications. It is
  // watched even while key batching waits, so a keymap change (xdotool
  // binding a scratch keycode for one character) ends the wait at once and is
  // handled as promptly as without batching. nullptr: batching disabled.
  xcb_connection_t* keymap_conn = nullptr;

  // Atoms.
  xcb_atom_t a_active = 0, a_net_wm_name = 0, a_utf8 = 0, a_pid = 0, a_wm_check = 0;

  // Keyboard.
  xkb_context* ctx = nullptr;
  xkb_keymap* keymap = nullptr;
  xkb_state* state = nullptr;
  bool keymap_dirty = false;
  xkb_mod_index_t mi_shift = XKB_MOD_INVALID, mi_ctrl = XKB_MOD_INVALID, mi_alt = XKB_MOD_INVALID,
                  mi_super = XKB_MOD_INVALID, mi_caps = XKB_MOD_INVALID, mi_altgr = XKB_MOD_INVALID;
  std::bitset<256> keys_down;
  std::bitset<256> keys_seen_up;             // released at least once since Start()
  std::array<xkb_keysym_t, 256> down_sym{};  // keysym at press, reused on release

  // Shared with other threads.
  mutable std::mutex mu;
  SourceInfo info;
  uint32_t own_pid = 0;
  std::set<uint64_t> own_windows;
  AtomicStats stats;  // counted without `mu`

  // Run state.
  EventSink* sink = nullptr;
  ServerTimeMapper tm;
  int64_t last_clock = 0;
  bool have_pos = false;
  int32_t last_x = 0, last_y = 0;
  bool motion_pending = false;
  int64_t motion_deadline = 0;
  int64_t motion_t = 0;     // time of the latest raw motion folded into the pending MOVE
  int64_t last_emit_t = 0;  // latest time handed to the sink
  int64_t last_move_local = INT64_MIN / 2;

  // Smooth scrolling: (sourceid, valuator) -> (vertical?, increment).
  struct ScrollAxis {
    bool vertical = true;
    double increment = 1.0;
    double accum = 0.0;
  };
  std::map<std::pair<uint16_t, uint16_t>, ScrollAxis> scroll_axes;
  std::set<uint16_t> known_sources;

  // Window context.
  bool has_wm = false;
  xcb_window_t active = XCB_NONE;
  bool have_focus = false;
  v1::FocusEvent focus;
  bool active_is_own = false;
  int64_t own_enter_t = 0;
  bool batch_keys = false, batch_pointer = false;  // seen in this loop turn
  int64_t last_keymap_change = INT64_MIN / 2;
  static constexpr int64_t kKeymapQuietUs = 5'000'000;
  int64_t none_deadline = 0;  // pending "no active window" (debounced)
  static constexpr int64_t kNoneDebounceUs = 150'000;

  // Frames.
  std::deque<int64_t> frame_times;
  bool shm_ok = false;
  xcb_shm_seg_t shm_seg = 0;
  int shm_id = -1;
  uint8_t* shm_addr = nullptr;
  size_t shm_size = 0;

  // The local clock, read once per wakeup: every event handled in one turn
  // of Run() was read at the same moment (their own times come from the
  // server). ClockStale() after anything that may have blocked.
  int64_t Now() {
    if (!clock_fresh) {
      last_clock = opt.clock ? opt.clock() : Env::Default()->NowMonoMicros();
      clock_fresh = true;
    }
    return last_clock;
  }
  void ClockStale() { clock_fresh = false; }
  bool clock_fresh = false;
  // In a function that waits for the X server: xcb may queue newer events
  // meanwhile, which must not be timed with a clock read before the wait.
  struct ClockStaleOnExit {
    Impl* impl;
    ~ClockStaleOnExit() { impl->ClockStale(); }
  };

  absl::Status Start();
  absl::Status Run(EventSink* s);
  absl::Status ConnectionLost();

  void Handle(xcb_generic_event_t* ev);
  void HandleXi(xcb_ge_generic_event_t* ge);
  void HandleXkb(xcb_generic_event_t* ev);
  void OnKey(const xcb_input_raw_key_press_event_t* ev, bool down);
  void OnButton(const xcb_input_raw_button_press_event_t* ev, bool down);
  void OnMotion(const xcb_input_raw_motion_event_t* ev);

  bool ReloadKeymap(bool initial);
  void SelectXkbEvents(xcb_connection_t* c);
  void OpenKeymapWatch();
  // Reads and discards what the keymap watch received; true if anything.
  bool DrainKeymapWatch();
  // Effective modifiers, cached until the xkb state changes them.
  uint32_t Mods();
  uint32_t mods_cache = 0;
  bool mods_valid = false;
  std::string TextFor(xkb_keycode_t kc, xkb_keysym_t sym, uint32_t mods);
  void QueryScrollAxes();

  bool QueryPointer(int32_t* x, int32_t* y);
  void EmitMoveIfChanged(int64_t t);
  void FlushMotion();
  void EmitPointer(int64_t t, v1::PointerEvent::Kind kind, uint32_t button, int32_t dx, int32_t dy);
  void Emit(v1::Event&& e);

  xcb_atom_t Intern(const char* name);
  void DetectWm();
  xcb_window_t CurrentActive();
  void RefreshActive(int64_t t, bool force, bool allow_none = false);
  void ReadWindow(xcb_window_t w, v1::FocusEvent* f, bool title_only);
  uint32_t ClientPid(xcb_window_t w);
  bool IsOwn(const v1::FocusEvent& f);
  void EmitFocus(int64_t t, bool title_change);

  void MaybeCaptureFrame(int64_t t, const char* trigger);
  bool GrabRgb(int32_t x, int32_t y, uint32_t w, uint32_t h, std::vector<uint8_t>* rgb);
};

X11Source::Impl::~Impl() {
  if (state) xkb_state_unref(state);
  if (keymap) xkb_keymap_unref(keymap);
  if (ctx) xkb_context_unref(ctx);
  if (conn) {
    if (shm_ok && !xcb_connection_has_error(conn)) xcb_shm_detach(conn, shm_seg);
    xcb_disconnect(conn);
  }
  if (shm_addr) shmdt(shm_addr);
  if (keymap_conn) xcb_disconnect(keymap_conn);
  if (stop_fd >= 0) close(stop_fd);
}

xcb_atom_t X11Source::Impl::Intern(const char* name) {
  xcb_intern_atom_cookie_t c = xcb_intern_atom(conn, 0, static_cast<uint16_t>(strlen(name)), name);
  XPtr<xcb_intern_atom_reply_t> r(xcb_intern_atom_reply(conn, c, nullptr));
  return r ? r->atom : XCB_NONE;
}

absl::Status X11Source::Impl::Start() {
  if (started) return absl::FailedPreconditionError("X11Source: Start() called twice");
  if (stop_fd < 0) return absl::InternalError("X11Source: eventfd failed");
  const char* disp = opt.display.empty() ? getenv("DISPLAY") : opt.display.c_str();
  display_name = disp ? disp : "";
  if (display_name.empty()) {
    return absl::UnavailableError("cannot open X display: DISPLAY is not set");
  }
  int screen_num = 0;
  conn = xcb_connect(display_name.c_str(), &screen_num);
  if (int err = xcb_connection_has_error(conn)) {
    return absl::UnavailableError(
        absl::StrCat("cannot open X display '", display_name, "' (xcb error ", err,
                     err == XCB_CONN_CLOSED_PARSE_ERR ? ": bad display name"
                                                      : ": no X server there or access refused",
                     ")"));
  }
  const xcb_setup_t* setup = xcb_get_setup(conn);
  xcb_screen_iterator_t it = xcb_setup_roots_iterator(setup);
  for (int i = 0; i < screen_num && it.rem; ++i) xcb_screen_next(&it);
  if (!it.rem)
    return absl::UnavailableError("X display has no screen " + std::to_string(screen_num));
  screen = it.data;
  root = screen->root;

  // XInput 2.2.
  const xcb_query_extension_reply_t* xi = xcb_get_extension_data(conn, &xcb_input_id);
  if (!xi || !xi->present) {
    return absl::FailedPreconditionError(absl::StrCat(
        "X display '", display_name, "' has no XInput extension; sealtrace needs XInput 2.2"));
  }
  xi_opcode = xi->major_opcode;
  {
    XPtr<xcb_input_xi_query_version_reply_t> v(
        xcb_input_xi_query_version_reply(conn, xcb_input_xi_query_version(conn, 2, 2), nullptr));
    if (!v || v->major_version < 2 || (v->major_version == 2 && v->minor_version < 2)) {
      return absl::FailedPreconditionError(
          absl::StrCat("X display '", display_name, "' supports XInput ", v ? v->major_version : 0,
                       ".", v ? v->minor_version : 0, "; sealtrace needs XInput 2.2 or later"));
    }
  }
  struct {
    xcb_input_event_mask_t head;
    uint32_t mask;
  } mask;
  mask.head.deviceid = XCB_INPUT_DEVICE_ALL_MASTER;
  mask.head.mask_len = 1;
  mask.mask = XCB_INPUT_XI_EVENT_MASK_RAW_KEY_PRESS | XCB_INPUT_XI_EVENT_MASK_RAW_KEY_RELEASE |
              XCB_INPUT_XI_EVENT_MASK_RAW_BUTTON_PRESS |
              XCB_INPUT_XI_EVENT_MASK_RAW_BUTTON_RELEASE | XCB_INPUT_XI_EVENT_MASK_RAW_MOTION;
  XPtr<xcb_generic_error_t> serr(
      xcb_request_check(conn, xcb_input_xi_select_events_checked(conn, root, 1, &mask.head)));
  if (serr) {
    return absl::FailedPreconditionError(
        absl::StrCat("XISelectEvents on the root window failed (X error ", serr->error_code, ")"));
  }

  // XKB.
  uint16_t xkb_major = 0, xkb_minor = 0;
  uint8_t base_error = 0;
  if (!xkb_x11_setup_xkb_extension(conn, XKB_X11_MIN_MAJOR_XKB_VERSION,
                                   XKB_X11_MIN_MINOR_XKB_VERSION,
                                   XKB_X11_SETUP_XKB_EXTENSION_NO_FLAGS, &xkb_major, &xkb_minor,
                                   &xkb_base_event, &base_error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("X display '", display_name, "' has no usable XKB extension"));
  }
  kbd_device = xkb_x11_get_core_keyboard_device_id(conn);
  if (kbd_device < 0) return absl::FailedPreconditionError("no core keyboard device");
  ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
  if (!ctx) return absl::InternalError("xkb_context_new failed");
  if (!ReloadKeymap(/*initial=*/true)) {
    return absl::FailedPreconditionError("cannot read the keyboard map from the X server");
  }
  SelectXkbEvents(conn);
  if (opt.key_batch_ms > 0) OpenKeymapWatch();
  QueryScrollAxes();

  // Window context.
  a_active = Intern("_NET_ACTIVE_WINDOW");
  a_net_wm_name = Intern("_NET_WM_NAME");
  a_utf8 = Intern("UTF8_STRING");
  a_pid = Intern("_NET_WM_PID");
  a_wm_check = Intern("_NET_SUPPORTING_WM_CHECK");
  uint32_t root_mask = XCB_EVENT_MASK_PROPERTY_CHANGE;
  xcb_change_window_attributes(conn, root, XCB_CW_EVENT_MASK, &root_mask);
  DetectWm();

  // Frames: a shared-memory segment the size of the screen.
  if (opt.frames) {
    const xcb_query_extension_reply_t* shm = xcb_get_extension_data(conn, &xcb_shm_id);
    if (shm && shm->present) {
      shm_size = static_cast<size_t>(screen->width_in_pixels) * screen->height_in_pixels * 4;
      shm_id = shmget(IPC_PRIVATE, shm_size, IPC_CREAT | 0600);
      if (shm_id >= 0) {
        void* addr = shmat(shm_id, nullptr, 0);
        if (addr != reinterpret_cast<void*>(-1)) {
          shm_addr = static_cast<uint8_t*>(addr);
          shm_seg = xcb_generate_id(conn);
          XPtr<xcb_generic_error_t> e(
              xcb_request_check(conn, xcb_shm_attach_checked(conn, shm_seg, shm_id, 0)));
          shm_ok = !e;
        }
        shmctl(shm_id, IPC_RMID, nullptr);  // freed when both sides detach
      }
    }
  }

  {
    std::lock_guard<std::mutex> l(mu);
    info.screen_width = screen->width_in_pixels;
    info.screen_height = screen->height_in_pixels;
    info.description = absl::StrCat(
        "X11 ", display_name, " (XInput 2.2, XKB ", xkb_major, ".", xkb_minor,
        opt.frames ? (shm_ok ? ", frames via MIT-SHM" : ", frames via GetImage") : "", ")");
  }
  xcb_flush(conn);
  started = true;
  return absl::OkStatus();
}

void X11Source::Impl::OpenKeymapWatch() {
  xcb_connection_t* c = xcb_connect(display_name.c_str(), nullptr);
  uint16_t major = 0, minor = 0;
  uint8_t base_event = 0, base_error = 0;
  if (xcb_connection_has_error(c) ||
      !xkb_x11_setup_xkb_extension(c, XKB_X11_MIN_MAJOR_XKB_VERSION, XKB_X11_MIN_MINOR_XKB_VERSION,
                                   XKB_X11_SETUP_XKB_EXTENSION_NO_FLAGS, &major, &minor,
                                   &base_event, &base_error)) {
    xcb_disconnect(c);  // no batching then; recording is unaffected
    return;
  }
  SelectXkbEvents(c);
  xcb_flush(c);
  keymap_conn = c;
}

bool X11Source::Impl::DrainKeymapWatch() {
  bool any = false;
  while (xcb_generic_event_t* ev = xcb_poll_for_event(keymap_conn)) {
    free(ev);
    any = true;
  }
  if (xcb_connection_has_error(keymap_conn)) {
    xcb_disconnect(keymap_conn);  // the main connection reports the loss
    keymap_conn = nullptr;
  }
  return any;
}

void X11Source::Impl::SelectXkbEvents(xcb_connection_t* c) {
  const uint16_t events = XCB_XKB_EVENT_TYPE_NEW_KEYBOARD_NOTIFY | XCB_XKB_EVENT_TYPE_MAP_NOTIFY;
  const uint16_t map_parts = XCB_XKB_MAP_PART_KEY_TYPES | XCB_XKB_MAP_PART_KEY_SYMS |
                             XCB_XKB_MAP_PART_MODIFIER_MAP | XCB_XKB_MAP_PART_EXPLICIT_COMPONENTS |
                             XCB_XKB_MAP_PART_KEY_ACTIONS | XCB_XKB_MAP_PART_VIRTUAL_MODS |
                             XCB_XKB_MAP_PART_VIRTUAL_MOD_MAP;
  xcb_xkb_select_events_details_t details;
  memset(&details, 0, sizeof(details));
  details.affectNewKeyboard = XCB_XKB_NKN_DETAIL_KEYCODES;
  details.newKeyboardDetails = XCB_XKB_NKN_DETAIL_KEYCODES;
  xcb_xkb_select_events_aux(c, static_cast<xcb_xkb_device_spec_t>(kbd_device), events, 0, 0,
                            map_parts, map_parts, &details);
}

bool X11Source::Impl::ReloadKeymap(bool initial) {
  ClockStaleOnExit stale{this};  // round trips to the server
  keymap_dirty = false;
  xkb_keymap* km =
      xkb_x11_keymap_new_from_device(ctx, conn, kbd_device, XKB_KEYMAP_COMPILE_NO_FLAGS);
  if (!km) return false;
  xkb_state* st = xkb_state_new(km);
  if (!st) {
    xkb_keymap_unref(km);
    return false;
  }
  xkb_mod_mask_t locked_mods = 0;
  xkb_layout_index_t locked_layout = 0;
  if (initial) {
    // Take only the lock state from the server: keys already held when we
    // start are never seen pressed, so their depressed mods would stick.
    if (xkb_state* dev = xkb_x11_state_new_from_device(km, conn, kbd_device)) {
      locked_mods = xkb_state_serialize_mods(dev, XKB_STATE_MODS_LOCKED);
      locked_layout = xkb_state_serialize_layout(dev, XKB_STATE_LAYOUT_LOCKED);
      xkb_state_unref(dev);
    }
  } else if (state) {
    locked_mods = xkb_state_serialize_mods(state, XKB_STATE_MODS_LOCKED);
    locked_layout = xkb_state_serialize_layout(state, XKB_STATE_LAYOUT_LOCKED);
  }
  for (size_t kc = 0; kc < keys_down.size(); ++kc) {
    if (keys_down[kc]) xkb_state_update_key(st, static_cast<xkb_keycode_t>(kc), XKB_KEY_DOWN);
  }
  xkb_state_update_mask(st, xkb_state_serialize_mods(st, XKB_STATE_MODS_DEPRESSED),
                        xkb_state_serialize_mods(st, XKB_STATE_MODS_LATCHED), locked_mods,
                        xkb_state_serialize_layout(st, XKB_STATE_LAYOUT_DEPRESSED),
                        xkb_state_serialize_layout(st, XKB_STATE_LAYOUT_LATCHED), locked_layout);
  if (state) xkb_state_unref(state);
  if (keymap) xkb_keymap_unref(keymap);
  keymap = km;
  state = st;
  mods_valid = false;
  mi_shift = xkb_keymap_mod_get_index(km, XKB_MOD_NAME_SHIFT);
  mi_ctrl = xkb_keymap_mod_get_index(km, XKB_MOD_NAME_CTRL);
  mi_alt = xkb_keymap_mod_get_index(km, XKB_MOD_NAME_ALT);
  mi_super = xkb_keymap_mod_get_index(km, XKB_MOD_NAME_LOGO);
  mi_caps = xkb_keymap_mod_get_index(km, XKB_MOD_NAME_CAPS);
  mi_altgr = xkb_keymap_mod_get_index(km, "Mod5");
  if (!initial) ++stats.keymap_reloads;
  return true;
}

uint32_t X11Source::Impl::Mods() {
  if (mods_valid) return mods_cache;
  auto on = [&](xkb_mod_index_t i) {
    return i != XKB_MOD_INVALID &&
           xkb_state_mod_index_is_active(state, i, XKB_STATE_MODS_EFFECTIVE) > 0;
  };
  uint32_t m = 0;
  if (on(mi_shift)) m |= kModShift;
  if (on(mi_ctrl)) m |= kModCtrl;
  if (on(mi_alt)) m |= kModAlt;
  if (on(mi_super)) m |= kModSuper;
  if (on(mi_caps)) m |= kModCaps;
  if (on(mi_altgr)) m |= kModAltGr;
  mods_cache = m;
  mods_valid = true;
  return m;
}

std::string X11Source::Impl::TextFor(xkb_keycode_t kc, xkb_keysym_t sym, uint32_t mods) {
  if (mods & (kModCtrl | kModAlt | kModSuper)) return "";
  if (sym == XKB_KEY_Return || sym == XKB_KEY_KP_Enter) return "\n";
  if (sym == XKB_KEY_Tab || sym == XKB_KEY_KP_Tab) return "\t";
  char buf[64];
  int n;
  if (sym != XKB_KEY_NoSymbol) {
    // One keysym (Caps Lock already applied by xkb_state_key_get_one_sym):
    // what xkb_state_key_get_utf8 would give without Ctrl, which types no
    // text here anyway. Its count includes the terminating NUL.
    n = xkb_keysym_to_utf8(sym, buf, sizeof(buf)) - 1;
  } else {
    n = xkb_state_key_get_utf8(state, kc, buf, sizeof(buf));  // several keysyms
  }
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "";
  for (int i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(buf[i]);
    if (c < 0x20 || c == 0x7f) return "";  // control characters type nothing
  }
  return std::string(buf, n);
}

void X11Source::Impl::QueryScrollAxes() {
  ClockStaleOnExit stale{this};  // round trips to the server
  XPtr<xcb_input_xi_query_device_reply_t> r(xcb_input_xi_query_device_reply(
      conn, xcb_input_xi_query_device(conn, XCB_INPUT_DEVICE_ALL), nullptr));
  if (!r) return;
  std::map<std::pair<uint16_t, uint16_t>, ScrollAxis> axes;
  known_sources.clear();
  for (auto it = xcb_input_xi_query_device_infos_iterator(r.get()); it.rem;
       xcb_input_xi_device_info_next(&it)) {
    known_sources.insert(it.data->deviceid);
    for (auto ci = xcb_input_xi_device_info_classes_iterator(it.data); ci.rem;
         xcb_input_device_class_next(&ci)) {
      if (ci.data->type != XCB_INPUT_DEVICE_CLASS_TYPE_SCROLL) continue;
      auto* sc = reinterpret_cast<const xcb_input_scroll_class_t*>(ci.data);
      ScrollAxis a;
      a.vertical = sc->scroll_type == XCB_INPUT_SCROLL_TYPE_VERTICAL;
      a.increment = Fp3232ToDouble(sc->increment);
      if (a.increment == 0) a.increment = 1;
      axes[{it.data->deviceid, sc->number}] = a;
    }
  }
  scroll_axes = std::move(axes);
}

void X11Source::Impl::Emit(v1::Event&& e) {
  last_emit_t = std::max(last_emit_t, static_cast<int64_t>(e.t_us()));
  sink->OnEvent(std::move(e));
}

bool X11Source::Impl::QueryPointer(int32_t* x, int32_t* y) {
  ClockStaleOnExit stale{this};  // round trips to the server
  XPtr<xcb_query_pointer_reply_t> r(
      xcb_query_pointer_reply(conn, xcb_query_pointer(conn, root), nullptr));
  if (!r) return false;
  *x = r->root_x;
  *y = r->root_y;
  return true;
}

void X11Source::Impl::EmitMoveIfChanged(int64_t t) {
  int32_t x, y;
  if (!QueryPointer(&x, &y)) return;
  // The position read now folds in every raw motion handled so far.
  motion_pending = false;
  last_move_local = last_clock;
  if (have_pos && x == last_x && y == last_y) return;
  have_pos = true;
  last_x = x;
  last_y = y;
  if (active_is_own) return;
  EmitPointer(t, v1::PointerEvent::MOVE, 0, 0, 0);
}

void X11Source::Impl::FlushMotion() {
  motion_pending = false;  // also if the query fails: no retry loop
  // The position read now is the one the latest raw motion left (nothing
  // moved since): stamp it with that motion's time, never before what was
  // already delivered.
  EmitMoveIfChanged(std::max(motion_t, last_emit_t));
}

void X11Source::Impl::EmitPointer(int64_t t, v1::PointerEvent::Kind kind, uint32_t button,
                                  int32_t dx, int32_t dy) {
  v1::Event e;
  e.set_t_us(static_cast<uint64_t>(t));
  v1::PointerEvent* p = e.mutable_pointer();
  p->set_kind(kind);
  p->set_x(last_x);
  p->set_y(last_y);
  if (button) p->set_button(button);
  if (dx) p->set_scroll_dx(dx);
  if (dy) p->set_scroll_dy(dy);
  p->set_modifiers(Mods());
  ++stats.pointer_events;
  Emit(std::move(e));
}

void X11Source::Impl::OnKey(const xcb_input_raw_key_press_event_t* ev, bool down) {
  int64_t t = tm.Map(ev->time, Now());
  batch_keys = true;
  if (keymap_dirty) ReloadKeymap(false);
  if (!has_wm) RefreshActive(t, false);
  xkb_keycode_t kc = ev->detail;
  if (kc >= keys_down.size()) return;
  if (!down && !keys_down[kc] && keys_seen_up[kc]) {
    // A second release of a key that is already up (xdotool does this for
    // modifiers, e.g. `key ctrl+c`): tolerated, reported once only.
    ++stats.duplicate_releases;
    return;
  }
  bool repeat = down && keys_down[kc];
  uint32_t mods = Mods();
  xkb_keysym_t sym = xkb_state_key_get_one_sym(state, kc);
  // A release reports the keysym of its press, even if the keymap changed in
  // between (xdotool binds a scratch keycode per character and unbinds it).
  if (!down && keys_down[kc]) sym = down_sym[kc];
  if (down) down_sym[kc] = sym;
  std::string text = down ? TextFor(kc, sym, mods) : std::string();
  if (!repeat && xkb_state_update_key(state, kc, down ? XKB_KEY_DOWN : XKB_KEY_UP) != 0) {
    mods_valid = false;
  }
  keys_down[kc] = down;
  if (!down) keys_seen_up[kc] = true;
  if (active_is_own) {
    ++stats.dropped_own_window;
    return;
  }
  v1::Event e;
  e.set_t_us(static_cast<uint64_t>(t));
  v1::KeyEvent* k = e.mutable_key();
  k->set_down(down);
  k->set_keycode(kc);
  k->set_keysym(sym);
  if (!text.empty()) k->set_text(std::move(text));
  k->set_modifiers(mods);
  if (repeat) k->set_repeat(true);
  ++stats.key_events;
  Emit(std::move(e));
}

void X11Source::Impl::OnButton(const xcb_input_raw_button_press_event_t* ev, bool down) {
  int64_t t = tm.Map(ev->time, Now());
  batch_pointer = true;
  if (!has_wm && down) RefreshActive(t, false);
  uint32_t b = ev->detail;
  if (b >= 4 && b <= 7) {
    // Wheel clicks: one SCROLL per press. Emulated presses (from smooth
    // scrolling valuators) are counted from the valuators instead.
    if (!down || (ev->flags & XCB_INPUT_POINTER_EVENT_FLAGS_POINTER_EMULATED)) return;
    if (active_is_own) return;
    EmitMoveIfChanged(t);
    EmitPointer(t, v1::PointerEvent::SCROLL, 0, b == 6 ? -1 : (b == 7 ? 1 : 0),
                b == 4 ? -1 : (b == 5 ? 1 : 0));
    return;
  }
  if (active_is_own) {
    ++stats.dropped_own_window;
    return;
  }
  EmitMoveIfChanged(t);
  EmitPointer(t, down ? v1::PointerEvent::BUTTON_DOWN : v1::PointerEvent::BUTTON_UP, b, 0, 0);
  if (down) MaybeCaptureFrame(t, "click");
}

void X11Source::Impl::OnMotion(const xcb_input_raw_motion_event_t* ev) {
  ++stats.raw_motion_events;
  batch_pointer = true;
  if (!known_sources.count(ev->sourceid)) {
    known_sources.insert(ev->sourceid);  // query once per new device
    QueryScrollAxes();
  }
  // Which valuators are set, and are any of them scroll axes?
  const uint32_t* vmask = xcb_input_raw_button_press_valuator_mask(
      reinterpret_cast<const xcb_input_raw_button_press_event_t*>(ev));
  const xcb_input_fp3232_t* vals = xcb_input_raw_button_press_axisvalues(
      reinterpret_cast<const xcb_input_raw_button_press_event_t*>(ev));
  int nvals = xcb_input_raw_button_press_axisvalues_length(
      reinterpret_cast<const xcb_input_raw_button_press_event_t*>(ev));
  bool moved = false;
  int vi = 0;
  int32_t sdx = 0, sdy = 0;
  for (int word = 0; word < ev->valuators_len; ++word) {
    for (int bit = 0; bit < 32; ++bit) {
      if (!(vmask[word] & (1u << bit))) continue;
      uint16_t number = static_cast<uint16_t>(word * 32 + bit);
      double v = vi < nvals ? Fp3232ToDouble(vals[vi]) : 0.0;
      ++vi;
      auto it = scroll_axes.find({ev->sourceid, number});
      if (it == scroll_axes.end()) {
        if (v != 0) moved = true;
        continue;
      }
      ScrollAxis& a = it->second;
      a.accum += v / a.increment;
      int32_t clicks = static_cast<int32_t>(std::trunc(a.accum));
      if (clicks != 0) {
        a.accum -= clicks;
        (a.vertical ? sdy : sdx) += clicks;
      }
    }
  }
  if ((sdx || sdy) && !active_is_own) {
    int64_t t = tm.Map(ev->time, Now());
    EmitMoveIfChanged(t);  // also takes in this event's own movement
    EmitPointer(t, v1::PointerEvent::SCROLL, 0, sdx, sdy);
    return;
  }
  if (!moved) return;
  motion_t = tm.Map(ev->time, Now());
  if (motion_pending) return;
  motion_pending = true;
  motion_deadline = std::max(Now(), last_move_local + period_us);
}

// --- window context --------------------------------------------------------

void X11Source::Impl::DetectWm() {
  bool wm = false;
  XPtr<xcb_get_property_reply_t> r(xcb_get_property_reply(
      conn, xcb_get_property(conn, 0, root, a_wm_check, XCB_ATOM_WINDOW, 0, 1), nullptr));
  if (r && xcb_get_property_value_length(r.get()) >= 4) {
    xcb_window_t child = *static_cast<xcb_window_t*>(xcb_get_property_value(r.get()));
    XPtr<xcb_get_property_reply_t> c(xcb_get_property_reply(
        conn, xcb_get_property(conn, 0, child, a_wm_check, XCB_ATOM_WINDOW, 0, 1), nullptr));
    wm = c && xcb_get_property_value_length(c.get()) >= 4 &&
         *static_cast<xcb_window_t*>(xcb_get_property_value(c.get())) == child;
  }
  has_wm = wm;
  std::lock_guard<std::mutex> l(mu);
  info.has_window_manager = wm;
  info.warning =
      wm ? "" : "no window manager (_NET_SUPPORTING_WM_CHECK missing): using the input focus";
}

xcb_window_t X11Source::Impl::CurrentActive() {
  if (has_wm) {
    XPtr<xcb_get_property_reply_t> r(xcb_get_property_reply(
        conn, xcb_get_property(conn, 0, root, a_active, XCB_ATOM_WINDOW, 0, 1), nullptr));
    if (r && xcb_get_property_value_length(r.get()) >= 4) {
      return *static_cast<xcb_window_t*>(xcb_get_property_value(r.get()));
    }
    return XCB_NONE;
  }
  XPtr<xcb_get_input_focus_reply_t> f(
      xcb_get_input_focus_reply(conn, xcb_get_input_focus(conn), nullptr));
  if (!f) return XCB_NONE;
  xcb_window_t w = f->focus;
  if (w == XCB_NONE || w == XCB_INPUT_FOCUS_POINTER_ROOT || w == root) return XCB_NONE;
  // Walk up to the top-level window (child of the root).
  for (int depth = 0; depth < 64; ++depth) {
    XPtr<xcb_query_tree_reply_t> t(xcb_query_tree_reply(conn, xcb_query_tree(conn, w), nullptr));
    if (!t) return XCB_NONE;
    if (t->parent == root || t->parent == XCB_NONE) return w;
    w = t->parent;
  }
  return w;
}

// The pid of the local client that created window `w`, from the X-Resource
// extension (XResQueryClientIds, LocalClientPID); 0 if unknown or remote.
uint32_t X11Source::Impl::ClientPid(xcb_window_t w) {
  xcb_res_client_id_spec_t spec{w, XCB_RES_CLIENT_ID_MASK_LOCAL_CLIENT_PID};
  XPtr<xcb_res_query_client_ids_reply_t> r(
      xcb_res_query_client_ids_reply(conn, xcb_res_query_client_ids(conn, 1, &spec), nullptr));
  if (!r) return 0;
  for (auto it = xcb_res_query_client_ids_ids_iterator(r.get()); it.rem;
       xcb_res_client_id_value_next(&it)) {
    if ((it.data->spec.mask & XCB_RES_CLIENT_ID_MASK_LOCAL_CLIENT_PID) &&
        xcb_res_client_id_value_value_length(it.data) >= 1)
      return *xcb_res_client_id_value_value(it.data);
  }
  return 0;
}

void X11Source::Impl::ReadWindow(xcb_window_t w, v1::FocusEvent* f, bool title_only) {
  auto cn = xcb_get_property(conn, 0, w, a_net_wm_name, a_utf8, 0, 1024);
  auto co = xcb_get_property(conn, 0, w, XCB_ATOM_WM_NAME, XCB_GET_PROPERTY_TYPE_ANY, 0, 1024);
  xcb_get_property_cookie_t cc{}, cp{};
  xcb_get_geometry_cookie_t cg{};
  xcb_translate_coordinates_cookie_t ct{};
  if (!title_only) {
    cc = xcb_get_property(conn, 0, w, XCB_ATOM_WM_CLASS, XCB_ATOM_STRING, 0, 256);
    cp = xcb_get_property(conn, 0, w, a_pid, XCB_ATOM_CARDINAL, 0, 1);
    cg = xcb_get_geometry(conn, w);
    ct = xcb_translate_coordinates(conn, w, root, 0, 0);
  }
  std::string title;
  XPtr<xcb_get_property_reply_t> rn(xcb_get_property_reply(conn, cn, nullptr));
  XPtr<xcb_get_property_reply_t> ro(xcb_get_property_reply(conn, co, nullptr));
  if (rn && xcb_get_property_value_length(rn.get()) > 0) {
    title.assign(static_cast<const char*>(xcb_get_property_value(rn.get())),
                 xcb_get_property_value_length(rn.get()));
  } else if (ro && xcb_get_property_value_length(ro.get()) > 0) {
    std::string_view v(static_cast<const char*>(xcb_get_property_value(ro.get())),
                       xcb_get_property_value_length(ro.get()));
    title = ro->type == a_utf8 ? std::string(v) : Latin1ToUtf8(v);
  }
  f->set_title(SanitizeUtf8(title));
  if (title_only) return;
  f->set_window_id(w);
  XPtr<xcb_get_property_reply_t> rc(xcb_get_property_reply(conn, cc, nullptr));
  if (rc && xcb_get_property_value_length(rc.get()) > 0) {
    std::string_view v(static_cast<const char*>(xcb_get_property_value(rc.get())),
                       xcb_get_property_value_length(rc.get()));
    size_t z = v.find('\0');
    std::string_view inst = v.substr(0, z);
    std::string_view cls = z == std::string_view::npos ? std::string_view() : v.substr(z + 1);
    size_t z2 = cls.find('\0');
    if (z2 != std::string_view::npos) cls = cls.substr(0, z2);
    f->set_app_instance(SanitizeUtf8(Latin1ToUtf8(inst)));
    f->set_app_class(SanitizeUtf8(Latin1ToUtf8(cls)));
  }
  XPtr<xcb_get_property_reply_t> rp(xcb_get_property_reply(conn, cp, nullptr));
  if (rp && xcb_get_property_value_length(rp.get()) >= 4) {
    f->set_pid(*static_cast<uint32_t*>(xcb_get_property_value(rp.get())));
  } else {
    f->set_pid(ClientPid(w));  // no _NET_WM_PID: ask the server (X-Resource)
  }
  XPtr<xcb_get_geometry_reply_t> rg(xcb_get_geometry_reply(conn, cg, nullptr));
  XPtr<xcb_translate_coordinates_reply_t> rt(xcb_translate_coordinates_reply(conn, ct, nullptr));
  if (rg) {
    f->set_width(rg->width);
    f->set_height(rg->height);
  }
  if (rt) {
    f->set_x(rt->dst_x);
    f->set_y(rt->dst_y);
  }
  f->set_screen_width(screen->width_in_pixels);
  f->set_screen_height(screen->height_in_pixels);
}

bool X11Source::Impl::IsOwn(const v1::FocusEvent& f) {
  std::lock_guard<std::mutex> l(mu);
  return (own_pid != 0 && f.pid() == own_pid) || own_windows.count(f.window_id()) > 0;
}

void X11Source::Impl::EmitFocus(int64_t t, bool title_change) {
  v1::Event e;
  e.set_t_us(static_cast<uint64_t>(t));
  *e.mutable_focus() = focus;
  e.mutable_focus()->set_title_change(title_change);
  ++stats.focus_events;
  Emit(std::move(e));
}

void X11Source::Impl::RefreshActive(int64_t t, bool force, bool allow_none) {
  ClockStaleOnExit stale{this};  // round trips to the server
  xcb_window_t w = CurrentActive();
  if (w == XCB_NONE && has_wm && !force && !allow_none && active != XCB_NONE) {
    // Window managers clear _NET_ACTIVE_WINDOW for a moment while switching
    // focus: report "no window" only if it lasts.
    none_deadline = last_clock + kNoneDebounceUs;
    return;
  }
  none_deadline = 0;
  if (w == active && have_focus && !force) return;
  if (active != XCB_NONE && active != w) {
    uint32_t none = XCB_EVENT_MASK_NO_EVENT;
    xcb_change_window_attributes(conn, active, XCB_CW_EVENT_MASK, &none);
  }
  active = w;
  v1::FocusEvent f;
  if (w != XCB_NONE) {
    uint32_t m = XCB_EVENT_MASK_PROPERTY_CHANGE;
    xcb_change_window_attributes(conn, w, XCB_CW_EVENT_MASK, &m);
    ReadWindow(w, &f, false);
  } else {
    f.set_screen_width(screen->width_in_pixels);
    f.set_screen_height(screen->height_in_pixels);
  }
  bool own = w != XCB_NONE && IsOwn(f);
  if (own) {
    if (!active_is_own) {
      active_is_own = true;
      own_enter_t = t;
      v1::Event e;
      e.set_t_us(static_cast<uint64_t>(t));
      e.mutable_control()->set_kind(v1::ControlEvent::EXCLUDED_ENTER);
      e.mutable_control()->set_reason("own_window");
      Emit(std::move(e));
    }
    focus = f;
    have_focus = true;
    return;
  }
  if (active_is_own) {
    active_is_own = false;
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(t));
    e.mutable_control()->set_kind(v1::ControlEvent::EXCLUDED_LEAVE);
    e.mutable_control()->set_reason("own_window");
    e.mutable_control()->set_duration_us(static_cast<uint64_t>(t - own_enter_t));
    Emit(std::move(e));
  }
  focus = f;
  have_focus = true;
  EmitFocus(t, false);
  MaybeCaptureFrame(t, "focus");
}

// --- frames ----------------------------------------------------------------

bool X11Source::Impl::GrabRgb(int32_t x, int32_t y, uint32_t w, uint32_t h,
                              std::vector<uint8_t>* rgb) {
  const uint8_t* px = nullptr;
  XPtr<xcb_get_image_reply_t> gi;
  uint8_t depth = 0;
  if (shm_ok) {
    XPtr<xcb_shm_get_image_reply_t> r(xcb_shm_get_image_reply(
        conn,
        xcb_shm_get_image(conn, root, static_cast<int16_t>(x), static_cast<int16_t>(y),
                          static_cast<uint16_t>(w), static_cast<uint16_t>(h), ~0u,
                          XCB_IMAGE_FORMAT_Z_PIXMAP, shm_seg, 0),
        nullptr));
    if (!r) return false;
    depth = r->depth;
    px = shm_addr;
  } else {
    gi.reset(
        xcb_get_image_reply(conn,
                            xcb_get_image(conn, XCB_IMAGE_FORMAT_Z_PIXMAP, root,
                                          static_cast<int16_t>(x), static_cast<int16_t>(y),
                                          static_cast<uint16_t>(w), static_cast<uint16_t>(h), ~0u),
                            nullptr));
    if (!gi) return false;
    depth = gi->depth;
    if (static_cast<size_t>(xcb_get_image_data_length(gi.get())) < size_t{w} * h * 4) return false;
    px = xcb_get_image_data(gi.get());
  }
  if (depth != 24 && depth != 32) return false;  // only 32-bpp TrueColor
  rgb->resize(size_t{w} * h * 3);
  uint8_t* o = rgb->data();
  for (size_t i = 0; i < size_t{w} * h; ++i) {  // BGRX (LSB first) -> RGB
    o[0] = px[2];
    o[1] = px[1];
    o[2] = px[0];
    o += 3;
    px += 4;
  }
  return true;
}

void X11Source::Impl::MaybeCaptureFrame(int64_t t, const char* trigger) {
  ClockStaleOnExit stale{this};  // round trips to the server
  if (!opt.frames || !opt.frame_sink || active_is_own) return;
  while (!frame_times.empty() && frame_times.front() <= t - 3'600'000'000LL)
    frame_times.pop_front();
  v1::FocusEvent f = focus;
  if (!have_focus || active == XCB_NONE) {
    f.Clear();
    f.set_screen_width(screen->width_in_pixels);
    f.set_screen_height(screen->height_in_pixels);
  }
  if (opt.is_excluded && opt.is_excluded(f)) {
    ++stats.frames_excluded;
    return;
  }
  if (static_cast<int>(frame_times.size()) >= opt.frame_budget_per_hour) {
    ++stats.frames_over_budget;
    return;
  }
  int32_t x0 = 0, y0 = 0, x1 = screen->width_in_pixels, y1 = screen->height_in_pixels;
  if (f.window_id() != 0 && f.width() > 0 && f.height() > 0) {
    x0 = std::max<int32_t>(0, f.x());
    y0 = std::max<int32_t>(0, f.y());
    x1 = std::min<int32_t>(x1, f.x() + static_cast<int32_t>(f.width()));
    y1 = std::min<int32_t>(y1, f.y() + static_cast<int32_t>(f.height()));
  }
  if (x1 <= x0 || y1 <= y0) return;
  uint32_t w = static_cast<uint32_t>(x1 - x0), h = static_cast<uint32_t>(y1 - y0);
  std::vector<uint8_t> rgb;
  if (!GrabRgb(x0, y0, w, h, &rgb)) return;
  absl::StatusOr<std::string> png = EncodePngRgb(rgb.data(), w, h);
  if (!png.ok()) return;
  frame_times.push_back(t);
  ++stats.frames_taken;
  FrameCapture fc;
  fc.png = std::move(*png);
  fc.x = x0;
  fc.y = y0;
  fc.width = w;
  fc.height = h;
  fc.window_id = f.window_id();
  fc.trigger = trigger;
  fc.t_us = static_cast<uint64_t>(t);
  opt.frame_sink(std::move(fc));
}

// --- event dispatch ----------------------------------------------------------

void X11Source::Impl::HandleXi(xcb_ge_generic_event_t* ge) {
  switch (ge->event_type) {
    case XCB_INPUT_RAW_KEY_PRESS:
      OnKey(reinterpret_cast<xcb_input_raw_key_press_event_t*>(ge), true);
      break;
    case XCB_INPUT_RAW_KEY_RELEASE:
      OnKey(reinterpret_cast<xcb_input_raw_key_press_event_t*>(ge), false);
      break;
    case XCB_INPUT_RAW_BUTTON_PRESS:
      OnButton(reinterpret_cast<xcb_input_raw_button_press_event_t*>(ge), true);
      break;
    case XCB_INPUT_RAW_BUTTON_RELEASE:
      OnButton(reinterpret_cast<xcb_input_raw_button_press_event_t*>(ge), false);
      break;
    case XCB_INPUT_RAW_MOTION:
      OnMotion(reinterpret_cast<xcb_input_raw_motion_event_t*>(ge));
      break;
    default:
      break;
  }
}

void X11Source::Impl::HandleXkb(xcb_generic_event_t* ev) {
  // Byte 1 of every XKB event is its xkbType.
  uint8_t xkb_type = reinterpret_cast<uint8_t*>(ev)[1];
  if (xkb_type == XCB_XKB_NEW_KEYBOARD_NOTIFY) {
    auto* nkn = reinterpret_cast<xcb_xkb_new_keyboard_notify_event_t*>(ev);
    if (nkn->deviceID == kbd_device && (nkn->changed & XCB_XKB_NKN_DETAIL_KEYCODES)) {
      keymap_dirty = true;
    }
  } else if (xkb_type == XCB_XKB_MAP_NOTIFY) {
    keymap_dirty = true;
  }
  if (keymap_dirty) last_keymap_change = Now();
}

void X11Source::Impl::Handle(xcb_generic_event_t* ev) {
  uint8_t type = ev->response_type & 0x7f;
  if (type == XCB_GE_GENERIC) {
    auto* ge = reinterpret_cast<xcb_ge_generic_event_t*>(ev);
    if (ge->extension == xi_opcode) HandleXi(ge);
    return;
  }
  if (type == xkb_base_event) {
    HandleXkb(ev);
    return;
  }
  switch (type) {
    case XCB_MAPPING_NOTIFY: {
      auto* m = reinterpret_cast<xcb_mapping_notify_event_t*>(ev);
      if (m->request == XCB_MAPPING_KEYBOARD || m->request == XCB_MAPPING_MODIFIER) {
        keymap_dirty = true;
        last_keymap_change = Now();
      }
      break;
    }
    case XCB_PROPERTY_NOTIFY: {
      auto* p = reinterpret_cast<xcb_property_notify_event_t*>(ev);
      if (p->window == root) {
        if (p->atom == a_wm_check) {
          bool before = has_wm;
          DetectWm();
          if (before != has_wm) RefreshActive(tm.Local(Now()), true);
        } else if (p->atom == a_active && has_wm) {
          RefreshActive(tm.Local(Now()), false);
        }
      } else if (p->window == active && active != XCB_NONE &&
                 (p->atom == a_net_wm_name || p->atom == XCB_ATOM_WM_NAME)) {
        v1::FocusEvent f;
        ReadWindow(active, &f, true);
        if (f.title() != focus.title()) {
          focus.set_title(f.title());
          if (!active_is_own) EmitFocus(tm.Local(Now()), true);
        }
      }
      break;
    }
    default:
      break;  // errors of unchecked requests (e.g. a window vanished), etc.
  }
}

absl::Status X11Source::Impl::ConnectionLost() {
  v1::Event e;
  e.set_t_us(static_cast<uint64_t>(tm.Local(Now())));
  e.mutable_control()->set_kind(v1::ControlEvent::SOURCE_LOST);
  e.mutable_control()->set_reason("x_server_gone");
  Emit(std::move(e));
  return absl::UnavailableError(
      absl::StrCat("X server connection lost (display '", display_name,
                   "'): the server closed the connection or died; every event read before that "
                   "was delivered"));
}

absl::Status X11Source::Impl::Run(EventSink* s) {
  if (!started)
    return absl::FailedPreconditionError("X11Source: Run() before a successful Start()");
  sink = s;
  ClockStale();
  RefreshActive(tm.Local(Now()), true);
  {
    int32_t x, y;
    if (QueryPointer(&x, &y)) {
      have_pos = true;
      last_x = x;
      last_y = y;
      if (!active_is_own) EmitPointer(tm.Local(Now()), v1::PointerEvent::MOVE, 0, 0, 0);
    }
  }
  const int xfd = xcb_get_file_descriptor(conn);
  bool readable = true;
  while (true) {
    // One read of the socket when poll() said so, then whatever xcb queued:
    // no EAGAIN read per wakeup.
    batch_keys = batch_pointer = false;
    ClockStale();
    if (readable) {
      if (xcb_generic_event_t* ev = xcb_poll_for_event(conn)) {
        Handle(ev);
        free(ev);
      }
      readable = false;
    }
    while (xcb_generic_event_t* ev = xcb_poll_for_queued_event(conn)) {
      Handle(ev);
      free(ev);
    }
    if (xcb_connection_has_error(conn)) return ConnectionLost();
    if (keymap_dirty) ReloadKeymap(false);
    int timeout_ms = -1;
    auto wait_until = [&](int64_t deadline, int64_t now) {
      int ms = static_cast<int>((deadline - now + 999) / 1000);
      if (timeout_ms < 0 || ms < timeout_ms) timeout_ms = ms;
    };
    if (motion_pending) {
      // Due MOVEs are flushed whenever anything wakes us after the deadline:
      // while the pointer keeps moving that is its next raw motion, so only
      // a pointer that came to rest needs the timer (half a period later).
      int64_t now = Now();
      if (now >= motion_deadline) {
        FlushMotion();
      } else {
        wait_until(motion_deadline + period_us / 2, now);
      }
    }
    if (none_deadline != 0) {
      int64_t now = Now();
      if (now >= none_deadline) {
        RefreshActive(tm.Local(now), false, /*allow_none=*/true);
      } else {
        wait_until(none_deadline, now);
      }
    }
    // Round trips above may have queued events: handle them before sleeping.
    if (xcb_generic_event_t* ev = xcb_poll_for_queued_event(conn)) {
      Handle(ev);
      free(ev);
      continue;
    }
    if (xcb_flush(conn) <= 0) return ConnectionLost();
    if (keymap_conn && batch_keys && !batch_pointer && !motion_pending && none_deadline == 0 &&
        last_clock - last_keymap_change > kKeymapQuietUs) {
      // Typing burst: let key events accumulate for a moment (Options), unless
      // the keymap changes meanwhile: then read at once.
      pollfd wfd[2] = {{stop_fd, POLLIN, 0}, {xcb_get_file_descriptor(keymap_conn), POLLIN, 0}};
      int n = poll(wfd, 2, opt.key_batch_ms);
      if (n > 0 && (wfd[0].revents & POLLIN)) break;
      const bool cut = n > 0 && wfd[1].revents != 0;
      if (cut) DrainKeymapWatch();
      ++stats.batch_waits;
      if (cut) ++stats.batch_waits_cut;
      // Read straight away: after a burst the socket almost always has data,
      // and an empty read just leads to the blocking poll below next turn.
      readable = true;
      continue;
    }
    pollfd fds[3] = {{xfd, POLLIN, 0}, {stop_fd, POLLIN, 0}, {-1, POLLIN, 0}};
    if (keymap_conn) fds[2].fd = xcb_get_file_descriptor(keymap_conn);
    int n = poll(fds, keymap_conn ? 3 : 2, timeout_ms);
    if (n < 0 && errno != EINTR) return absl::InternalError("poll failed");
    if (n > 0 && (fds[1].revents & POLLIN)) break;
    if (n > 0 && keymap_conn && fds[2].revents != 0) DrainKeymapWatch();
    readable = n > 0 && fds[0].revents != 0;
  }
  if (motion_pending && !xcb_connection_has_error(conn)) FlushMotion();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// X11Source

X11Source::X11Source(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
X11Source::~X11Source() = default;

absl::Status X11Source::Start() { return impl_->Start(); }
absl::Status X11Source::Run(EventSink* sink) { return impl_->Run(sink); }

void X11Source::Stop() {
  if (impl_->stop_fd >= 0) {
    uint64_t one = 1;
    ssize_t r = write(impl_->stop_fd, &one, sizeof(one));
    (void)r;
  }
}

SourceInfo X11Source::Info() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->info;
}

void X11Source::SetOwnPid(uint32_t pid) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->own_pid = pid;
}

void X11Source::AddOwnWindow(uint64_t window_id) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->own_windows.insert(window_id);
}

X11Source::Stats X11Source::stats() const { return impl_->stats.Snapshot(); }

}  // namespace sealtrace
