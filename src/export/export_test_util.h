// Test helpers for the export module: build event streams and sealed segments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "export/reducer.h"
#include "sealtrace/v1/events.pb.h"

namespace sealtrace::exporter::testing {

// Builds events with absolute times given in milliseconds.
class StreamBuilder {
 public:
  StreamBuilder& Focus(uint64_t ms, uint64_t window, const std::string& app,
                       const std::string& title, uint32_t w = 1920, uint32_t h = 1080,
                       bool title_change = false);
  StreamBuilder& Move(uint64_t ms, int x, int y);
  StreamBuilder& Down(uint64_t ms, int x, int y, uint32_t button = 1, uint32_t mods = 0);
  StreamBuilder& Up(uint64_t ms, int x, int y, uint32_t button = 1, uint32_t mods = 0);
  // Down at ms, up at ms+60.
  StreamBuilder& Click(uint64_t ms, int x, int y, uint32_t button = 1, uint32_t mods = 0);
  StreamBuilder& Scroll(uint64_t ms, int x, int y, int dx, int dy, uint32_t mods = 0);
  StreamBuilder& Key(uint64_t ms, uint32_t keysym, const std::string& text, bool down,
                     uint32_t mods = 0, bool repeat = false);
  // Down at ms, up at ms+40.
  StreamBuilder& Tap(uint64_t ms, uint32_t keysym, const std::string& text = "", uint32_t mods = 0);
  // One tap per ASCII char, `gap_ms` apart, starting at ms. Returns the time after.
  StreamBuilder& Type(uint64_t ms, const std::string& ascii, uint64_t gap_ms = 120);
  StreamBuilder& Redaction(uint64_t ms, const std::string& kind, uint32_t key_events = 16);
  StreamBuilder& Control(uint64_t ms, v1::ControlEvent::Kind kind);
  StreamBuilder& Frame(uint64_t ms, const std::string& frame_id16);

  const std::vector<v1::Event>& events() const { return events_; }

 private:
  v1::Event& Add(uint64_t ms);
  std::vector<v1::Event> events_;
};

std::vector<Episode> Reduce(const std::vector<v1::Event>& events,
                            const ReducerOptions& o = ReducerOptions());

// A compact text form of one action for assertions, e.g. "click(1,100,200)",
// "double_click(100,200)", "type('hi')", "hotkey(ctrl+c)", "drag(10,10->300,40)",
// "scroll(dy=-3@500,400)", "wait(5000ms)", "press(enter)", "move(10,20)".
std::string Describe(const Action& a);
std::vector<std::string> Describe(const Episode& e);

// Seals `events` (t_us relative to `start_mono_us`) into one segment file.
std::string MakeSegment(const Id16& contributor, const Id16& device, const Id16& segment_id,
                        uint64_t sequence, uint64_t start_mono_us,
                        const std::vector<v1::Event>& events, const std::string& public_key);
// A frame segment holding `png` bytes.
std::string MakeFrameSegment(const Id16& contributor, const Id16& device, const Id16& segment_id,
                             const std::string& png, const std::string& public_key);

Id16 TestId(uint8_t tag, uint8_t n);
std::string SourceDir();  // SEALTRACE_SOURCE_DIR or the compile-time fallback

}  // namespace sealtrace::exporter::testing
