// The capture source interface: every backend (replay file, X11, evdev, later
// Windows/macOS) produces events through this one lifecycle.
//
//   Start()  set up (open the file, connect to the display, check extensions);
//            a clear error if the source cannot run here.
//   Run()    deliver events to the sink from the calling thread until Stop()
//            or the end of input; returns OK at a clean end.
//   Stop()   thread-safe; makes Run() return promptly.
//
// Walls: a source never touches the network, the vault or the disk beyond
// reading its own input; it hands events to the sink (the privacy gate).
// Event times (Event.t_us) are absolute device-monotonic microseconds.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "sealtrace/v1/events.pb.h"

namespace sealtrace {

// Receives events. Implementations document their own thread-safety; sources
// call OnEvent from the thread that runs Run().
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(v1::Event event) = 0;
};

// What a source knows about its environment, for `sealtrace status`.
struct SourceInfo {
  std::string description;       // e.g. "X11 :0 (XInput 2.2)"
  bool has_window_manager = true;
  std::string warning;           // e.g. "no window manager: using input focus"
  std::string hidden_input;      // hidden-input detection state (HiddenInputSource)
  int screen_width = 0;
  int screen_height = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual absl::Status Start() = 0;
  virtual absl::Status Run(EventSink* sink) = 0;
  virtual void Stop() = 0;
  virtual SourceInfo Info() const = 0;
};

}  // namespace sealtrace
