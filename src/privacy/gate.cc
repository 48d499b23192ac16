#include "privacy/gate.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace sealtrace::privacy {
namespace {

// Typed text the gate held is wiped when the gate lets go of it (released
// copies live on only until sealing; dropped and redacted ones not at all).
void Wipe(std::string* s) {
  if (!s->empty()) sodium_memzero(s->data(), s->size());
}
template <typename Q>
void WipeKeyText(Q* queue) {
  for (auto& h : *queue) {
    if (h.event.has_key()) Wipe(h.event.mutable_key()->mutable_text());
  }
}
template <typename Q>
void WipeChars(Q* chars) {
  for (auto& c : *chars) Wipe(&c.bytes);
}

constexpr uint64_t kNoSeq = std::numeric_limits<uint64_t>::max();
// Decide in batches: once this much text beyond the hold bound is waiting.
constexpr size_t kDecideBatch = 64;

bool IsRunEnder(uint32_t ks) {
  using namespace keysym;
  return ks == kReturn || ks == kKpEnter || ks == kTab || ks == kIsoLeftTab || ks == kEscape ||
         (ks >= kHome && ks <= kBegin) || (ks >= kKpHome && ks <= kKpBegin) || ks == kInsert;
}

double SegDist(double px, double py, double ax, double ay, double bx, double by) {
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  double cx = ax + t * dx - px, cy = ay + t * dy - py;
  return std::sqrt(cx * cx + cy * cy);
}

void PopUtf8Char(std::string* s) {
  if (s->empty()) return;
  size_t i = s->size() - 1;
  while (i > 0 && (static_cast<unsigned char>((*s)[i]) & 0xC0) == 0x80 && s->size() - i < 4) --i;
  s->resize(i);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrivacyGate::Engine>> PrivacyGate::BuildEngine(
    const PrivacyConfig& config) {
  auto e = std::make_unique<Engine>();
  e->config = config;
  RedactorOptions opts;
  opts.never_record = config.never_record;
  auto r = Redactor::Create(opts);
  if (!r.ok()) return r.status();
  e->redactor = *r;
  auto m = ExclusionMatcher::Create(config.exclusions);
  if (!m.ok()) return m.status();
  e->exclusions = std::move(*m);
  return e;
}

absl::StatusOr<std::unique_ptr<PrivacyGate>> PrivacyGate::Create(EventSink* downstream,
                                                                 const PrivacyConfig& config) {
  if (downstream == nullptr) return absl::InvalidArgumentError("gate needs a downstream sink");
  auto engine = BuildEngine(config);
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<PrivacyGate>(new PrivacyGate(downstream, std::move(*engine)));
}

PrivacyGate::PrivacyGate(EventSink* downstream, std::unique_ptr<Engine> engine)
    : downstream_(downstream), engine_(std::move(engine)) {}

PrivacyGate::~PrivacyGate() = default;

uint32_t PrivacyGate::KeyId(const v1::KeyEvent& k) {
  if (k.keycode() != 0) return k.keycode();
  uint32_t ks = k.keysym();
  if (ks >= 'A' && ks <= 'Z') ks += 32;
  return 0x80000000u | ks;
}

// ---------------------------------------------------------------------------
// Public API

void PrivacyGate::OnEvent(v1::Event event) {
  std::lock_guard<std::mutex> l(mu_);
  HandleLocked(event);
}

void PrivacyGate::SetConsent(bool granted) {
  std::lock_guard<std::mutex> l(mu_);
  if (granted == consent_) return;
  if (!granted) {
    DropHeld();
    excluded_open_ = false;
    consent_ = false;
    return;
  }
  consent_ = true;
  if (paused_) return;
  if (excluded_reason_) {
    EmitControl(last_t_, v1::ControlEvent::EXCLUDED_ENTER, 0, *excluded_reason_);
    excluded_open_ = true;
    excluded_since_ = last_t_;
  } else if (have_focus_) {
    EmitFocusContext(last_t_);
  }
}

bool PrivacyGate::HasConsent() const {
  std::lock_guard<std::mutex> l(mu_);
  return consent_;
}

void PrivacyGate::Pause(std::optional<uint64_t> until_mono_us) {
  std::lock_guard<std::mutex> l(mu_);
  PauseLocked(last_t_, until_mono_us, "user");
}

void PrivacyGate::Resume() {
  std::lock_guard<std::mutex> l(mu_);
  ResumeLocked(std::max(last_t_, pause_start_));
}

bool PrivacyGate::IsPaused() const {
  std::lock_guard<std::mutex> l(mu_);
  return paused_;
}

bool PrivacyGate::WindowExcluded(const v1::FocusEvent& f) const {
  std::lock_guard<std::mutex> l(mu_);
  return engine_->exclusions->Match(f.app_class(), f.app_instance(), f.title()).has_value();
}

bool PrivacyGate::IsExcluded() const {
  std::lock_guard<std::mutex> l(mu_);
  return excluded_reason_.has_value();
}

absl::Status PrivacyGate::ReloadConfig(const std::string& path, Env* env) {
  auto cfg = LoadPrivacyConfig(path, env);
  if (!cfg.ok()) return cfg.status();
  return ApplyConfig(*cfg);
}

absl::Status PrivacyGate::ApplyConfig(const PrivacyConfig& config) {
  auto engine = BuildEngine(config);
  if (!engine.ok()) return engine.status();
  std::lock_guard<std::mutex> l(mu_);
  EndRun();
  FlushPointer();
  const TitlePolicy before = EffectivePolicyLocked();
  const bool was_excluded = excluded_reason_.has_value();
  engine_ = std::move(*engine);
  if (have_focus_) {
    excluded_reason_ =
        engine_->exclusions->Match(focus_.app_class(), focus_.app_instance(), focus_.title());
    if (Recording()) {
      if (excluded_reason_ && !excluded_open_) {
        EmitControl(last_t_, v1::ControlEvent::EXCLUDED_ENTER, 0, *excluded_reason_);
        excluded_open_ = true;
        excluded_since_ = last_t_;
      } else if (!excluded_reason_ && excluded_open_) {
        CloseExcluded(last_t_);
        EmitFocusContext(last_t_);
      } else if (!excluded_reason_ && !was_excluded) {
        RefreshFocusContext(before);
      }
    }
  }
  return absl::OkStatus();
}

void PrivacyGate::SetProgrammeTitlePolicy(TitlePolicy policy) {
  std::lock_guard<std::mutex> l(mu_);
  if (policy == programme_title_policy_) return;
  const TitlePolicy before = EffectivePolicyLocked();
  programme_title_policy_ = policy;
  RefreshFocusContext(before);
}

TitlePolicy PrivacyGate::ProgrammeTitlePolicy() const {
  std::lock_guard<std::mutex> l(mu_);
  return programme_title_policy_;
}

TitlePolicy PrivacyGate::EffectiveTitlePolicy() const {
  std::lock_guard<std::mutex> l(mu_);
  return EffectivePolicyLocked();
}

void PrivacyGate::RefreshFocusContext(TitlePolicy before) {
  if (EffectivePolicyLocked() == before) return;
  if (!have_focus_ || !Recording() || excluded_reason_) return;
  v1::FocusEvent shown = focus_;
  MinimiseFocus(&shown);
  if (last_title_out_ && *last_title_out_ == shown.title()) return;
  EmitFocusContext(last_t_);
}

void PrivacyGate::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  EndRun();
  FlushPointer();
  for (Held& h : queue_) h.pending_modifier = false;
  ReleaseFront(kNoSeq);
}

// ---------------------------------------------------------------------------
// Event handling

void PrivacyGate::HandleLocked(v1::Event& ev) {
  const uint64_t t = ev.t_us();
  last_t_ = std::max(last_t_, t);
  if (paused_ && pause_until_ && t >= *pause_until_) ResumeLocked(*pause_until_);
  bool is_move = ev.has_pointer() && ev.pointer().kind() == v1::PointerEvent::MOVE;
  if (!is_move) FlushPointer();
  switch (ev.body_case()) {
    case v1::Event::kKey:
      HandleKey(ev);
      break;
    case v1::Event::kPointer:
      HandlePointer(ev);
      break;
    case v1::Event::kFocus:
      HandleFocus(ev);
      break;
    case v1::Event::kControl:
      // Source control events (SOURCE_LOST, ...) carry no content.
      if (consent_) {
        for (Held& h : queue_) h.pending_modifier = false;
        Enqueue(std::move(ev));
      }
      break;
    case v1::Event::kRedaction:
    case v1::Event::kFrame:
      if (Recording() && !excluded_reason_) {
        for (Held& h : queue_) h.pending_modifier = false;
        Enqueue(std::move(ev));
      }
      break;
    default:
      break;
  }
  if (queue_.size() > kMaxHeldEvents) EndRun();
  ReleaseFront(held_.empty() ? kNoSeq : held_.front().seq);
}

void PrivacyGate::HandleKey(v1::Event& ev) {
  const v1::KeyEvent& k = ev.key();
  const uint32_t id = KeyId(k);
  const uint32_t mods4 =
      k.modifiers() & (v1::MOD_SHIFT | v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SUPER);
  // The hotkey works in every state and is never forwarded.
  if (k.down()) {
    uint32_t ks = k.keysym();
    if (ks >= 'A' && ks <= 'Z') ks += 32;
    const Hotkey& hk = engine_->config.hotkey;
    if (ks == hk.keysym && mods4 == hk.modifiers) {
      if (!k.repeat()) {
        hotkey_keys_[id]++;
        // Drop the modifier presses that led to it (still held, not forwarded).
        size_t first = queue_.size();
        while (first > 0 && queue_[first - 1].pending_modifier) --first;
        for (size_t i = first; i < queue_.size(); ++i) {
          const v1::KeyEvent& qk = queue_[i].event.key();
          uint32_t qid = KeyId(qk);
          if (qk.down()) {
            hotkey_keys_[qid]++;
            auto it = down_keys_.find(qid);
            if (it != down_keys_.end() && --it->second == 0) down_keys_.erase(it);
          } else {
            auto it = hotkey_keys_.find(qid);
            if (it != hotkey_keys_.end() && --it->second == 0) hotkey_keys_.erase(it);
          }
        }
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(first), queue_.end());
        if (paused_) {
          ResumeLocked(ev.t_us());
        } else {
          PauseLocked(ev.t_us(), std::nullopt, "hotkey");
        }
      }
      return;
    }
  } else if (auto it = hotkey_keys_.find(id); it != hotkey_keys_.end()) {
    if (--it->second == 0) hotkey_keys_.erase(it);
    return;
  }

  if (!Recording() || excluded_reason_) {
    if (!k.down()) down_keys_.erase(id);
    return;
  }
  const bool is_mod = keysym::IsModifier(k.keysym());
  if (!k.down()) {
    auto it = down_keys_.find(id);
    if (it == down_keys_.end()) return;  // its press was never forwarded
    if (--it->second == 0) down_keys_.erase(it);
    bool pending = is_mod && !queue_.empty() && queue_.back().pending_modifier;
    Enqueue(std::move(ev), pending);
    return;
  }
  down_keys_[id]++;
  if (is_mod) {
    Enqueue(std::move(ev), /*pending_modifier=*/true);
    return;
  }
  for (auto it = queue_.rbegin(); it != queue_.rend() && it->pending_modifier; ++it)
    it->pending_modifier = false;

  const uint32_t ks = k.keysym();
  const bool shortcut = (k.modifiers() & (v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SUPER)) != 0;
  const std::string& text = k.text();
  const bool printable =
      !shortcut && !text.empty() && static_cast<unsigned char>(text[0]) >= 0x20 && text[0] != 0x7f;
  if (!shortcut && (ks == keysym::kBackSpace || ks == keysym::kDelete)) {
    Enqueue(std::move(ev));
    deleted_in_run_ = true;
    typed_breaks_.push_back(next_seq_);  // the next typed char starts after a deletion
    if (!held_.empty()) {
      held_bytes_ -= held_.back().bytes.size();
      held_.pop_back();
    } else {
      PopUtf8Char(&ctx_);
    }
    return;
  }
  if (printable) {
    uint64_t seq = next_seq_;
    std::string bytes = text;
    Enqueue(std::move(ev));
    held_bytes_ += bytes.size();
    typed_.push_back(Char{bytes, seq});
    held_.push_back(Char{std::move(bytes), seq});
    if (held_bytes_ >= Redactor::kHoldBytes + kDecideBatch) Decide(false);
    return;
  }
  if (shortcut || IsRunEnder(ks)) EndRun();
  Enqueue(std::move(ev));
}

void PrivacyGate::HandlePointer(v1::Event& ev) {
  if (!Recording() || excluded_reason_) {
    have_anchor_ = false;
    return;
  }
  for (Held& h : queue_) h.pending_modifier = false;
  switch (ev.pointer().kind()) {
    case v1::PointerEvent::MOVE:
      PointerMove(ev);
      return;
    case v1::PointerEvent::BUTTON_DOWN:
      EndRun();  // a click moves the text cursor
      break;
    default:
      break;
  }
  Enqueue(std::move(ev));
}

void PrivacyGate::HandleFocus(v1::Event& ev) {
  const uint64_t t = ev.t_us();
  v1::FocusEvent f = ev.focus();
  const bool same_window = have_focus_ && f.window_id() == focus_.window_id();
  if (!same_window) {
    EndRun();
    continue_kind_.reset();
    open_key_.reset();  // a key typed line by line stays in one window
  }
  auto reason = engine_->exclusions->Match(f.app_class(), f.app_instance(), f.title());
  focus_ = f;
  have_focus_ = true;
  excluded_reason_ = reason;
  if (!Recording()) return;
  for (Held& h : queue_) h.pending_modifier = false;
  if (reason) {
    if (!excluded_open_) {
      EndRun();
      EmitControl(t, v1::ControlEvent::EXCLUDED_ENTER, 0, *reason);
      excluded_open_ = true;
      excluded_since_ = t;
    }
    return;  // no focus event: no title, no geometry
  }
  const bool leaving_exclusion = excluded_open_;
  if (excluded_open_) CloseExcluded(t);
  MinimiseFocus(ev.mutable_focus());
  // Under a restricted policy a title change that shows nothing new (another
  // page of the same site, any page in app-only) is not forwarded; after an
  // excluded stretch the window's context always is.
  if (same_window && f.title_change() && !leaving_exclusion &&
      EffectivePolicyLocked() != TitlePolicy::kFull && last_title_out_ &&
      *last_title_out_ == ev.focus().title()) {
    return;
  }
  last_title_out_ = ev.focus().title();
  Enqueue(std::move(ev));
}

void PrivacyGate::MinimiseFocus(v1::FocusEvent* f) const {
  const TitlePolicy policy = EffectivePolicyLocked();
  std::string title;
  switch (policy) {
    case TitlePolicy::kFull:
      title = f->title();
      break;
    case TitlePolicy::kAppAndDomain: {
      title = f->app_class().empty() ? f->app_instance() : f->app_class();
      if (IsBrowserWindow(f->app_class(), f->app_instance())) {
        std::string domain = SiteDomainFromTitle(f->title());
        if (!domain.empty()) title += title.empty() ? domain : " - " + domain;
      }
      break;
    }
    case TitlePolicy::kAppOnly:
      break;
  }
  if (policy != TitlePolicy::kFull) {
    // The instance part can carry what the title would (a Chrome app window's
    // instance is its site and path, e.g. "mail.google.com__mail_u_0").
    f->clear_app_instance();
  }
  if (title.empty()) {
    f->clear_title();
    return;
  }
  auto redacted = engine_->redactor->Redact(title);
  f->set_title(redacted.ok() ? *redacted : std::string());
}

// ---------------------------------------------------------------------------
// Typed-text runs

void PrivacyGate::Enqueue(v1::Event ev, bool pending_modifier) {
  queue_.push_back(Held{std::move(ev), next_seq_++, pending_modifier});
}

void PrivacyGate::EndRun() {
  Decide(true);
  Wipe(&ctx_);
  WipeChars(&typed_);
  ctx_.clear();
  typed_.clear();
  typed_breaks_.clear();
  deleted_in_run_ = false;
  continue_kind_.reset();
  // Only a private key block spans runs (its lines); see Decide.
  if (open_key_ && open_key_->run_touched) {
    open_key_->run_touched = false;
    if (++open_key_->runs >= kMaxOpenKeyRuns) open_key_.reset();
  }
}

void PrivacyGate::Decide(bool final) {
  if (held_.empty()) return;
  Window w;
  w.text = ctx_;
  w.off.resize(held_.size());
  for (size_t i = 0; i < held_.size(); ++i) {
    w.off[i] = w.text.size();
    w.text += held_[i].bytes;
  }
  w.base = ctx_.size();
  w.final = final;
  w.target =
      final ? w.text.size()
            : (w.text.size() > Redactor::kHoldBytes ? w.text.size() - Redactor::kHoldBytes : 0);
  if (!final && w.target <= w.base) return;

  std::vector<Range> ranges;
  size_t release = 0;
  while (release < held_.size() && w.off[release] + held_[release].bytes.size() <= w.target) {
    ++release;
  }
  if (final) release = held_.size();
  const size_t cont = ContinueOpenFinding(w, &ranges, &release);
  ScanHeld(w, cont, &ranges, &release);
  ScanTypedHistory(&ranges);
  for (const Range& r : ranges) ReplaceRange(r);
  ReleaseHeld(release);
  Wipe(&w.text);
}

// An open private key (its BEGIN came in an earlier run or decision) covers
// everything through its END marker, bounded by kMaxOpenKeyRuns/Bytes.
size_t PrivacyGate::ContinueOpenFinding(const Window& w, std::vector<Range>* ranges,
                                        size_t* release) {
  size_t cont = 0;
  if (open_key_ && open_key_->bytes >= kMaxOpenKeyBytes) open_key_.reset();
  if (open_key_) {
    const std::string& marker = open_key_->end_marker;
    // The marker may have begun in text decided before (the run's tail in ctx_).
    const size_t from = w.base >= marker.size() ? w.base - (marker.size() - 1) : 0;
    const size_t endm = w.text.find(marker, from);
    const size_t stop = endm == std::string::npos ? w.text.size() : endm + marker.size();
    while (cont < held_.size() && w.off[cont] < stop) ++cont;
    if (cont > 0) {
      const size_t len = w.off[cont - 1] + held_[cont - 1].bytes.size() - w.base;
      ranges->push_back(
          {held_.front().seq, held_[cont - 1].seq, std::string(KindName(Kind::kPrivateKey)), len});
      *release = std::max(*release, cont);
      open_key_->bytes += len;
      open_key_->run_touched = true;
    }
    if (endm != std::string::npos) open_key_.reset();
  } else if (continue_kind_) {
    // A finding that ran to the end of the text last time (a secret longer
    // than the hold bound) continues up to the next whitespace.
    while (cont < held_.size() && !held_[cont].bytes.empty() && held_[cont].bytes[0] != ' ' &&
           held_[cont].bytes[0] != '\t')
      ++cont;
    const bool done = cont < held_.size() || w.final;
    if (cont > 0) {
      ranges->push_back({held_.front().seq, held_[cont - 1].seq, *continue_kind_,
                         w.off[cont - 1] + held_[cont - 1].bytes.size() - w.base});
      *release = std::max(*release, cont);
    }
    if (done) continue_kind_.reset();
  }
  return cont;
}

void PrivacyGate::ScanHeld(const Window& w, size_t cont, std::vector<Range>* ranges,
                           size_t* release) {
  auto scanned = engine_->redactor->Scan(w.text);
  if (!scanned.ok()) {
    // Fail closed: everything undecided is replaced.
    ranges->push_back({held_.front().seq, held_.back().seq, "engine_error", held_bytes_});
    *release = held_.size();
  } else {
    for (const Finding& f : *scanned) {
      if (f.end <= w.base) continue;               // decided before
      if (f.begin >= w.target && !w.final) break;  // not final yet
      size_t first = 0;
      while (first < held_.size() && w.off[first] + held_[first].bytes.size() <= f.begin) ++first;
      size_t last = first;
      while (last + 1 < held_.size() && w.off[last + 1] < f.end) ++last;
      first = std::max(first, cont);
      if (first >= held_.size() || first > last) continue;
      *release = std::max(*release, last + 1);
      if (f.kind == Kind::kPrivateKey && f.end == w.text.size()) {
        // A key block without its END so far: it stays open over the
        // following decisions and runs (lines).
        const size_t lb = f.begin + 10;  // after "-----BEGIN"
        const size_t le = w.text.find("-----", lb);
        std::string marker = "-----END";
        if (le != std::string::npos) marker.append(w.text, lb, le - lb);
        marker += "-----";
        if (le != std::string::npos && w.text.find(marker, le) == std::string::npos) {
          if (!open_key_) open_key_ = OpenKey{marker};
          open_key_->run_touched = true;
          open_key_->bytes += f.end - f.begin;
        }
      } else if (f.end == w.text.size() && !w.final) {
        continue_kind_ = std::string(KindName(f.kind));
      }
      ranges->push_back(
          {held_[first].seq, held_[last].seq, std::string(KindName(f.kind)), f.end - f.begin});
    }
  }
}

// A secret typed and erased again (e.g. a card number then BackSpace) left
// its key events in the queue; find it in what was typed.
void PrivacyGate::ScanTypedHistory(std::vector<Range>* ranges) {
  if (!deleted_in_run_ || typed_.empty()) return;
  const uint64_t oldest = queue_.empty() ? next_seq_ : queue_.front().seq;
  while (!typed_.empty() && typed_.front().seq < oldest) {
    Wipe(&typed_.front().bytes);
    typed_.pop_front();
  }
  size_t typed_bytes = 0;
  for (const Char& c : typed_) typed_bytes += c.bytes.size();
  while (typed_bytes > 2 * Redactor::kHoldBytes) {
    typed_bytes -= typed_.front().bytes.size();
    Wipe(&typed_.front().bytes);
    typed_.pop_front();
  }
  std::string raw;
  std::vector<size_t> roff(typed_.size());
  for (size_t i = 0; i < typed_.size(); ++i) {
    // Where text was erased, what follows is not a continuation of it.
    if (i > 0 && std::any_of(typed_breaks_.begin(), typed_breaks_.end(), [&](uint64_t b) {
          return b > typed_[i - 1].seq && b <= typed_[i].seq;
        })) {
      raw += '\n';
    }
    roff[i] = raw.size();
    raw += typed_[i].bytes;
  }
  auto found = engine_->redactor->Scan(raw);
  if (!found.ok()) {
    ranges->push_back({typed_.front().seq, typed_.back().seq, "engine_error", typed_bytes});
  } else {
    for (const Finding& f : *found) {
      size_t first = 0;
      while (first < typed_.size() && roff[first] + typed_[first].bytes.size() <= f.begin) ++first;
      size_t last = first;
      while (last + 1 < typed_.size() && roff[last + 1] < f.end) ++last;
      if (first >= typed_.size()) continue;
      const uint64_t s0 = typed_[first].seq, s1 = typed_[last].seq;
      bool covered = false;
      for (const Range& r : *ranges) covered |= r.s0 <= s0 && s1 <= r.s1;
      if (covered) continue;
      ranges->push_back({s0, s1, std::string(KindName(f.kind)), f.end - f.begin});
    }
    std::sort(ranges->begin(), ranges->end(),
              [](const Range& a, const Range& b) { return a.s0 < b.s0; });
  }
}

void PrivacyGate::ReplaceRange(const Range& r) {
  size_t i = 0;
  while (i < queue_.size() && queue_[i].seq < r.s0) ++i;
  // Include modifier presses right before the first character (e.g. Shift).
  while (i > 0 && queue_[i - 1].event.has_key() && queue_[i - 1].event.key().down() &&
         keysym::IsModifier(queue_[i - 1].event.key().keysym()))
    --i;
  if (i >= queue_.size()) return;
  std::deque<Held> rebuilt(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(i));
  uint32_t count = 0;
  uint64_t t0 = 0, seq0 = 0;
  KeyCounts downs;
  size_t j = i;
  std::vector<Held> kept_between;
  for (; j < queue_.size() && queue_[j].seq <= r.s1; ++j) {
    Held& h = queue_[j];
    if (!h.event.has_key()) {
      kept_between.push_back(std::move(h));
      continue;
    }
    uint32_t id = KeyId(h.event.key());
    if (!h.event.key().down()) {
      auto it = downs.find(id);
      if (it == downs.end()) {
        // Release of a key pressed before the secret: keep it, unless that
        // press was itself redacted earlier.
        if (auto rk = redacted_keys_.find(id); rk != redacted_keys_.end()) {
          if (--rk->second == 0) redacted_keys_.erase(rk);
        } else {
          kept_between.push_back(std::move(h));
        }
        continue;
      }
      if (--it->second == 0) downs.erase(it);
    } else {
      downs[id]++;
    }
    if (count == 0) {
      t0 = h.event.t_us();
      seq0 = h.seq;
    }
    ++count;
  }
  if (count == 0) {
    // Nothing to replace (already replaced); put the kept events back.
    for (Held& h : kept_between) rebuilt.push_back(std::move(h));
    for (; j < queue_.size(); ++j) rebuilt.push_back(std::move(queue_[j]));
    queue_ = std::move(rebuilt);
    return;
  }
  for (auto& [id, n] : downs) redacted_keys_[id] += 1;
  v1::Event m;
  m.set_t_us(t0);
  v1::RedactionMarker* rm = m.mutable_redaction();
  rm->set_kind(r.kind);
  rm->set_length_bucket(LengthBucket(r.len));
  rm->set_key_events(count);
  rebuilt.push_back(Held{std::move(m), seq0, false});
  for (Held& h : kept_between) rebuilt.push_back(std::move(h));
  for (; j < queue_.size(); ++j) rebuilt.push_back(std::move(queue_[j]));
  WipeKeyText(&queue_);  // what is left: the key events the marker replaced
  queue_ = std::move(rebuilt);
}

void PrivacyGate::ReleaseHeld(size_t release) {
  for (size_t i = 0; i < release; ++i) {
    ctx_ += held_.front().bytes;
    held_bytes_ -= held_.front().bytes.size();
    Wipe(&held_.front().bytes);
    held_.pop_front();
  }
  if (ctx_.size() > Redactor::kHoldBytes) {
    std::string kept = ctx_.substr(ctx_.size() - Redactor::kHoldBytes);
    Wipe(&ctx_);
    ctx_ = std::move(kept);
  }
}

void PrivacyGate::ReleaseFront(uint64_t below_seq) {
  while (!queue_.empty()) {
    Held& h = queue_.front();
    if (h.pending_modifier || h.seq >= below_seq) break;
    v1::Event ev = std::move(h.event);
    queue_.pop_front();
    if (ev.has_key() && !ev.key().down()) {
      auto it = redacted_keys_.find(KeyId(ev.key()));
      if (it != redacted_keys_.end()) {
        if (--it->second == 0) redacted_keys_.erase(it);
        continue;
      }
    }
    Emit(std::move(ev));
  }
}

void PrivacyGate::Emit(v1::Event ev) {
  uint64_t q = static_cast<uint64_t>(engine_->config.timing_quantum_ms) * 1000;
  if (q > 0) ev.set_t_us(ev.t_us() - ev.t_us() % q);
  downstream_->OnEvent(std::move(ev));
}

void PrivacyGate::EmitControl(uint64_t t, v1::ControlEvent::Kind kind, uint64_t duration,
                              const std::string& reason) {
  for (Held& h : queue_) h.pending_modifier = false;
  v1::Event ev;
  ev.set_t_us(t);
  v1::ControlEvent* c = ev.mutable_control();
  c->set_kind(kind);
  c->set_duration_us(duration);
  c->set_reason(reason);
  Enqueue(std::move(ev));
  ReleaseFront(held_.empty() ? kNoSeq : held_.front().seq);
}

void PrivacyGate::EmitFocusContext(uint64_t t) {
  v1::Event ev;
  ev.set_t_us(t);
  *ev.mutable_focus() = focus_;
  ev.mutable_focus()->set_title_change(false);
  MinimiseFocus(ev.mutable_focus());
  last_title_out_ = ev.focus().title();
  Enqueue(std::move(ev));
  ReleaseFront(held_.empty() ? kNoSeq : held_.front().seq);
}

void PrivacyGate::CloseExcluded(uint64_t t) {
  if (!excluded_open_) return;
  excluded_open_ = false;
  EmitControl(t, v1::ControlEvent::EXCLUDED_LEAVE, t >= excluded_since_ ? t - excluded_since_ : 0,
              "");
}

void PrivacyGate::DropHeld() {
  WipeKeyText(&queue_);
  WipeChars(&held_);
  WipeChars(&typed_);
  queue_.clear();
  held_.clear();
  typed_.clear();
  typed_breaks_.clear();
  deleted_in_run_ = false;
  held_bytes_ = 0;
  ctx_.clear();
  continue_kind_.reset();
  open_key_.reset();
  candidate_.reset();
  skipped_.clear();
  have_anchor_ = false;
  down_keys_.clear();
}

// ---------------------------------------------------------------------------
// Pause

void PrivacyGate::PauseLocked(uint64_t t, std::optional<uint64_t> until, const char* reason) {
  if (paused_) {
    pause_until_ = until;
    return;
  }
  EndRun();
  FlushPointer();
  for (Held& h : queue_) h.pending_modifier = false;
  if (consent_) {
    if (excluded_open_) CloseExcluded(t);
    EmitControl(t, v1::ControlEvent::PAUSE, 0, reason);
  }
  ReleaseFront(kNoSeq);
  paused_ = true;
  pause_start_ = t;
  pause_until_ = until;
  have_anchor_ = false;
}

void PrivacyGate::ResumeLocked(uint64_t t) {
  if (!paused_) return;
  paused_ = false;
  pause_until_.reset();
  if (!consent_) return;
  EmitControl(t, v1::ControlEvent::RESUME, 0, "");
  EmitControl(t, v1::ControlEvent::GAP, t >= pause_start_ ? t - pause_start_ : 0, "pause");
  if (excluded_reason_) {
    EmitControl(t, v1::ControlEvent::EXCLUDED_ENTER, 0, *excluded_reason_);
    excluded_open_ = true;
    excluded_since_ = t;
  } else if (have_focus_) {
    EmitFocusContext(t);
  }
}

// ---------------------------------------------------------------------------
// Pointer thinning (online Ramer-Douglas-Peucker / opening window)

void PrivacyGate::PointerMove(v1::Event& ev) {
  const uint32_t eps = engine_->config.pointer_epsilon_px;
  const int32_t x = ev.pointer().x(), y = ev.pointer().y();
  if (eps == 0) {
    Enqueue(std::move(ev));
    return;
  }
  if (!have_anchor_) {
    have_anchor_ = true;
    anchor_x_ = x;
    anchor_y_ = y;
    Enqueue(std::move(ev));
    return;
  }
  if (!candidate_) {
    candidate_ = std::move(ev);
    return;
  }
  const int32_t cx = candidate_->pointer().x(), cy = candidate_->pointer().y();
  bool within = skipped_.size() < 64;
  auto check = [&](int32_t px, int32_t py) {
    if (SegDist(px, py, anchor_x_, anchor_y_, x, y) > eps) within = false;
  };
  if (within) {
    for (const auto& [px, py] : skipped_) check(px, py);
    check(cx, cy);
  }
  if (within) {
    skipped_.emplace_back(cx, cy);
    candidate_ = std::move(ev);
    return;
  }
  Enqueue(std::move(*candidate_));
  anchor_x_ = cx;
  anchor_y_ = cy;
  skipped_.clear();
  candidate_ = std::move(ev);
}

void PrivacyGate::FlushPointer() {
  if (!candidate_) return;
  anchor_x_ = candidate_->pointer().x();
  anchor_y_ = candidate_->pointer().y();
  Enqueue(std::move(*candidate_));
  candidate_.reset();
  skipped_.clear();
}

}  // namespace sealtrace::privacy
