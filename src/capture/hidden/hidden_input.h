// Hidden input: text typed where the screen hides it is withheld at the
// source, before the privacy gate's text logic ever sees it.
//
// Two probes say whether the input focus is hidden:
//   TerminalProbe  synchronous: for the focused window's process, is one of its
//                  terminals at a no-echo prompt (canonical input, echo off:
//                  sudo, ssh, su, passwd, getpass, read -s)?  Asked for every
//                  key press, at the moment the key is received.
//   FocusProbe     asynchronous (the AT-SPI helper process): is the focused
//                  element a password field?  Asked after every event that can
//                  move the focus (focus change, button press, Tab, Return,
//                  Escape); it also reports focus changes on its own.
//
// HiddenInputFilter sits between a capture source and the gate:
//   - a key press taken while a probe says "hidden" is dropped with its release;
//     the first one of a hidden stretch is replaced by ONE RedactionMarker of
//     kind "hidden_input" (length bucket 0, no key count, the time of the
//     first dropped key), so neither length nor timing is recorded;
//   - key presses with Ctrl or Super held (shortcuts, no text) pass, so the
//     pause hotkey works in a password field;
//   - after a focus-moving event, every following event is held until the
//     FocusProbe answered for the new focus, at most `answer_bound_us`; past
//     the bound the held events are released and decided by the terminal probe
//     and the last answer in force (the gate's own rules still apply), and
//     Status() says so.
//
// Ownership: the probes and `downstream` are borrowed and must outlive the
// filter. A FocusProbe must never call its callback from inside Query().
// Threads: OnEvent is called from the source thread. Probe answers and the
// bound timer arrive on the filter's own thread. One mutex guards all state,
// and downstream->OnEvent is called with it held (downstream calls are
// serialised, in event order).
// Failure: a probe that fails answers "not hidden" for that probe; the filter
// never stops events on a probe failure beyond the bound.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>

#include "capture/source.h"
#include "common/env.h"

namespace sealtrace::hidden {

// Whether the focused terminal is at a no-echo prompt.
class TerminalProbe {
 public:
  virtual ~TerminalProbe() = default;
  // True when a terminal belonging to `window_pid` (its own or a descendant's
  // controlling terminal) is in canonical mode with echo off. Must be fast
  // (called per key press) and must not block. pid 0: false.
  virtual bool Hidden(uint32_t window_pid) = 0;
  // One line for `sealtrace status`.
  virtual std::string Status() const = 0;
};

// What the focus probe says about the focused element.
struct FocusAnswer {
  uint64_t query = 0;      // the query answered; 0 for an unsolicited report
  uint32_t pid = 0;        // the process owning the focused element (0: unknown)
  bool hidden = false;     // a password field (or a password-like role)
  std::string role;        // role name, e.g. "password text", "entry", "none"
};

// Asynchronous focus probe. Answers (and unsolicited focus reports) go to the
// callback set by SetCallback, from any thread; each Query gets at most one
// answer, in query order.
class FocusProbe {
 public:
  virtual ~FocusProbe() = default;
  virtual void SetCallback(std::function<void(const FocusAnswer&)> cb) = 0;
  // Asks what is focused now in the application of `window_pid`.
  virtual void Query(uint64_t id, uint32_t window_pid) = 0;
  // True while the probe can answer (helper running, bus reachable).
  virtual bool Available() const = 0;
  virtual std::string Status() const = 0;
};

class HiddenInputFilter : public EventSink {
 public:
  struct Options {
    int64_t answer_bound_us = 400'000;  // longest hold for a focus answer
  };
  // `terminal` and `focus` may be null (that probe is off).
  HiddenInputFilter(EventSink* downstream, TerminalProbe* terminal, FocusProbe* focus, Env* env,
                    Options options);
  HiddenInputFilter(EventSink* downstream, TerminalProbe* terminal, FocusProbe* focus, Env* env)
      : HiddenInputFilter(downstream, terminal, focus, env, Options()) {}
  ~HiddenInputFilter() override;

  void OnEvent(v1::Event event) override;
  // Releases everything held (end of input).
  void Flush();
  // "terminals: ...; fields: ...", with the degraded state if any.
  std::string Status() const;

  struct Counters {
    uint64_t hidden_keys = 0;     // key presses withheld
    uint64_t markers = 0;         // hidden_input markers emitted
    uint64_t answers = 0;         // focus answers that arrived in time
    uint64_t bound_expired = 0;   // holds released by the bound
  };
  Counters counters() const;

 private:
  struct Held {
    v1::Event event;
    bool terminal_hidden;  // terminal probe said hidden when it was received
    uint64_t gen;          // focus query generation it was received under
    uint32_t pid;          // the focused window's process when it was received
  };

  void OnAnswer(const FocusAnswer& a);
  void TimerLoop();
  // All below require mu_.
  void Trigger();
  void Process(Held h);
  void DrainDecided();
  void Forward(v1::Event ev);
  bool FocusHidden(uint32_t window_pid) const;
  static bool MovesFocus(const v1::Event& ev);

  EventSink* downstream_;
  TerminalProbe* terminal_;
  FocusProbe* focus_;
  Env* env_;
  Options opt_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread timer_;

  uint32_t focus_pid_ = 0;            // pid of the focused X window
  FocusAnswer last_;                  // the latest focus answer or report
  bool have_answer_ = false;
  uint64_t gen_ = 0;                  // focus queries sent
  uint64_t answered_gen_ = 0;         // highest generation answered or expired
  int64_t deadline_us_ = 0;           // bound for the oldest unanswered query
  std::deque<Held> held_;
  bool in_hidden_ = false;            // inside a hidden stretch (marker emitted)
  std::unordered_set<uint32_t> dropped_down_;    // keycodes whose press was dropped
  std::string degraded_;              // last reason the bound expired, if recent
  Counters counters_;
};

// A Source decorator: runs `inner` and passes its events through a
// HiddenInputFilter built from the given probes.
class HiddenInputSource : public Source {
 public:
  HiddenInputSource(std::unique_ptr<Source> inner, std::unique_ptr<TerminalProbe> terminal,
                    std::unique_ptr<FocusProbe> focus, Env* env);
  absl::Status Start() override { return inner_->Start(); }
  absl::Status Run(EventSink* sink) override;
  void Stop() override { inner_->Stop(); }
  SourceInfo Info() const override;

 private:
  std::unique_ptr<Source> inner_;
  std::unique_ptr<TerminalProbe> terminal_;
  std::unique_ptr<FocusProbe> focus_;
  Env* env_;
  mutable std::mutex mu_;
  HiddenInputFilter* filter_ = nullptr;  // while Run() runs
  std::string last_status_;
};

}  // namespace sealtrace::hidden
