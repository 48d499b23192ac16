// Deterministic synthetic sessions for tests and benchmarks: realistic mixes
// of typing (key down/up with text, shifted letters, backspaces), pointer
// paths, clicks, scrolls and focus changes between a few windows.
// Not used by the product's recording path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sealtrace/v1/events.pb.h"

namespace sealtrace {

struct SyntheticOptions {
  uint64_t seed = 1;
  size_t events = 10000;         // approximate number of events
  double typing_share = 0.7;     // share of events that are keys
  std::string planted_text;      // typed once somewhere in the session (e.g. a canary)
  std::string planted_title;     // used as one window's title
  uint64_t start_t_us = 0;
};

std::vector<v1::Event> MakeSyntheticSession(const SyntheticOptions& opt);

}  // namespace sealtrace
