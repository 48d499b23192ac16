// Fuzzes the replay-file line parser (protobuf JSON mapping of events).
#include <cstdint>
#include <string>

#include "capture/replay/replay_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t nl = in.find('\n', pos);
    if (nl == std::string_view::npos) nl = in.size();
    auto e = sealtrace::ParseReplayLine(in.substr(pos, nl - pos));
    if (e.ok()) {
      // Round trip: what we print, we parse back to the same event.
      auto back = sealtrace::ParseReplayLine(sealtrace::FormatReplayLine(*e));
      if (!back.ok() || back->SerializeAsString() != e->SerializeAsString()) __builtin_trap();
    }
    pos = nl + 1;
  }
  return 0;
}
