#include "capture/hidden/hidden_input.h"

#include <chrono>
#include <utility>

namespace sealtrace::hidden {
namespace {

// X11 keysyms (X11/keysymdef.h) of keys that move the input focus.
constexpr uint32_t kTab = 0xff09, kIsoLeftTab = 0xfe20, kReturn = 0xff0d, kKpEnter = 0xff8d,
                   kEscape = 0xff1b;

bool IsShortcut(const v1::KeyEvent& k) {
  return (k.modifiers() & (v1::MOD_CTRL | v1::MOD_SUPER)) != 0;
}

v1::Event Marker(uint64_t t_us) {
  v1::Event m;
  m.set_t_us(t_us);
  auto* r = m.mutable_redaction();
  r->set_kind("hidden_input");
  r->set_length_bucket(0);
  r->set_key_events(0);
  return m;
}

}  // namespace

HiddenInputFilter::HiddenInputFilter(EventSink* downstream, TerminalProbe* terminal,
                                     FocusProbe* focus, Env* env, Options options)
    : downstream_(downstream),
      terminal_(terminal),
      focus_(focus),
      env_(env),
      opt_(options) {
  if (focus_) {
    focus_->SetCallback([this](const FocusAnswer& a) { OnAnswer(a); });
    timer_ = std::thread([this] { TimerLoop(); });
  }
}

HiddenInputFilter::~HiddenInputFilter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (focus_) focus_->SetCallback(nullptr);
}

bool HiddenInputFilter::MovesFocus(const v1::Event& ev) {
  if (ev.has_focus()) return !ev.focus().title_change();
  if (ev.has_pointer()) return ev.pointer().kind() == v1::PointerEvent::BUTTON_DOWN;
  if (ev.has_key() && ev.key().down()) {
    uint32_t ks = ev.key().keysym();
    return ks == kTab || ks == kIsoLeftTab || ks == kReturn || ks == kKpEnter || ks == kEscape;
  }
  return false;
}

void HiddenInputFilter::OnEvent(v1::Event event) {
  std::unique_lock<std::mutex> l(mu_);
  if (event.has_focus() && !event.focus().title_change()) focus_pid_ = event.focus().pid();
  Held h{std::move(event), false, gen_, focus_pid_};
  if (terminal_ && h.event.has_key() && h.event.key().down())
    h.terminal_hidden = terminal_->Hidden(focus_pid_);
  const bool trigger = focus_ != nullptr && MovesFocus(h.event);
  if (held_.empty() && h.gen <= answered_gen_) {
    Process(std::move(h));
  } else {
    held_.push_back(std::move(h));
  }
  if (trigger) Trigger();
}

void HiddenInputFilter::Trigger() {
  if (!focus_->Available()) return;  // decided by the terminal probe alone
  ++gen_;
  if (answered_gen_ + 1 == gen_) deadline_us_ = env_->NowMonoMicros() + opt_.answer_bound_us;
  focus_->Query(gen_, focus_pid_);
  cv_.notify_all();
}

void HiddenInputFilter::OnAnswer(const FocusAnswer& a) {
  std::lock_guard<std::mutex> l(mu_);
  if (a.query != 0 && a.query <= answered_gen_) return;  // late: its bound expired
  last_ = a;
  have_answer_ = true;
  if (a.query != 0) {
    answered_gen_ = a.query;
    ++counters_.answers;
    degraded_.clear();
    if (answered_gen_ < gen_) deadline_us_ = env_->NowMonoMicros() + opt_.answer_bound_us;
  }
  DrainDecided();
  cv_.notify_all();
}

void HiddenInputFilter::TimerLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (answered_gen_ >= gen_) {
      cv_.wait(l);
      continue;
    }
    int64_t now = env_->NowMonoMicros();
    if (now < deadline_us_) {
      cv_.wait_for(l, std::chrono::microseconds(deadline_us_ - now));
      continue;
    }
    // The probe did not answer in time: release, deciding by the terminal
    // probe and the last answer (the gate's rules still apply).
    // The last answer stays in force: a field known to be a password field
    // stays hidden while the helper is slow.
    answered_gen_ = gen_;
    ++counters_.bound_expired;
    degraded_ = "password-field detection did not answer within " +
                std::to_string(opt_.answer_bound_us / 1000) + " ms (" + focus_->Status() +
                "); typing there is decided by the gate's rules";
    DrainDecided();
  }
}

bool HiddenInputFilter::FocusHidden(uint32_t window_pid) const {
  if (!have_answer_ || !last_.hidden) return false;
  // An answer about another application says nothing about this window.
  return last_.pid == 0 || window_pid == 0 || last_.pid == window_pid;
}

void HiddenInputFilter::DrainDecided() {
  while (!held_.empty() && held_.front().gen <= answered_gen_) {
    Held h = std::move(held_.front());
    held_.pop_front();
    Process(std::move(h));
  }
}

void HiddenInputFilter::Process(Held h) {
  v1::Event& ev = h.event;
  if (!ev.has_key()) {
    if (ev.has_focus() && !ev.focus().title_change()) in_hidden_ = false;
    Forward(std::move(ev));
    return;
  }
  const v1::KeyEvent& k = ev.key();
  if (!k.down()) {
    // A release goes where its press went.
    if (dropped_down_.erase(k.keycode()) > 0) return;
    Forward(std::move(ev));
    return;
  }
  const bool hidden_here = h.terminal_hidden || FocusHidden(h.pid);
  if (!hidden_here || IsShortcut(k)) {
    // A shortcut inside a hidden stretch passes without ending it; a visible
    // key (Return after a prompt, say) ends it.
    if (!hidden_here) in_hidden_ = false;
    Forward(std::move(ev));
    return;
  }
  dropped_down_.insert(k.keycode());
  ++counters_.hidden_keys;
  if (!in_hidden_) {
    in_hidden_ = true;
    ++counters_.markers;
    Forward(Marker(ev.t_us()));
  }
}

void HiddenInputFilter::Forward(v1::Event ev) { downstream_->OnEvent(std::move(ev)); }

void HiddenInputFilter::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  answered_gen_ = gen_;
  DrainDecided();
}

std::string HiddenInputFilter::Status() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string s = "terminals: " + (terminal_ ? terminal_->Status() : std::string("off"));
  s += "; fields: " + (focus_ ? focus_->Status() : std::string("off"));
  if (!degraded_.empty()) s += "; DEGRADED: " + degraded_;
  return s;
}

HiddenInputFilter::Counters HiddenInputFilter::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

// ---------------------------------------------------------------------------

HiddenInputSource::HiddenInputSource(std::unique_ptr<Source> inner,
                                     std::unique_ptr<TerminalProbe> terminal,
                                     std::unique_ptr<FocusProbe> focus, Env* env)
    : inner_(std::move(inner)),
      terminal_(std::move(terminal)),
      focus_(std::move(focus)),
      env_(env) {}

absl::Status HiddenInputSource::Run(EventSink* sink) {
  HiddenInputFilter filter(sink, terminal_.get(), focus_.get(), env_);
  {
    std::lock_guard<std::mutex> l(mu_);
    filter_ = &filter;
  }
  absl::Status s = inner_->Run(&filter);
  filter.Flush();
  std::lock_guard<std::mutex> l(mu_);
  last_status_ = filter.Status();
  filter_ = nullptr;
  return s;
}

SourceInfo HiddenInputSource::Info() const {
  SourceInfo info = inner_->Info();
  std::lock_guard<std::mutex> l(mu_);
  info.hidden_input = filter_ ? filter_->Status() : last_status_;
  return info;
}

}  // namespace sealtrace::hidden
