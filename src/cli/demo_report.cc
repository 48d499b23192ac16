#include "cli/demo_report.h"

#include <cstdio>

namespace sealtrace::cli {

DemoScript MakeDemoScript(uint64_t a, uint64_t b) {
  auto win = [](uint64_t w) { return std::to_string(w); };
  DemoScript s;
  auto add = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "xdotool");
    s.steps.push_back(std::move(argv));
  };
  add({"windowactivate", "--sync", win(a)});
  add({"type", "--delay", "40", "Meeting notes: Quarterly Review, ship v2.4 on Friday."});
  add({"key", "Return"});
  add({"type", "--delay", "40", "Pay with card 4111 1111 1111 1111 please"});
  add({"key", "Return"});
  add({"type", "--delay", "40", "Grüße, naïve café"});
  add({"key", "BackSpace", "BackSpace"});
  add({"key", "Return"});
  add({"mousemove", "--window", win(a), "200", "150"});
  add({"mousemove_relative", "--", "10", "5"});
  add({"click", "1"});
  add({"click", "--repeat", "2", "--delay", "80", "1"});
  add({"click", "3"});
  add({"click", "2"});
  add({"mousedown", "1"});
  for (int i = 0; i < 5; ++i) add({"mousemove_relative", "--", "15", "8"});
  add({"mouseup", "1"});
  add({"click", "--repeat", "3", "5"});
  add({"click", "--repeat", "2", "4"});
  add({"key", "ctrl+c"});
  add({"windowactivate", "--sync", win(b)});
  add({"type", "--delay", "40", "export AWS_KEY=AKIAIOSFODNN7EXAMPLE"});
  add({"key", "Return"});
  add({"type", "--delay", "40", "password: hunter2-Correct-Horse"});
  add({"key", "Return"});
  add({"key", "alt+Tab"});
  add({"type", "--delay", "40", "back to notes"});
  return s;
}

std::string RenderEvents(const std::vector<v1::Event>& events) {
  std::string out, run;
  auto flush = [&] {
    if (!run.empty()) {
      out += "  typed   \"" + run + "\"\n";
      run.clear();
    }
  };
  for (const auto& e : events) {
    char buf[256];
    if (e.has_key()) {
      const auto& k = e.key();
      if (!k.down()) continue;
      if (k.keysym() >= 0xffe1 && k.keysym() <= 0xffee) continue;  // modifiers alone
      if (!k.text().empty() && k.text() != "\n" && k.text() != "\t") {
        run += k.text();
      } else if (k.keysym() == 0xff08) {
        run += "⌫";
      } else {
        flush();
        std::snprintf(buf, sizeof(buf), "  key     keysym 0x%x mods %u\n", k.keysym(), k.modifiers());
        out += buf;
      }
    } else if (e.has_redaction()) {
      run += "[REDACTED:" + e.redaction().kind() + "]";
    } else if (e.has_pointer()) {
      const auto& p = e.pointer();
      if (p.kind() == v1::PointerEvent::MOVE) continue;
      flush();
      const char* kind = p.kind() == v1::PointerEvent::BUTTON_DOWN ? "down"
                         : p.kind() == v1::PointerEvent::BUTTON_UP ? "up"
                                                                    : "scroll";
      if (p.kind() == v1::PointerEvent::SCROLL) {
        std::snprintf(buf, sizeof(buf), "  scroll  dx %d dy %d at (%d,%d)\n", p.scroll_dx(),
                      p.scroll_dy(), p.x(), p.y());
      } else {
        std::snprintf(buf, sizeof(buf), "  button  %u %s at (%d,%d)\n", p.button(), kind, p.x(),
                      p.y());
      }
      out += buf;
    } else if (e.has_focus()) {
      flush();
      out += "  focus   " + e.focus().app_class() + " \"" + e.focus().title() + "\"\n";
    } else if (e.has_control()) {
      flush();
      out += "  control " + v1::ControlEvent::Kind_Name(e.control().kind()) + " " +
             e.control().reason() + "\n";
    } else if (e.has_frame()) {
      flush();
      out += "  frame   " + e.frame().trigger() + "\n";
    }
  }
  flush();
  return out;
}

void PrintDemoReport(access::AccessService& access, const std::string& officer_a_token,
                     const std::string& officer_b_token, const std::string& contributor_id,
                     std::ostream& out) {
  auto a = access.Authenticate("Bearer " + officer_a_token, access::kScopeGrants, "demo.grant");
  auto b = access.Authenticate("Bearer " + officer_b_token, access::kScopeGrants, "demo.grant");
  if (!a.ok() || !b.ok()) {
    out << "  cannot sign in as the demo's privacy officers: "
        << (a.ok() ? b.status() : a.status()).message() << "\n";
    return;
  }
  access::GrantRequest req;
  req.purpose = "demo read-back: show what the recorder captured";
  req.scope.contributors = {contributor_id};
  req.scope.from_us = 0;
  req.scope.to_us = INT64_MAX;
  req.scope.channels = access::kAllChannels;
  req.expires_us = access.env()->NowWallMicros() + 3600LL * 1000000;
  auto g = access.RequestGrant(*a, req);
  if (g.ok()) g = access.ApproveGrant(*b, g->id);
  if (!g.ok()) {
    out << "  grant refused: " << g.status().message() << "\n";
    return;
  }
  out << "  (read by privacy officer A under grant " << g->id << ", approved by officer B)\n";
  auto read = access.Read(*a, g->id, contributor_id, 0, INT64_MAX, 0);
  if (!read.ok()) {
    out << "  read refused: " << read.status().message() << "\n";
    return;
  }
  std::vector<v1::Event> events;
  size_t segments = 0;
  for (const auto& s : read->segments) {
    if (s.frame) continue;
    ++segments;
    for (const auto& e : s.events) events.push_back(e);
  }
  out << "  " << segments << " segments, " << events.size()
      << " events (this read is audit leaf #" << read->audit_index << ")\n";
  out << RenderEvents(events);
}

}  // namespace sealtrace::cli
