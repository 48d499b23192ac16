// HiddenInputFilter with scripted probes: what is dropped, what is held and
// for how long, and what the marker says.
#include "capture/hidden/hidden_input.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace sealtrace::hidden {
namespace {

struct Collect : EventSink {
  std::mutex mu;
  std::vector<v1::Event> events;
  void OnEvent(v1::Event e) override {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(e));
  }
  std::vector<v1::Event> Take() {
    std::lock_guard<std::mutex> l(mu);
    return events;
  }
  // Typed text of forwarded presses, '#' for a hidden_input marker.
  std::string Text() {
    std::string s;
    for (const auto& e : Take()) {
      if (e.has_key() && e.key().down()) s += e.key().text();
      if (e.has_redaction() && e.redaction().kind() == "hidden_input") s += "#";
    }
    return s;
  }
};

struct FakeTerminal : TerminalProbe {
  std::atomic<bool> hidden{false};
  std::vector<uint32_t> asked;
  bool Hidden(uint32_t pid) override {
    asked.push_back(pid);
    return hidden;
  }
  std::string Status() const override { return "fake"; }
};

struct FakeFocus : FocusProbe {
  std::mutex mu;
  std::function<void(const FocusAnswer&)> cb;
  std::vector<std::pair<uint64_t, uint32_t>> queries;
  bool available = true;
  void SetCallback(std::function<void(const FocusAnswer&)> c) override {
    std::lock_guard<std::mutex> l(mu);
    cb = std::move(c);
  }
  void Query(uint64_t id, uint32_t pid) override {
    std::lock_guard<std::mutex> l(mu);
    queries.emplace_back(id, pid);
  }
  bool Available() const override { return available; }
  std::string Status() const override { return "fake helper"; }
  void Answer(FocusAnswer a) {
    std::function<void(const FocusAnswer&)> c;
    {
      std::lock_guard<std::mutex> l(mu);
      c = cb;
    }
    c(a);
  }
  uint64_t LastQuery() {
    std::lock_guard<std::mutex> l(mu);
    return queries.empty() ? 0 : queries.back().first;
  }
};

uint64_t g_t = 1000;

v1::Event Key(bool down, uint32_t keycode, uint32_t keysym, const std::string& text,
              uint32_t mods = 0) {
  v1::Event e;
  e.set_t_us(g_t += 1000);
  auto* k = e.mutable_key();
  k->set_down(down);
  k->set_keycode(keycode);
  k->set_keysym(keysym);
  if (down) k->set_text(text);
  k->set_modifiers(mods);
  return e;
}

void Type(EventSink* s, const std::string& text) {
  for (char c : text) {
    uint32_t code = 10 + static_cast<unsigned char>(c) % 200;
    s->OnEvent(Key(true, code, static_cast<unsigned char>(c), std::string(1, c)));
    s->OnEvent(Key(false, code, static_cast<unsigned char>(c), ""));
  }
}

v1::Event Focus(uint32_t pid) {
  v1::Event e;
  e.set_t_us(g_t += 1000);
  e.mutable_focus()->set_pid(pid);
  e.mutable_focus()->set_window_id(pid * 10);
  return e;
}

v1::Event Click() {
  v1::Event e;
  e.set_t_us(g_t += 1000);
  e.mutable_pointer()->set_kind(v1::PointerEvent::BUTTON_DOWN);
  e.mutable_pointer()->set_button(1);
  return e;
}

TEST(HiddenInputFilter, TerminalPromptKeysAreDroppedBehindOneMarker) {
  Collect out;
  FakeTerminal term;
  HiddenInputFilter f(&out, &term, nullptr, Env::Default());
  f.OnEvent(Focus(42));
  Type(&f, "sudo ls");
  term.hidden = true;
  Type(&f, "hunter2-canary");
  term.hidden = false;
  Type(&f, "echo done");
  EXPECT_EQ(out.Text(), "sudo ls#echo done");
  // Releases follow their presses: no release of a dropped key is forwarded.
  size_t downs = 0, ups = 0;
  for (const auto& e : out.Take()) {
    if (e.has_key()) (e.key().down() ? downs : ups)++;
    if (e.has_redaction()) {
      EXPECT_EQ(e.redaction().length_bucket(), 0u);  // no length
      EXPECT_EQ(e.redaction().key_events(), 0u);     // no count
    }
  }
  EXPECT_EQ(downs, ups);
  EXPECT_EQ(f.counters().hidden_keys, 14u);
  EXPECT_EQ(f.counters().markers, 1u);
  for (uint32_t pid : term.asked) EXPECT_EQ(pid, 42u);
}

TEST(HiddenInputFilter, ReleaseOfAKeyPressedBeforeThePromptIsForwarded) {
  Collect out;
  FakeTerminal term;
  HiddenInputFilter f(&out, &term, nullptr, Env::Default());
  f.OnEvent(Focus(7));
  f.OnEvent(Key(true, 36, 0xff0d, "\r"));  // Return pressed: sudo prompts
  term.hidden = true;
  f.OnEvent(Key(false, 36, 0xff0d, ""));  // its release comes during the prompt
  auto ev = out.Take();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_FALSE(ev[2].key().down());
}

TEST(HiddenInputFilter, ShortcutsPassInsideAHiddenStretch) {
  Collect out;
  FakeTerminal term;
  HiddenInputFilter f(&out, &term, nullptr, Env::Default());
  f.OnEvent(Focus(7));
  term.hidden = true;
  Type(&f, "ab");
  f.OnEvent(Key(true, 33, 'p', "p", v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SHIFT));  // hotkey
  f.OnEvent(Key(false, 33, 'p', "", v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SHIFT));
  Type(&f, "cd");
  EXPECT_EQ(out.Text(), "#p");  // one marker: the shortcut does not end the stretch
}

TEST(HiddenInputFilter, FieldAnswerHoldsKeysUntilItArrives) {
  Collect out;
  FakeFocus focus;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default());
  f.OnEvent(Focus(9));
  const uint64_t q1 = focus.LastQuery();
  ASSERT_GT(q1, 0u);
  focus.Answer({q1, 9, false, "entry"});
  Type(&f, "alice");
  f.OnEvent(Key(true, 23, 0xff09, ""));  // Tab: focus may move
  f.OnEvent(Key(false, 23, 0xff09, ""));
  const uint64_t q2 = focus.LastQuery();
  EXPECT_GT(q2, q1);
  Type(&f, "s3cret-canary");
  EXPECT_EQ(out.Text(), "alice");  // held, not released
  focus.Answer({q2, 9, true, "password-text"});
  EXPECT_EQ(out.Text(), "alice#");
  f.OnEvent(Click());
  focus.Answer({focus.LastQuery(), 9, false, "push-button"});
  Type(&f, "ok");
  EXPECT_EQ(out.Text(), "alice#ok");
  EXPECT_EQ(f.counters().bound_expired, 0u);
}

TEST(HiddenInputFilter, AnswerAboutAnotherApplicationDoesNotHide) {
  Collect out;
  FakeFocus focus;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default());
  f.OnEvent(Focus(9));
  focus.Answer({focus.LastQuery(), 9, true, "password-text"});
  f.OnEvent(Focus(11));  // an xterm, not on the bus; the old answer is about pid 9
  focus.Answer({0, 9, true, "password-text"});  // a late report from the other app
  focus.Answer({focus.LastQuery(), 11, false, "none"});
  Type(&f, "visible");
  EXPECT_EQ(out.Text(), "visible");
}

TEST(HiddenInputFilter, UnsolicitedFocusReportHidesFollowingKeys) {
  Collect out;
  FakeFocus focus;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default());
  f.OnEvent(Focus(5));
  focus.Answer({focus.LastQuery(), 5, false, "entry"});
  Type(&f, "user");
  focus.Answer({0, 5, true, "password-text"});  // a page script moved the focus
  Type(&f, "pw");
  focus.Answer({0, 5, false, "entry"});
  Type(&f, "x");
  EXPECT_EQ(out.Text(), "user#x");
}

TEST(HiddenInputFilter, BoundReleasesHeldEventsAndSaysSo) {
  Collect out;
  FakeFocus focus;
  HiddenInputFilter::Options o;
  o.answer_bound_us = 60'000;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default(), o);
  f.OnEvent(Focus(5));
  const uint64_t q = focus.LastQuery();
  Type(&f, "abc");
  EXPECT_EQ(out.Text(), "");
  auto start = std::chrono::steady_clock::now();
  while (out.Text() != "abc" && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(out.Text(), "abc");  // released by the bound, decided as visible
  EXPECT_EQ(f.counters().bound_expired, 1u);
  EXPECT_NE(f.Status().find("DEGRADED"), std::string::npos) << f.Status();
  focus.Answer({q, 5, true, "password-text"});  // too late: ignored
  Type(&f, "d");
  EXPECT_EQ(out.Text(), "abcd");
  // The next answer in time clears the degraded state.
  f.OnEvent(Click());
  focus.Answer({focus.LastQuery(), 5, false, "entry"});
  EXPECT_EQ(f.Status().find("DEGRADED"), std::string::npos) << f.Status();
}

TEST(HiddenInputFilter, SlowHelperKeepsAKnownPasswordFieldHidden) {
  Collect out;
  FakeFocus focus;
  HiddenInputFilter::Options o;
  o.answer_bound_us = 40'000;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default(), o);
  f.OnEvent(Focus(5));
  focus.Answer({focus.LastQuery(), 5, true, "password-text"});
  f.OnEvent(Click());  // a click inside the same field; the helper never answers
  Type(&f, "pw");
  auto start = std::chrono::steady_clock::now();
  while (f.counters().bound_expired == 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(out.Text(), "#");
}

TEST(HiddenInputFilter, UnavailableProbeHoldsNothing) {
  Collect out;
  FakeFocus focus;
  focus.available = false;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default());
  f.OnEvent(Focus(5));
  Type(&f, "abc");
  EXPECT_EQ(out.Text(), "abc");
  EXPECT_EQ(focus.LastQuery(), 0u);
}

TEST(HiddenInputFilter, EventOrderIsKeptAcrossHolds) {
  Collect out;
  FakeFocus focus;
  HiddenInputFilter f(&out, nullptr, &focus, Env::Default());
  f.OnEvent(Focus(5));
  uint64_t q = focus.LastQuery();
  f.OnEvent(Click());
  Type(&f, "a");
  f.OnEvent(Focus(6));
  Type(&f, "b");
  focus.Answer({q, 5, false, "entry"});
  focus.Answer({focus.LastQuery() - 1, 5, false, "entry"});
  focus.Answer({focus.LastQuery(), 6, false, "entry"});
  uint64_t last = 0;
  for (const auto& e : out.Take()) {
    EXPECT_GE(e.t_us(), last);
    last = e.t_us();
  }
  EXPECT_EQ(out.Text(), "ab");
}

}  // namespace
}  // namespace sealtrace::hidden
