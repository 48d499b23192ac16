// ReplaySource: replays a recorded event stream (docs/FORMAT.md, "Replay
// files"): UTF-8 text, one sealtrace.v1.Event per line in the protobuf JSON
// mapping, e.g. {"t_us": 1500, "key": {"down": true, "keysym": 97, "text": "a"}}.
// Blank lines and lines starting with '#' are ignored. t_us is relative to the
// start of the recording and must not decrease.
//
// Start() validates the whole file and reports the first bad line as
// "FILE:LINE: reason" without delivering anything. Run() then delivers events
// with t_us rebased onto the Env's monotonic clock, either paced in real time
// (speed > 0: 1.0 = as recorded) or as fast as possible (speed == 0).
//
// Thread-safety: Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "capture/source.h"
#include "common/env.h"

namespace sealtrace {

// Parses one replay line. Returns NOT_FOUND for blank/comment lines.
absl::StatusOr<v1::Event> ParseReplayLine(std::string_view line);
// Formats an event as a replay line (no trailing newline).
std::string FormatReplayLine(const v1::Event& e);

class ReplaySource final : public Source {
 public:
  ReplaySource(Env* env, std::string path, double speed = 0.0);
  absl::Status Start() override;
  absl::Status Run(EventSink* sink) override;
  void Stop() override { stop_.store(true); }
  SourceInfo Info() const override;
  size_t event_count() const { return event_count_; }

 private:
  Env* env_;
  std::string path_;
  double speed_;
  std::string data_;
  size_t event_count_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace sealtrace
