#include "capture/replay/synthetic.h"

#include <cmath>

namespace sealtrace {
namespace {

// xorshift64*: deterministic, fast, good enough for test data.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
};

const char* kWords[] = {"the",     "report",  "meeting", "budget", "quarter", "deploy",
                        "review",  "customer", "invoice", "schedule", "update", "design",
                        "server",  "query",   "please",  "thanks", "tomorrow", "draft",
                        "release", "ticket",  "approve", "summary", "team",    "project"};

}  // namespace

std::vector<v1::Event> MakeSyntheticSession(const SyntheticOptions& opt) {
  Rng rng{opt.seed * 0x9E3779B97F4A7C15ull + 1};
  std::vector<v1::Event> out;
  out.reserve(opt.events + 64);
  uint64_t t = opt.start_t_us;
  int px = 640, py = 400;
  const char* apps[][2] = {{"XTerm", "bash — ~/src"},
                           {"firefox", "Quarterly report - Docs"},
                           {"libreoffice-calc", "budget.ods"}};
  auto focus = [&](int i) {
    v1::Event e;
    e.set_t_us(t);
    auto* f = e.mutable_focus();
    f->set_window_id(0x400000 + static_cast<uint64_t>(i) * 0x1000);
    f->set_app_class(apps[i][0]);
    f->set_title(i == 2 && !opt.planted_title.empty() ? opt.planted_title : apps[i][1]);
    f->set_width(1280);
    f->set_height(800);
    f->set_screen_width(1280);
    f->set_screen_height(800);
    out.push_back(std::move(e));
  };
  auto key = [&](uint32_t keysym, const std::string& text, uint32_t mods) {
    for (int down = 1; down >= 0; --down) {
      v1::Event e;
      t += down ? 60'000 + rng.Below(120'000) : 40'000 + rng.Below(60'000);
      e.set_t_us(t);
      auto* k = e.mutable_key();
      k->set_down(down == 1);
      k->set_keysym(keysym);
      k->set_keycode(8 + (keysym & 0x7f));
      if (down) k->set_text(text);
      k->set_modifiers(mods);
      out.push_back(std::move(e));
    }
  };
  auto type = [&](const std::string& s) {
    for (unsigned char c : s) {
      bool upper = c >= 'A' && c <= 'Z';
      key(c, std::string(1, static_cast<char>(c)), upper ? 1u : 0u);
    }
  };
  focus(0);
  bool planted = opt.planted_text.empty();
  int cur = 0;
  while (out.size() < opt.events) {
    uint32_t r = rng.Below(1000);
    if (r < static_cast<uint32_t>(opt.typing_share * 1000)) {
      std::string w = kWords[rng.Below(sizeof(kWords) / sizeof(kWords[0]))];
      if (rng.Below(8) == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
      type(w);
      if (rng.Below(10) == 0) key(0xff08, "", 0);  // BackSpace
      type(" ");
      if (!planted && out.size() > opt.events / 2) {
        type(opt.planted_text);
        type(" ");
        planted = true;
      }
      if (rng.Below(12) == 0) key(0xff0d, "\n", 0);  // Return
    } else if (r < 950) {
      // A pointer path then a click (sometimes a scroll).
      int tx = static_cast<int>(rng.Below(1280)), ty = static_cast<int>(rng.Below(800));
      int steps = 5 + static_cast<int>(rng.Below(15));
      for (int i = 1; i <= steps; ++i) {
        v1::Event e;
        t += 16'000;
        e.set_t_us(t);
        auto* p = e.mutable_pointer();
        p->set_kind(v1::PointerEvent::MOVE);
        p->set_x(px + (tx - px) * i / steps);
        p->set_y(py + (ty - py) * i / steps);
        out.push_back(std::move(e));
      }
      px = tx;
      py = ty;
      if (rng.Below(5) == 0) {
        v1::Event e;
        t += 30'000;
        e.set_t_us(t);
        auto* p = e.mutable_pointer();
        p->set_kind(v1::PointerEvent::SCROLL);
        p->set_x(px);
        p->set_y(py);
        p->set_scroll_dy(rng.Below(2) ? 3 : -3);
        out.push_back(std::move(e));
      } else {
        for (int down = 1; down >= 0; --down) {
          v1::Event e;
          t += 80'000;
          e.set_t_us(t);
          auto* p = e.mutable_pointer();
          p->set_kind(down ? v1::PointerEvent::BUTTON_DOWN : v1::PointerEvent::BUTTON_UP);
          p->set_x(px);
          p->set_y(py);
          p->set_button(1);
          out.push_back(std::move(e));
        }
      }
    } else {
      cur = (cur + 1 + static_cast<int>(rng.Below(2))) % 3;
      t += 300'000;
      focus(cur);
    }
  }
  return out;
}

}  // namespace sealtrace
