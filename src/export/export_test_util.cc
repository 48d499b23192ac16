#include "export/export_test_util.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "segment/format.h"

namespace sealtrace::exporter::testing {

v1::Event& StreamBuilder::Add(uint64_t ms) {
  events_.emplace_back();
  events_.back().set_t_us(ms * 1000);
  return events_.back();
}

StreamBuilder& StreamBuilder::Focus(uint64_t ms, uint64_t window, const std::string& app,
                                    const std::string& title, uint32_t w, uint32_t h,
                                    bool title_change) {
  auto* f = Add(ms).mutable_focus();
  f->set_window_id(window);
  f->set_app_class(app);
  f->set_app_instance(app + "-instance");
  f->set_title(title);
  f->set_pid(4242);
  f->set_screen_width(w);
  f->set_screen_height(h);
  f->set_title_change(title_change);
  return *this;
}

StreamBuilder& StreamBuilder::Move(uint64_t ms, int x, int y) {
  auto* p = Add(ms).mutable_pointer();
  p->set_kind(v1::PointerEvent::MOVE);
  p->set_x(x);
  p->set_y(y);
  return *this;
}

StreamBuilder& StreamBuilder::Down(uint64_t ms, int x, int y, uint32_t button, uint32_t mods) {
  auto* p = Add(ms).mutable_pointer();
  p->set_kind(v1::PointerEvent::BUTTON_DOWN);
  p->set_x(x);
  p->set_y(y);
  p->set_button(button);
  p->set_modifiers(mods);
  return *this;
}

StreamBuilder& StreamBuilder::Up(uint64_t ms, int x, int y, uint32_t button, uint32_t mods) {
  auto* p = Add(ms).mutable_pointer();
  p->set_kind(v1::PointerEvent::BUTTON_UP);
  p->set_x(x);
  p->set_y(y);
  p->set_button(button);
  p->set_modifiers(mods);
  return *this;
}

StreamBuilder& StreamBuilder::Click(uint64_t ms, int x, int y, uint32_t button, uint32_t mods) {
  Down(ms, x, y, button, mods);
  return Up(ms + 60, x, y, button, mods);
}

StreamBuilder& StreamBuilder::Scroll(uint64_t ms, int x, int y, int dx, int dy, uint32_t mods) {
  auto* p = Add(ms).mutable_pointer();
  p->set_kind(v1::PointerEvent::SCROLL);
  p->set_x(x);
  p->set_y(y);
  p->set_scroll_dx(dx);
  p->set_scroll_dy(dy);
  p->set_modifiers(mods);
  return *this;
}

StreamBuilder& StreamBuilder::Key(uint64_t ms, uint32_t keysym, const std::string& text, bool down,
                                  uint32_t mods, bool repeat) {
  auto* k = Add(ms).mutable_key();
  k->set_down(down);
  k->set_keycode(38);
  k->set_keysym(keysym);
  if (down) k->set_text(text);
  k->set_modifiers(mods);
  k->set_repeat(repeat);
  return *this;
}

StreamBuilder& StreamBuilder::Tap(uint64_t ms, uint32_t keysym, const std::string& text,
                                  uint32_t mods) {
  Key(ms, keysym, text, true, mods);
  return Key(ms + 40, keysym, "", false, mods);
}

StreamBuilder& StreamBuilder::Type(uint64_t ms, const std::string& ascii, uint64_t gap_ms) {
  for (char c : ascii) {
    const uint32_t mods = (c >= 'A' && c <= 'Z') ? v1::MOD_SHIFT : 0;
    Tap(ms, static_cast<unsigned char>(c), std::string(1, c), mods);
    ms += gap_ms;
  }
  return *this;
}

StreamBuilder& StreamBuilder::Redaction(uint64_t ms, const std::string& kind, uint32_t key_events) {
  auto* r = Add(ms).mutable_redaction();
  r->set_kind(kind);
  r->set_length_bucket(16);
  r->set_key_events(key_events);
  return *this;
}

StreamBuilder& StreamBuilder::Control(uint64_t ms, v1::ControlEvent::Kind kind) {
  auto* c = Add(ms).mutable_control();
  c->set_kind(kind);
  c->set_reason("test");
  return *this;
}

StreamBuilder& StreamBuilder::Frame(uint64_t ms, const std::string& frame_id16) {
  auto* f = Add(ms).mutable_frame();
  f->set_frame_id(frame_id16);
  f->set_format("png");
  f->set_width(1920);
  f->set_height(1080);
  f->set_trigger("click");
  return *this;
}

std::vector<Episode> Reduce(const std::vector<v1::Event>& events, const ReducerOptions& o) {
  std::vector<Episode> out;
  ActionReducer r(o, [&](Episode&& e) { out.push_back(std::move(e)); });
  for (const auto& e : events) r.OnEvent(e, e.t_us());
  r.Finish();
  return out;
}

std::string Describe(const Action& a) {
  const std::string kind = ActionKindName(a);
  std::string mods;
  for (const auto& m : a.modifiers) mods += m + "+";
  switch (a.type) {
    case ActionType::kClick:
      return absl::StrCat(mods, kind, "(", a.x, ",", a.y, ")");
    case ActionType::kDrag:
      return absl::StrCat(mods, kind, "(", a.x, ",", a.y, "->", a.end_x, ",", a.end_y,
                          a.button != 1 ? absl::StrCat(",b", a.button) : "", ")");
    case ActionType::kMoveTo:
      return absl::StrCat("move(", a.x, ",", a.y, ")");
    case ActionType::kScroll:
      return a.scroll_dx != 0
                 ? absl::StrCat(mods, "hscroll(dx=", a.scroll_dx, "@", a.x, ",", a.y, ")")
                 : absl::StrCat(mods, "scroll(dy=", a.scroll_dy, "@", a.x, ",", a.y, ")");
    case ActionType::kType:
      return absl::StrCat("type('", a.text, "')");
    case ActionType::kPress:
      return absl::StrCat("press(", a.key, ")");
    case ActionType::kHotkey:
      return absl::StrCat("hotkey(", mods, a.key, ")");
    case ActionType::kWait:
      return absl::StrCat("wait(", a.duration_us / 1000, "ms)");
  }
  return "?";
}

std::vector<std::string> Describe(const Episode& e) {
  std::vector<std::string> out;
  for (const auto& a : e.steps) out.push_back(Describe(a));
  return out;
}

std::string MakeSegment(const Id16& contributor, const Id16& device, const Id16& segment_id,
                        uint64_t sequence, uint64_t start_mono_us,
                        const std::vector<v1::Event>& events, const std::string& public_key) {
  SegmentBuilder::Params p;
  p.contributor_id = contributor;
  p.device_id = device;
  p.segment_id = segment_id;
  p.sequence = sequence;
  p.wall_anchor_us = 1'790'000'000'000'000;
  p.start_mono_us = start_mono_us;
  p.recipient_public_key = public_key;
  SegmentBuilder b(p);
  for (const auto& e : events) b.Add(e);
  absl::StatusOr<std::string> s = b.Seal();
  if (!s.ok()) std::abort();
  return *s;
}

std::string MakeFrameSegment(const Id16& contributor, const Id16& device, const Id16& segment_id,
                             const std::string& png, const std::string& public_key) {
  SegmentBuilder::Params p;
  p.contributor_id = contributor;
  p.device_id = device;
  p.segment_id = segment_id;
  p.sequence = 0;
  p.wall_anchor_us = 1'790'000'000'000'000;
  p.start_mono_us = 1;
  p.recipient_public_key = public_key;
  p.flags = kFlagFramePayload;
  SegmentBuilder b(p);
  b.AddRaw(png);
  absl::StatusOr<std::string> s = b.Seal();
  if (!s.ok()) std::abort();
  return *s;
}

Id16 TestId(uint8_t tag, uint8_t n) {
  Id16 id;
  for (size_t i = 0; i < id.b.size(); ++i) id.b[i] = static_cast<uint8_t>(tag * 31 + i * 7 + n);
  id.b[0] = tag;
  id.b[15] = n;
  id.b[7] = 0xa5;
  return id;
}

std::string SourceDir() {
  const char* d = std::getenv("SEALTRACE_SOURCE_DIR");
  if (d != nullptr && *d != '\0') return d;
  return SEALTRACE_TEST_SOURCE_DIR;
}

}  // namespace sealtrace::exporter::testing
