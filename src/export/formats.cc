#include "export/formats.h"

#include <algorithm>
#include <cstdio>

#include "nlohmann/json.hpp"

namespace sealtrace::exporter {
namespace {

using ojson = nlohmann::ordered_json;

std::string Dump(const ojson& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Norm(int v, uint32_t size) {
  double f = size == 0 ? 0.0 : static_cast<double>(v) / static_cast<double>(size);
  f = std::clamp(f, 0.0, 1.0);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", f);
  return buf;
}

std::string XY(int x, int y, uint32_t w, uint32_t h) {
  return "x=" + Norm(x, w) + ", y=" + Norm(y, h);
}

std::string ButtonName(int b) {
  switch (b) {
    case 2:
      return "middle";
    case 3:
      return "right";
    default:
      return "left";
  }
}

std::string Quote(std::string_view s) { return PythonStringLiteral(s); }

// Wraps statements in keyDown/keyUp of held modifiers.
std::string WithModifiers(const std::vector<std::string>& mods, const std::string& body) {
  if (mods.empty()) return body;
  std::string out;
  for (const auto& m : mods) out += "pyautogui.keyDown(" + Quote(m) + ")\n";
  out += body;
  for (auto it = mods.rbegin(); it != mods.rend(); ++it) {
    out += "\npyautogui.keyUp(" + Quote(*it) + ")";
  }
  return out;
}

ojson Act(const char* type) { return ojson{{"action_type", type}}; }
ojson Act(const char* type, ojson params) {
  return ojson{{"action_type", type}, {"parameters", std::move(params)}};
}
ojson XYParams(int x, int y) { return ojson{{"x", x}, {"y", y}}; }

ojson Computer13Actions(const Action& a) {
  ojson list = ojson::array();
  auto wrap_mods = [&](ojson body) {
    for (const auto& m : a.modifiers) list.push_back(Act("KEY_DOWN", ojson{{"key", m}}));
    for (auto& x : body) list.push_back(std::move(x));
    for (auto it = a.modifiers.rbegin(); it != a.modifiers.rend(); ++it) {
      list.push_back(Act("KEY_UP", ojson{{"key", *it}}));
    }
  };
  switch (a.type) {
    case ActionType::kClick: {
      ojson one;
      if (a.button == 1 && a.clicks == 2) {
        one = Act("DOUBLE_CLICK", XYParams(a.x, a.y));
      } else if (a.button == 3 && a.clicks == 1) {
        one = Act("RIGHT_CLICK", XYParams(a.x, a.y));
      } else {
        one = Act("CLICK", ojson{{"button", ButtonName(a.button)},
                                 {"x", a.x},
                                 {"y", a.y},
                                 {"num_clicks", a.clicks}});
      }
      wrap_mods(ojson::array({one}));
      break;
    }
    case ActionType::kDrag: {
      ojson body = ojson::array();
      body.push_back(Act("MOVE_TO", XYParams(a.x, a.y)));
      if (a.button == 1) {
        body.push_back(Act("DRAG_TO", XYParams(a.end_x, a.end_y)));
      } else {
        body.push_back(Act("MOUSE_DOWN", ojson{{"button", ButtonName(a.button)}}));
        body.push_back(Act("MOVE_TO", XYParams(a.end_x, a.end_y)));
        body.push_back(Act("MOUSE_UP", ojson{{"button", ButtonName(a.button)}}));
      }
      wrap_mods(std::move(body));
      break;
    }
    case ActionType::kMoveTo:
      list.push_back(Act("MOVE_TO", XYParams(a.x, a.y)));
      break;
    case ActionType::kScroll: {
      // OSWorld SCROLL runs pyautogui.hscroll(dx) / vscroll(dy): dy > 0 is up.
      ojson body = ojson::array();
      body.push_back(Act("MOVE_TO", XYParams(a.x, a.y)));
      body.push_back(Act("SCROLL", ojson{{"dx", a.scroll_dx}, {"dy", -a.scroll_dy}}));
      wrap_mods(std::move(body));
      break;
    }
    case ActionType::kType:
      list.push_back(Act("TYPING", ojson{{"text", ValidUtf8(a.text)}}));
      break;
    case ActionType::kPress:
      list.push_back(Act("PRESS", ojson{{"key", a.key}}));
      break;
    case ActionType::kHotkey: {
      ojson keys = ojson::array();
      for (const auto& m : a.modifiers) keys.push_back(m);
      keys.push_back(ValidUtf8(a.key));
      list.push_back(Act("HOTKEY", ojson{{"keys", std::move(keys)}}));
      break;
    }
    case ActionType::kWait:
      list.push_back(Act("WAIT"));
      break;
  }
  return list;
}

}  // namespace

std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (ok) {
      const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  return out;
}

std::string PythonStringLiteral(std::string_view raw) {
  const std::string s = ValidUtf8(raw);
  std::string out = "'";
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "'";
  return out;
}

std::string PyAutoGuiCode(const Action& a, uint32_t w, uint32_t h) {
  switch (a.type) {
    case ActionType::kClick: {
      std::string call;
      const std::string xy = XY(a.x, a.y, w, h);
      if (a.button == 1 && a.clicks == 1) {
        call = "pyautogui.click(" + xy + ")";
      } else if (a.button == 1 && a.clicks == 2) {
        call = "pyautogui.doubleClick(" + xy + ")";
      } else if (a.button == 1 && a.clicks == 3) {
        call = "pyautogui.tripleClick(" + xy + ")";
      } else if (a.button == 3 && a.clicks == 1) {
        call = "pyautogui.rightClick(" + xy + ")";
      } else if (a.button == 2 && a.clicks == 1) {
        call = "pyautogui.middleClick(" + xy + ")";
      } else {
        call = "pyautogui.click(" + xy + ", clicks=" + std::to_string(a.clicks) +
               ", button=" + Quote(ButtonName(a.button)) + ")";
      }
      return WithModifiers(a.modifiers, call);
    }
    case ActionType::kDrag:
      return WithModifiers(a.modifiers, "pyautogui.moveTo(" + XY(a.x, a.y, w, h) +
                                            ")\npyautogui.dragTo(" + XY(a.end_x, a.end_y, w, h) +
                                            ", button=" + Quote(ButtonName(a.button)) + ")");
    case ActionType::kMoveTo:
      return "pyautogui.moveTo(" + XY(a.x, a.y, w, h) + ")";
    case ActionType::kScroll: {
      // pyautogui: scroll(clicks) > 0 scrolls up; hscroll(clicks) > 0 scrolls right.
      std::string call = a.scroll_dx != 0 ? "pyautogui.hscroll(" + std::to_string(a.scroll_dx) +
                                                ", " + XY(a.x, a.y, w, h) + ")"
                                          : "pyautogui.scroll(" + std::to_string(-a.scroll_dy) +
                                                ", " + XY(a.x, a.y, w, h) + ")";
      return WithModifiers(a.modifiers, call);
    }
    case ActionType::kType:
      return "pyautogui.write(message=" + Quote(a.text) + ")";
    case ActionType::kPress:
      return "pyautogui.press(" + Quote(a.key) + ")";
    case ActionType::kHotkey: {
      std::string out = "pyautogui.hotkey(";
      for (const auto& m : a.modifiers) out += Quote(m) + ", ";
      out += Quote(a.key) + ")";
      return out;
    }
    case ActionType::kWait:
      return "computer.wait()";
  }
  return "";
}

std::string ActionDescription(const Action& a) {
  switch (a.type) {
    case ActionType::kClick: {
      const std::string kind = ActionKindName(a);
      if (kind == "click") return "Left click";
      if (kind == "double_click") return "Double click";
      if (kind == "triple_click") return "Triple click";
      if (kind == "right_click") return "Right click";
      if (kind == "middle_click") return "Middle click";
      return "Click " + ButtonName(a.button) + " button " + std::to_string(a.clicks) + " times";
    }
    case ActionType::kDrag:
      return "Drag with the " + ButtonName(a.button) + " button";
    case ActionType::kMoveTo:
      return "Move the pointer";
    case ActionType::kScroll:
      if (a.scroll_dx != 0) {
        return std::string("Scroll ") + (a.scroll_dx > 0 ? "right " : "left ") +
               std::to_string(std::abs(a.scroll_dx));
      }
      return std::string("Scroll ") + (a.scroll_dy > 0 ? "down " : "up ") +
             std::to_string(std::abs(a.scroll_dy));
    case ActionType::kType:
      return a.redactions > 0 ? "Type text (with redacted parts)" : "Type text";
    case ActionType::kPress:
      return "Press " + a.key;
    case ActionType::kHotkey: {
      std::string s = "Press ";
      for (const auto& m : a.modifiers) s += m + "+";
      return s + ValidUtf8(a.key);
    }
    case ActionType::kWait:
      return "Wait";
  }
  return "";
}

std::string Computer13ActionsJson(const Action& a) { return Dump(Computer13Actions(a)); }

std::string AgentNetRecord(const ExportEpisode& ep) {
  ojson traj = ojson::array();
  for (size_t i = 0; i < ep.steps.size(); ++i) {
    const ExportStep& s = ep.steps[i];
    const uint32_t w = s.action.ctx.screen_width ? s.action.ctx.screen_width : ep.screen_width;
    const uint32_t h = s.action.ctx.screen_height ? s.action.ctx.screen_height : ep.screen_height;
    ojson step;
    step["index"] = i;
    step["image"] = s.image.empty() ? ojson(nullptr) : ojson(s.image);
    step["value"] =
        ojson{{"code", PyAutoGuiCode(s.action, w, h)}, {"action", ActionDescription(s.action)}};
    step["kind"] = ActionKindName(s.action);
    step["time_ms"] = s.time_ms;
    if (s.action.type == ActionType::kWait) step["wait_ms"] = s.wait_ms;
    if (s.action.type == ActionType::kDrag && !s.action.path.empty()) {
      ojson path = ojson::array();
      for (const auto& [px, py] : s.action.path) {
        path.push_back(ojson::array({std::stod(Norm(px, w)), std::stod(Norm(py, h))}));
      }
      step["path"] = std::move(path);
    }
    step["app"] = ValidUtf8(s.action.ctx.app_class);
    step["title"] = ValidUtf8(s.action.ctx.title);
    traj.push_back(std::move(step));
  }
  ojson end;
  end["index"] = ep.steps.size();
  end["image"] = nullptr;
  end["value"] =
      ojson{{"code", "computer.terminate(status='success')"}, {"action", "End of the episode"}};
  end["kind"] = "terminate";
  end["time_ms"] = ep.duration_ms;
  traj.push_back(std::move(end));

  ojson rec;
  rec["task_id"] = ep.episode_id;
  rec["instruction"] = "";
  rec["contributor"] = ep.contributor;
  rec["screen"] = ojson{{"width", ep.screen_width}, {"height", ep.screen_height}};
  rec["app"] = ValidUtf8(ep.app);
  rec["end_reason"] = ep.end_reason;
  rec["duration_ms"] = ep.duration_ms;
  rec["traj"] = std::move(traj);
  return Dump(rec);
}

std::string Computer13Record(const ExportEpisode& ep) {
  ojson steps = ojson::array();
  for (size_t i = 0; i < ep.steps.size(); ++i) {
    const ExportStep& s = ep.steps[i];
    ojson step;
    step["index"] = i;
    step["image"] = s.image.empty() ? ojson(nullptr) : ojson(s.image);
    step["kind"] = ActionKindName(s.action);
    step["time_ms"] = s.time_ms;
    if (s.action.type == ActionType::kWait) step["wait_ms"] = s.wait_ms;
    step["app"] = ValidUtf8(s.action.ctx.app_class);
    step["title"] = ValidUtf8(s.action.ctx.title);
    if (s.action.ctx.screen_width != ep.screen_width ||
        s.action.ctx.screen_height != ep.screen_height) {
      step["screen_size"] =
          ojson{{"width", s.action.ctx.screen_width}, {"height", s.action.ctx.screen_height}};
    }
    if (s.action.type == ActionType::kDrag && !s.action.path.empty()) {
      ojson path = ojson::array();
      for (const auto& [px, py] : s.action.path) path.push_back(ojson::array({px, py}));
      step["path"] = std::move(path);
    }
    step["actions"] = Computer13Actions(s.action);
    steps.push_back(std::move(step));
  }
  ojson done;
  done["index"] = ep.steps.size();
  done["image"] = nullptr;
  done["kind"] = "done";
  done["time_ms"] = ep.duration_ms;
  done["actions"] = ojson::array({Act("DONE")});
  steps.push_back(std::move(done));

  ojson rec;
  rec["episode_id"] = ep.episode_id;
  rec["contributor"] = ep.contributor;
  rec["action_space"] = "computer_13";
  rec["screen_size"] = ojson{{"width", ep.screen_width}, {"height", ep.screen_height}};
  rec["app"] = ValidUtf8(ep.app);
  rec["end_reason"] = ep.end_reason;
  rec["duration_ms"] = ep.duration_ms;
  rec["steps"] = std::move(steps);
  return Dump(rec);
}

}  // namespace sealtrace::exporter
