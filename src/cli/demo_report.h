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

// Reads the demo contributor's data back the way anyone but the contributor
// must: privacy officer A requests a purpose-bound grant, officer B approves
// it (two people), and A reads under it through the audited access path. The
// demo holds no contributor credential (those come only from a passkey).
void PrintDemoReport(access::AccessService& access, const std::string& officer_a_token,
                     const std::string& officer_b_token, const std::string& contributor_id,
                     std::ostream& out);

}  // namespace sealtrace::cli
