#include "dashboard/timeline.h"

#include <algorithm>
#include <map>
#include <utility>

#include "dashboard/html.h"

namespace sealtrace::dashboard {
namespace {

std::string AppOf(const v1::FocusEvent& f) {
  if (!f.app_class().empty()) return f.app_class();
  if (!f.app_instance().empty()) return f.app_instance();
  return "(unnamed window)";
}

std::string ControlName(v1::ControlEvent::Kind k) {
  switch (k) {
    case v1::ControlEvent::RECORDING_STARTED:
      return "recording started";
    case v1::ControlEvent::RECORDING_STOPPED:
      return "recording stopped";
    case v1::ControlEvent::PAUSE:
      return "paused";
    case v1::ControlEvent::RESUME:
      return "resumed";
    case v1::ControlEvent::EXCLUDED_ENTER:
      return "entered an excluded application (nothing recorded)";
    case v1::ControlEvent::EXCLUDED_LEAVE:
      return "left the excluded application";
    case v1::ControlEvent::GAP:
      return "gap";
    case v1::ControlEvent::SOURCE_LOST:
      return "input source lost";
    case v1::ControlEvent::SOURCE_RESTORED:
      return "input source restored";
    case v1::ControlEvent::CLOCK_JUMP:
      return "clock jump";
    default:
      return "control";
  }
}

}  // namespace

std::vector<TimelineRow> BuildTimeline(const std::vector<SegmentEvents>& segments) {
  std::map<std::pair<std::string, std::string>, TimelineRow> rows;
  auto row = [&](int64_t wall, const std::string& app) -> TimelineRow& {
    const std::string day = FormatDayUtc(wall);
    TimelineRow& r = rows[{day, app}];
    r.day = day;
    r.app = app;
    return r;
  };
  for (const auto& seg : segments) {
    if (seg.events == nullptr) continue;
    const auto& evs = *seg.events;
    std::string app = kUnknownApp;
    bool excluded = false;
    bool paused = false;
    for (size_t i = 0; i < evs.size(); ++i) {
      const v1::Event& e = evs[i];
      const int64_t wall = seg.wall_anchor_us + static_cast<int64_t>(e.t_us());
      switch (e.body_case()) {
        case v1::Event::kFocus:
          app = AppOf(e.focus());
          break;
        case v1::Event::kKey:
          if (e.key().down()) ++row(wall, excluded ? kExcludedApp : app).key_presses;
          break;
        case v1::Event::kPointer:
          if (e.pointer().kind() == v1::PointerEvent::BUTTON_DOWN ||
              e.pointer().kind() == v1::PointerEvent::SCROLL) {
            ++row(wall, excluded ? kExcludedApp : app).pointer_actions;
          }
          break;
        case v1::Event::kRedaction:
          ++row(wall, excluded ? kExcludedApp : app).redactions;
          break;
        case v1::Event::kControl:
          switch (e.control().kind()) {
            case v1::ControlEvent::EXCLUDED_ENTER:
              excluded = true;
              ++row(wall, kExcludedApp).exclusions;
              break;
            case v1::ControlEvent::EXCLUDED_LEAVE:
              excluded = false;
              break;
            case v1::ControlEvent::PAUSE:
              paused = true;
              break;
            case v1::ControlEvent::RESUME:
              paused = false;
              break;
            default:
              break;
          }
          break;
        default:
          break;
      }
      if (i + 1 < evs.size() && !paused && evs[i + 1].t_us() > e.t_us()) {
        row(wall, excluded ? kExcludedApp : app).recorded_us +=
            static_cast<int64_t>(evs[i + 1].t_us() - e.t_us());
      }
    }
  }
  std::vector<TimelineRow> out;
  out.reserve(rows.size());
  for (auto& [k, r] : rows) out.push_back(std::move(r));
  std::sort(out.begin(), out.end(), [](const TimelineRow& a, const TimelineRow& b) {
    if (a.day != b.day) return a.day > b.day;
    if (a.recorded_us != b.recorded_us) return a.recorded_us > b.recorded_us;
    return a.app < b.app;
  });
  return out;
}

EventView DescribeEvent(const v1::Event& e) {
  EventView v;
  switch (e.body_case()) {
    case v1::Event::kKey: {
      const auto& k = e.key();
      v.kind = "key";
      std::string what = k.text().empty() ? "keysym " + std::to_string(k.keysym()) : k.text();
      if (what == "\n" || what == "\r") what = "Enter";
      if (what == "\t") what = "Tab";
      v.detail = std::string(k.down() ? "press " : "release ") + what;
      break;
    }
    case v1::Event::kPointer: {
      const auto& p = e.pointer();
      const std::string at = " at " + std::to_string(p.x()) + "," + std::to_string(p.y());
      switch (p.kind()) {
        case v1::PointerEvent::BUTTON_DOWN:
          v.kind = "click";
          v.detail = "button " + std::to_string(p.button()) + " down" + at;
          break;
        case v1::PointerEvent::BUTTON_UP:
          v.kind = "click";
          v.detail = "button " + std::to_string(p.button()) + " up" + at;
          break;
        case v1::PointerEvent::SCROLL:
          v.kind = "scroll";
          v.detail =
              "scroll " + std::to_string(p.scroll_dx()) + "," + std::to_string(p.scroll_dy()) + at;
          break;
        default:
          v.kind = "move";
          v.detail = "pointer" + at;
          break;
      }
      break;
    }
    case v1::Event::kFocus:
      v.kind = "focus";
      v.detail = AppOf(e.focus()) + " \xE2\x80\x94 " + e.focus().title();
      break;
    case v1::Event::kRedaction:
      v.kind = "redacted";
      // hidden_input markers carry no length: nothing of what was typed is kept.
      v.detail = e.redaction().length_bucket() == 0
                     ? e.redaction().kind() +
                           " (typed where the screen hides it; withheld on your device)"
                     : e.redaction().kind() + " (up to " +
                           std::to_string(e.redaction().length_bucket()) +
                           " characters, removed on your device)";
      break;
    case v1::Event::kControl:
      v.kind = "control";
      v.detail = ControlName(e.control().kind());
      break;
    case v1::Event::kFrame:
      v.kind = "frame";
      v.detail = "screen frame " + std::to_string(e.frame().width()) + "x" +
                 std::to_string(e.frame().height());
      break;
    default:
      v.kind = "unknown";
      break;
  }
  return v;
}

}  // namespace sealtrace::dashboard
