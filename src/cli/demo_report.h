// The scripted session of `sealtrace demo` and the report it prints.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "agent/config.h"
#include "sealtrace/v1/events.pb.h"
#include "access/access_service.h"

namespace sealtrace::cli {

struct DemoScript {
  std::vector<std::vector<std::string>> steps;  // xdotool argv per step
};

// Typing (with a card number and an API key the gate must redact), shifted
// and non-ASCII text, backspaces, clicks of each button, a double click, a
// drag, scrolls and focus switches between the two xterms.
DemoScript MakeDemoScript(uint64_t window_a, uint64_t window_b);

// A human-readable rendering of an event stream: text runs, clicks, focus
// changes, redaction and control markers.
std::string RenderEvents(const std::vector<v1::Event>& events);

// Reads the demo contributor's own data back through the audited access path
// and prints what was captured.
void PrintDemoReport(access::AccessService& access, const std::string& contributor_token,
                     std::ostream& out);

}  // namespace sealtrace::cli
