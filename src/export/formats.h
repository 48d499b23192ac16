// Output formats of a dataset export.
//
// (1) AgentNet / OpenCUA style: one JSON object per episode (JSONL line)
//     mirroring AgentNet's trajectory record: task_id, instruction, traj[] of
//     {index, image, value: {code, action}}; `code` is a pyautogui call with
//     coordinates normalised to 0..1 by the screen size (4 decimals), plus
//     computer.wait() and a final computer.terminate(status='success').
// (2) OSWorld computer_13: one JSON object per episode with steps[] whose
//     `actions` are computer_13 dicts ({"action_type": "CLICK", "parameters":
//     {...}}) in absolute pixels; the screen size is recorded on the episode.
//     Parameter names follow OSWorld's desktop_env/actions.py ACTION_SPACE.
// See docs/DATASET.md for the exact schema.
//
// All functions are pure and thread-safe. Text is made valid UTF-8 (invalid
// bytes become U+FFFD) before it is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "export/reducer.h"

namespace sealtrace::exporter {

// One step after the privacy transforms.
struct ExportStep {
  Action action;        // ctx already generalised; frame_id unused
  std::string image;    // "frames/<name>.png" or "" (no frame / frames off)
  int64_t time_ms = 0;  // since the episode start, quantised
  int64_t wait_ms = 0;  // wait steps: quantised idle duration
};

struct ExportEpisode {
  std::string episode_id;   // "<contributor pseudonym>-<ordinal>"
  std::string contributor;  // per-dataset pseudonym
  uint32_t screen_width = 0;
  uint32_t screen_height = 0;
  std::string app;  // app class of the first step (generalised)
  std::string end_reason;
  int64_t duration_ms = 0;
  std::vector<ExportStep> steps;
};

// Python single-quoted string literal of UTF-8 `s` (backslash, quote and
// control characters escaped; non-ASCII kept as UTF-8).
std::string PythonStringLiteral(std::string_view s);
// `s` with invalid UTF-8 replaced by U+FFFD.
std::string ValidUtf8(std::string_view s);

// The pyautogui code of one action ("pyautogui.click(x=0.5120, y=0.2009)";
// several statements joined by '\n' when needed, e.g. modifier keys held).
std::string PyAutoGuiCode(const Action& a, uint32_t screen_w, uint32_t screen_h);
// A short description of the action (AgentNet's `action` field).
std::string ActionDescription(const Action& a);
// The computer_13 action list of one action as a JSON array text.
std::string Computer13ActionsJson(const Action& a);

// One JSONL line (no trailing newline) per format.
std::string AgentNetRecord(const ExportEpisode& ep);
std::string Computer13Record(const ExportEpisode& ep);

}  // namespace sealtrace::exporter
