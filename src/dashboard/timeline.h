// Timeline and preview summaries of a contributor's own decrypted events.
//
// BuildTimeline attributes recorded time to the application in focus: the
// time between two consecutive events goes to the application focused at the
// first of them (or "(excluded application)" between EXCLUDED_ENTER and
// EXCLUDED_LEAVE; nothing while paused), on the UTC day of that event. It
// counts key presses, pointer clicks and scrolls, redaction markers and
// excluded-application entries per (day, application).
//
// Pure functions; thread-safe. Strings are returned raw: callers escape them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sealtrace/v1/events.pb.h"

namespace sealtrace::dashboard {

inline constexpr char kUnknownApp[] = "(no window yet)";
inline constexpr char kExcludedApp[] = "(excluded application)";

struct SegmentEvents {
  int64_t wall_anchor_us = 0;
  const std::vector<v1::Event>* events = nullptr;
};

struct TimelineRow {
  std::string day;  // YYYY-MM-DD (UTC)
  std::string app;
  int64_t recorded_us = 0;
  int64_t key_presses = 0;
  int64_t pointer_actions = 0;  // button presses and scrolls
  int64_t redactions = 0;
  int64_t exclusions = 0;
};

// Rows ordered by day (newest first), then recorded time (largest first).
std::vector<TimelineRow> BuildTimeline(const std::vector<SegmentEvents>& segments);

struct EventView {
  std::string kind;    // "key", "click", "scroll", "move", "focus", "redacted", "control", "frame"
  std::string detail;  // human-readable, raw (may contain attacker-controlled text)
};
EventView DescribeEvent(const v1::Event& e);

}  // namespace sealtrace::dashboard
